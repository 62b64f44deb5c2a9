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

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import nova
from masakarimonitors_ext.vmheartbeat.escalation.tasks import domain_tasks
from tests.unit import base
from tests.unit import fake_libvirt
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'
RUNNING = fake_libvirt.VIR_DOMAIN_RUNNING
NO_JOB = fake_libvirt.VIR_DOMAIN_JOB_NONE


class ConfirmDomainRunningTaskTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.inventory = fakes.FakeInventory()
        self.nova = fakes.FakeNova()
        self.task = domain_tasks.ConfirmDomainRunningTask(
            A, self.inventory, self.nova)

    def suppressed(self, *words):
        error = self.assertRaises(exception.InstanceSuppressed,
                                  self.task.execute, A)
        self.assertEqual(A, error.instance_uuid)
        for word in words:
            self.assertIn(word, error.reason)

    def test_requires_and_provides(self):
        self.assertEqual('vmhb-confirm-domain-' + A, self.task.name)
        self.assertEqual({constants.INSTANCE_UUID}, self.task.requires)
        self.assertEqual({constants.DOMAIN_STATE}, self.task.provides)

    def test_running_without_operation(self):
        self.inventory.states[A] = (RUNNING, 1, NO_JOB)
        self.assertEqual('running (reason 1)', self.task.execute(A))

    def test_gone(self):
        self.suppressed('no longer defined')

    def test_not_running(self):
        for state, name in (
                (fake_libvirt.VIR_DOMAIN_PAUSED, 'paused'),
                (fake_libvirt.VIR_DOMAIN_SHUTOFF, 'shut off'),
                (fake_libvirt.VIR_DOMAIN_CRASHED, 'crashed'),
                (fake_libvirt.VIR_DOMAIN_SHUTDOWN, 'shutting down'),
                (fake_libvirt.VIR_DOMAIN_PMSUSPENDED, 'power management'),
                (99, '99')):
            self.inventory.states[A] = (state, 1, NO_JOB)
            self.suppressed(name)

    def test_libvirt_job_running(self):
        self.inventory.states[A] = (RUNNING, 1,
                                    fake_libvirt.VIR_DOMAIN_JOB_UNBOUNDED)
        self.suppressed('libvirt job', 'migration')

    def test_nova_task_state(self):
        self.inventory.states[A] = (RUNNING, 1, NO_JOB)
        self.nova.task_states[A] = 'rebooting'
        self.suppressed('Nova task state is rebooting')

    def test_nova_down_confirms_from_libvirt_alone(self):
        self.inventory.states[A] = (RUNNING, 1, NO_JOB)
        self.nova.task_states[A] = nova.NovaUnavailable(
            'ConnectFailure: Unable to establish connection')
        self.assertIn('Nova not asked: ConnectFailure',
                      self.task.execute(A))
        self.assertIn('Instance %s: Nova did not answer (ConnectFailure: '
                      'Unable to establish connection); the failure is '
                      'confirmed from libvirt alone' % A, self.logger.output)

    def test_without_nova_confirms_from_libvirt_alone(self):
        # opt_in = all: there is no Nova to ask
        task = domain_tasks.ConfirmDomainRunningTask(A, self.inventory, None)
        self.inventory.states[A] = (RUNNING, 1, NO_JOB)
        self.assertEqual('running (reason 1)', task.execute(A))

    def test_libvirt_unreachable(self):
        self.inventory.error = fake_libvirt.cannot_connect_error()
        error = self.assertRaises(exception.LibvirtUnavailable,
                                  self.task.execute, A)
        self.assertIn('Failed to connect socket', str(error))
