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


"""An escalation's steps in order, as TaskFlow's listeners see them."""

import threading

import fixtures
import taskflow.engines
from taskflow.listeners import capturing
from taskflow import states

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import stamps
from masakarimonitors_ext.vmheartbeat.escalation.flows import escalation_flows
from masakarimonitors_ext.vmheartbeat.escalation.flows import listeners
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat.escalation import test_episodes
from tests.unit.vmheartbeat import fakes

A = test_episodes.A


def short(name):
    """A step's name without the instance."""
    return name[:-len(A) - 1]


class EscalationTransitionsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(group='vmheartbeat', retry_attempts=2, retry_backoff=0.0,
                   notification_retry_interval=0.1, notifiers=['masakari'])
        self.debug = self.useFixture(fixtures.FakeLogger(
            name=listeners.__name__, level='DEBUG',
            format='%(levelname)s %(message)r'))

    def run_flow(self, prober, notifier):
        flow = escalation_flows.EscalationFlows(
            self.conf, prober,
            fakes.FakeInventory({A: test_episodes.RUNNING}),
            [('masakari', notifier)], None, threading.Event(),
            nova=fakes.FakeNova()).get_escalation_flow(A)
        engine = taskflow.engines.load(flow, store={
            constants.INSTANCE_UUID: A, constants.HOSTNAME: 'compute-1',
            constants.GENERATED_TIME: '2026-12-03T09:00:00',
            constants.EPISODE_STARTED: stamps.stamp(),
            constants.EVIDENCE: ['missed'], constants.PROBE_TIMEOUT: 1.0,
            constants.CHECK: checks.HEARTBEAT,
            constants.CHECK_SETTINGS: None,
            constants.FAILURE_CLASS: verdicts.CLASS_HEARTBEAT,
            constants.RECOVER: True})
        capture = capturing.CaptureListener(engine, capture_flow=False)
        with listeners.EscalationLogListener(engine), capture:
            engine.run()
        return [(short(details.get('task_name') or details['retry_name']),
                 state) for _kind, state, details in capture.values
                if state in (states.SUCCESS, states.FAILURE,
                             states.RETRYING)]

    def test_retry_confirm_and_notify_in_order(self):
        notifier = fakes.RecordingNotifier([fakes.transient_error()])
        self.assertEqual([
            ('vmhb-reprobe-retry', states.SUCCESS),
            ('vmhb-reprobe-instance', states.FAILURE),
            ('vmhb-reprobe-retry', states.RETRYING),
            ('vmhb-reprobe-retry', states.SUCCESS),
            ('vmhb-reprobe-instance', states.SUCCESS),
            ('vmhb-confirm-domain', states.SUCCESS),
            ('vmhb-confirm-last-probe', states.SUCCESS),
            ('vmhb-notify-retry-masakari', states.SUCCESS),
            ('vmhb-look-again-masakari', states.SUCCESS),
            ('vmhb-notify-instance-masakari', states.FAILURE),
            ('vmhb-notify-retry-masakari', states.RETRYING),
            ('vmhb-notify-retry-masakari', states.SUCCESS),
            ('vmhb-look-again-masakari', states.SUCCESS),
            ('vmhb-notify-instance-masakari', states.SUCCESS),
        ], self.run_flow(test_episodes.EscalationProber(), notifier))
        self.assertEqual(1, len(notifier.delivered))

    def test_verdicts_have_no_traceback(self):
        self.run_flow(test_episodes.EscalationProber(),
                      fakes.RecordingNotifier([fakes.transient_error()]))
        output = self.debug.output
        self.assertIn("Task 'vmhb-reprobe-instance-%s'" % A, output)
        self.assertIn('ProbeMissed: instance %s missed a re-probe' % A,
                      output)
        self.assertIn('TransientNotificationError', output)
        self.assertNotIn('Traceback', output)
        # every transition, failures included, at DEBUG (one record a
        # line here): the steps log their verdicts themselves
        lines = output.splitlines()
        self.assertGreater(len(lines), 10)
        for line in lines:
            self.assertTrue(line.startswith('DEBUG '), line)

    def test_an_unexpected_failure_keeps_its_traceback(self):
        class Broken(test_episodes.EscalationProber):
            def probe(self, key, timeout, check=None):
                raise RuntimeError('a bug')

        self.assertRaises(RuntimeError, self.run_flow, Broken(),
                          fakes.RecordingNotifier())
        self.assertIn('Traceback', self.debug.output)
        self.assertIn('RuntimeError: a bug', self.debug.output)
