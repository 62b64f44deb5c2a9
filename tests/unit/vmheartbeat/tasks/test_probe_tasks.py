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

from unittest import mock

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat.tasks import probe_tasks
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
                          constants.REPROBE_ATTEMPT}, task.requires)
        self.assertEqual({constants.REPROBE_RESULT}, task.provides)

    def test_miss_before_the_last_attempt_asks_for_a_retry(self):
        task = self.task(fakes.TIMED_OUT)
        error = self.assertRaises(exception.ProbeMissed, task.execute,
                                  A, 2.0, 1)
        self.assertEqual(fakes.TIMED_OUT, error.result)
        self.prober.probe.assert_called_once_with(A, 2.0)

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
        self.assertEqual({constants.INSTANCE_UUID, constants.PROBE_TIMEOUT},
                         task.requires)
        self.assertEqual({constants.LAST_PROBE}, task.provides)

    def test_miss_confirms(self):
        self.assertEqual(str(fakes.TIMED_OUT),
                         self.task(fakes.TIMED_OUT).execute(A, 1.5))
        self.prober.probe.assert_called_once_with(A, 1.5)

    def test_answer_clears(self):
        self.assertRaises(exception.InstanceAnswered,
                          self.task(fakes.ANSWERED).execute, A, 1.5)

    def test_not_running_is_suppressed(self):
        self.assertRaises(exception.InstanceSuppressed,
                          self.task(fakes.NOT_RUNNING).execute, A, 1.5)
