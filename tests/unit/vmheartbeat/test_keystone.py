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

import fixtures

from masakarimonitors_ext.vmheartbeat import keystone
from tests.unit import base


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
