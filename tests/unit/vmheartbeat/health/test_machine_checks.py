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

"""An instance with the agent heartbeat and application-level checks."""

import dataclasses

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat.probing.probes import base as probe_base
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

NOTIFIED = verdicts.EpisodeOutcome.NOTIFIED
ANSWERED = verdicts.EpisodeOutcome.ANSWERED
REJECTED = verdicts.EpisodeOutcome.REJECTED

A = '11111111-1111-1111-1111-111111111111'
HB = checks.HEARTBEAT
APP = checks.APP
EXEC = checks.EXEC

#: the heartbeat's startup grace
GRACE = 60.0
APP_SETTINGS = checks.CheckSettings(APP, 5.0, 2.0, 3, startup_grace=100.0,
                                    max_freeze=600.0)
EXEC_SETTINGS = checks.CheckSettings(EXEC, 30.0, 10.0, 2, startup_grace=50.0,
                                     command=('/bin/check',),
                                     max_freeze=30.0)
#: past every startup grace
LATER = 200.0


Outcome = probe_base.Outcome


def app(outcome=Outcome.ANSWERED, status=verdicts.APP_HEALTHY, details='',
        failure_class=None):
    return probe_base.ProbeResult(outcome, started=0.0, status=status,
                                  details=details,
                                  failure_class=failure_class)


def result(outcome, detail=''):
    return probe_base.ProbeResult(outcome, detail, started=0.0)


APP_ANSWERED = app()
APP_TIMED_OUT = app(Outcome.TIMED_OUT, status=None)
APP_STALE = app(Outcome.WRONG_ANSWER, status=None)
APP_STARTING = app(status=verdicts.APP_STARTING)
APP_FAILED = app(Outcome.FAILED, verdicts.APP_FAILED, 'db down',
                 verdicts.CLASS_APP_FAILED)
AUDIT_FAILED = app(Outcome.FAILED, verdicts.APP_HEALTHY, 'disk full',
                   verdicts.CLASS_AUDIT)
EXEC_ANSWERED = result(Outcome.ANSWERED)
EXEC_FAILED = result(Outcome.FAILED, 'exit status 1')
HELD = result(Outcome.HELD, 'filesystems frozen')
BLOCKED = result(Outcome.BLOCKED, 'guest-exec disabled')
PENDING = result(Outcome.PENDING, 'challenge written')


class HealthWithChecksTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.health = self.make()

    def make(self, booted=True, grace=GRACE):
        entry = machine.InstanceHealth(A, fakes.settings(failure_threshold=3),
                                       now=0.0, grace=grace, booted=booted)
        self.assertEqual(([APP, EXEC], []),
                         entry.set_checks([APP_SETTINGS, EXEC_SETTINGS]))
        return entry

    def record(self, result, now, check=HB):
        return self.health.record(result, now, check)

    def healthy(self, now=1.0):
        self.assertFalse(self.record(fakes.ANSWERED, now))
        self.assertEqual(machine.HEALTHY, self.health.state)

    def misses(self, check):
        return self.health.checks[check].misses

    def assertFailed(self, check, failure_class):
        self.assertEqual(machine.FAILED, self.health.state)
        self.assertEqual(check, self.health.failed_check)
        self.assertEqual(failure_class, self.health.failure_class)

    def assertNotFailed(self):
        self.assertNotIn(self.health.state, (machine.FAILED, machine.REPORTED))
        self.assertIsNone(self.health.failed_check)
        self.assertIsNone(self.health.failure_class)

    # Each check counts its own misses

    def test_each_check_counts_against_its_own_threshold(self):
        self.healthy()
        self.assertFalse(self.record(EXEC_FAILED, LATER, EXEC))
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.assertFalse(self.record(APP_TIMED_OUT, LATER + 1, APP))
        self.assertFalse(self.record(APP_TIMED_OUT, LATER + 2, APP))
        self.assertFalse(self.record(fakes.TIMED_OUT, LATER + 3))
        self.assertFalse(self.record(fakes.TIMED_OUT, LATER + 4))
        # five misses in all, none of the checks at its threshold
        self.assertEqual((2, 2, 1), (self.misses(HB), self.misses(APP),
                                     self.misses(EXEC)))
        self.assertEqual(2, self.health.misses)
        self.assertNotFailed()
        # the exec check reaches its threshold of 2 first
        self.assertTrue(self.record(EXEC_FAILED, LATER + 5, EXEC))
        self.assertFailed(EXEC, verdicts.CLASS_EXEC)

    def test_app_heartbeat_lost(self):
        self.healthy()
        self.assertFalse(self.record(APP_STALE, LATER, APP))
        self.assertFalse(self.record(APP_STALE, LATER + 5, APP))
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.assertTrue(self.record(APP_STALE, LATER + 10, APP))
        self.assertFailed(APP, verdicts.CLASS_APP_HEARTBEAT)
        # failed exactly once
        self.assertFalse(self.record(APP_STALE, LATER + 15, APP))
        self.assertFalse(self.record(EXEC_FAILED, LATER + 16, EXEC))
        self.assertFalse(self.record(EXEC_FAILED, LATER + 17, EXEC))
        self.assertFailed(APP, verdicts.CLASS_APP_HEARTBEAT)

    def test_app_call_unanswered_by_the_agent_is_the_heartbeat_lost(self):
        self.healthy()
        for now in (LATER, LATER + 5, LATER + 10):
            failed = self.record(APP_TIMED_OUT, now, APP)
        self.assertTrue(failed)
        self.assertFailed(HB, verdicts.CLASS_HEARTBEAT)

    def test_exec_call_unanswered_by_the_agent_is_the_heartbeat_lost(self):
        self.healthy()
        self.record(result(Outcome.NOT_CONNECTED), LATER, EXEC)
        self.assertTrue(self.record(result(Outcome.TIMED_OUT), LATER + 30,
                                    EXEC))
        self.assertFailed(HB, verdicts.CLASS_HEARTBEAT)

    def test_heartbeat_lost_keeps_its_class(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        for now in (LATER + 1, LATER + 2):
            self.assertFalse(self.record(fakes.TIMED_OUT, now))
        self.assertTrue(self.record(fakes.TIMED_OUT, LATER + 3))
        self.assertFailed(HB, verdicts.CLASS_HEARTBEAT)

    def test_app_reporting_failed_fails_at_once(self):
        self.healthy()
        self.assertTrue(self.record(APP_FAILED, LATER, APP))
        self.assertFailed(APP, verdicts.CLASS_APP_FAILED)
        self.assertEqual(1, self.misses(APP))
        self.assertEqual(verdicts.APP_FAILED, self.health.app_status)
        self.assertEqual('db down', self.health.app_details)

    def test_failed_audit_fails_at_once(self):
        self.healthy()
        self.assertTrue(self.record(AUDIT_FAILED, LATER, APP))
        self.assertFailed(APP, verdicts.CLASS_AUDIT)
        self.assertEqual('disk full', self.health.app_details)

    def test_app_lost_while_the_agent_misses_is_the_heartbeat_lost(self):
        self.healthy()
        self.record(fakes.TIMED_OUT, LATER)
        for now in (LATER, LATER + 1, LATER + 2):
            failed = self.record(APP_TIMED_OUT, now, APP)
        self.assertTrue(failed)
        self.assertFailed(HB, verdicts.CLASS_HEARTBEAT)

    def test_app_failed_while_the_agent_misses_keeps_its_class(self):
        self.healthy()
        self.record(fakes.TIMED_OUT, LATER)
        self.assertTrue(self.record(APP_FAILED, LATER, APP))
        self.assertFailed(APP, verdicts.CLASS_APP_FAILED)

    def test_application_verdict_counts_within_its_startup_grace(self):
        self.healthy()
        # within the app's grace (100s): its own "failed" still counts
        self.assertTrue(self.record(APP_FAILED, 10.0, APP))
        self.assertFailed(APP, verdicts.CLASS_APP_FAILED)

    def test_failed_audit_counts_within_the_startup_grace(self):
        self.healthy()
        self.assertTrue(self.record(AUDIT_FAILED, 10.0, APP))
        self.assertFailed(APP, verdicts.CLASS_AUDIT)

    def test_failure_class_of_the_result_wins(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        self.assertTrue(self.record(AUDIT_FAILED, LATER + 1, APP))
        self.assertFailed(APP, verdicts.CLASS_AUDIT)

    def test_unknown_check_is_ignored(self):
        self.health.set_checks([APP_SETTINGS])
        self.healthy()
        for now in (LATER, LATER + 1, LATER + 2):
            self.assertFalse(self.record(EXEC_FAILED, now, EXEC))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertNotIn(EXEC, self.health.checks)

    def test_evidence_names_the_check(self):
        self.healthy()
        self.record(EXEC_FAILED, LATER, EXEC)
        self.assertEqual('exec healthy: failed after 0.000s '
                         '(exit status 1)', self.health.evidence[-1])
        self.record(APP_ANSWERED, LATER + 1, APP)
        self.assertIn('app suspect: answered', self.health.evidence[-1])
        self.assertIn('status healthy', self.health.evidence[-1])

    # Startup grace of the application-level checks

    def test_app_misses_in_its_startup_grace_are_not_counted(self):
        self.healthy()
        # past the heartbeat's grace, within the app's own (100s)
        for now in (61.0, 80.0, 99.9):
            self.assertFalse(self.record(APP_TIMED_OUT, now, APP))
        self.assertFalse(self.record(EXEC_FAILED, 49.9, EXEC))
        self.assertEqual(0, self.health.misses)
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertFalse(self.record(APP_TIMED_OUT, 100.0, APP))
        self.assertEqual(1, self.misses(APP))
        self.assertFalse(self.record(EXEC_FAILED, 50.0, EXEC))
        self.assertEqual(1, self.misses(EXEC))
        self.assertEqual(machine.SUSPECT, self.health.state)

    def test_app_grace_counts_while_the_instance_is_healthy(self):
        # unlike the heartbeat's, the app's grace does not end with the
        # first answer
        self.healthy()
        self.record(APP_ANSWERED, 2.0, APP)
        self.assertFalse(self.record(APP_TIMED_OUT, 3.0, APP))
        self.assertEqual(0, self.misses(APP))

    def test_not_booted_uses_the_short_grace(self):
        # found running, or resumed: its applications are already up
        self.health = self.make(booted=False, grace=12.0)
        self.healthy()
        self.assertFalse(self.record(APP_TIMED_OUT, 11.9, APP))
        self.assertFalse(self.record(EXEC_FAILED, 11.9, EXEC))
        self.assertEqual(0, self.health.misses)
        self.record(APP_TIMED_OUT, 12.0, APP)
        self.record(EXEC_FAILED, 12.0, EXEC)
        self.assertEqual(1, self.misses(APP))
        self.assertEqual(1, self.misses(EXEC))

    def test_starting_in_the_grace_is_neither_answer_nor_miss(self):
        # still starting: an answer would make it healthy
        for now in (1.0, 50.0, 99.9):
            self.assertFalse(self.record(APP_STARTING, now, APP))
        self.assertEqual(machine.STARTING, self.health.state)
        self.assertEqual(0, self.misses(APP))
        self.assertFalse(self.health.checks[APP].answering)
        self.assertEqual(verdicts.APP_STARTING, self.health.app_status)

    def test_starting_does_not_reset_the_misses(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        self.record(APP_TIMED_OUT, LATER + 1, APP)
        self.assertTrue(self.record(APP_STARTING, LATER + 2, APP))
        self.assertFailed(APP, verdicts.CLASS_APP_HEARTBEAT)

    def test_starting_after_the_grace_is_a_miss(self):
        self.healthy()
        self.assertFalse(self.record(APP_STARTING, 100.0, APP))
        self.assertEqual(1, self.misses(APP))
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.assertFalse(self.record(APP_STARTING, 105.0, APP))
        self.assertTrue(self.record(APP_STARTING, 110.0, APP))
        self.assertFailed(APP, verdicts.CLASS_APP_HEARTBEAT)

    def test_heartbeat_grace_is_its_own(self):
        # the app's grace (100s) does not hold the heartbeat's (60s)
        self.assertFalse(self.record(fakes.TIMED_OUT, 59.9))
        self.assertEqual(0, self.misses(HB))
        self.assertFalse(self.record(fakes.TIMED_OUT, 60.0))
        self.assertEqual(1, self.misses(HB))
        self.assertEqual(0, self.misses(APP))

    # Answers

    def test_degraded_is_an_answer(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        self.record(APP_TIMED_OUT, LATER + 1, APP)
        degraded = app(status=verdicts.APP_DEGRADED, details='replica lag')
        for now in (LATER + 2, LATER + 3, LATER + 4, LATER + 5):
            self.assertFalse(self.record(degraded, now, APP))
        self.assertEqual(0, self.misses(APP))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertNotFailed()
        self.assertEqual(verdicts.APP_DEGRADED, self.health.app_status)
        self.assertEqual('replica lag', self.health.app_details)
        self.assertTrue(self.health.checks[APP].answering)

    def test_app_status_kept_across_heartbeat_results(self):
        self.record(app(status=verdicts.APP_DEGRADED, details='slow'), 1.0,
                    APP)
        self.record(fakes.ANSWERED, 2.0)
        self.record(EXEC_ANSWERED, 3.0, EXEC)
        self.assertEqual((verdicts.APP_DEGRADED, 'slow'),
                         (self.health.app_status, self.health.app_details))

    # The application's status as of now

    #: APP_SETTINGS: 3 runs of interval 5 plus call timeout 5
    WINDOW = 30.0

    def test_app_status_is_its_last_answer(self):
        self.assertEqual((None, ''), self.health.app_status_now(1.0))
        self.assertIsNone(self.health.app_status_at)
        degraded = app(status=verdicts.APP_DEGRADED, details='slow')
        self.record(degraded, LATER, APP)
        self.record(fakes.ANSWERED, LATER + 1)
        self.assertEqual((verdicts.APP_DEGRADED, 'slow'),
                         self.health.app_status_now(LATER + self.WINDOW))
        self.assertEqual(LATER, self.health.app_status_at)
        # the application's own failure is an answer too
        self.record(APP_FAILED, LATER + 5, APP)
        self.assertEqual((verdicts.APP_FAILED, 'db down'),
                         self.health.app_status_now(LATER + 6))

    def test_app_status_unknown_once_the_application_does_not_answer(self):
        # killed (no answer file, a stale answer) or hung (no answer in
        # time): the next verdict of its check has no status
        for lost in (APP_STALE, APP_TIMED_OUT,
                     app(Outcome.NOT_CONNECTED, status=None), HELD,
                     result(Outcome.INCONCLUSIVE), BLOCKED):
            self.record(APP_ANSWERED, LATER, APP)
            self.assertEqual((verdicts.APP_HEALTHY, ''),
                             self.health.app_status_now(LATER + 1))
            self.record(lost, LATER + 5, APP)
            self.assertEqual((None, ''),
                             self.health.app_status_now(LATER + 5), lost)
            # the last answer, as it was
            self.assertEqual(verdicts.APP_HEALTHY, self.health.app_status)
            self.assertEqual(LATER, self.health.app_status_at)
            self.health.restart(0.0)

    def test_app_status_stands_while_its_answer_is_pending(self):
        self.record(APP_ANSWERED, LATER, APP)
        self.record(PENDING, LATER + 5, APP)
        self.assertEqual((verdicts.APP_HEALTHY, ''),
                         self.health.app_status_now(LATER + 6))

    def test_app_status_unknown_when_not_refreshed_in_time(self):
        # the check no longer runs (suppressed, say): no verdict at all
        self.record(APP_ANSWERED, LATER, APP)
        self.assertEqual(
            (verdicts.APP_HEALTHY, ''),
            self.health.app_status_now(LATER + self.WINDOW))
        self.assertEqual(
            (None, ''),
            self.health.app_status_now(LATER + self.WINDOW + 0.1))

    def test_app_status_unknown_after_a_restart(self):
        self.record(APP_ANSWERED, LATER, APP)
        self.health.restart(LATER + 1)
        self.assertEqual((None, ''), self.health.app_status_now(LATER + 2))
        self.record(APP_STARTING, LATER + 6, APP)
        self.assertEqual((verdicts.APP_STARTING, ''),
                         self.health.app_status_now(LATER + 7))

    def test_app_status_unknown_without_the_app_check(self):
        self.record(APP_ANSWERED, LATER, APP)
        self.health.set_checks([EXEC_SETTINGS])
        self.assertEqual((None, ''), self.health.app_status_now(LATER + 1))

    def test_suspect_is_healthy_only_when_no_check_misses(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        self.record(EXEC_FAILED, LATER + 1, EXEC)
        self.record(fakes.TIMED_OUT, LATER + 2)
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.record(APP_ANSWERED, LATER + 3, APP)
        self.assertEqual(0, self.misses(APP))
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.record(fakes.ANSWERED, LATER + 4)
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.record(EXEC_ANSWERED, LATER + 5, EXEC)
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertEqual(0, self.health.misses)

    def test_reported_is_cleared_only_by_the_failed_check(self):
        self.healthy()
        self.assertTrue(self.record(APP_FAILED, LATER, APP))
        self.assertTrue(self.health.episode_ended(NOTIFIED, 0.0, 0.0))
        self.assertEqual(machine.REPORTED, self.health.state)
        self.record(fakes.ANSWERED, LATER + 1)
        self.record(EXEC_ANSWERED, LATER + 2, EXEC)
        self.record(APP_STARTING, LATER + 3, APP)
        self.assertEqual(machine.REPORTED, self.health.state)
        self.assertEqual(APP, self.health.failed_check)
        self.assertEqual(verdicts.CLASS_APP_FAILED, self.health.failure_class)
        self.record(APP_ANSWERED, LATER + 4, APP)
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertNotFailed()

    def test_failed_is_not_cleared_by_an_answer(self):
        # the escalation decides
        self.healthy()
        self.record(EXEC_FAILED, LATER, EXEC)
        self.assertTrue(self.record(EXEC_FAILED, LATER + 1, EXEC))
        self.assertFalse(self.record(EXEC_ANSWERED, LATER + 2, EXEC))
        self.assertFailed(EXEC, verdicts.CLASS_EXEC)

    def test_cleared_episode_forgets_the_failed_check(self):
        self.healthy()
        self.assertTrue(self.record(AUDIT_FAILED, LATER, APP))
        self.assertTrue(self.health.episode_ended(ANSWERED, 0.0, 0.0))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertNotFailed()
        self.assertEqual(0, self.health.misses)

    def test_removing_the_failed_check_does_not_leave_it_reported(self):
        # once the check that failed is removed (the flavor no longer has
        # it), nothing could answer it: the instance must not stay
        # reported with its heartbeat misses never counted again.
        self.healthy()
        self.assertTrue(self.record(APP_FAILED, LATER, APP))
        self.health.episode_ended(NOTIFIED, 0.0, 0.0)
        self.assertEqual(([], [APP]), self.health.set_checks([EXEC_SETTINGS]))
        self.record(fakes.ANSWERED, LATER + 1)
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.record(fakes.TIMED_OUT, LATER + 2)
        self.record(fakes.TIMED_OUT, LATER + 3)
        self.assertTrue(self.record(fakes.TIMED_OUT, LATER + 4))

    def test_removing_the_failed_check_while_escalated(self):
        # the same, removed while its escalation runs and then notified
        self.healthy()
        self.assertTrue(self.record(APP_FAILED, LATER, APP))
        self.assertEqual(([], [APP]), self.health.set_checks([EXEC_SETTINGS]))
        self.assertTrue(self.health.episode_ended(NOTIFIED, 0.0, 0.0))
        self.record(fakes.ANSWERED, LATER + 1)
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertIsNone(self.health.failed_check)
        self.record(fakes.TIMED_OUT, LATER + 2)
        self.record(fakes.TIMED_OUT, LATER + 3)
        self.assertTrue(self.record(fakes.TIMED_OUT, LATER + 4))
        self.assertFailed(HB, verdicts.CLASS_HEARTBEAT)

    # Held and blocked checks

    def test_held_fails_only_after_max_freeze(self):
        self.healthy()
        for now in (LATER, LATER + 300.0, LATER + 599.9):
            self.assertFalse(self.record(HELD, now, APP))
        self.assertEqual(0, self.misses(APP))
        self.assertEqual(machine.HEALTHY, self.health.state)
        self.assertTrue(self.record(HELD, LATER + 600.0, APP))
        self.assertFailed(APP, verdicts.CLASS_FROZEN)

    def test_max_freeze_is_per_check(self):
        self.healthy()
        self.record(HELD, LATER, APP)
        self.assertFalse(self.record(HELD, LATER, EXEC))
        self.assertFalse(self.record(HELD, LATER + 29.9, EXEC))
        self.assertTrue(self.record(HELD, LATER + 30.0, EXEC))
        self.assertFailed(EXEC, verdicts.CLASS_FROZEN)

    def test_held_in_the_startup_grace_fails_after_max_freeze(self):
        self.assertFalse(self.record(HELD, 1.0, EXEC))
        self.assertTrue(self.record(HELD, 31.0, EXEC))
        self.assertFailed(EXEC, verdicts.CLASS_FROZEN)

    def test_any_other_result_restarts_the_freeze(self):
        self.healthy()
        self.record(HELD, LATER, APP)
        self.record(APP_ANSWERED, LATER + 500.0, APP)
        self.record(HELD, LATER + 550.0, APP)
        self.assertFalse(self.record(HELD, LATER + 1149.9, APP))
        self.assertTrue(self.record(HELD, LATER + 1150.0, APP))
        self.assertFailed(APP, verdicts.CLASS_FROZEN)

    def test_held_does_not_reset_misses(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        self.record(HELD, LATER + 1, APP)
        self.assertEqual(1, self.misses(APP))
        self.assertEqual(machine.SUSPECT, self.health.state)

    def test_blocked_and_pending_are_neither_miss_nor_answer(self):
        for check in (APP, EXEC):
            for now in (LATER, LATER + 1.0, LATER + 1000.0):
                for result in (BLOCKED, PENDING):
                    self.assertFalse(self.record(result, now, check))
        # still starting: an answer would make it healthy, a miss suspect
        self.assertEqual(machine.STARTING, self.health.state)
        self.assertEqual(0, self.health.misses)
        self.record(APP_TIMED_OUT, LATER + 1001.0, APP)
        for result in (BLOCKED, PENDING):
            self.record(result, LATER + 1002.0, APP)
        self.assertEqual(1, self.misses(APP))
        self.assertEqual(machine.SUSPECT, self.health.state)

    # Restart, set_checks and episodes

    def test_restart_resets_every_check(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        self.record(EXEC_FAILED, LATER, EXEC)
        self.record(fakes.TIMED_OUT, LATER)
        self.record(HELD, LATER + 1, APP)
        self.health.restart(1000.0)
        self.assertEqual(machine.STARTING, self.health.state)
        for state in self.health.checks.values():
            self.assertEqual(0, state.misses)
            self.assertIsNone(state.held_since)
        # booted: each check's own startup grace, from the restart
        self.assertEqual(1100.0, self.health.checks[APP].grace_ends)
        self.assertEqual(1050.0, self.health.checks[EXEC].grace_ends)
        self.assertFalse(self.record(APP_TIMED_OUT, 1099.9, APP))
        self.assertEqual(0, self.misses(APP))
        self.record(APP_TIMED_OUT, 1100.0, APP)
        self.assertEqual(1, self.misses(APP))

    def test_restart_not_booted_uses_its_grace(self):
        self.healthy()
        self.health.restart(1000.0, grace=12.0, booted=False)
        self.assertEqual(1012.0, self.health.checks[APP].grace_ends)
        self.assertEqual(1012.0, self.health.checks[EXEC].grace_ends)
        self.health.restart(2000.0, booted=False)
        self.assertEqual(2000.0 + GRACE, self.health.checks[APP].grace_ends)

    def test_restart_clears_a_reported_failure(self):
        self.healthy()
        self.record(APP_FAILED, LATER, APP)
        self.health.episode_ended(NOTIFIED, 0.0, 0.0)
        self.health.restart(1000.0)
        self.record(APP_ANSWERED, 1001.0, APP)
        self.assertEqual(machine.HEALTHY, self.health.state)

    def test_set_checks_changes_and_removes(self):
        self.assertEqual(([], []), self.health.set_checks(
            [APP_SETTINGS, EXEC_SETTINGS]))
        longer = dataclasses.replace(APP_SETTINGS, interval=10.0)
        self.assertEqual(([APP], []), self.health.set_checks(
            [longer, EXEC_SETTINGS]))
        self.assertEqual(longer, self.health.checks[APP].settings)
        self.assertEqual(([], [EXEC]), self.health.set_checks([longer]))
        self.assertEqual({HB, APP}, set(self.health.checks))
        self.assertEqual(([EXEC], [APP]), self.health.set_checks(
            [EXEC_SETTINGS]))
        self.assertEqual({HB, EXEC}, set(self.health.checks))
        self.assertEqual(([], [EXEC]), self.health.set_checks([]))
        self.assertEqual({HB}, set(self.health.checks))

    def test_changed_settings_keep_the_misses(self):
        self.healthy()
        self.record(APP_TIMED_OUT, LATER, APP)
        self.health.set_checks([dataclasses.replace(
            APP_SETTINGS, failure_threshold=2), EXEC_SETTINGS])
        self.assertEqual(1, self.misses(APP))
        self.assertTrue(self.record(APP_TIMED_OUT, LATER + 1, APP))

    def test_added_check_gets_its_grace_from_the_start(self):
        entry = machine.InstanceHealth(A, fakes.settings(), now=0.0,
                                       grace=GRACE)
        entry.set_checks([EXEC_SETTINGS])
        self.assertEqual(50.0, entry.checks[EXEC].grace_ends)
        entry = machine.InstanceHealth(A, fakes.settings(), now=0.0,
                                       grace=GRACE, booted=False)
        entry.set_checks([EXEC_SETTINGS])
        self.assertEqual(GRACE, entry.checks[EXEC].grace_ends)

    def test_episode_deferred_resets_the_failure_class(self):
        self.healthy()
        self.record(EXEC_FAILED, LATER, EXEC)
        self.assertTrue(self.record(EXEC_FAILED, LATER + 1, EXEC))
        self.assertTrue(self.health.episode_ended(REJECTED, LATER + 2, 100.0))
        self.assertEqual(machine.SUSPECT, self.health.state)
        self.assertIsNone(self.health.failed_check)
        self.assertIsNone(self.health.failure_class)
        self.assertEqual(0, self.health.misses)
        # held off for the cool-off, then failed again with the class of
        # the check that fails then
        self.assertFalse(self.record(AUDIT_FAILED, LATER + 50.0, APP))
        self.assertIsNone(self.health.failure_class)
        self.assertTrue(self.record(AUDIT_FAILED, LATER + 102.0, APP))
        self.assertFailed(APP, verdicts.CLASS_AUDIT)

    def test_force_failed_with_a_check(self):
        self.health.force_failed(EXEC)
        self.assertFailed(EXEC, verdicts.CLASS_EXEC)
        self.health.force_failed(APP, verdicts.CLASS_FROZEN)
        self.assertFailed(APP, verdicts.CLASS_FROZEN)
