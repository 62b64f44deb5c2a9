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

import sqlite3

import fixtures
import taskflow.engines
from taskflow.patterns import linear_flow
from taskflow.patterns import unordered_flow

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import stamps
from masakarimonitors_ext.vmheartbeat.escalation.tasks import notify_tasks
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'
REQUIRED = delivery.Policy(required=True, deadline=600.0, interval=2.0,
                           slow_interval=60.0)
BEST_EFFORT = delivery.Policy(required=False, deadline=120.0, interval=2.0,
                              slow_interval=60.0)


class NotifyTaskTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.notifier = fakes.RecordingNotifier()
        self.task = self.make_task(REQUIRED)

    def make_task(self, policy):
        return notify_tasks.NotifyTask(
            A, 'masakari', self.notifier, policy)

    def execute(self, task=None):
        return (task or self.task).execute(
            A, 'compute-1', '2026-11-24T19:15:00', ['healthy: timed_out'],
            'timed_out after 2.000s', 'running (reason 1)',
            'timed_out after 2.000s')

    def test_a_delivery_is_recorded_in_memory_and_not_made_again(self):
        deliveries = notify_tasks.Deliveries()
        task = notify_tasks.NotifyTask(
            A, 'masakari', self.notifier, REQUIRED, deliveries)
        first = self.execute(task=task)
        self.assertEqual({'masakari': first}, deliveries.results())
        # the same episode's flow run again: Masakari is not asked twice
        again = notify_tasks.NotifyTask(
            A, 'masakari', self.notifier, REQUIRED, deliveries)
        self.assertEqual(first, self.execute(task=again))
        self.assertEqual(1, self.notifier.tries)
        self.assertIn('already answered in this episode', self.logger.output)

    def test_a_refusal_is_recorded_too(self):
        deliveries = notify_tasks.Deliveries()
        self.notifier.errors = [fakes.permanent_error()]
        task = notify_tasks.NotifyTask(
            A, 'masakari', self.notifier, REQUIRED, deliveries)
        self.execute(task=task)
        self.assertFalse(deliveries.get('masakari')['delivered'])

    def test_a_transient_error_is_not_recorded(self):
        deliveries = notify_tasks.Deliveries()
        self.notifier.errors = [fakes.transient_error()]
        task = notify_tasks.NotifyTask(
            A, 'masakari', self.notifier, REQUIRED, deliveries)
        self.assertRaises(exception.TransientNotificationError,
                          self.execute, task=task)
        self.assertIsNone(deliveries.get('masakari'))

    def test_requires_and_provides(self):
        self.assertEqual('vmhb-notify-instance-masakari-' + A,
                         self.task.name)
        self.assertEqual({constants.INSTANCE_UUID, constants.HOSTNAME,
                          constants.GENERATED_TIME, constants.EVIDENCE,
                          constants.REPROBE_RESULT, constants.DOMAIN_STATE,
                          constants.LAST_PROBE, constants.CHECK,
                          constants.FAILURE_CLASS, constants.RECOVER},
                         self.task.requires)
        self.assertEqual({'delivery-masakari'}, self.task.provides)
        self.assertEqual('delivery-masakari',
                         notify_tasks.delivery_name('masakari'))

    def test_delivers_the_failure_with_all_evidence(self):
        self.assertEqual({'delivered': True, 'answer': 'delivered',
                          'required': True}, self.execute())
        [failure] = self.notifier.delivered
        self.assertEqual(verdicts.EVENT_FAILED, failure.kind)
        self.assertEqual(A, failure.instance_uuid)
        self.assertEqual('compute-1', failure.hostname)
        self.assertEqual(checks.HEARTBEAT, failure.check)
        self.assertEqual(verdicts.CLASS_HEARTBEAT, failure.failure_class)
        self.assertTrue(failure.recover)
        self.assertEqual('2026-11-24T19:15:00', failure.generated_time)
        self.assertEqual(('healthy: timed_out',
                          're-probes: timed_out after 2.000s',
                          'domain: running (reason 1)',
                          'last probe: timed_out after 2.000s'),
                         failure.evidence)

    def test_every_try_carries_the_same_event_id(self):
        self.notifier.errors.append(fakes.transient_error())
        self.assertRaises(exception.TransientNotificationError,
                          self.execute)
        self.execute()
        # a task made again after a restart, too
        self.execute(task=self.make_task(REQUIRED))
        self.assertEqual(
            [events.failure_id(A, '2026-11-24T19:15:00')] * 2,
            [e.event_id for e in self.notifier.delivered])

    def test_delivery_error_is_raised(self):
        self.notifier.errors.append(fakes.transient_error())
        self.assertRaises(exception.TransientNotificationError,
                          self.execute)
        self.assertEqual([], self.notifier.delivered)

    def test_permanent_error_is_a_result_not_a_failure(self):
        # the flow is never failed (nor the others reverted) by a refusal
        self.notifier.errors.append(fakes.permanent_error())
        result = self.execute()
        self.assertEqual({'delivered': False, 'required': True},
                         {k: result[k] for k in ('delivered', 'required')})
        self.assertIn('refused', result['answer'])
        self.assertIn('Masakari answered 400', result['answer'])
        self.assertIn('refused the failure for good', self.logger.output)

    def test_unexpected_error_is_transient(self):
        self.notifier.errors.append(RuntimeError('notifier bug'))
        error = self.assertRaises(exception.TransientNotificationError,
                                  self.execute)
        self.assertIn('RuntimeError', str(error))
        self.assertIn('notifier bug', str(error))
        # with its traceback
        self.assertIn('Traceback', self.logger.output)
        self.assertIn('failed unexpectedly', self.logger.output)

    def test_only_for_a_required_notifier(self):
        # best-effort notifiers get failures through the outbox
        error = self.assertRaises(ValueError, self.make_task, BEST_EFFORT)
        self.assertIn('masakari is best effort', str(error))

    def test_a_required_notifier_is_tried_until_it_takes_it(self):
        for error in (fakes.transient_error(), RuntimeError('bug')):
            self.notifier.errors.append(error)
            self.assertRaises(exception.TransientNotificationError,
                              self.execute)
        self.assertEqual({'delivered': True, 'answer': 'delivered',
                          'required': True}, self.execute())


class QueueFailureTaskTestCase(base.TestCase):

    INPUTS = {
        constants.INSTANCE_UUID: A,
        constants.HOSTNAME: 'compute-1',
        constants.GENERATED_TIME: '2026-11-24T19:15:00',
        constants.EVIDENCE: ['healthy: timed_out'],
        constants.REPROBE_RESULT: 'timed_out after 2.000s',
        constants.DOMAIN_STATE: 'running (reason 1)',
        constants.LAST_PROBE: 'timed_out after 2.000s',
        constants.CHECK: checks.HEARTBEAT,
        constants.FAILURE_CLASS: verdicts.CLASS_HEARTBEAT,
        constants.RECOVER: True,
    }

    def setUp(self):
        super().setUp()
        self.outbox = fakes.RecordingOutbox()
        self.task = notify_tasks.QueueFailureTask(
            A, ['webhook', 'vitrage'], self.outbox)

    def execute(self, task=None):
        return (task or self.task).execute(**self.INPUTS)

    def test_requires_and_provides(self):
        self.assertEqual('vmhb-queue-failure-' + A, self.task.name)
        self.assertEqual({constants.INSTANCE_UUID, constants.HOSTNAME,
                          constants.GENERATED_TIME, constants.EVIDENCE,
                          constants.REPROBE_RESULT, constants.DOMAIN_STATE,
                          constants.LAST_PROBE, constants.CHECK,
                          constants.FAILURE_CLASS, constants.RECOVER},
                         self.task.requires)
        self.assertEqual({'delivery-webhook', 'delivery-vitrage'},
                         self.task.provides)

    def test_queues_the_failure_once_for_every_best_effort_notifier(self):
        self.assertEqual(
            ({'delivered': True, 'answer': 'queued',
              'required': False},) * 2, self.execute())
        [failure] = self.outbox.events
        self.assertEqual(verdicts.EVENT_FAILED, failure.kind)
        self.assertEqual(A, failure.instance_uuid)
        self.assertEqual('compute-1', failure.hostname)
        self.assertTrue(failure.recover)
        self.assertEqual(('healthy: timed_out',
                          're-probes: timed_out after 2.000s',
                          'domain: running (reason 1)',
                          'last probe: timed_out after 2.000s'),
                         failure.evidence)

    def test_the_very_event_the_required_notifiers_get(self):
        self.execute()
        notifier = fakes.RecordingNotifier()
        notify = notify_tasks.NotifyTask(
            A, 'masakari', notifier, REQUIRED)
        notify.execute(**self.INPUTS)
        self.assertEqual(notifier.delivered, self.outbox.events)
        self.assertEqual(events.failure_id(A, '2026-11-24T19:15:00'),
                         self.outbox.events[0].event_id)
        # and again after a restart
        self.execute(task=notify_tasks.QueueFailureTask(
            A, ['webhook', 'vitrage'], self.outbox))
        self.assertEqual(self.outbox.events[0],
                         self.outbox.events[1])

    def test_an_outbox_that_cannot_keep_it(self):
        self.outbox.error = sqlite3.OperationalError('disk I/O error')
        logger = self.useFixture(fixtures.FakeLogger(
            level='DEBUG', format='%(levelname)s %(message)s'))
        results = self.execute()
        self.assertEqual(2, len(results))
        for result in results:
            self.assertEqual('lost: the outbox cannot keep it',
                             result['answer'])
            self.assertFalse(result['required'])
        self.assertIn('ERROR Instance %s: the failure is lost for the '
                      'notifiers webhook, vitrage' % A,
                      logger.output)
        self.assertIn('disk I/O error', logger.output)

    def test_results_in_the_flow_store(self):
        # one result per notifier, under its delivery name, as the
        # escalator reads them
        for names in (['webhook'], ['webhook', 'vitrage']):
            outbox = fakes.RecordingOutbox()
            flow = linear_flow.Flow('queue')
            flow.add(notify_tasks.QueueFailureTask(A, names, outbox))
            engine = taskflow.engines.load(flow, store=dict(self.INPUTS))
            engine.run()
            for name in names:
                self.assertEqual(
                    {'delivered': True, 'answer': 'queued',
                     'required': False},
                    engine.storage.fetch(
                        notify_tasks.delivery_name(name)))
            self.assertEqual(1, len(outbox.events))

    def test_queued_once_in_an_episode(self):
        deliveries = notify_tasks.Deliveries()
        first = self.execute(task=notify_tasks.QueueFailureTask(
            A, ['webhook', 'vitrage'], self.outbox, deliveries))
        self.assertEqual({'webhook': first[0], 'vitrage': first[1]},
                         deliveries.results())
        # the same episode's flow run again: the outbox, which may have
        # delivered and dropped it, does not get it a second time
        again = self.execute(task=notify_tasks.QueueFailureTask(
            A, ['webhook', 'vitrage'], self.outbox, deliveries))
        self.assertEqual(first, again)
        self.assertEqual(1, len(self.outbox.events))
        self.assertIn('already queued for webhook, vitrage in this episode',
                      self.logger.output)


class DeliveriesSeedTestCase(base.TestCase):
    """A flow resumed from the logbook knows what it had delivered."""

    def run_flow(self, notifier):
        outbox = fakes.RecordingOutbox()
        notify = unordered_flow.Flow('notify')
        one = linear_flow.Flow('one')
        one.add(notify_tasks.NotifyTask(
            A, 'masakari', notifier, REQUIRED))
        notify.add(one, notify_tasks.QueueFailureTask(
            A, ['webhook', 'vitrage'], outbox))
        flow = linear_flow.Flow('escalation')
        flow.add(notify)
        store = dict(QueueFailureTaskTestCase.INPUTS,
                     episode_started=stamps.stamp(), probe_timeout=2.0,
                     check_settings=None)
        engine = taskflow.engines.load(flow, store=store)
        try:
            engine.run()
        except exception.TransientNotificationError:
            pass
        return flow, engine.storage._flowdetail

    def test_finished_deliveries_are_taken(self):
        flow, flow_detail = self.run_flow(fakes.RecordingNotifier())
        deliveries = notify_tasks.Deliveries()
        deliveries.seed(flow, flow_detail)
        queued = {'delivered': True, 'answer': 'queued', 'required': False}
        self.assertEqual(
            {'masakari': {'delivered': True, 'answer': 'delivered',
                          'required': True},
             'webhook': queued, 'vitrage': queued}, deliveries.results())
        self.assertTrue(deliveries.all_recorded(
            ['masakari', 'webhook', 'vitrage']))

    def test_a_failed_delivery_is_not_taken(self):
        flow, flow_detail = self.run_flow(fakes.RecordingNotifier(
            [fakes.transient_error()]))
        deliveries = notify_tasks.Deliveries()
        deliveries.seed(flow, flow_detail)
        self.assertNotIn('masakari', deliveries.results())
        self.assertFalse(deliveries.all_recorded(['masakari', 'webhook']))
