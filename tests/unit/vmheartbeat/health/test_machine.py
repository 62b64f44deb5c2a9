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

from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

NOTIFIED = verdicts.EpisodeOutcome.NOTIFIED
ANSWERED = verdicts.EpisodeOutcome.ANSWERED
REJECTED = verdicts.EpisodeOutcome.REJECTED

A = '11111111-1111-1111-1111-111111111111'


class InstanceHealthTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.health = machine.InstanceHealth(
            A, fakes.settings(failure_threshold=3), now=0.0, grace=60.0)

    def healthy(self):
        self.assertFalse(self.health.record(fakes.ANSWERED, 1.0))
        self.assertEqual(machine.HEALTHY, self.health.state)

    def test_starts_starting(self):
        self.assertEqual(machine.STARTING, self.health.state)
        self.assertEqual(0, self.health.misses)

    def test_misses_in_the_grace_period_do_not_count(self):
        for now in (1.0, 30.0, 59.9):
            self.assertFalse(self.health.record(fakes.TIMED_OUT, now))
        self.assertEqual(machine.STARTING, self.health.state)
        self.assertEqual(0, self.health.misses)

    def test_misses_after_the_grace_period_count(self):
        self.assertFalse(self.health.record(fakes.TIMED_OUT, 60.0))
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.assertEqual(1, self.health.misses)

    def test_first_answer_ends_the_grace_period(self):
        self.healthy()
        self.health.record(fakes.TIMED_OUT, 2.0)
        self.assertEqual(1, self.health.misses)

    def test_threshold_fails_exactly_once(self):
        self.healthy()
        self.assertFalse(self.health.record(fakes.TIMED_OUT, 2.0))
        self.assertFalse(self.health.record(fakes.NOT_CONNECTED, 3.0))
        self.assertTrue(self.health.record(fakes.TIMED_OUT, 4.0))
        self.assertEqual(machine.FAILED, self.health.state)
        for now in (5.0, 6.0, 7.0):
            self.assertFalse(self.health.record(fakes.TIMED_OUT, now))
        self.assertEqual(machine.FAILED, self.health.state)
        self.assertEqual(3, self.health.misses)

    def test_answer_resets_the_misses(self):
        self.healthy()
        self.health.record(fakes.TIMED_OUT, 2.0)
        self.health.record(fakes.TIMED_OUT, 3.0)
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.assertFalse(self.health.record(fakes.ANSWERED, 4.0))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertEqual(0, self.health.misses)

    def test_inconclusive_and_not_running_are_no_misses(self):
        self.healthy()
        for result in (fakes.INCONCLUSIVE, fakes.NOT_RUNNING) * 3:
            self.assertFalse(self.health.record(result, 2.0))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertEqual(0, self.health.misses)

    def test_notified_episode_reports_until_an_answer(self):
        self.healthy()
        for now in (2.0, 3.0, 4.0):
            self.health.record(fakes.TIMED_OUT, now)
        self.assertTrue(self.health.episode_ended(NOTIFIED, 0.0, 0.0))
        self.assertEqual(machine.REPORTED, self.health.state)
        for now in range(5, 15):
            self.assertFalse(self.health.record(fakes.TIMED_OUT, now))
        self.assertEqual(machine.REPORTED, self.health.state)
        self.health.record(fakes.ANSWERED, 16.0)
        self.assertEqual(machine.HEALTHY, self.health.state)

    def test_cleared_episode_is_healthy(self):
        self.healthy()
        for now in (2.0, 3.0, 4.0):
            self.health.record(fakes.TIMED_OUT, now)
        self.assertTrue(self.health.episode_ended(ANSWERED, 0.0, 0.0))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertEqual(0, self.health.misses)

    def failed(self):
        self.healthy()
        for now in (2.0, 3.0, 4.0):
            self.health.record(fakes.TIMED_OUT, now)
        self.assertEqual(machine.FAILED, self.health.state)

    def test_each_episode_outcome_moves_the_instance_on(self):
        Outcome = verdicts.EpisodeOutcome
        expected = {
            Outcome.NOTIFIED: machine.REPORTED,
            Outcome.ANSWERED: machine.HEALTHY,
            Outcome.INCONCLUSIVE: machine.HEALTHY,
            Outcome.REJECTED: machine.SUSPECT,
            Outcome.ERROR: machine.SUSPECT,
            Outcome.SUPPRESSED: machine.SUPPRESSED,
            # the escalation resumes at the next start: still failed
            Outcome.INTERRUPTED: machine.FAILED,
        }
        self.assertEqual(set(Outcome), set(expected))
        for outcome, state in expected.items():
            self.health = machine.InstanceHealth(A, fakes.settings(), 0.0,
                                                 grace=1.0)
            self.failed()
            self.assertEqual(state != machine.FAILED,
                             self.health.episode_ended(outcome, 10.0, 60.0),
                             outcome)
            self.assertEqual(state, self.health.state, outcome)
            # deferred: held off for the cool-off
            self.assertEqual(70.0 if outcome.deferred else None,
                             self.health.held_until, outcome)
            if outcome is Outcome.SUPPRESSED:
                self.assertEqual(machine.SUPPRESSED_BY_ESCALATION,
                                 self.health.suppress_reason)

    def test_episode_closed_when_not_failed_is_ignored(self):
        self.healthy()
        self.assertFalse(self.health.episode_ended(NOTIFIED, 0.0, 0.0))
        self.assertEqual(machine.HEALTHY, self.health.state)

    def test_restart_gives_a_new_grace_period(self):
        self.healthy()
        self.health.record(fakes.TIMED_OUT, 2.0)
        self.health.restart(100.0)
        self.assertEqual(machine.STARTING, self.health.state)
        self.assertEqual(0, self.health.misses)
        self.health.record(fakes.TIMED_OUT, 159.0)
        self.assertEqual(0, self.health.misses)
        self.health.record(fakes.TIMED_OUT, 160.0)
        self.assertEqual(1, self.health.misses)

    def test_restart_with_its_own_grace(self):
        self.health.restart(100.0, grace=5.0)
        self.health.record(fakes.TIMED_OUT, 104.0)
        self.assertEqual(0, self.health.misses)
        self.health.record(fakes.TIMED_OUT, 105.0)
        self.assertEqual(1, self.health.misses)

    def test_suppressed_is_never_failed(self):
        self.healthy()
        self.health.record(fakes.TIMED_OUT, 2.0)
        self.health.suppress('paused')
        self.assertTrue(self.health.suppressed)
        self.assertEqual('paused', self.health.suppress_reason)
        for now in range(3, 20):
            self.assertFalse(self.health.record(fakes.TIMED_OUT, now))
        self.assertEqual(machine.SUPPRESSED, self.health.state)
        # an answer does not end the suppression: a restart does
        self.health.record(fakes.ANSWERED, 21.0)
        self.assertTrue(self.health.suppressed)
        self.health.restart(22.0)
        self.assertFalse(self.health.suppressed)
        self.assertIsNone(self.health.suppress_reason)

    def test_force_failed(self):
        self.health.force_failed()
        self.assertEqual(machine.FAILED, self.health.state)
        self.assertTrue(self.health.episode_ended(NOTIFIED, 0.0, 0.0))
        self.assertEqual(machine.REPORTED, self.health.state)

    def test_evidence_is_bounded(self):
        for now in range(30):
            self.health.record(fakes.TIMED_OUT, float(now))
        self.assertEqual(machine.EVIDENCE_SIZE, len(self.health.evidence))
        self.assertIn('timed_out', self.health.evidence[-1])

    def test_instances_do_not_share_a_machine(self):
        other = machine.InstanceHealth('other', fakes.settings(), 0.0, 0.0)
        self.healthy()
        self.assertEqual(machine.STARTING, other.state)

    def test_repr(self):
        self.assertIn(A, repr(self.health))
        self.assertIn('starting', repr(self.health))


class OnHoldTestCase(base.TestCase):
    """A failure the recovery guards hold: neither escalated nor lost."""

    def setUp(self):
        super().setUp()
        self.health = machine.InstanceHealth(
            A, fakes.settings(failure_threshold=3), now=0.0, grace=60.0)
        self.health.record(fakes.ANSWERED, 1.0)
        for now in (2.0, 3.0, 4.0):
            failed = self.health.record(fakes.TIMED_OUT, now)
        self.assertTrue(failed)
        self.assertTrue(self.health.hold())

    def test_held_keeps_the_failure(self):
        self.assertEqual(machine.ON_HOLD, self.health.state)
        self.assertEqual(('heartbeat', verdicts.CLASS_HEARTBEAT),
                         (self.health.failed_check,
                          self.health.failure_class))
        # more misses start nothing, but say it still fails
        self.assertFalse(self.health.record(fakes.TIMED_OUT, 5.0))
        self.assertTrue(self.health.still_failing('heartbeat',
                                                  fakes.TIMED_OUT))
        self.assertFalse(self.health.still_failing('heartbeat',
                                                   fakes.ANSWERED))
        self.assertFalse(self.health.still_failing('app', fakes.TIMED_OUT))

    def test_release_makes_it_failed_again(self):
        self.assertTrue(self.health.release())
        self.assertEqual(machine.FAILED, self.health.state)
        self.assertFalse(self.health.release())

    def test_an_answer_clears_it(self):
        self.assertFalse(self.health.record(fakes.ANSWERED, 5.0))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertIsNone(self.health.failed_check)
        self.assertFalse(self.health.still_failing('heartbeat',
                                                   fakes.TIMED_OUT))

    def test_a_restart_or_suppression_leaves_it(self):
        self.health.suppress('paused')
        self.assertEqual(machine.SUPPRESSED, self.health.state)
        self.health.restart(10.0)
        self.assertEqual(machine.STARTING, self.health.state)
