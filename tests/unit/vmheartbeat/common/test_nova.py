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


"""The Nova client: bounded calls, what a Nova down looks like."""

import threading
import types
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc

from masakarimonitors_ext.vmheartbeat.common import keystone
from masakarimonitors_ext.vmheartbeat.common import nova
from tests.unit import base
from tests.unit.vmheartbeat.common import test_keystone
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat.watching import test_optin

A = test_optin.A
server = fakes.server


class NovaTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.compute = fakes.FakeCompute()
        self.nova = nova.Nova(self.conf, types.SimpleNamespace(
            compute=self.compute))

    def test_task_state(self):
        self.compute.servers[A] = server({}, 'migrating')
        self.assertEqual('migrating', self.nova.task_state(A))
        self.compute.servers[A] = server({})
        self.assertIsNone(self.nova.task_state(A))

    def test_task_state_unknown_when_nova_is_down(self):
        # what openstacksdk really raises: keystoneauth's exceptions for a
        # refused connection or a failed version discovery, SDKException
        # for HTTP errors
        for error in (ks_exc.ConnectFailure('Connection refused'),
                      ks_exc.DiscoveryFailure('Could not find versions'),
                      ks_exc.ConnectTimeout('timed out'),
                      sdk_exc.HttpException('Bad Gateway', http_status=502),
                      sdk_exc.NotFoundException('gone')):
            self.compute.error = error
            self.assertRaises(nova.NovaUnavailable, self.nova.task_state, A)

    def test_hanging_nova_is_waited_for_no_longer_than_its_timeout(self):
        self.flags(group='nova', timeout=0.05)
        client = nova.Nova(self.conf, types.SimpleNamespace(
            compute=self.compute))
        release = threading.Event()
        self.addCleanup(release.set)
        self.compute.get_server = lambda uuid: release.wait(
            base.WAIT) and None
        error = self.assertRaises(nova.NovaUnavailable, client.get_server, A)
        self.assertIn('no answer within 0.05s ([nova] timeout)', str(error))

    def test_check(self):
        # the server that exists nowhere: Nova answered
        self.assertIsNone(self.nova.check())
        self.compute.error = ks_exc.ConnectFailure('Connection refused')
        self.assertIn('ConnectFailure: Connection refused', self.nova.check())

    def test_connection_made_from_the_config_once(self):
        client = nova.Nova(self.conf)
        with mock.patch.object(nova, 'make_nova_connection') as make:
            self.assertIs(make.return_value, client.connection)
            self.assertIs(make.return_value, client.connection)
        make.assert_called_once_with(self.conf)


class MakeNovaConnectionTestCase(base.TestCase):

    def test_from_the_nova_options(self):
        auth = object()
        self.useFixture(fixtures.MockPatchObject(
            keystone.ks_loading, 'load_auth_from_conf_options',
            side_effect=lambda conf, group: auth if group == 'api' else None))
        self.flags(group='nova', api_microversion='2.90',
                   endpoint_override='http://nova:8774/v2.1',
                   valid_interfaces=['internal'], region_name='r1',
                   timeout=2.5)
        with mock.patch.object(keystone.openstack.connection,
                               'Connection') as connection:
            nova.make_nova_connection(self.conf)
        kwargs = connection.call_args[1]
        self.assertEqual('2.90', kwargs['compute_default_microversion'])
        self.assertEqual('http://nova:8774/v2.1',
                         kwargs['compute_endpoint_override'])
        self.assertEqual('internal', kwargs['interface'])
        self.assertEqual('r1', kwargs['region_name'])
        self.assertIs(auth, kwargs['session'].auth)
        # bounded: no redirects, capped answers, [nova] timeout in all
        test_keystone.assert_bounded(self, kwargs['session'], 2.5)
