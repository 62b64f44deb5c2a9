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

"""Escalation tasks that probe the guest."""

from oslo_log import log as logging
from taskflow import task

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat.probes import base

LOG = logging.getLogger(__name__)


def probe_once(prober, instance_uuid, timeout):
    """Probe the guest; return the miss, raise for anything else.

    :raises: InstanceAnswered, InstanceSuppressed, or LibvirtUnavailable
        when no verdict can be had.
    """
    result = prober.probe(instance_uuid, timeout)
    if result.answered:
        raise exception.InstanceAnswered(instance_uuid)
    if result.outcome is base.Outcome.NOT_RUNNING:
        raise exception.InstanceSuppressed(instance_uuid, result.detail)
    if result.outcome is base.Outcome.INCONCLUSIVE:
        raise exception.LibvirtUnavailable(result.detail)
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
                      constants.REPROBE_ATTEMPT),
            provides=constants.REPROBE_RESULT, **kwargs)
        self._prober = prober
        self._attempts = attempts

    def execute(self, instance_uuid, probe_timeout, reprobe_attempt):
        result = probe_once(self._prober, instance_uuid, probe_timeout)
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
            requires=(constants.INSTANCE_UUID, constants.PROBE_TIMEOUT),
            provides=constants.LAST_PROBE, **kwargs)
        self._prober = prober

    def execute(self, instance_uuid, probe_timeout):
        result = probe_once(self._prober, instance_uuid, probe_timeout)
        LOG.info('Instance %s: last probe missed too: %s', instance_uuid,
                 result)
        return str(result)
