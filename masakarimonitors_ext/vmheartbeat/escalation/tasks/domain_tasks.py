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

"""Escalation tasks that look at the domain in libvirt and Nova."""

import libvirt
from oslo_log import log as logging
from taskflow import task

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import nova as nova_client

LOG = logging.getLogger(__name__)

_STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'no state',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'blocked',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'shutting down',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'suspended by guest power management',
}


class ConfirmDomainRunningTask(task.Task):
    """The domain still exists, runs, and is in no lifecycle operation.

    A domain that is gone, shut off or crashed is the stock
    instancemonitor's to report (never recover a VM twice); a paused,
    migrating or otherwise busy one is not failed. Nova's task state is
    advisory: when Nova cannot answer within ``[nova] timeout`` the
    failure is confirmed from libvirt alone, as it is without Nova
    (``opt_in = all``).

    :param nova: the ``nova.Nova`` client, or None.
    """

    def __init__(self, instance_uuid, inventory, nova, **kwargs):
        super().__init__(
            name=constants.name_for(constants.CONFIRM_DOMAIN_TASK,
                                    instance_uuid),
            requires=(constants.INSTANCE_UUID,),
            provides=constants.DOMAIN_STATE, **kwargs)
        self._inventory = inventory
        self._nova = nova

    def execute(self, instance_uuid):
        try:
            found = self._inventory.domain_state(instance_uuid)
        except libvirt.libvirtError as e:
            raise exception.LibvirtUnavailable(
                'cannot read the state of domain %s: %s' % (
                    instance_uuid, e.get_error_message()))
        if found is None:
            raise exception.InstanceSuppressed(instance_uuid,
                                               'domain no longer defined')
        state, reason, job = found
        name = _STATE_NAMES.get(state, str(state))
        if state != libvirt.VIR_DOMAIN_RUNNING:
            raise exception.InstanceSuppressed(instance_uuid,
                                               'domain is %s' % name)
        if job != libvirt.VIR_DOMAIN_JOB_NONE:
            raise exception.InstanceSuppressed(
                instance_uuid, 'a libvirt job (type %s) is running, such as '
                'a migration' % job)
        try:
            task_state = (None if self._nova is None
                          else self._nova.task_state(instance_uuid))
        except nova_client.NovaUnavailable as e:
            LOG.warning('Instance %s: Nova did not answer (%s); the failure '
                        'is confirmed from libvirt alone', instance_uuid, e)
            return 'running (reason %s); Nova not asked: %s' % (reason, e)
        if task_state:
            raise exception.InstanceSuppressed(
                instance_uuid, 'Nova task state is %s' % task_state)
        LOG.info('Instance %s: domain is running, in no lifecycle '
                 'operation', instance_uuid)
        return 'running (reason %s)' % reason
