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


from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from masakarimonitors_ext.conf import auth
from tests.unit import base


class AuthOptionsTestCase(base.TestCase):

    def test_registered_with_the_service_defaults(self):
        conf = cfg.ConfigOpts()
        auth.register_auth_opts(conf, 'svc', 'workflowv2', 12.0)
        self.assertEqual('workflowv2', conf.svc.service_type)
        self.assertEqual(12.0, conf.svc.timeout)
        self.assertIsNone(conf.svc.auth_type)

    def test_listed_with_the_same_defaults(self):
        own = cfg.StrOpt('workflow')
        listed = auth.add_auth_opts([own], 'rca', 10.0)
        self.assertIs(own, listed[0])
        by_name = {opt.dest: opt for opt in listed}
        self.assertEqual('rca', by_name['service_type'].default)
        self.assertEqual(10.0, by_name['timeout'].default)
        self.assertIn('auth_type', by_name)
        # keystoneauth's own option objects keep their defaults
        [timeout] = [o for o in ks_loading.get_session_conf_options()
                     if o.dest == 'timeout']
        self.assertIsNone(timeout.default)
