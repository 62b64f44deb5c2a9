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

from unittest import mock

import fixtures

from masakarimonitors_ext.vmheartbeat.common import keystone
from masakarimonitors_ext.vmheartbeat.common import receivers
from tests.unit import base


def assert_bounded(test, session, timeout):
    """A session that follows no redirect, caps answers, has a deadline."""
    test.assertIs(False, session.redirect)
    test.assertEqual(timeout, session.timeout)
    for scheme in ('http', 'https'):
        test.assertIsInstance(
            session.session.get_adapter(scheme + '://service'),
            receivers.BoundedAdapter)


class GetAuthTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.plugins = {'api': object()}
        self.useFixture(fixtures.MockPatchObject(
            keystone.ks_loading, 'load_auth_from_conf_options',
            side_effect=lambda conf, group: self.plugins.get(group)))
        self.useFixture(fixtures.MockPatchObject(keystone, '_warned',
                                                 set()))

    def test_own_credential_says_nothing(self):
        self.plugins['mistral'] = object()
        self.assertIs(self.plugins['mistral'],
                      keystone.get_auth(self.conf, 'mistral'))
        self.assertNotIn('auth_type', self.logger.output)

    def test_borrowing_masakaris_admin_warns_once_per_group(self):
        for _ in range(3):
            for group in ('nova', 'vitrage'):
                self.assertIs(self.plugins['api'],
                              keystone.get_auth(self.conf, group))
        for group in ('nova', 'vitrage'):
            self.assertEqual(1, self.logger.output.count(
                '[%s] has no auth_type: the [api] credential (Masakari\'s '
                'admin) is used for it too' % group))


class ClientsTestCase(base.TestCase):
    """Sessions, adapters and connections of a service's group."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(
            keystone.ks_loading, 'load_auth_from_conf_options',
            return_value=None))

    def test_connection_of_api_reads_masakari_monitors_options(self):
        self.flags(group='api', region='r-api', api_interface='internal')
        with mock.patch.object(keystone.openstack.connection,
                               'Connection') as connection:
            keystone.get_connection(self.conf, keystone.API, 7.0,
                                    instance_ha_endpoint_override='http://m')
        kwargs = connection.call_args[1]
        self.assertEqual('r-api', kwargs['region_name'])
        self.assertEqual('internal', kwargs['interface'])
        self.assertEqual('http://m', kwargs['instance_ha_endpoint_override'])
        assert_bounded(self, kwargs['session'], 7.0)

    def test_connection_of_a_keystoneauth_group(self):
        self.flags(group='nova', region_name='r1', valid_interfaces=['admin'],
                   timeout=2.0)
        with mock.patch.object(keystone.openstack.connection,
                               'Connection') as connection:
            keystone.get_connection(self.conf, 'nova')
        kwargs = connection.call_args[1]
        self.assertEqual(('r1', 'admin'),
                         (kwargs['region_name'], kwargs['interface']))
        assert_bounded(self, kwargs['session'], 2.0)

    def test_adapter_of_a_group(self):
        self.flags(group='mistral', timeout=3.0, region_name='r2')
        adapter = keystone.get_adapter(self.conf, 'mistral')
        self.assertEqual('workflowv2', adapter.service_type)
        self.assertEqual('r2', adapter.region_name)
        assert_bounded(self, adapter.session, 3.0)
