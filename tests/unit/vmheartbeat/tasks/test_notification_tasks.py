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

import time
from unittest import mock

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import checks
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat.tasks import notification_tasks
from tests.unit import base
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'


class NotifyTaskTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.notifier = fakes.RecordingNotifier()
        self.prober = mock.Mock(spec=['probe'])
        self.prober.probe.return_value = fakes.TIMED_OUT
        self.task = notification_tasks.NotifyTask(
            A, 'masakari', self.notifier, self.prober, 600.0)

    def execute(self, started_ago=10.0):
        return self.task.execute(
            A, 'compute-1', '2026-11-24T19:15:00', ['healthy: timed_out'],
            'timed_out after 2.000s', 'running (reason 1)',
            'timed_out after 2.000s', time.time() - started_ago, 2.0)

    def test_requires(self):
        self.assertEqual('vmhb-notify-instance-masakari-' + A,
                         self.task.name)
        self.assertEqual({constants.INSTANCE_UUID, constants.HOSTNAME,
                          constants.GENERATED_TIME, constants.EVIDENCE,
                          constants.REPROBE_RESULT, constants.DOMAIN_STATE,
                          constants.LAST_PROBE, constants.EPISODE_STARTED,
                          constants.PROBE_TIMEOUT, constants.CHECK,
                          constants.CHECK_SETTINGS, constants.FAILURE_CLASS,
                          constants.RECOVER}, self.task.requires)
        self.assertEqual(set(), self.task.provides)

    def test_delivers_the_failure_with_all_evidence(self):
        self.assertEqual('delivered', self.execute())
        failure = self.notifier.delivered[0]
        self.assertEqual(A, failure.instance_uuid)
        self.assertEqual('compute-1', failure.hostname)
        self.assertEqual('2026-11-24T19:15:00', failure.generated_time)
        self.assertEqual(('healthy: timed_out',
                          're-probes: timed_out after 2.000s',
                          'domain: running (reason 1)',
                          'last probe: timed_out after 2.000s'),
                         failure.evidence)
        # within the deadline, the guest is not asked again
        self.prober.probe.assert_not_called()

    def test_late_try_looks_at_the_guest_first(self):
        self.assertEqual('delivered', self.execute(started_ago=700.0))
        self.prober.probe.assert_called_once_with(
            checks.CheckKey(A, checks.HEARTBEAT), 2.0, None)
        self.assertEqual(1, len(self.notifier.delivered))

    def test_late_try_for_a_guest_that_answers_sends_nothing(self):
        self.prober.probe.return_value = fakes.ANSWERED
        self.assertRaises(exception.InstanceAnswered, self.execute,
                          started_ago=700.0)
        self.assertEqual(0, self.notifier.tries)

    def test_delivery_error_is_raised(self):
        self.notifier.errors.append(fakes.transient_error())
        self.assertRaises(exception.TransientNotificationError,
                          self.execute)
        self.assertEqual([], self.notifier.delivered)
