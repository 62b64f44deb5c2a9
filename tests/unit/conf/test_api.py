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

from masakarimonitors_ext.conf import api
from tests.unit import base


class ApiOptionsTestCase(base.TestCase):

    def test_endpoint_override(self):
        self.assertIsNone(self.conf.api.endpoint_override)
        self.flags(group='api', endpoint_override='http://127.0.0.1:15868/v1')
        self.assertEqual('http://127.0.0.1:15868/v1',
                         self.conf.api.endpoint_override)

    def test_endpoint_override_must_be_http(self):
        self.assertRaises(ValueError, self.flags, group='api',
                          endpoint_override='ftp://masakari/v1')

    def test_list_opts(self):
        self.assertEqual({'api': api.opts}, api.list_opts())
