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

import io
import os
import signal
from unittest import mock

import fixtures

from masakarimonitors_ext.cmd import vmheartbeatmonitor
from tests.unit import base


class MainTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tempdir = self.useFixture(fixtures.TempDir()).path
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        self.useFixture(fixtures.MockPatchObject(vmheartbeatmonitor.logging,
                                                 'setup'))
        self.handlers = {}
        self.useFixture(fixtures.MockPatchObject(
            vmheartbeatmonitor.signal, 'signal',
            side_effect=lambda signum, handler: self.handlers.update(
                {signum: handler})))

    def main(self, config):
        path = os.path.join(self.tempdir, 'masakarimonitors.conf')
        with open(path, 'w') as f:
            f.write(config)
        confdir = os.path.join(self.tempdir, 'conf.d')
        os.makedirs(confdir, exist_ok=True)
        return vmheartbeatmonitor.main(['--config-file', path,
                                        '--config-dir', confdir])

    def assert_refused(self, config, where, *words):
        self.assertEqual(2, self.main(config))
        lines = self.stderr.getvalue().splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith(
            'masakari-vmheartbeatmonitor: invalid configuration: %s: ' % (
                where,)), lines[0])
        for word in words:
            self.assertIn(word, lines[0])

    def test_notifier_named_twice(self):
        self.assert_refused(
            '[DEFAULT]\nhostname = compute-1\n'
            '[vmheartbeat]\nnotifiers = log,masakari,log\n',
            '[vmheartbeat] notifiers', 'named more than once: log')

    def test_timeout_longer_than_interval(self):
        self.assert_refused('[vmheartbeat]\ninterval = 5\ntimeout = 10\n',
                            '[vmheartbeat] timeout')

    def test_unknown_opt_in_value(self):
        self.assert_refused('[vmheartbeat]\nopt_in = everyone\n',
                            '[vmheartbeat] opt_in', 'everyone')

    def test_unknown_notifier(self):
        self.assert_refused('[DEFAULT]\nhostname = compute-1\n'
                            '[vmheartbeat]\nnotifiers = log, pigeon\n',
                            '[vmheartbeat] notifiers', 'pigeon')

    def test_unknown_probe(self):
        self.assert_refused('[vmheartbeat]\nprobe_driver = smoke\n',
                            '[vmheartbeat] probe_driver', 'smoke')

    def test_good_config_runs_until_a_signal(self):
        with mock.patch.object(vmheartbeatmonitor.manager,
                               'VMHeartbeatManager') as monitor_class:
            self.assertEqual(0, self.main(
                '[DEFAULT]\nhostname = compute-1\n'
                '[vmheartbeat]\ninterval = 2\ntimeout = 1\n'
                'notifiers = log\n'))
        monitor = monitor_class.return_value
        monitor_class.assert_called_once_with(vmheartbeatmonitor.conf.CONF)
        monitor.run.assert_called_once_with()
        self.assertEqual(2.0, self.conf.vmheartbeat.interval)
        self.assertEqual({signal.SIGTERM, signal.SIGINT}, set(self.handlers))
        monitor.stop.assert_not_called()
        self.handlers[signal.SIGTERM](signal.SIGTERM, None)
        monitor.stop.assert_called_once_with()
        self.assertEqual('', self.stderr.getvalue())
