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

import os

import fixtures
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from masakarimonitors_ext.conf import notifiers
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base


def _names(options):
    return [opt.dest for opt in options]


class OptionsTestCase(base.TestCase):

    def test_event_kinds_are_the_event_kinds(self):
        # the option's choices are the vocabulary's
        for opts in (notifiers.mistral_opts, notifiers.vitrage_opts):
            [kinds] = [o for o in opts if o.name == 'event_kinds']
            self.assertEqual(list(verdicts.EVENT_KINDS),
                             list(kinds.type.item_type.choices))

    def test_defaults(self):
        # NOTE: a configuration of its own: the service_type and timeout
        # defaults are set with set_default, which CONF.reset() (the end of
        # every test using the config fixture) forgets.
        conf = cfg.ConfigOpts()
        notifiers.register_opts(conf)
        conf([])
        self.assertEqual(1, conf.messaging_notifier.send_retries)
        mistral = conf.mistral
        self.assertIsNone(mistral.workflow)
        self.assertEqual('event', mistral.input_name)
        self.assertEqual(['failed', 'recovered'], mistral.event_kinds)
        self.assertEqual('workflowv2', mistral.service_type)
        self.assertEqual(30.0, mistral.timeout)
        vitrage = conf.vitrage
        self.assertEqual(['failed', 'recovered', 'status_changed'],
                         vitrage.event_kinds)
        self.assertEqual('rca', vitrage.service_type)
        self.assertEqual(10.0, vitrage.timeout)
        # the [api] credentials are used unless a group has its own
        self.assertIsNone(mistral.auth_type)
        self.assertIsNone(vitrage.auth_type)

    def test_event_kinds_refuse_an_unknown_kind(self):
        for group in ('mistral', 'vitrage'):
            error = self.assertRaises(ValueError, self.flags, group=group,
                                      event_kinds=['failed', 'exploded'])
            self.assertIn('exploded', str(error))
            self.assertIn('status_changed', str(error))
            # every known kind is taken
            self.flags(group=group, event_kinds=list(verdicts.EVENT_KINDS))

    def test_event_kinds_from_a_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'monitor.conf')
        with open(path, 'w') as f:
            f.write('[vitrage]\nevent_kinds = failed,exploded\n'
                    '[mistral]\nevent_kinds = recovered, status_changed\n')
        conf = cfg.ConfigOpts()
        notifiers.register_opts(conf)
        conf(['--config-file', path])
        self.addCleanup(conf.reset)
        self.assertEqual(['recovered', 'status_changed'],
                         conf.mistral.event_kinds)
        self.assertRaises(cfg.ConfigFileValueError,
                          lambda: conf.vitrage.event_kinds)

    def test_workflow_and_input_name_are_names(self):
        for value in ('has space', 'a/b', 'x' * 256):
            self.assertRaises(ValueError, self.flags, group='mistral',
                              workflow=value)
        self.flags(group='mistral', workflow='std.noop')
        for value in ('1st', 'with-dash', 'x' * 65):
            self.assertRaises(ValueError, self.flags, group='mistral',
                              input_name=value)
        self.flags(group='mistral', input_name='_event_1')

    def test_send_retries_is_bounded(self):
        for value in (-1, 11):
            self.assertRaises(ValueError, self.flags,
                              group='messaging_notifier', send_retries=value)


class ListOptsTestCase(base.TestCase):

    def test_groups(self):
        listed = notifiers.list_opts()
        self.assertEqual(['messaging_notifier', 'mistral', 'vitrage'],
                         [group.name for group in listed])
        self.assertIs(notifiers.messaging_opts,
                      listed[notifiers.MESSAGING])

    def test_own_options_first_then_keystoneauth(self):
        listed = notifiers.list_opts()
        mistral = _names(listed[notifiers.MISTRAL])
        self.assertEqual(['workflow', 'input_name', 'event_kinds'],
                         mistral[:3])
        vitrage = _names(listed[notifiers.VITRAGE])
        self.assertEqual(['event_kinds'], vitrage[:1])
        for names in (mistral, vitrage):
            self.assertLessEqual({'auth_type', 'auth_section', 'timeout',
                                  'cafile', 'insecure', 'service_type',
                                  'endpoint_override', 'region_name',
                                  'valid_interfaces'}, set(names))
            self.assertEqual(len(names), len(set(names)))

    def test_listed_defaults_are_the_groups(self):
        listed = notifiers.list_opts()
        for group, timeout, service_type in (
                (notifiers.MISTRAL, 30.0, 'workflowv2'),
                (notifiers.VITRAGE, 10.0, 'rca')):
            defaults = {opt.dest: opt.default for opt in listed[group]}
            self.assertEqual(timeout, defaults['timeout'], group.name)
            self.assertEqual(service_type, defaults['service_type'])

    def test_listing_leaves_keystoneauth_options_alone(self):
        notifiers.list_opts()
        session = {opt.dest: opt.default
                   for opt in ks_loading.get_session_conf_options()}
        adapter = {opt.dest: opt.default for opt in
                   ks_loading.get_adapter_conf_options()}
        self.assertIsNone(session['timeout'])
        self.assertIsNone(adapter['service_type'])

    def test_listed_options_are_registered(self):
        for group, options in notifiers.list_opts().items():
            for opt in options:
                self.conf[group.name][opt.dest]
