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

"""The health of one instance: a small explicit state machine.

::

    starting --answer--> healthy --miss--> suspect --threshold--> failed
        ^                   ^                 |  ^                   |
        |                   +----answer-------+  +----deferred-------+
        |                   |                                        |
        |                   +----answer---- reported <--notified-----+
        +--restart (started, rebooted, resumed)-- any state
    any state --suppress (paused, stopping, migrating)--> suppressed

Misses while starting are not counted until the startup grace period is
over. A failed instance is being escalated; the escalation's outcome moves
it on: ``notified`` (the notification was taken) to reported, ``cleared``
(the guest answered, or no verdict could be had) back to healthy, and
``deferred`` (nothing could be reported: the notification was refused or
the escalation could not run) back to suspect, held off for a cool-off
period after which a still failing instance is escalated again.
"""

import collections

from automaton import machines

STARTING = 'starting'
HEALTHY = 'healthy'
SUSPECT = 'suspect'
FAILED = 'failed'
REPORTED = 'reported'
SUPPRESSED = 'suppressed'

ANSWER = 'answer'
MISS = 'miss'
THRESHOLD = 'threshold'
NOTIFIED = 'notified'
CLEARED = 'cleared'
DEFERRED = 'deferred'
RESTART = 'restart'
SUPPRESS = 'suppress'

_TRANSITIONS = (
    (STARTING, ANSWER, HEALTHY), (STARTING, MISS, SUSPECT),
    (HEALTHY, ANSWER, HEALTHY), (HEALTHY, MISS, SUSPECT),
    (SUSPECT, ANSWER, HEALTHY), (SUSPECT, MISS, SUSPECT),
    (SUSPECT, THRESHOLD, FAILED),
    (FAILED, NOTIFIED, REPORTED), (FAILED, CLEARED, HEALTHY),
    (FAILED, DEFERRED, SUSPECT),
    (REPORTED, ANSWER, HEALTHY), (REPORTED, MISS, REPORTED),
)

EVIDENCE_SIZE = 10


def _build_machine():
    machine = machines.FiniteMachine()
    for state in (STARTING, HEALTHY, SUSPECT, FAILED, REPORTED, SUPPRESSED):
        machine.add_state(state)
    for source, event, target in _TRANSITIONS:
        machine.add_transition(source, target, event)
    for state in (STARTING, HEALTHY, SUSPECT, FAILED, REPORTED, SUPPRESSED):
        machine.add_transition(state, STARTING, RESTART)
        machine.add_transition(state, SUPPRESSED, SUPPRESS)
    machine.default_start_state = STARTING
    machine.freeze()
    return machine


_MACHINE = _build_machine()


class InstanceHealth:
    """What the monitor knows about one instance's liveness.

    Not thread safe: the caller serializes access.

    :param instance_uuid: the instance.
    :param settings: its ``optin.InstanceSettings``.
    :param now: ``time.monotonic()`` at which it (re)started.
    :param grace: the startup grace period, in seconds.
    """

    def __init__(self, instance_uuid, settings, now, grace):
        self.instance_uuid = instance_uuid
        self.settings = settings
        self.grace = grace
        self.misses = 0
        self.suppress_reason = None
        self.evidence = collections.deque(maxlen=EVIDENCE_SIZE)
        self._machine = _MACHINE.copy(shallow=True)
        self._machine.initialize()
        self._grace_ends = now + grace
        self._held_until = None

    @property
    def state(self):
        return self._machine.current_state

    def _fire(self, event):
        if not self._machine.is_actionable_event(event):
            return False
        self._machine.process_event(event)
        return True

    def record(self, result, now):
        """Account one heartbeat result.

        :param result: a ``probes.base.ProbeResult``.
        :returns: True when the instance just became failed, so an
            escalation must start.
        """
        self.evidence.append('%s: %s' % (self.state, result))
        if result.answered:
            self.misses = 0
            self._fire(ANSWER)
            return False
        if not result.missed:
            return False
        if self.state == STARTING and now < self._grace_ends:
            return False
        if self.state in (HEALTHY, STARTING, SUSPECT):
            self.misses += 1
            self._fire(MISS)
            if self.misses >= self.settings.failure_threshold:
                if self._held_until is not None:
                    if now < self._held_until:
                        return False
                    self._held_until = None
                return self._fire(THRESHOLD)
        return False

    def restart(self, now, grace=None):
        """The guest (re)started, rebooted or resumed: give it time."""
        self.misses = 0
        self.suppress_reason = None
        self._grace_ends = now + (self.grace if grace is None else grace)
        self._fire(RESTART)

    def suppress(self, reason):
        """Paused, shutting down, migrating or stopped: never failed."""
        self.misses = 0
        self.suppress_reason = reason
        self._fire(SUPPRESS)

    def episode_closed(self, notified):
        """The escalation ended; ``notified`` says whether it reported."""
        self.misses = 0
        return self._fire(NOTIFIED if notified else CLEARED)

    def episode_deferred(self, now, cooloff):
        """The escalation reported nothing it could stand by.

        The notification was refused, or the escalation could not run: the
        instance is not reported, and it is escalated again once
        ``cooloff`` seconds have passed if it still misses its beats.
        """
        self.misses = 0
        self._held_until = now + cooloff
        return self._fire(DEFERRED)

    @property
    def held_until(self):
        """``time.monotonic()`` until which no escalation starts, or None."""
        return self._held_until

    def force_failed(self):
        """An escalation resumed after a restart: the instance is failed."""
        self._machine.initialize(FAILED)

    @property
    def suppressed(self):
        return self.state == SUPPRESSED

    def __repr__(self):
        return '<InstanceHealth %s %s misses=%d>' % (
            self.instance_uuid, self.state, self.misses)
