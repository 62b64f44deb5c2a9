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

"""Retry controllers of the escalation."""

from oslo_log import log as logging
from taskflow import retry

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import stamps

LOG = logging.getLogger(__name__)


def _last_failure(history):
    if not len(history):
        return None
    _result, failures = history[-1]
    return next(iter(failures.values()), None)


class ReprobeRetry(retry.Times):
    """Re-probe after a short backoff while the guest keeps missing.

    Provides the attempt number to the re-probe task. An answer or a
    domain that turns out not to be running ends the escalation at once.

    :param stop: a ``threading.Event`` set when the monitor stops.
    """

    def __init__(self, instance_uuid, attempts, backoff, stop):
        super().__init__(
            attempts=attempts, revert_all=True,
            name=constants.name_for(constants.REPROBE_RETRY, instance_uuid),
            provides=constants.REPROBE_ATTEMPT)
        self._backoff = backoff
        self._stop = stop

    def on_failure(self, history, *args, **kwargs):
        if (history.caused_by(exception.InstanceAnswered, index=-1) or
                history.caused_by(exception.InstanceSuppressed, index=-1)):
            return retry.REVERT_ALL
        decision = super().on_failure(history, *args, **kwargs)
        if decision == retry.RETRY:
            self._stop.wait(self._backoff)
        return decision


class DeliveryRetry(retry.Retry):
    """Deliver again after a transient error, as the notifier's policy says.

    The waits come from the notifier's ``delivery.Policy`` (a required
    one: best-effort notifiers get failures through the outbox), counted
    from the start of the failure episode (kept in the flow's store, so a
    monitor restart does not extend them): a doubling backoff until the
    policy's deadline, then every ``slow_interval`` seconds for as long as
    the instance stays failed (the notify task probes the guest before
    each of those tries). The change of pace is logged at WARNING. When
    the monitor stops, it retries without waiting: the suspended engine
    then stops before the next try, and the delivery resumes at the next
    start.

    :param policy: the notifier's ``delivery.Policy``.
    :param stop: a ``threading.Event`` set when the monitor stops.
    """

    def __init__(self, instance_uuid, notifier_name, policy, stop):
        if not policy.required:
            raise ValueError('notifier %s is best effort: its failures go '
                             'through the outbox' % notifier_name)
        super().__init__(
            name=constants.name_for(
                '%s-%s' % (constants.NOTIFY_RETRY, notifier_name),
                instance_uuid),
            requires=(constants.EPISODE_STARTED,))
        self._instance_uuid = instance_uuid
        self._notifier_name = notifier_name
        self._policy = policy
        self._stop = stop
        self._slow = False

    def execute(self, history, episode_started):
        return len(history) + 1

    def revert(self, history, episode_started, *args, **kwargs):
        pass

    def on_failure(self, history, episode_started, *args, **kwargs):
        failure = _last_failure(history)
        if not (failure and
                failure.check(exception.TransientNotificationError)):
            return retry.REVERT_ALL
        if self._stop.is_set():
            return retry.RETRY
        elapsed = stamps.elapsed(episode_started)
        backoff = self._policy.next_try(len(history), elapsed)
        if self._policy.slow(elapsed) and not self._slow:
            self._slow = True
            LOG.warning('Instance %s: notification %s still not delivered '
                        '%.0fs after the failure (past [vmheartbeat] '
                        'notification_deadline); trying every %.0fs for as '
                        'long as the instance stays failed',
                        self._instance_uuid, self._notifier_name, elapsed,
                        backoff)
        LOG.warning('Notification not delivered to %s (%s); trying again '
                    'in %.1fs', self._notifier_name, failure.exception_str,
                    backoff)
        self._stop.wait(backoff)
        return retry.RETRY
