# Copyright 2026 masakari-monitors-ext developers
#
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.


"""Which posted events become alarm changes: the datasource's decisions.

The driver (inside Vitrage) hands each posted event to ``AlarmIntake``;
this module imports neither Vitrage nor the monitor, so that the unit
tests run the datasource's decisions on the events the real notifier
makes.
"""

import collections
import time

from oslo_log import log

from masakarimonitors_ext.vitrage_datasources.vmheartbeat import events

LOG = log.getLogger(__name__)

#: keys of a posted event (Vitrage's EventProperties)
TYPE, TIME, DETAILS = 'type', 'time', 'details'
#: set on each alarm: when it was first raised (kept while it stays raised)
UPDATE_TIME = 'update_time'
#: seconds between two WARNING lines about refused events of one kind
REFUSAL_LOG_INTERVAL = 60.0

AlarmKey = collections.namedtuple('AlarmKey', ['name', 'instance_id'])


def detail(alarm, key):
    """A field of an event's details, or None."""
    details = (alarm or {}).get(DETAILS)
    return details.get(key) if isinstance(details, dict) else None


def alarm_key(alarm):
    """The (name, instance) an event raises or clears."""
    return AlarmKey(name=detail(alarm, events.NAME),
                    instance_id=detail(alarm, events.INSTANCE_ID))


class RefusalLog(object):
    """One WARNING per kind of refusal and interval, with the count.

    Anyone allowed to post events can post unsigned ones: the first of a
    kind is logged, then at most one line per ``interval`` seconds, which
    says how many were refused since the last line.
    """

    def __init__(self, interval=REFUSAL_LOG_INTERVAL, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last = {}
        self._suppressed = collections.Counter()

    def warning(self, kind, message, *args):
        """Log a refusal of this kind, or count it."""
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._suppressed[kind] += 1
            return
        self._last[kind] = now
        more = self._suppressed.pop(kind, 0)
        if more:
            LOG.warning(message + ' (%d more refused in the last %.0f s)',
                        *(args + (more, now - last)))
        else:
            LOG.warning(message, *args)


class AlarmIntake(object):
    """Checks, caches and decides on each posted vmheartbeat event.

    An event is taken only when its signature is good (``events.verify``
    with ``key``), it was signed at most ``max_age`` seconds away from now
    and not taken already (a replay of a signature seen is refused), and
    it has no problems (``events.problems``); its instance uuid is then
    spelled as Nova does, and the signature is taken out of its details.
    The refused ones are logged, escaped and rate-limited (RefusalLog);
    those that are signed but invalid come from a monitor and are each
    logged.

    A raise is passed on when it is new or its details changed; a clear
    when the alarm is raised. Only raised alarms are cached, at most
    ``max_alarms``: a raise of a new alarm when that many are raised is
    refused (an alarm forgotten would never be cleared).

    :param key: the signing key; None refuses every event
    :param max_age: seconds an event's ``signed_at`` may be from now
    :param max_alarms: the most alarms kept raised
    :param clock: the time, in seconds since the epoch (tests)
    """

    def __init__(self, key, max_age=300, max_alarms=10000, clock=time.time,
                 refusals=None):
        self.key = key
        self.max_age = max_age
        self.max_alarms = max_alarms
        self.clock = clock
        self.refusals = refusals or RefusalLog()
        #: AlarmKey -> (event, time): the raised alarms
        self.cache = {}
        #: signature -> signed_at (epoch) of the events taken lately
        self._seen = collections.OrderedDict()

    # the checks
    def _refuse(self, kind, reason, event):
        self.refusals.warning(kind, 'vmheartbeat event refused (%s): %.300r',
                              reason, event)

    def _authentic(self, event):
        details = event.get(DETAILS)
        reason = events.verify(self.key, event.get(TYPE), event.get(TIME),
                               details)
        if reason:
            self._refuse(reason, reason, event)
            return False
        now = self.clock()
        signed_at = events.epoch(details.get(events.SIGNED_AT))
        if signed_at is None or abs(now - signed_at) > self.max_age:
            self._refuse('stale', 'signed_at %.40r is not within %d s of '
                         'now' % (details.get(events.SIGNED_AT),
                                  self.max_age), event)
            return False
        signature = details[events.SIGNATURE]
        self._forget_seen(now)
        if signature in self._seen:
            self._refuse('replayed', 'a replay of an event already taken',
                         event)
            return False
        self._seen[signature] = signed_at
        return True

    def _forget_seen(self, now):
        # NOTE: a signature older than max_age is refused by its age: it
        # need not be remembered. At most max_alarms are: past that the
        # oldest go first, and only their age bounds their replay.
        for signature, signed_at in list(self._seen.items()):
            if (now - signed_at <= self.max_age and
                    len(self._seen) < self.max_alarms):
                break
            del self._seen[signature]

    def _valid(self, event):
        found = events.problems(event.get(TYPE), event.get(DETAILS))
        if found:
            LOG.warning('vmheartbeat event dropped (%s): %.300r',
                        '; '.join(found), event)
            return False
        if events.epoch(event.get(TIME)) is None:
            LOG.warning('vmheartbeat event time %.40r is not in %s: the '
                        'time it arrived is used', event.get(TIME),
                        events.TIME_FORMAT)
            event[TIME] = events.utc_time()
        return True

    # the decisions
    @staticmethod
    def _is_erroneous(alarm):
        return bool(alarm) and alarm.get(TYPE) == events.RAISE

    def _pass_on(self, event, old_alarm):
        if event[TYPE] == events.CLEAR:
            return self._is_erroneous(old_alarm)
        return (old_alarm is None or
                old_alarm.get(DETAILS) != event.get(DETAILS) or
                not self._is_erroneous(old_alarm))

    def take(self, event):
        """Check and cache one posted event; the alarm event, or None.

        :param event: ``{"time", "type", "details"}`` as posted; changed
            in place (uuid spelling, no signature, ``update_time``)
        """
        if not isinstance(event, dict) or not self._authentic(event):
            return None
        if not self._valid(event):
            return None
        details = event[DETAILS]
        details.pop(events.SIGNATURE)
        details.pop(events.SIGNED_AT)
        details[events.INSTANCE_ID] = events.instance_uuid(
            details[events.INSTANCE_ID])
        key = alarm_key(event)
        old_alarm = self.cache.get(key, (None, None))[0]
        if (self._is_erroneous(event) and old_alarm is None and
                len(self.cache) >= self.max_alarms):
            self._refuse('full', '%d alarms raised already, the most '
                         'kept' % self.max_alarms, event)
            return None
        if self._is_erroneous(old_alarm) and self._is_erroneous(event):
            event[UPDATE_TIME] = old_alarm[UPDATE_TIME]
        else:
            event[UPDATE_TIME] = event[TIME]
        pass_on = self._pass_on(event, old_alarm)
        if self._is_erroneous(event):
            self.cache[key] = event, event[TIME]
        else:
            # only raised alarms are kept: the cache does not grow with
            # every instance that ever had one
            self.cache.pop(key, None)
        if not pass_on:
            LOG.debug('vmheartbeat event changes nothing: %s', event)
            return None
        return event
