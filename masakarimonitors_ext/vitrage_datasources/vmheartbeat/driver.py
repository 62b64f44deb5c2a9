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


"""The ``vmheartbeat`` driver: takes the monitor's events, caches alarms.

It runs inside Vitrage (vitrage-graph) and imports Vitrage.
"""

import collections
import datetime

from oslo_log import log
from vitrage.common.constants import DatasourceAction
from vitrage.common.constants import DatasourceProperties as DSProps
from vitrage.common.constants import EventProperties as EventProps
from vitrage.datasources.alarm_driver_base import AlarmDriverBase

from masakarimonitors_ext.vitrage_datasources.vmheartbeat import events

LOG = log.getLogger(__name__)

#: set on each alarm: when it was first raised (kept while it stays raised)
UPDATE_TIME = 'update_time'


def detail(alarm, key):
    """A field of an event's details, or None."""
    details = (alarm or {}).get(EventProps.DETAILS)
    return details.get(key) if isinstance(details, dict) else None


class VmHeartbeatDriver(AlarmDriverBase):
    """Push-only driver of the alarms the monitor raises and clears.

    Vitrage gives it each event of type ``vmheartbeat.alarm.raise`` or
    ``vmheartbeat.alarm.clear`` (see ``events``). An invalid event is
    dropped with a WARNING naming what is wrong. A raise is passed on when
    it is new or its details changed; a clear when the alarm is raised
    (an application turning ``ok`` clears an alarm that mostly was never
    raised). Only the raised alarms are cached. There is nothing to poll:
    ``get_all`` returns nothing and the alarms stay until cleared.
    """

    AlarmKey = collections.namedtuple('AlarmKey', ['name', 'instance_id'])

    def _vitrage_type(self):
        return events.DATASOURCE

    def _alarm_key(self, alarm):
        return self.AlarmKey(name=detail(alarm, events.NAME),
                             instance_id=detail(alarm, events.INSTANCE_ID))

    def _is_erroneous(self, alarm):
        return bool(alarm) and alarm.get(EventProps.TYPE) == events.RAISE

    def get_all(self, datasource_action):
        return self.make_pickleable([], self._vitrage_type(),
                                    datasource_action)

    def get_changes(self, datasource_action):
        return self.make_pickleable([], self._vitrage_type(),
                                    datasource_action)

    @staticmethod
    def get_event_types():
        return list(events.EVENT_TYPES)

    @staticmethod
    def should_delete_outdated_entities():
        # NOTE: nothing polls these alarms: a snapshot must not delete them
        return False

    def _pass_on(self, event, old_alarm):
        if event[EventProps.TYPE] == events.CLEAR:
            return self._is_erroneous(old_alarm)
        return old_alarm is None or old_alarm.get(EventProps.DETAILS) != \
            event.get(EventProps.DETAILS) or not self._is_erroneous(old_alarm)

    def enrich_event(self, event, event_type):
        """Check and cache one posted event; the alarm event, or None.

        :param event: ``{"time", "type", "details"}`` as posted
        :param event_type: ``vmheartbeat.alarm.raise`` or ``...clear``
        """
        found = events.problems(event.get(EventProps.TYPE),
                                event.get(EventProps.DETAILS))
        if found:
            LOG.warning('vmheartbeat event dropped (%s): %.300r',
                        '; '.join(found), event)
            return None
        if not _valid_time(event.get(EventProps.TIME)):
            LOG.warning('vmheartbeat event time %.40r is not in %s: the '
                        'time it arrived is used', event.get(EventProps.TIME),
                        events.TIME_FORMAT)
            event[EventProps.TIME] = datetime.datetime.utcnow().strftime(
                events.TIME_FORMAT)
        event[DSProps.EVENT_TYPE] = event_type
        old_alarm = self._old_alarm(event)
        if self._is_erroneous(old_alarm) and self._is_erroneous(event):
            event[UPDATE_TIME] = old_alarm[UPDATE_TIME]
        else:
            event[UPDATE_TIME] = event[EventProps.TIME]
        pass_on = self._pass_on(event, old_alarm)
        if self._is_erroneous(event):
            self.cache[self._alarm_key(event)] = event, event[EventProps.TIME]
        else:
            # only raised alarms are kept: the cache does not grow with
            # every instance that ever had one
            self.cache.pop(self._alarm_key(event), None)
        if not pass_on:
            LOG.debug('vmheartbeat event changes nothing: %s', event)
            return None
        return self.make_pickleable([event], self._vitrage_type(),
                                    DatasourceAction.UPDATE)[0]


def _valid_time(value):
    try:
        datetime.datetime.strptime(value, events.TIME_FORMAT)
    except (TypeError, ValueError):
        return False
    return True
