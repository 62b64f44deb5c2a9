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

from oslo_config import cfg

from masakarimonitors_ext.conf import nova
from tests.unit import base


class NovaOptionsTestCase(base.TestCase):

    def test_defaults(self):
        self.assertEqual('2.47', self.conf.nova.api_microversion)
        self.assertIsNone(self.conf.nova.auth_type)

    def test_microversion_must_be_2_x(self):
        self.flags(group='nova', api_microversion='2.90')
        self.assertRaises(ValueError, self.flags, group='nova',
                          api_microversion='latest')

    def test_register_opts_on_a_fresh_config(self):
        conf = cfg.ConfigOpts()
        nova.register_opts(conf)
        self.assertEqual('compute', conf.nova.service_type)
        listed = {opt.dest for opt in nova.list_opts()[nova.GROUP]}
        self.assertLessEqual({'api_microversion', 'auth_type', 'cafile',
                              'endpoint_override'}, listed)
