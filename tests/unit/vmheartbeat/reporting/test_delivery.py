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

"""How long each notifier's deliveries are tried."""

from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

#: the event kinds
FAILED = verdicts.EVENT_FAILED
RECOVERED = verdicts.EVENT_RECOVERED

REQUIRED = delivery.Policy(required=True, deadline=600.0, interval=2.0,
                           slow_interval=60.0)
BEST_EFFORT = delivery.Policy(required=False, deadline=120.0, interval=2.0,
                              slow_interval=60.0)


class PolicyTestCase(base.TestCase):

    def test_doubling_backoff_up_to_its_maximum(self):
        for policy in (REQUIRED, BEST_EFFORT):
            self.assertEqual(
                [2.0, 4.0, 8.0, 16.0, delivery.MAX_BACKOFF,
                 delivery.MAX_BACKOFF],
                [policy.next_try(tries, 0.0) for tries in range(1, 7)],
                policy.name)

    def test_before_the_first_try(self):
        self.assertEqual(2.0, REQUIRED.next_try(0, 0.0))

    def test_backoff_never_passes_the_deadline(self):
        self.assertEqual(1.0, REQUIRED.next_try(5, 599.0))
        self.assertEqual(0.5, BEST_EFFORT.next_try(5, 119.5))

    def test_required_is_tried_slowly_after_its_deadline(self):
        for elapsed in (600.0, 601.0, 86400.0 * 30):
            self.assertEqual(60.0, REQUIRED.next_try(100, elapsed))
        self.assertFalse(REQUIRED.slow(599.9))
        self.assertTrue(REQUIRED.slow(600.0))

    def test_best_effort_gives_up_at_its_deadline(self):
        self.assertIsNotNone(BEST_EFFORT.next_try(3, 119.9))
        for elapsed in (120.0, 121.0, 86400.0):
            self.assertIsNone(BEST_EFFORT.next_try(3, elapsed))
        # never slow: it gives up instead
        for elapsed in (0.0, 120.0, 86400.0):
            self.assertFalse(BEST_EFFORT.slow(elapsed))

    def test_names(self):
        self.assertEqual('required', REQUIRED.name)
        self.assertEqual('best effort', BEST_EFFORT.name)


class PoliciesTestCase(base.TestCase):

    def test_every_notifier_required_by_default(self):
        self.flags(group='vmheartbeat', notifiers=['masakari', 'log'],
                   notification_deadline=300.0,
                   notification_retry_interval=1.5,
                   notification_slow_retry_interval=45.0)
        policy = delivery.Policy(required=True, deadline=300.0,
                                 interval=1.5, slow_interval=45.0)
        self.assertEqual({'masakari': policy, 'log': policy},
                         delivery.policies(self.conf))

    def test_best_effort_notifiers(self):
        self.flags(group='vmheartbeat', notifiers=['masakari', 'log', 'noop'],
                   best_effort_notifiers=['log', 'noop'],
                   best_effort_deadline=90.0, notification_deadline=300.0,
                   notification_retry_interval=1.5,
                   notification_slow_retry_interval=45.0)
        policies = delivery.policies(self.conf)
        self.assertEqual(
            delivery.Policy(True, 300.0, 1.5, 45.0), policies['masakari'])
        for name in ('log', 'noop'):
            self.assertEqual(delivery.Policy(False, 90.0, 1.5, 45.0),
                             policies[name])

    def test_defaults(self):
        group = self.conf.vmheartbeat
        self.assertEqual([], group.best_effort_notifiers)
        self.assertEqual(120.0, group.best_effort_deadline)
        self.assertEqual({'masakari'}, set(delivery.policies(self.conf)))
        self.assertTrue(delivery.policies(self.conf)['masakari'].required)


class RoutingTestCase(base.TestCase):

    def test_the_escalation_delivers_to_a_required_notifier_that_recovers(
            self):
        masakari = fakes.RecordingNotifier()
        self.assertTrue(delivery.by_escalation(masakari, REQUIRED))
        # best effort, reporting only, or taking no failures: the outbox
        self.assertFalse(delivery.by_escalation(masakari, BEST_EFFORT))
        self.assertFalse(delivery.by_escalation(
            fakes.RecordingNotifier(recovers=False), REQUIRED))
        self.assertFalse(delivery.by_escalation(
            fakes.RecordingNotifier(kinds=(RECOVERED,)), REQUIRED))


class TryOnceTestCase(base.TestCase):

    EVENT = events.Event(FAILED, 'uuid-1', 'compute-1', 'heartbeat')

    def attempt(self, *errors):
        return delivery.try_once('masakari', fakes.RecordingNotifier(errors),
                                 self.EVENT)

    def test_delivered(self):
        self.assertEqual(delivery.Attempt(delivery.DELIVERED, 'delivered'),
                         self.attempt())

    def test_refused_for_good(self):
        attempt = self.attempt(fakes.permanent_error())
        self.assertEqual(delivery.REFUSED, attempt.result)
        self.assertIn('Masakari answered 400', attempt.answer)

    def test_transient(self):
        attempt = self.attempt(fakes.transient_error())
        self.assertEqual(delivery.TRANSIENT, attempt.result)
        self.assertIn('503', attempt.answer)

    def test_an_unexpected_error_is_transient_and_logged_with_traceback(self):
        attempt = self.attempt(RuntimeError('notifier bug'))
        self.assertEqual(delivery.Attempt(delivery.TRANSIENT,
                                          'RuntimeError: notifier bug'),
                         attempt)
        self.assertIn('Notifier masakari failed unexpectedly on the failed '
                      'event of instance uuid-1', self.logger.output)
        self.assertIn('Traceback', self.logger.output)
