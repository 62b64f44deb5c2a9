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

"""Maintenance pauses: no escalation of one instance, for a while.

An operator pauses an instance with ``masakari-vmheartbeatmonitor pause
INSTANCE --for 2h`` (kept in ``pauses.json`` under ``state_path``, so that
it outlives a restart), the instance's owner with the server metadata
``<extra_spec_key>_paused_until=<ISO 8601 time>``, read with the opt-in.
Every pause has an end, at most ``[recovery] max_pause`` seconds ahead: a
pause without one, or longer, is refused. While an instance is paused its
checks go on and are shown, and a failure is on hold: it is escalated
once the pause ends if the instance still fails.

A pause that starts, ends (expired or resumed) or is refused is an event
(``pause_started``, ``pause_ended``) and a log line; :meth:`Pauses.expire`
is called about every second to end those due.
"""

import math
import os
import threading
import time

from oslo_log import log as logging
from oslo_utils import uuidutils

from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.common import statefile
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

FILE = 'pauses.json'
_VERSION = 1
#: who paused
OPERATOR = 'operator'
METADATA = 'server metadata'
#: seconds a stored end may be past what max_pause allows (clock skew)
_CLOCK_SKEW = 300.0


iso = budgets.iso


class Pauses:
    """The one owner of every instance's maintenance pauses.

    Thread safe, and it calls no other component but the event sink's
    ``emit``, which never blocks: the instances table asks it under its
    own lock.

    :param conf: the configuration.
    :param sink: an ``events.EventSink`` for the pause events, or None.
    :param wall: ``time.time`` or a stand-in.
    """

    def __init__(self, conf, sink=None, wall=time.time):
        self._conf = conf
        self._sink = sink
        self._wall = wall
        self._max = conf.recovery.max_pause
        self._file = statefile.StateFile(
            os.path.join(conf.vmheartbeat.state_path, FILE), _VERSION,
            'maintenance pauses', advisory=True)
        self._lock = threading.Lock()
        #: {instance_uuid: {who: until}}
        self._pauses = {}
        #: {instance_uuid: the refused pause of its metadata, told once}
        self._refused = {}

    def load(self):
        """Read the operator's pauses back.

        A file this monitor could not have written is moved aside with a
        WARNING (``statefile.StateFile``, advisory).
        """
        kept = self._file.load(self._parse) or {}
        with self._lock:
            for instance_uuid, until in kept.items():
                self._pauses.setdefault(instance_uuid, {})[OPERATOR] = until
        if kept:
            LOG.info('Read back the maintenance pauses of %d instances (%s)',
                     len(kept), self._file.path)

    def _parse(self, body):
        if not isinstance(body, dict):
            raise ValueError('not an object')
        now = self._wall()
        kept = {}
        for instance_uuid, until in body.items():
            if not uuidutils.is_uuid_like(instance_uuid):
                raise ValueError('%s is not an instance UUID' % (
                    guestdata.escape(instance_uuid, 40)))
            if (isinstance(until, bool) or
                    not isinstance(until, (int, float)) or
                    not math.isfinite(until) or
                    until > now + self._max + _CLOCK_SKEW):
                raise ValueError('instance %s: a pause end that no pause '
                                 'could have' % instance_uuid)
            if until > now:
                kept[str(instance_uuid).lower()] = float(until)
        return kept

    def _emit(self, kind, instance_uuid, details, until=None):
        LOG.warning('Instance %s: %s', instance_uuid, details)
        if self._sink is not None:
            self._sink.emit(events.Event(
                kind, instance_uuid, self._conf.hostname, None,
                details=details, until=until))

    # What pauses an instance

    def pause(self, instance_uuid, seconds):
        """The operator pauses the instance for ``seconds`` from now.

        :returns: the end, ISO 8601 UTC.
        :raises ValueError: for a pause without an end, or too long.
        """
        now = self._wall()
        until = now + seconds
        budgets.check_pause_end(until, now, self._max)
        with self._lock:
            self._pauses.setdefault(instance_uuid, {})[OPERATOR] = until
            body = self._body()
        self._save(body)
        self._emit(verdicts.EVENT_PAUSE_STARTED, instance_uuid,
                   'escalation paused by the %s until %s' % (
                       OPERATOR, iso(until)), iso(until))
        return iso(until)

    def resume(self, instance_uuid):
        """The operator ends the instance's pause.

        :returns: True when it had one. A pause of the server metadata
            stays until its owner removes it.
        """
        with self._lock:
            had = self._pauses.get(instance_uuid, {}).pop(OPERATOR, None)
            left = self._pauses.get(instance_uuid)
            if left == {}:
                del self._pauses[instance_uuid]
            body = self._body()
        if had is None:
            return False
        self._save(body)
        self._emit(verdicts.EVENT_PAUSE_ENDED, instance_uuid,
                   'escalation pause ended by the operator%s' % (
                       '; the server metadata pauses it until %s' %
                       iso(left[METADATA]) if left else ''))
        return True

    def from_metadata(self, instance_uuid, until, problem=None):
        """What the server metadata says now, as the opt-in read it.

        :param until: its end (wall clock), None for no pause.
        :param problem: why a pause it asked for was refused, or None.
        """
        with self._lock:
            pauses = self._pauses.setdefault(instance_uuid, {})
            before = pauses.get(METADATA)
            if until is None:
                pauses.pop(METADATA, None)
            else:
                pauses[METADATA] = until
            if not pauses:
                del self._pauses[instance_uuid]
            told = self._refused.get(instance_uuid) == problem
            if problem is None:
                self._refused.pop(instance_uuid, None)
            else:
                self._refused[instance_uuid] = problem
        if problem is not None and not told:
            LOG.warning('Instance %s: the server metadata asks for a pause '
                        'that is refused: %s', instance_uuid, problem)
        if until is not None and until != before:
            self._emit(verdicts.EVENT_PAUSE_STARTED, instance_uuid,
                       'escalation paused by the %s until %s' % (
                           METADATA, iso(until)), iso(until))
        elif until is None and before is not None and before > self._wall():
            self._emit(verdicts.EVENT_PAUSE_ENDED, instance_uuid,
                       'escalation pause ended: removed from the %s' %
                       METADATA)

    # Reading

    def paused(self, instance_uuid):
        """(until, who) of the instance's pause that ends last, or None."""
        now = self._wall()
        with self._lock:
            pauses = [(until, who) for who, until in
                      self._pauses.get(instance_uuid, {}).items()
                      if until > now]
        return max(pauses) if pauses else None

    def expire(self):
        """End the pauses that are due, each with its event."""
        now = self._wall()
        ended = []
        with self._lock:
            for instance_uuid, pauses in list(self._pauses.items()):
                for who, until in list(pauses.items()):
                    if until <= now:
                        del pauses[who]
                        ended.append((instance_uuid, who, until))
                if not pauses:
                    del self._pauses[instance_uuid]
            body = self._body()
        if any(who == OPERATOR for _uuid, who, _until in ended):
            self._save(body)
        for instance_uuid, who, until in ended:
            self._emit(verdicts.EVENT_PAUSE_ENDED, instance_uuid,
                       'escalation pause by the %s expired at %s' % (
                           who, iso(until)))

    def _body(self):
        """The operator's pauses, to keep; lock held."""
        return {uuid: pauses[OPERATOR]
                for uuid, pauses in sorted(self._pauses.items())
                if OPERATOR in pauses}

    def _save(self, body):
        return self._file.keep(body)
