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

"""The shipped systemd unit, checked as systemd reads it."""

import configparser
import os
import shutil
import subprocess
import sys

import fixtures

from masakarimonitors_ext.conf import vmheartbeat as vmheartbeat_conf
from tests.unit import base

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
UNIT = os.path.join(TOP, 'etc', 'masakarimonitors_ext', 'systemd',
                    'masakari-vmheartbeatmonitor.service')
SCRIPT = os.path.join(os.path.dirname(sys.executable),
                      'masakari-vmheartbeatmonitor')


class SystemdUnitTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        with open(UNIT, encoding='utf-8') as f:
            self.text = f.read()
        self.unit = configparser.ConfigParser(interpolation=None,
                                              strict=False)
        self.unit.optionxform = str
        self.unit.read_string(self.text)

    def verify(self, text):
        """systemd-analyze verify's complaints about a unit text."""
        if not shutil.which('systemd-analyze'):
            self.skipTest('no systemd-analyze')
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            os.path.basename(UNIT))
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text.replace('ExecStart=/usr/bin/masakari-vmheartbeat'
                                 'monitor', 'ExecStart=' + SCRIPT))
        done = subprocess.run(['systemd-analyze', 'verify', path],
                              capture_output=True, text=True, timeout=60)
        return done.returncode, done.stderr.strip()

    def test_systemd_takes_it_as_it_is(self):
        self.assertEqual((0, ''), self.verify(self.text))
        # and would say so of a typo
        code, complaint = self.verify(self.text.replace('UMask=', 'UMsk='))
        self.assertIn("Unknown key 'UMsk'", complaint)

    def test_hardening(self):
        service = self.unit['Service']
        for key, value in (('UMask', '0077'), ('NoNewPrivileges', 'yes'),
                           ('ProtectSystem', 'strict'),
                           ('ProtectHome', 'yes'),
                           ('Restart', 'on-failure'),
                           ('RestartPreventExitStatus', '2'),
                           ('StateDirectoryMode', '0700')):
            self.assertEqual(value, service[key], key)
        self.assertIn('StartLimitBurst', self.unit['Unit'])

    def test_state_directory_is_the_default_state_path(self):
        default, = [opt.default for opt in vmheartbeat_conf.opts
                    if opt.name == 'state_path']
        self.assertEqual(default, '/var/lib/' +
                         self.unit['Service']['StateDirectory'])

    def test_it_runs_the_console_script(self):
        argv = self.unit['Service']['ExecStart'].split()
        self.assertEqual('masakari-vmheartbeatmonitor',
                         os.path.basename(argv[0]))
        self.assertEqual('--config-file', argv[1])
