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

from importlib import metadata

from keystoneauth1 import loading as ks_loading

from masakarimonitors_ext.conf import opts
from tests.unit import base


def _name(group):
    return getattr(group, 'name', group)


class ListOptsTestCase(base.TestCase):

    def test_every_group_in_order(self):
        self.assertEqual(['DEFAULT', 'libvirt', 'api', 'nova', 'vmheartbeat',
                          'guest_checks', 'recovery', 'messaging_notifier',
                          'mistral', 'vitrage'],
                         [_name(group) for group, _ in opts.list_opts()])

    def test_every_option_has_help(self):
        for group, options in opts.list_opts():
            self.assertTrue(options, _name(group))
            for opt in options:
                self.assertTrue(opt.help, '%s.%s' % (_name(group),
                                                     opt.name))

    def test_listed_options_are_registered(self):
        # NOTE: keystoneauth registers its auth plugin options only when it
        # loads the plugin; every other listed option is registered.
        plugin = {opt.dest for opt in
                  ks_loading.get_auth_plugin_conf_options('password')}
        for group, options in opts.list_opts():
            section = (self.conf if _name(group) == 'DEFAULT'
                       else self.conf[_name(group)])
            for opt in options:
                if opt.dest not in plugin:
                    section[opt.dest]  # raises NoSuchOptError if missing

    def test_shared_and_own_options(self):
        listed = {_name(group): {opt.dest for opt in options}
                  for group, options in opts.list_opts()}
        self.assertEqual({'hostname'}, listed['DEFAULT'])
        self.assertIn('connection_uri', listed['libvirt'])
        self.assertIn('endpoint_override', listed['api'])
        self.assertLessEqual({'api_microversion', 'auth_type', 'timeout',
                              'region_name'}, listed['nova'])
        self.assertLessEqual({'interval', 'timeout', 'notifiers',
                              'state_path'}, listed['vmheartbeat'])

    def test_no_option_twice_in_a_group(self):
        for group, options in opts.list_opts():
            names = [opt.dest for opt in options]
            self.assertEqual(len(names), len(set(names)), _name(group))

    def test_generator_entry_point(self):
        points = metadata.entry_points(group='oslo.config.opts')
        point = [p for p in points if p.name == 'masakarimonitors_ext']
        self.assertEqual(1, len(point))
        self.assertIs(opts.list_opts, point[0].load())
