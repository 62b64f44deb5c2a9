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

from masakarimonitors_ext.conf import vmheartbeat
from masakarimonitors_ext import exception
from tests.unit import base


class OptionsTestCase(base.TestCase):

    def test_every_option_has_help(self):
        for opt in vmheartbeat.opts:
            self.assertTrue(opt.help, opt.name)

    def test_numbers_have_limits(self):
        for opt in vmheartbeat.opts:
            if isinstance(opt, (cfg.IntOpt, cfg.FloatOpt)):
                self.assertIsNotNone(opt.type.min, opt.name)
                self.assertIsNotNone(opt.type.max, opt.name)

    def test_defaults_detect_in_about_fifteen_seconds(self):
        group = self.conf.vmheartbeat
        self.assertLessEqual(group.timeout, group.interval)
        self.assertEqual(15.0, group.interval * group.failure_threshold)
        self.assertEqual('flavor', group.opt_in)
        self.assertEqual(['masakari'], group.notifiers)

    def test_register_opts(self):
        conf = cfg.ConfigOpts()
        vmheartbeat.register_opts(conf)
        self.assertEqual('masakari:vm_heartbeat',
                         conf.vmheartbeat.extra_spec_key)
        self.assertEqual({vmheartbeat.GROUP: vmheartbeat.opts},
                         vmheartbeat.list_opts())

    def test_out_of_range_is_refused(self):
        self.assertRaises(ValueError, self.flags, group='vmheartbeat',
                          interval=0.0)
        self.assertRaises(ValueError, self.flags, group='vmheartbeat',
                          opt_in='everyone')
        self.assertRaises(ValueError, self.flags, group='vmheartbeat',
                          extra_spec_key='has space')


class CheckTestCase(base.TestCase):

    def assert_refused(self, option, *words):
        error = self.assertRaises(exception.ConfigurationError,
                                  vmheartbeat.check, self.conf)
        self.assertEqual(option, error.option)
        group, _, name = option.rpartition('.')
        text = str(error)
        self.assertIn('[%s] %s' % (group, name), text)
        self.assertNotIn('\n', text)
        for word in words:
            self.assertIn(word, text)
        return error

    def test_defaults_pass(self):
        self.flags(hostname='compute-1')
        vmheartbeat.check(self.conf)

    def test_timeout_longer_than_interval(self):
        self.flags(group='vmheartbeat', interval=2.0, timeout=3.0)
        self.assert_refused('vmheartbeat.timeout', '3.0', '2.0')

    def test_timeout_equal_to_interval_passes(self):
        self.flags(group='vmheartbeat', interval=2.0, timeout=2.0)
        vmheartbeat.check(self.conf)

    def test_no_notifier(self):
        self.flags(group='vmheartbeat', notifiers=[])
        self.assert_refused('vmheartbeat.notifiers', 'noop')

    def test_notifier_named_twice(self):
        self.flags(hostname='compute-1')
        self.flags(group='vmheartbeat', notifiers=['log', 'masakari', 'log'])
        self.assert_refused('vmheartbeat.notifiers', 'named more than once',
                            'log')

    def test_best_effort_notifier_named_twice(self):
        self.flags(hostname='compute-1')
        self.flags(group='vmheartbeat', notifiers=['masakari', 'log'],
                   best_effort_notifiers=['log', 'log'])
        error = self.assert_refused('vmheartbeat.best_effort_notifiers',
                                    'named more than once', 'log')
        self.assertIn('[vmheartbeat] best_effort_notifiers', str(error))

    def test_best_effort_notifier_not_in_notifiers(self):
        self.flags(hostname='compute-1')
        self.flags(group='vmheartbeat', notifiers=['masakari', 'log'],
                   best_effort_notifiers=['log', 'noop', 'mistral'])
        error = self.assert_refused('vmheartbeat.best_effort_notifiers',
                                    'not in notifiers')
        # names what is wrong, and what it may be
        self.assertIn('mistral, noop not in', str(error))
        self.assertIn('(masakari, log)', str(error))

    def test_best_effort_notifiers_among_notifiers_pass(self):
        self.flags(hostname='compute-1')
        self.flags(group='vmheartbeat', notifiers=['masakari', 'log'],
                   best_effort_notifiers=['log'])
        vmheartbeat.check(self.conf)
        self.flags(group='vmheartbeat', best_effort_notifiers=['log',
                                                               'masakari'])
        vmheartbeat.check(self.conf)

    def test_best_effort_deadline_limits(self):
        for value in (0.5, 86401.0):
            self.assertRaises(ValueError, self.flags, group='vmheartbeat',
                              best_effort_deadline=value)

    def test_unknown_opt_in_value(self):
        self.conf_fixture.load_raw_values(group='vmheartbeat',
                                          opt_in='everyone')
        self.assert_refused('vmheartbeat.opt_in', 'everyone')

    def test_not_a_number(self):
        self.conf_fixture.load_raw_values(group='vmheartbeat',
                                          interval='often')
        self.assert_refused('vmheartbeat.interval', 'often')

    def test_below_the_minimum(self):
        self.conf_fixture.load_raw_values(group='vmheartbeat',
                                          failure_threshold='0')
        self.assert_refused('vmheartbeat.failure_threshold')

    def test_empty_hostname(self):
        self.flags(hostname='')
        self.assert_refused('DEFAULT.hostname')
