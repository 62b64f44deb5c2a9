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

"""Escalation tasks that probe the guest: the check that failed, again."""

import time

from oslo_log import log as logging
from taskflow import task

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import stamps
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

#: times an application check that has just written its challenge is
#: asked again, its answer time apart
_PENDING_TRIES = 3
_PROBE_KEYS = (constants.CHECK, constants.CHECK_SETTINGS,
               constants.FAILURE_CLASS)


def probe_once(prober, instance_uuid, timeout, check=checks.HEARTBEAT,
               check_settings=None, failure_class=None):
    """Run the failed check again; return the miss, raise for the rest.

    :param check: the check that failed.
    :param check_settings: its settings as a dict, None for the heartbeat.
    :param failure_class: what it failed of: a guest whose filesystems are
        still frozen confirms a ``frozen_too_long`` failure, and leaves any
        other without a verdict.
    :raises: InstanceAnswered, InstanceSuppressed, LibvirtUnavailable when
        libvirtd cannot be asked, ProbeInconclusive when the guest agent
        refuses the check.
    """
    settings = (None if check_settings is None
                else checks.CheckSettings.from_dict(check_settings))
    key = checks.CheckKey(instance_uuid, check)
    result = prober.probe(key, timeout, settings)
    for _ in range(_PENDING_TRIES):
        if result.outcome is not base.Outcome.PENDING:
            break
        time.sleep(result.retry_after or settings.timeout)
        result = prober.probe(key, timeout, settings)
    outcome = result.outcome
    if result.answered and result.status != verdicts.APP_STARTING:
        raise exception.InstanceAnswered(instance_uuid)
    if outcome is base.Outcome.NOT_RUNNING:
        raise exception.InstanceSuppressed(instance_uuid, result.detail)
    if outcome is base.Outcome.INCONCLUSIVE:
        raise exception.LibvirtUnavailable(result.detail)
    if outcome is base.Outcome.HELD and failure_class == verdicts.CLASS_FROZEN:
        return result
    if outcome in (base.Outcome.HELD, base.Outcome.BLOCKED,
                   base.Outcome.PENDING):
        raise exception.ProbeInconclusive(
            'instance %s: the %s check could not run: %s' % (
                instance_uuid, check, result))
    return result


class ReprobeInstanceTask(task.Task):
    """Re-probe the guest; the last of ``attempts`` misses confirms.

    An answer ends the escalation (the guest is alive); a miss before the
    last attempt raises ``ProbeMissed`` so that the retry controller probes
    again after its backoff.
    """

    def __init__(self, instance_uuid, prober, attempts, **kwargs):
        super().__init__(
            name=constants.name_for(constants.REPROBE_TASK, instance_uuid),
            requires=(constants.INSTANCE_UUID, constants.PROBE_TIMEOUT,
                      constants.REPROBE_ATTEMPT) + _PROBE_KEYS,
            provides=constants.REPROBE_RESULT, **kwargs)
        self._prober = prober
        self._attempts = attempts

    def execute(self, instance_uuid, probe_timeout, reprobe_attempt,
                check=checks.HEARTBEAT, check_settings=None,
                failure_class=None):
        result = probe_once(self._prober, instance_uuid, probe_timeout,
                            check, check_settings, failure_class)
        LOG.info('Instance %s: re-probe %d/%d missed: %s', instance_uuid,
                 reprobe_attempt, self._attempts, result)
        if reprobe_attempt < self._attempts:
            raise exception.ProbeMissed(instance_uuid, result)
        return str(result)


class ConfirmLastProbeTask(task.Task):
    """One last probe, after the domain checks, just before notifying."""

    def __init__(self, instance_uuid, prober, **kwargs):
        super().__init__(
            name=constants.name_for(constants.CONFIRM_PROBE_TASK,
                                    instance_uuid),
            requires=(constants.INSTANCE_UUID, constants.PROBE_TIMEOUT) +
            _PROBE_KEYS,
            provides=constants.LAST_PROBE, **kwargs)
        self._prober = prober

    def execute(self, instance_uuid, probe_timeout, check=checks.HEARTBEAT,
                check_settings=None, failure_class=None):
        result = probe_once(self._prober, instance_uuid, probe_timeout,
                            check, check_settings, failure_class)
        LOG.info('Instance %s: last probe missed too: %s', instance_uuid,
                 result)
        return str(result)


class LookAgainTask(task.Task):
    """Before a late try of a notifier, look at the guest once more.

    A try made later than the notifier's ``deadline`` after the failure
    (a receiver down for long, or a flow resumed late) first probes the
    guest again: a guest that answers now is not reported. A try in time
    probes nothing, nor does one whose delivery already ended in this
    episode (in ``deliveries``: the flow runs again in memory).

    :param notifier_name: the notifier about to be tried.
    :param policy: its ``delivery.Policy``.
    :param deliveries: the episode's ``notify_tasks.Deliveries``,
        or None.
    """

    def __init__(self, instance_uuid, notifier_name, prober, policy,
                 deliveries=None, **kwargs):
        super().__init__(
            name=constants.name_for(
                '%s-%s' % (constants.LOOK_AGAIN_TASK, notifier_name),
                instance_uuid),
            requires=(constants.INSTANCE_UUID, constants.EPISODE_STARTED,
                      constants.PROBE_TIMEOUT) + _PROBE_KEYS, **kwargs)
        self._notifier_name = notifier_name
        self._prober = prober
        self._policy = policy
        self._deliveries = deliveries

    def execute(self, instance_uuid, episode_started, probe_timeout,
                check=checks.HEARTBEAT, check_settings=None,
                failure_class=None):
        if (self._deliveries is not None and
                self._deliveries.get(self._notifier_name) is not None):
            return
        if not self._policy.slow(stamps.elapsed(episode_started)):
            return
        result = probe_once(self._prober, instance_uuid, probe_timeout,
                            check, check_settings, failure_class)
        LOG.info('Instance %s: still not answering (%s); notifying %s',
                 instance_uuid, result, self._notifier_name)
