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
        |                   |                                        |
        |                   +----answer---- on_hold <-----hold-------+
        |                                     +------release-------> failed
        +--restart (started, rebooted, resumed)-- any state
    any state --suppress (paused, stopping, migrating)--> suppressed

An instance has checks (:mod:`masakarimonitors_ext.vmheartbeat.common.checks`):
the agent heartbeat, and what its flavor adds. Each counts its own misses
against its own threshold; the first to reach it makes the instance failed,
with that check's failure class, and only an answer of that check clears
it; an application-level check lost because the agent did not answer its
call, or while the agent heartbeat misses too, is a failure of the
heartbeat. Misses of the agent heartbeat while starting are not counted
until the startup grace period is over; an application-level check has a
startup grace of its own, during which an application that answers
``starting`` or not at all is not counted either. An application that
reports ``failed``, or a failed audit, fails the instance at once, even
within its startup grace. A check the agent refuses while the filesystems
are frozen is held, up to its maximum freeze time; one it refuses by policy
is neither answered nor missed.

A failed instance is being escalated; the escalation's outcome moves
it on: ``notified`` (the notification was taken) to reported, ``cleared``
(the guest answered, or no verdict could be had) back to healthy, and
``deferred`` (nothing could be reported: the notification was refused or
the escalation could not run) back to suspect, held off for a cool-off
period after which a still failing instance is escalated again.

A failure that the recovery guards hold (a maintenance pause, the
back-off between two recoveries) is ``on_hold``: not escalated yet, and
released to be escalated by a later miss of its check once the guards
let it; an answer of that check clears it, as it would a reported one.
"""

import collections

from automaton import machines

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat import verdicts

STARTING = 'starting'
HEALTHY = 'healthy'
SUSPECT = 'suspect'
FAILED = 'failed'
REPORTED = 'reported'
ON_HOLD = 'on_hold'
SUPPRESSED = 'suppressed'

ANSWER = 'answer'
MISS = 'miss'
THRESHOLD = 'threshold'
NOTIFIED = 'notified'
CLEARED = 'cleared'
DEFERRED = 'deferred'
RESTART = 'restart'
SUPPRESS = 'suppress'
HOLD = 'hold'
RELEASE = 'release'

_TRANSITIONS = (
    (STARTING, ANSWER, HEALTHY), (STARTING, MISS, SUSPECT),
    (HEALTHY, ANSWER, HEALTHY), (HEALTHY, MISS, SUSPECT),
    (SUSPECT, ANSWER, HEALTHY), (SUSPECT, MISS, SUSPECT),
    (SUSPECT, THRESHOLD, FAILED),
    (FAILED, NOTIFIED, REPORTED), (FAILED, CLEARED, HEALTHY),
    (FAILED, DEFERRED, SUSPECT),
    (REPORTED, ANSWER, HEALTHY), (REPORTED, MISS, REPORTED),
    (FAILED, HOLD, ON_HOLD), (ON_HOLD, ANSWER, HEALTHY),
    (ON_HOLD, RELEASE, FAILED),
)
_STATES = (STARTING, HEALTHY, SUSPECT, FAILED, REPORTED, ON_HOLD,
           SUPPRESSED)

EVIDENCE_SIZE = 10
#: why an instance the escalation found not running is suppressed
SUPPRESSED_BY_ESCALATION = 'found not running during the escalation'
#: lost checks that a guest agent not answering loses too
_LOST_WITH_THE_AGENT = frozenset([verdicts.CLASS_APP_HEARTBEAT,
                                  verdicts.CLASS_EXEC])
#: outcomes that say the guest agent itself did not answer
_AGENT_LOST = frozenset([base.Outcome.TIMED_OUT, base.Outcome.NOT_CONNECTED])


def _build_machine():
    machine = machines.FiniteMachine()
    for state in _STATES:
        machine.add_state(state)
    for source, event, target in _TRANSITIONS:
        machine.add_transition(source, target, event)
    for state in _STATES:
        machine.add_transition(state, STARTING, RESTART)
        machine.add_transition(state, SUPPRESSED, SUPPRESS)
    machine.default_start_state = STARTING
    machine.freeze()
    return machine


_MACHINE = _build_machine()


class CheckState:
    """What is known of one check of an instance.

    :param settings: the check's settings.
    :param grace_ends: ``time.monotonic()`` until which misses are not
        counted.
    """

    __slots__ = ('settings', 'misses', 'last', 'last_at', 'grace_ends',
                 'held_since', 'answering')

    def __init__(self, settings, grace_ends):
        self.settings = settings
        self.grace_ends = grace_ends
        #: the last verdict was an answer (neither held nor pending)
        self.answering = False
        self.misses = 0
        self.last = None
        self.last_at = None
        self.held_since = None


class InstanceHealth:
    """What the monitor knows about one instance's health.

    Not thread safe: the caller serializes access.

    :param instance_uuid: the instance.
    :param settings: its agent heartbeat's ``checks.CheckSettings``.
    :param now: ``time.monotonic()`` at which it (re)started.
    :param grace: the startup grace period, in seconds.
    :param booted: the guest is booting (its applications start too), as
        opposed to found already running.
    """

    def __init__(self, instance_uuid, settings, now, grace, booted=True):
        self.instance_uuid = instance_uuid
        self.grace = grace
        self.suppress_reason = None
        self.evidence = collections.deque(maxlen=EVIDENCE_SIZE)
        self.checks = {checks.HEARTBEAT: CheckState(settings, now + grace)}
        #: the check and failure class of the episode, while failed
        self.failed_check = None
        self.failure_class = None
        #: what the application last reported: (status, details), and
        #: ``time.monotonic()`` when; :meth:`app_status_now` says whether
        #: it still stands
        self.app_status = None
        self.app_details = ''
        self.app_status_at = None
        self._machine = _MACHINE.copy(shallow=True)
        self._machine.initialize()
        self._grace_ends = now + grace
        self._started = now
        self._booted = booted
        self._held_until = None

    @property
    def settings(self):
        """The agent heartbeat's settings."""
        return self.checks[checks.HEARTBEAT].settings

    @settings.setter
    def settings(self, settings):
        self.checks[checks.HEARTBEAT].settings = settings

    @property
    def misses(self):
        """The most misses in a row of any check."""
        return max(c.misses for c in self.checks.values())

    def set_checks(self, check_settings):
        """The application-level checks the instance has now.

        :param check_settings: ``checks.CheckSettings``, one per kind.
        :returns: the kinds added or changed, and the kinds removed.
        """
        wanted = {c.kind: c for c in check_settings}
        changed, removed = [], []
        for kind in [k for k in self.checks if k != checks.HEARTBEAT]:
            if kind not in wanted:
                del self.checks[kind]
                removed.append(kind)
        if self.failed_check in removed and self.state == REPORTED:
            # nothing is left to answer it
            self._fire(ANSWER)
            self.failed_check = self.failure_class = None
        for kind, settings in wanted.items():
            state = self.checks.get(kind)
            if state is None:
                self.checks[kind] = CheckState(
                    settings, self._app_grace_ends(settings))
                changed.append(kind)
            elif state.settings != settings:
                state.settings = settings
                changed.append(kind)
        return changed, removed

    def _app_grace_ends(self, settings, grace=None):
        if self._booted:
            return self._started + settings.startup_grace
        return self._started + (self.grace if grace is None else grace)

    @property
    def state(self):
        return self._machine.current_state

    def _fire(self, event):
        if not self._machine.is_actionable_event(event):
            return False
        self._machine.process_event(event)
        return True

    def record(self, result, now, check=checks.HEARTBEAT):
        """Account one result of one check.

        :param result: a ``probes.base.ProbeResult``.
        :param check: the check's kind.
        :returns: True when the instance just became failed, so an
            escalation must start.
        """
        state = self.checks.get(check)
        if state is None:
            return False
        if result.outcome is base.Outcome.PENDING:
            # no verdict yet: the last one stands
            return False
        state.last, state.last_at = result, now
        if check == checks.HEARTBEAT:
            self.evidence.append('%s: %s' % (self.state, result))
        else:
            self.evidence.append('%s %s: %s' % (check, self.state, result))
        if result.status is not None:
            self.app_status, self.app_details = result.status, result.details
            self.app_status_at = now
        outcome = result.outcome
        if outcome is base.Outcome.HELD:
            if state.held_since is None:
                state.held_since = now
            max_freeze = getattr(state.settings, 'max_freeze', None)
            if max_freeze is None or now - state.held_since < max_freeze:
                return False
            return self._count_miss(state, check, verdicts.CLASS_FROZEN, now,
                                    at_once=True)
        state.held_since = None
        starting = result.answered and result.status == verdicts.APP_STARTING
        if result.answered and not starting:
            state.answering = True
            return self._answered(state, check)
        if not (result.missed or starting):
            return False
        state.answering = False
        failure_class = (result.failure_class or checks.LOST_CLASS.get(
            check, verdicts.CLASS_HEARTBEAT))
        # NOTE: the application's own verdict (failed, a failed audit)
        # counts at once, startup grace or not.
        at_once = failure_class in (verdicts.CLASS_APP_FAILED,
                                    verdicts.CLASS_AUDIT)
        if check == checks.HEARTBEAT:
            if self.state == STARTING and now < self._grace_ends:
                return False
        elif now < state.grace_ends and not at_once:
            return False
        # NOTE: counted against the check; should it fail the instance,
        # the failure is the agent's when the agent did not answer the
        # check's call, or does not answer the heartbeat either.
        lost_with_agent = bool(
            result.failure_class is None and
            failure_class in _LOST_WITH_THE_AGENT and
            (outcome in _AGENT_LOST or (
                outcome is not base.Outcome.FAILED and
                self.checks[checks.HEARTBEAT].misses)))
        return self._count_miss(state, check, failure_class, now, at_once,
                                lost_with_agent)

    def app_status_now(self, now):
        """The application's status and details as of ``now``.

        Only an answer of the application gives its status, and that
        status stands only while the answer is the last verdict of the
        application heartbeat, given since the guest last (re)started, and
        not older than the check's failure window: ``failure_threshold``
        runs of ``interval`` plus ``call_timeout``, in which a check that
        runs gives as many verdicts. A verdict without a status (the
        application killed or hung, the agent not answering or frozen,
        libvirt unreachable), a restart, or no verdict for that long (the
        check not run: suppressed, or removed) leaves it unknown, whatever
        it said before.

        :returns: (status, details); (None, '') when unknown.
        """
        state = self.checks.get(checks.APP)
        at = self.app_status_at
        if (state is None or at is None or at < self._started or
                state.last is None or state.last.status is None):
            return None, ''
        settings = state.settings
        window = settings.failure_threshold * (settings.interval +
                                               settings.call_timeout)
        if now - at > window:
            return None, ''
        return self.app_status, self.app_details

    def _answered(self, state, check):
        state.misses = 0
        if self.state in (FAILED, REPORTED, ON_HOLD):
            if check == self.failed_check and self._fire(ANSWER):
                self.failed_check = self.failure_class = None
            return False
        if not any(c.misses for c in self.checks.values()):
            self._fire(ANSWER)
        return False

    def _count_miss(self, state, check, failure_class, now, at_once=False,
                    lost_with_agent=False):
        if self.state not in (HEALTHY, STARTING, SUSPECT):
            return False
        state.misses += 1
        self._fire(MISS)
        if not at_once and state.misses < state.settings.failure_threshold:
            return False
        if self._held_until is not None:
            if now < self._held_until:
                return False
            self._held_until = None
        if not self._fire(THRESHOLD):
            return False
        if lost_with_agent:
            check, failure_class = checks.HEARTBEAT, verdicts.CLASS_HEARTBEAT
        self.failed_check, self.failure_class = check, failure_class
        return True

    def restart(self, now, grace=None, booted=True):
        """The guest (re)started, rebooted or resumed: give it time.

        :param booted: the guest booted (its applications start again),
            as opposed to resumed.
        """
        self._reset_misses()
        for state in self.checks.values():
            state.answering = False
        self.suppress_reason = None
        self._started, self._booted = now, booted
        self._grace_ends = now + (self.grace if grace is None else grace)
        for kind, state in self.checks.items():
            if kind != checks.HEARTBEAT:
                state.grace_ends = self._app_grace_ends(state.settings,
                                                        grace)
        self._fire(RESTART)

    def _reset_misses(self):
        for state in self.checks.values():
            state.misses = 0
            state.held_since = None

    def suppress(self, reason):
        """Paused, shutting down, migrating or stopped: never failed."""
        self._reset_misses()
        self.suppress_reason = reason
        self._fire(SUPPRESS)

    def episode_ended(self, outcome, now, cooloff):
        """The escalation ended with ``outcome``.

        :param outcome: a ``verdicts.EpisodeOutcome``: notified moves the
            instance to reported, answered or inconclusive back to healthy,
            rejected or error back to suspect for ``cooloff`` seconds from
            ``now`` (:meth:`_deferred`), suppressed to suppressed;
            interrupted changes nothing (the escalation resumes).
        :returns: True when the instance changed state.
        """
        if outcome is verdicts.EpisodeOutcome.INTERRUPTED:
            return False
        if outcome is verdicts.EpisodeOutcome.SUPPRESSED:
            before = self.state
            self.suppress(SUPPRESSED_BY_ESCALATION)
            return self.state != before
        if outcome.deferred:
            return self._deferred(now, cooloff)
        return self._closed(outcome is verdicts.EpisodeOutcome.NOTIFIED)

    def _closed(self, notified):
        """The escalation ended; ``notified`` says whether it reported."""
        self._reset_misses()
        fired = self._fire(NOTIFIED if notified else CLEARED)
        if notified and self.failed_check not in self.checks:
            # the check was removed meanwhile: nothing is left to answer it
            self._fire(ANSWER)
            notified = False
        if not notified:
            self.failed_check = self.failure_class = None
        return fired

    def _deferred(self, now, cooloff):
        """The escalation reported nothing it could stand by.

        The notification was refused, or the escalation could not run: the
        instance is not reported, and it is escalated again once
        ``cooloff`` seconds have passed if it still misses its beats.
        """
        self._reset_misses()
        self._held_until = now + cooloff
        self.failed_check = self.failure_class = None
        return self._fire(DEFERRED)

    def hold(self):
        """The guards hold the failure: it is not escalated for now."""
        return self._fire(HOLD)

    def still_failing(self, check, result):
        """A held failure's check missed again: it may be released."""
        return (self.state == ON_HOLD and check == self.failed_check and
                result.missed)

    def release(self):
        """The guards let a held failure go: it is escalated now."""
        return self._fire(RELEASE)

    @property
    def held_until(self):
        """``time.monotonic()`` until which no escalation starts, or None."""
        return self._held_until

    def force_failed(self, check=checks.HEARTBEAT, failure_class=None):
        """An escalation resumed after a restart: the instance is failed."""
        self.failed_check = check
        self.failure_class = failure_class or checks.LOST_CLASS.get(check)
        self._machine.initialize(FAILED)

    @property
    def suppressed(self):
        return self.state == SUPPRESSED

    def __repr__(self):
        return '<InstanceHealth %s %s misses=%d>' % (
            self.instance_uuid, self.state, self.misses)
