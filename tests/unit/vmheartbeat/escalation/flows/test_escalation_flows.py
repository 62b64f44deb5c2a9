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

import threading

from taskflow.patterns import linear_flow
from taskflow.patterns import unordered_flow

from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.escalation.flows import escalation_flows
from masakarimonitors_ext.vmheartbeat.escalation.tasks import domain_tasks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import notify_tasks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import probe_tasks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import retry_tasks
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

#: the event kinds
RECOVERED = verdicts.EVENT_RECOVERED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

A = '11111111-1111-1111-1111-111111111111'
STORE = {constants.INSTANCE_UUID, constants.HOSTNAME,
         constants.GENERATED_TIME, constants.EPISODE_STARTED,
         constants.EVIDENCE, constants.PROBE_TIMEOUT, constants.CHECK,
         constants.CHECK_SETTINGS, constants.FAILURE_CLASS}
NOTIFY_STORE = {constants.RECOVER}


class EscalationFlowTestCase(base.TestCase):

    def flow(self, *names, notifiers=None, deliveries=None):
        return self.factory(*names, notifiers=notifiers).get_escalation_flow(
            A, deliveries=deliveries)

    def factory(self, *names, notifiers=None):
        if notifiers is None:
            notifiers = [(name, fakes.RecordingNotifier()) for name in names]
        self.flags(group='vmheartbeat', retry_attempts=4, retry_backoff=0.5,
                   notifiers=[name for name, _ in notifiers])
        return escalation_flows.EscalationFlows(
            self.conf, object(), fakes.FakeInventory(), notifiers, object(),
            threading.Event(), nova=fakes.FakeNova())

    def test_name_carries_the_uuid(self):
        flow = self.flow('masakari')
        self.assertIsInstance(flow, linear_flow.Flow)
        self.assertEqual('vmhb-escalate-' + A, flow.name)

    def test_requires_and_provides(self):
        flow = self.flow('masakari', 'log')
        self.assertEqual(STORE | NOTIFY_STORE, set(flow.requires))
        self.assertEqual({constants.REPROBE_ATTEMPT, constants.REPROBE_RESULT,
                          constants.DOMAIN_STATE, constants.LAST_PROBE,
                          'delivery-masakari', 'delivery-log'},
                         set(flow.provides))

    def test_steps_in_order(self):
        reprobe, confirm, last, notify = list(self.flow('masakari'))
        self.assertEqual('vmhb-reprobe-' + A, reprobe.name)
        self.assertIsInstance(reprobe.retry, retry_tasks.ReprobeRetry)
        self.assertEqual(4, reprobe.retry._attempts)
        self.assertEqual(0.5, reprobe.retry._backoff)
        self.assertEqual(['vmhb-reprobe-instance-' + A],
                         [task.name for task in reprobe])
        self.assertIsInstance(list(reprobe)[0],
                              probe_tasks.ReprobeInstanceTask)
        self.assertIsInstance(confirm,
                              domain_tasks.ConfirmDomainRunningTask)
        self.assertIsInstance(last, probe_tasks.ConfirmLastProbeTask)
        self.assertIsInstance(notify, unordered_flow.Flow)
        self.assertEqual('vmhb-notify-' + A, notify.name)

    def test_one_notify_subflow_per_notifier(self):
        notify = list(self.flow('masakari', 'log', 'noop'))[-1]
        subflows = list(notify)
        self.assertEqual(['vmhb-notify-%s-%s' % (name, A)
                          for name in ('masakari', 'log', 'noop')],
                         [subflow.name for subflow in subflows])
        for name, subflow in zip(('masakari', 'log', 'noop'), subflows):
            self.assertIsInstance(subflow.retry, retry_tasks.DeliveryRetry)
            self.assertEqual('vmhb-notify-retry-%s-%s' % (name, A),
                             subflow.retry.name)
            look, notify = list(subflow)
            # each try, a late one looking at the guest first
            self.assertIsInstance(look, probe_tasks.LookAgainTask)
            self.assertEqual('vmhb-look-again-%s-%s' % (name, A), look.name)
            self.assertIsInstance(notify, notify_tasks.NotifyTask)
            self.assertEqual('vmhb-notify-instance-%s-%s' % (name, A),
                             notify.name)

    def test_a_notifier_that_takes_no_failure_has_no_subflow(self):
        notify = list(self.flow(notifiers=[
            ('masakari', fakes.RecordingNotifier()),
            ('webhook', fakes.RecordingNotifier(
                kinds=(STATUS_CHANGED, RECOVERED)))]))[-1]
        self.assertEqual(['vmhb-notify-masakari-' + A],
                         [subflow.name for subflow in notify])

    def test_each_notifier_has_its_policy(self):
        self.flags(group='vmheartbeat', best_effort_notifiers=['log'],
                   best_effort_deadline=90.0, notification_deadline=300.0,
                   notification_retry_interval=1.5,
                   notification_slow_retry_interval=45.0)
        required, queue = list(self.flow('masakari', 'log'))[-1]
        policy = delivery.Policy(True, 300.0, 1.5, 45.0)
        self.assertEqual('vmhb-notify-masakari-' + A, required.name)
        self.assertEqual(policy, required.retry._policy)
        look, _notify = required
        self.assertEqual(policy, look._policy)
        # the best-effort one is handed to the outbox: it holds nothing
        self.assertIsInstance(queue, notify_tasks.QueueFailureTask)
        self.assertEqual('vmhb-queue-failure-' + A, queue.name)
        self.assertEqual({'delivery-log'}, set(queue.provides))

    def test_notify_tasks_share_the_episode_deliveries(self):
        self.flags(group='vmheartbeat', best_effort_notifiers=['log'])
        deliveries = notify_tasks.Deliveries()
        required, _queue = list(self.flow('masakari', 'log',
                                          deliveries=deliveries))[-1]
        for task in required:
            self.assertIs(deliveries, task._deliveries)
        self.assertIs(deliveries, _queue._deliveries)

    def test_takes_failures(self):
        self.flags(group='vmheartbeat', best_effort_notifiers=['log'])
        factory = self.factory(notifiers=[
            ('masakari', fakes.RecordingNotifier()),
            ('rest', fakes.RecordingNotifier(recovers=False)),
            ('log', fakes.RecordingNotifier()),
            ('webhook', fakes.RecordingNotifier(
                kinds=(STATUS_CHANGED,)))])
        # by a notify task, by the outbox; not one that takes no failures
        self.assertEqual(['masakari', 'rest', 'log'],
                         factory.takes_failures())

    def test_no_notifier(self):
        notify = list(self.flow())[-1]
        self.assertEqual([], list(notify))
        self.assertEqual(STORE - {constants.HOSTNAME,
                                  constants.GENERATED_TIME,
                                  constants.EVIDENCE,
                                  constants.EPISODE_STARTED},
                         set(self.flow().requires))
