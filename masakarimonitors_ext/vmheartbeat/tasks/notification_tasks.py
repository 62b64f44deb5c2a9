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

"""Escalation tasks that deliver the failure."""

import time

from oslo_log import log as logging
from taskflow import task

from masakarimonitors_ext.vmheartbeat import checks
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat.notifiers import base
from masakarimonitors_ext.vmheartbeat.tasks import probe_tasks

LOG = logging.getLogger(__name__)


class NotifyTask(task.Task):
    """Deliver the failure through one notifier.

    Each notifier has its own task, so a slow or failing receiver neither
    delays nor repeats the others, and after a restart only the ones not yet
    delivered run again. A try made later than ``deadline`` seconds after
    the failure (a receiver down for long, or a flow resumed late) first
    probes the guest again: a guest that answers now is not reported.
    """

    def __init__(self, instance_uuid, notifier_name, notifier, prober,
                 deadline, **kwargs):
        super().__init__(
            name=constants.name_for(
                '%s-%s' % (constants.NOTIFY_TASK, notifier_name),
                instance_uuid),
            requires=(constants.INSTANCE_UUID, constants.HOSTNAME,
                      constants.GENERATED_TIME, constants.EVIDENCE,
                      constants.REPROBE_RESULT, constants.DOMAIN_STATE,
                      constants.LAST_PROBE, constants.EPISODE_STARTED,
                      constants.PROBE_TIMEOUT, constants.CHECK,
                      constants.CHECK_SETTINGS, constants.FAILURE_CLASS,
                      constants.RECOVER),
            **kwargs)
        # NOTE: taskflow's Task owns the attribute "_notifier".
        self._driver_name = notifier_name
        self._driver = notifier
        self._prober = prober
        self._deadline = deadline

    def execute(self, instance_uuid, hostname, generated_time, evidence,
                reprobe_result, domain_state, last_probe, episode_started,
                probe_timeout, check=checks.HEARTBEAT, check_settings=None,
                failure_class=checks.CLASS_HEARTBEAT, recover=True):
        if time.time() - episode_started > self._deadline:
            result = probe_tasks.probe_once(
                self._prober, instance_uuid, probe_timeout, check,
                check_settings, failure_class)
            LOG.info('Instance %s: still not answering (%s); notifying %s',
                     instance_uuid, result, self._driver_name)
        failure = base.Failure(
            instance_uuid, hostname, generated_time,
            tuple(evidence) + ('re-probes: %s' % reprobe_result,
                               'domain: %s' % domain_state,
                               'last probe: %s' % last_probe),
            failure_class=failure_class, check=check, recover=recover)
        answer = self._driver.notify(failure)
        LOG.info('Instance %s: notification %s: %s', instance_uuid,
                 self._driver_name, answer)
        return answer
