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

import json
import time
from unittest import mock

import fixtures

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import stamps
from masakarimonitors_ext.vmheartbeat.escalation.tasks import notify_tasks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import probe_tasks
from masakarimonitors_ext.vmheartbeat.probing.probes import base as probe_base
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'


class ReprobeInstanceTaskTestCase(base.TestCase):

    def task(self, result, attempts=2):
        self.prober = mock.Mock()
        self.prober.probe.return_value = result
        return probe_tasks.ReprobeInstanceTask(A, self.prober, attempts)

    def test_requires_and_provides(self):
        task = self.task(fakes.TIMED_OUT)
        self.assertEqual('vmhb-reprobe-instance-' + A, task.name)
        self.assertEqual({constants.INSTANCE_UUID, constants.PROBE_TIMEOUT,
                          constants.REPROBE_ATTEMPT, constants.CHECK,
                          constants.CHECK_SETTINGS, constants.FAILURE_CLASS},
                         task.requires)
        self.assertEqual({constants.REPROBE_RESULT}, task.provides)

    def test_miss_before_the_last_attempt_asks_for_a_retry(self):
        task = self.task(fakes.TIMED_OUT)
        error = self.assertRaises(exception.ProbeMissed, task.execute,
                                  A, 2.0, 1)
        self.assertEqual(fakes.TIMED_OUT, error.result)
        self.prober.probe.assert_called_once_with(
            checks.CheckKey(A, checks.HEARTBEAT), 2.0, None)

    def test_miss_at_the_last_attempt_confirms(self):
        result = self.task(fakes.NOT_CONNECTED).execute(A, 2.0, 2)
        self.assertEqual(str(fakes.NOT_CONNECTED), result)

    def test_answer_ends_the_escalation(self):
        task = self.task(fakes.ANSWERED)
        for attempt in (1, 2):
            self.assertRaises(exception.InstanceAnswered, task.execute,
                              A, 2.0, attempt)

    def test_not_running_is_suppressed(self):
        error = self.assertRaises(exception.InstanceSuppressed,
                                  self.task(fakes.NOT_RUNNING).execute,
                                  A, 2.0, 1)
        self.assertEqual(fakes.NOT_RUNNING.detail, error.reason)

    def test_inconclusive_is_no_verdict(self):
        self.assertRaises(exception.LibvirtUnavailable,
                          self.task(fakes.INCONCLUSIVE).execute, A, 2.0, 2)


class ConfirmLastProbeTaskTestCase(base.TestCase):

    def task(self, result):
        self.prober = mock.Mock()
        self.prober.probe.return_value = result
        return probe_tasks.ConfirmLastProbeTask(A, self.prober)

    def test_requires_and_provides(self):
        task = self.task(fakes.TIMED_OUT)
        self.assertEqual('vmhb-confirm-last-probe-' + A, task.name)
        self.assertEqual({constants.INSTANCE_UUID, constants.PROBE_TIMEOUT,
                          constants.CHECK, constants.CHECK_SETTINGS,
                          constants.FAILURE_CLASS}, task.requires)
        self.assertEqual({constants.LAST_PROBE}, task.provides)

    def test_miss_confirms(self):
        self.assertEqual(str(fakes.TIMED_OUT),
                         self.task(fakes.TIMED_OUT).execute(A, 1.5))
        self.prober.probe.assert_called_once_with(
            checks.CheckKey(A, checks.HEARTBEAT), 1.5, None)

    def test_answer_clears(self):
        self.assertRaises(exception.InstanceAnswered,
                          self.task(fakes.ANSWERED).execute, A, 1.5)

    def test_not_running_is_suppressed(self):
        self.assertRaises(exception.InstanceSuppressed,
                          self.task(fakes.NOT_RUNNING).execute, A, 1.5)


APP_SETTINGS = checks.CheckSettings(checks.APP, 5.0, 2.5, 3, 300.0,
                                    audits=(('db', 60.0),))


def app_result(outcome=probe_base.Outcome.ANSWERED,
               status=verdicts.APP_HEALTHY, failure_class=None):
    return probe_base.ProbeResult(outcome, 'detail', 0.0, status=status,
                                  failure_class=failure_class)


PENDING = app_result(probe_base.Outcome.PENDING, None)


class ProbeOnceAppCheckTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.prober = mock.Mock()
        self.sleep = self.useFixture(fixtures.MockPatchObject(
            probe_tasks.time, 'sleep')).mock
        # as the escalation keeps it: JSON, with lists for tuples
        self.settings = json.loads(json.dumps(APP_SETTINGS.to_dict()))

    def probe(self, *results, failure_class=verdicts.CLASS_APP_HEARTBEAT):
        self.prober.probe.side_effect = list(results)
        return probe_tasks.probe_once(self.prober, A, 2.0, checks.APP,
                                      self.settings, failure_class)

    def test_prober_called_with_the_check_and_its_settings(self):
        result = app_result(probe_base.Outcome.TIMED_OUT, None)
        self.assertIs(result, self.probe(result))
        self.prober.probe.assert_called_once_with(
            checks.CheckKey(A, checks.APP), 2.0, APP_SETTINGS)
        settings = self.prober.probe.call_args[0][2]
        self.assertIsInstance(settings, checks.CheckSettings)
        self.assertEqual((('db', 60.0),), settings.audits)
        self.sleep.assert_not_called()

    def test_pending_then_answered(self):
        self.assertRaises(exception.InstanceAnswered, self.probe,
                          PENDING, app_result())
        self.assertEqual(2, self.prober.probe.call_count)
        self.sleep.assert_called_once_with(2.5)
        for call in self.prober.probe.call_args_list:
            self.assertEqual(mock.call(checks.CheckKey(A, checks.APP), 2.0,
                                       APP_SETTINGS), call)

    def test_pending_then_missed(self):
        missed = app_result(probe_base.Outcome.WRONG_ANSWER, None)
        self.assertIs(missed, self.probe(PENDING, PENDING, missed))
        self.assertEqual([mock.call(2.5)] * 2, self.sleep.call_args_list)

    def test_pending_too_long_is_inconclusive(self):
        self.assertRaises(exception.ProbeInconclusive, self.probe,
                          *[PENDING] * 4)
        self.assertEqual(4, self.prober.probe.call_count)
        self.assertEqual([mock.call(2.5)] * 3, self.sleep.call_args_list)

    def test_degraded_is_an_answer(self):
        self.assertRaises(exception.InstanceAnswered, self.probe,
                          app_result(status=verdicts.APP_DEGRADED))

    def test_starting_is_a_miss(self):
        starting = app_result(status=verdicts.APP_STARTING)
        self.assertIs(starting, self.probe(starting))

    def test_app_failed_is_a_miss(self):
        failed = app_result(probe_base.Outcome.FAILED, verdicts.APP_FAILED,
                            verdicts.CLASS_APP_FAILED)
        self.assertIs(failed, self.probe(
            failed, failure_class=verdicts.CLASS_APP_FAILED))

    def test_held_confirms_frozen_too_long(self):
        held = app_result(probe_base.Outcome.HELD, None)
        self.assertIs(held, self.probe(held,
                                       failure_class=verdicts.CLASS_FROZEN))

    def test_held_is_inconclusive_for_other_failures(self):
        for failure_class in (verdicts.CLASS_APP_HEARTBEAT,
                              verdicts.CLASS_AUDIT, None):
            error = self.assertRaises(
                exception.ProbeInconclusive, self.probe,
                app_result(probe_base.Outcome.HELD, None),
                failure_class=failure_class)
            self.assertIn('the app check could not run', str(error))

    def test_blocked_is_inconclusive(self):
        for failure_class in (verdicts.CLASS_APP_HEARTBEAT,
                              verdicts.CLASS_FROZEN):
            self.assertRaises(exception.ProbeInconclusive, self.probe,
                              app_result(probe_base.Outcome.BLOCKED, None),
                              failure_class=failure_class)

    def test_exec_check(self):
        exec_settings = checks.CheckSettings(
            checks.EXEC, 30.0, 10.0, 2, command=('/bin/check', '-q'))
        failed = probe_base.ProbeResult(probe_base.Outcome.FAILED,
                                        'exit status 1', 0.0)
        self.prober.probe.return_value = failed
        task = probe_tasks.ConfirmLastProbeTask(A, self.prober)
        self.assertEqual(str(failed), task.execute(
            A, 10.0, checks.EXEC, exec_settings.to_dict(),
            verdicts.CLASS_EXEC))
        self.prober.probe.assert_called_once_with(
            checks.CheckKey(A, checks.EXEC), 10.0, exec_settings)


class LookAgainTaskTestCase(base.TestCase):
    """A late try of a notifier looks at the guest first."""

    POLICY = delivery.Policy(required=True, deadline=600.0, interval=2.0,
                             slow_interval=60.0)

    def setUp(self):
        super().setUp()
        self.prober = mock.Mock(spec=['probe'])
        self.prober.probe.return_value = fakes.TIMED_OUT
        self.deliveries = notify_tasks.Deliveries()
        self.task = probe_tasks.LookAgainTask(
            A, 'masakari', self.prober, self.POLICY, self.deliveries)

    def execute(self, started_ago):
        started = stamps.stamp(lambda: time.monotonic() - started_ago)
        return self.task.execute(A, started, 2.0)

    def test_requires(self):
        self.assertEqual('vmhb-look-again-masakari-' + A, self.task.name)
        self.assertEqual({constants.INSTANCE_UUID, constants.EPISODE_STARTED,
                          constants.PROBE_TIMEOUT, constants.CHECK,
                          constants.CHECK_SETTINGS, constants.FAILURE_CLASS},
                         self.task.requires)
        self.assertEqual(set(), self.task.provides)

    def test_a_try_in_time_asks_nothing(self):
        self.execute(10.0)
        self.prober.probe.assert_not_called()

    def test_a_late_try_looks_at_the_guest_first(self):
        self.execute(700.0)
        self.prober.probe.assert_called_once_with(
            checks.CheckKey(A, checks.HEARTBEAT), 2.0, None)
        self.assertIn('still not answering', self.logger.output)

    def test_a_late_try_for_a_guest_that_answers_sends_nothing(self):
        self.prober.probe.return_value = fakes.ANSWERED
        self.assertRaises(exception.InstanceAnswered, self.execute, 700.0)

    def test_a_delivery_that_ended_is_not_looked_at_again(self):
        # the flow runs again in memory: Masakari already answered
        self.deliveries.record('masakari', notify_tasks.delivered(
            True, 'accepted', True))
        self.prober.probe.return_value = fakes.ANSWERED
        self.execute(700.0)
        self.prober.probe.assert_not_called()
