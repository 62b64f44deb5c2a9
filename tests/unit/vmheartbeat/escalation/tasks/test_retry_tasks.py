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
from unittest import mock

import fixtures
from taskflow import retry
from taskflow.types import failure as tf_failure

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import stamps
from masakarimonitors_ext.vmheartbeat.escalation.tasks import retry_tasks
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from tests.unit import base
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'


def failed(error, persisted=False):
    """A taskflow Failure of ``error``, as read back from the database."""
    try:
        raise error
    except Exception:
        result = tf_failure.Failure()
    if persisted:
        result = tf_failure.Failure.from_dict(result.to_dict())
    return result


def history(*errors, persisted=False):
    contents = [(n + 1, {'task': failed(e, persisted)})
                for n, e in enumerate(errors)]
    return retry.History(contents)


class ReprobeRetryTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.stop = mock.Mock(spec=threading.Event)
        self.retry = retry_tasks.ReprobeRetry(A, 3, 0.2, self.stop)

    def missed(self):
        return exception.ProbeMissed(A, fakes.TIMED_OUT)

    def test_name_and_provides(self):
        self.assertEqual('vmhb-reprobe-retry-' + A, self.retry.name)
        self.assertEqual({constants.REPROBE_ATTEMPT}, self.retry.provides)

    def test_attempt_number(self):
        self.assertEqual(1, self.retry.execute(history()))
        self.assertEqual(3, self.retry.execute(history(self.missed(),
                                                       self.missed())))

    def test_retry_with_backoff_while_attempts_remain(self):
        for done in (1, 2):
            self.stop.reset_mock()
            decision = self.retry.on_failure(
                history(*[self.missed()] * done))
            self.assertEqual(retry.RETRY, decision)
            self.stop.wait.assert_called_once_with(0.2)

    def test_revert_all_when_attempts_are_spent(self):
        decision = self.retry.on_failure(history(*[self.missed()] * 3))
        self.assertEqual(retry.REVERT_ALL, decision)
        self.stop.wait.assert_not_called()

    def test_answer_reverts_at_once(self):
        decision = self.retry.on_failure(history(
            exception.InstanceAnswered(A)))
        self.assertEqual(retry.REVERT_ALL, decision)
        self.stop.wait.assert_not_called()

    def test_suppressed_reverts_at_once(self):
        decision = self.retry.on_failure(history(
            self.missed(), exception.InstanceSuppressed(A, 'paused'),
            persisted=True))
        self.assertEqual(retry.REVERT_ALL, decision)
        self.stop.wait.assert_not_called()

    def test_stopping_cuts_the_backoff_short(self):
        stop = threading.Event()
        stop.set()
        slow = retry_tasks.ReprobeRetry(A, 3, 3600.0, stop)
        self.assertEqual(retry.RETRY, slow.on_failure(history(
            self.missed())))


class DeliveryRetryTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.now = 1000.0
        self.useFixture(fixtures.MockPatchObject(
            stamps, 'time', mock.Mock(
                time=mock.Mock(side_effect=lambda: self.now),
                monotonic=mock.Mock(side_effect=lambda: self.now - 500))))
        self.stop = mock.Mock(spec=threading.Event)
        self.stop.is_set.return_value = False
        self.retry = retry_tasks.DeliveryRetry(
            A, 'masakari', delivery.Policy(required=True, deadline=600.0,
                                           interval=2.0, slow_interval=60.0),
            self.stop)
        self.started = 1000.0

    def on_failure(self, *errors, persisted=False):
        # a stamp of another boot: the time from the wall clock
        started = {'boot': None, 'monotonic': 0.0, 'wall': self.started}
        return self.retry.on_failure(history(*errors, persisted=persisted),
                                     started)

    def test_name_and_requires(self):
        self.assertEqual('vmhb-notify-retry-masakari-' + A, self.retry.name)
        self.assertEqual({constants.EPISODE_STARTED}, self.retry.requires)
        self.assertEqual(1, self.retry.execute(history(), self.started))
        self.retry.revert(history(), self.started)

    def test_transient_error_retries_with_a_doubling_backoff(self):
        waits = []
        for tries in range(1, 7):
            self.stop.reset_mock()
            decision = self.on_failure(*[fakes.transient_error()] * tries)
            self.assertEqual(retry.RETRY, decision)
            waits.append(self.stop.wait.call_args[0][0])
        self.assertEqual([2.0, 4.0, 8.0, 16.0, 30.0, 30.0], waits)

    def test_transient_error_read_back_after_a_restart(self):
        self.assertEqual(retry.RETRY, self.on_failure(
            fakes.transient_error(), persisted=True))

    def test_backoff_never_passes_the_deadline(self):
        self.now = self.started + 599.0
        self.assertEqual(retry.RETRY, self.on_failure(
            *[fakes.transient_error()] * 5))
        self.stop.wait.assert_called_once_with(1.0)

    def test_never_gives_up_after_the_deadline(self):
        self.now = self.started + 600.0
        for tries in range(1, 4):
            self.stop.reset_mock()
            self.assertEqual(retry.RETRY, self.on_failure(
                *[fakes.transient_error()] * tries))
            self.stop.wait.assert_called_once_with(60.0)
            self.now += 60.0
        # the change of pace is said once, at WARNING
        self.assertEqual(1, self.logger.output.count(
            'past [vmheartbeat] notification_deadline'))
        self.assertIn('Instance %s: notification masakari still not '
                      'delivered 600s after the failure' % A,
                      self.logger.output)
        self.assertNotIn('Giving up', self.logger.output)

    def test_deadline_counts_from_the_episode_start(self):
        # a restart does not give the delivery a new deadline
        self.started = 0.0
        self.assertEqual(retry.RETRY,
                         self.on_failure(fakes.transient_error()))
        self.stop.wait.assert_called_once_with(60.0)

    def test_permanent_error_reverts_at_once(self):
        self.assertEqual(retry.REVERT_ALL,
                         self.on_failure(fakes.permanent_error()))
        self.assertEqual(retry.REVERT_ALL,
                         self.on_failure(fakes.permanent_error(),
                                         persisted=True))
        self.stop.wait.assert_not_called()

    def test_other_errors_revert_at_once(self):
        # the notify task turns a notifier's unexpected errors into
        # transient ones; what still reaches here (the guest answering a
        # late probe, a bug of the task itself) ends the escalation
        for error in (RuntimeError('task bug'),
                      exception.InstanceAnswered(A)):
            self.assertEqual(retry.REVERT_ALL, self.on_failure(error))
        self.stop.wait.assert_not_called()

    def test_only_for_a_required_notifier(self):
        error = self.assertRaises(
            ValueError, retry_tasks.DeliveryRetry, A, 'webhook',
            delivery.Policy(required=False, deadline=120.0, interval=2.0,
                            slow_interval=60.0), self.stop)
        self.assertIn('webhook is best effort', str(error))

    def test_no_wait_when_stopping(self):
        self.stop.is_set.return_value = True
        self.assertEqual(retry.RETRY,
                         self.on_failure(fakes.transient_error()))
        self.stop.wait.assert_not_called()
