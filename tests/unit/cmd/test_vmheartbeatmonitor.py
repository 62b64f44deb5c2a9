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
import json
import os
import signal
import time
from unittest import mock

import fixtures

from masakarimonitors_ext.cmd import vmheartbeatmonitor
from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.escalation import guards
from masakarimonitors_ext.vmheartbeat import manager
from masakarimonitors_ext.vmheartbeat import status
from masakarimonitors_ext.vmheartbeat import status_text
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

    def test_the_monitor_runs_with_a_private_umask(self):
        os.umask(0o022)
        self.main('[vmheartbeat]\ninterval = 5\ntimeout = 10\n')
        self.assertEqual(0o077, os.umask(0o077))

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


A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
SNAPSHOT = [
    {'instance_uuid': A, 'name': 'instance-1111', 'watched': True,
     'reason': 'opt_in = all', 'state': 'healthy',
     'suppressed_because': None, 'failure_class': None,
     'failed_check': None, 'escalating': False, 'app_status': None,
     'app_details': '', 'report_only': [],
     'checks': {'heartbeat': {
         'interval': 5.0, 'timeout': 2.0, 'failure_threshold': 3,
         'misses': 0, 'last': {'outcome': 'answered', 'detail': '',
                               'status': None, 'details': '',
                               'age': 1.5}}}},
    {'instance_uuid': B, 'name': 'instance-2222', 'watched': False,
     'reason': 'flavor has no masakari:vm_heartbeat extra spec'},
]
NOTIFIERS = [
    {'notifier': 'masakari', 'policy': 'required', 'pending': 0,
     'dropped': 0},
    {'notifier': 'rest', 'policy': 'best effort', 'pending': 1000,
     'dropped': 37},
]


class CommandLineTestCase(base.TestCase):
    """A subcommand run as main() runs it, its output captured."""

    def setUp(self):
        super().setUp()
        self.tempdir = self.useFixture(fixtures.TempDir()).path
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        self.stdout = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))
        self.socket = os.path.join(self.tempdir, status.SOCKET)
        self.flags(group='vmheartbeat', state_path=self.tempdir)


class StatusMainTestCase(CommandLineTestCase):
    """``masakari-vmheartbeatmonitor status`` against a served snapshot."""

    def setUp(self):
        super().setUp()
        self.asked = []

    def serve(self, items=SNAPSHOT, notifiers=None):
        def snapshot(instance_uuid):
            self.asked.append(instance_uuid)
            return [i for i in items
                    if instance_uuid in (None, i['instance_uuid'])]

        server = status.StatusServer(
            self.socket, snapshot,
            None if notifiers is None else lambda: notifiers)
        server.start()
        self.addCleanup(server.stop)

    def status(self, *args):
        path = os.path.join(self.tempdir, 'masakarimonitors.conf')
        with open(path, 'w') as f:
            f.write('[vmheartbeat]\nstate_path = %s\n' % self.tempdir)
        confdir = os.path.join(self.tempdir, 'conf.d')
        os.makedirs(confdir, exist_ok=True)
        return vmheartbeatmonitor.main(['status', '--config-file', path,
                                        '--config-dir', confdir] +
                                       list(args))

    def test_text_of_every_instance(self):
        self.serve()
        self.assertEqual(0, self.status())
        self.assertEqual(status_text.format_text(SNAPSHOT) + '\n',
                         self.stdout.getvalue())
        self.assertIn('%s instance-1111: watched (opt_in = all)' % A,
                      self.stdout.getvalue())
        self.assertEqual([None], self.asked)
        self.assertEqual('', self.stderr.getvalue())

    def test_text_shows_the_notifiers_of_the_host(self):
        self.serve(notifiers=NOTIFIERS)
        self.assertEqual(0, self.status())
        self.assertEqual(status_text.format_text(SNAPSHOT) + '\n' +
                         status_text.format_notifiers(NOTIFIERS) + '\n',
                         self.stdout.getvalue())
        self.assertIn('  rest (best effort): 1000 waiting, 37 dropped',
                      self.stdout.getvalue())

    def test_text_of_one_instance_shows_no_notifiers(self):
        self.serve(notifiers=NOTIFIERS)
        self.assertEqual(0, self.status(A))
        self.assertEqual(status_text.format_text(SNAPSHOT[:1]) + '\n',
                         self.stdout.getvalue())

    def test_json_of_the_host(self):
        self.serve(notifiers=NOTIFIERS)
        self.assertEqual(0, self.status('--json'))
        self.assertEqual({'instances': SNAPSHOT, 'notifiers': NOTIFIERS},
                         json.loads(self.stdout.getvalue()))

    def test_json_of_one_instance(self):
        self.serve()
        self.assertEqual(0, self.status('--json', B))
        self.assertEqual({'instances': [SNAPSHOT[1]]},
                         json.loads(self.stdout.getvalue()))
        self.assertEqual([B], self.asked)
        self.assertEqual('', self.stderr.getvalue())

    def test_no_instances(self):
        self.serve([])
        self.assertEqual(0, self.status())
        self.assertEqual('No instances on this host.\n',
                         self.stdout.getvalue())

    def test_unknown_instance(self):
        self.serve()
        unknown = '99999999-9999-9999-9999-999999999999'
        self.assertEqual(1, self.status(unknown))
        self.assertEqual('', self.stdout.getvalue())
        lines = self.stderr.getvalue().splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertEqual('masakari-vmheartbeatmonitor status: the monitor '
                         'does not know instance %s on this host' % unknown,
                         lines[0])

    def test_no_monitor_running(self):
        self.assertEqual(2, self.status())
        self.assertEqual('', self.stdout.getvalue())
        lines = self.stderr.getvalue().splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith(
            'masakari-vmheartbeatmonitor status: no status socket at %s' %
            self.socket), lines[0])

    def test_no_monitor_running_json(self):
        self.assertEqual(2, self.status('--json', A))
        self.assertEqual('', self.stdout.getvalue())
        self.assertEqual(1, len(self.stderr.getvalue().splitlines()))

    def test_socket_of_another_user_is_refused(self):
        self.serve()
        if os.geteuid() == 0:
            os.chown(self.socket, 4343, -1)
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=4242))
        self.assertEqual(2, self.status())
        self.assertEqual('', self.stdout.getvalue())
        lines = self.stderr.getvalue().splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith(
            'masakari-vmheartbeatmonitor status: %s is owned by uid ' %
            self.socket), lines[0])
        self.assertIn('refusing to ask it', lines[0])
        self.assertEqual([], self.asked)

    def test_not_a_socket_is_refused(self):
        with open(self.socket, 'w') as f:
            f.write('{"instances": []}\n')
        self.assertEqual(2, self.status('--json'))
        self.assertEqual('', self.stdout.getvalue())
        self.assertEqual(
            ['masakari-vmheartbeatmonitor status: %s is not a socket but '
             'a file: refusing to ask it' % self.socket],
            self.stderr.getvalue().splitlines())

    HOSTILE = dict(SNAPSHOT[0], name='\x1b]0;x\x07\x1b[2J\r\nroot# ',
                   app_status='healthy', app_details='caf\u00e9 \x1b[31m')

    def test_text_never_prints_raw_control_characters(self):
        self.serve([self.HOSTILE])
        self.assertEqual(0, self.status())
        out = self.stdout.getvalue()
        self.assertEqual('', self.stderr.getvalue())
        self.assertNotIn('\x1b', out)
        self.assertNotIn('\r', out)
        self.assertIn('%s \\x1b]0;x\\x07\\x1b[2J\\r\\nroot# : watched' % A,
                      out)
        self.assertIn('application: healthy: caf\u00e9 \\x1b[31m', out)

    def test_json_is_ascii_with_escapes(self):
        self.serve([self.HOSTILE])
        self.assertEqual(0, self.status('--json'))
        out = self.stdout.getvalue()
        self.assertTrue(out.isascii())
        self.assertNotIn('\x1b', out)
        self.assertNotIn('\r', out)
        self.assertIn('\\u001b[2J\\r\\nroot# ', out)
        self.assertEqual({'instances': [self.HOSTILE], 'notifiers': []},
                         json.loads(out))

    def test_unknown_instance_is_escaped(self):
        self.serve()
        self.assertEqual(1, self.status('\x1b[2J\nx'))
        self.assertEqual(
            ['masakari-vmheartbeatmonitor status: the monitor does not '
             'know instance \\x1b[2J\\nx on this host'],
            self.stderr.getvalue().splitlines())


class ResetBudgetMainTestCase(CommandLineTestCase):
    """``masakari-vmheartbeatmonitor reset-budget``."""

    def reset(self, *args):
        # NOTE: each run of a command parses the command line once
        self.conf.clear()
        path = os.path.join(self.tempdir, 'masakarimonitors.conf')
        with open(path, 'w') as f:
            f.write('[vmheartbeat]\nstate_path = %s\n' % self.tempdir)
        confdir = os.path.join(self.tempdir, 'conf.d')
        os.makedirs(confdir, exist_ok=True)
        return vmheartbeatmonitor.main(['reset-budget', '--config-file',
                                        path, '--config-dir', confdir] +
                                       list(args))

    def kept(self, wall=time.time):
        kept = guards.RecoveryGuards(self.conf, wall=wall)
        self.assertTrue(kept.open())
        kept.recovered(A, 1)
        return kept

    def test_asks_the_running_monitor(self):
        done = []
        server = status.StatusServer(
            self.socket, lambda _i: [], commands={
                manager.RESET_BUDGET: lambda i, _a: done.append(i) or {
                    'instances_reset': 1}})
        server.start()
        self.addCleanup(server.stop)
        self.assertEqual(0, self.reset(A.upper()))
        self.assertEqual([A], done)
        self.assertIn('Recovery budget reset for %s (1 with' % A,
                      self.stdout.getvalue())
        self.assertEqual(0, self.reset('--all'))
        self.assertEqual([A, None], done)

    def test_changes_the_file_when_no_monitor_runs(self):
        self.kept().close()
        self.assertEqual(0, self.reset(A))
        self.assertIn('no monitor runs', self.stdout.getvalue())
        again = self.kept()
        self.assertEqual(1, again.describe(A, budgets.defaults(self.conf))[
            'recoveries'])
        again.close()

    def test_a_monitor_that_holds_the_file_but_does_not_answer(self):
        holder = self.kept()
        self.addCleanup(holder.close)
        self.assertEqual(2, self.reset(A))
        self.assertIn('no status socket', self.stderr.getvalue())
        self.assertEqual(1, holder.describe(A, budgets.defaults(self.conf))[
            'recoveries'])

    def test_an_instance_or_all_is_required(self):
        self.assertEqual(2, self.reset())
        self.assertIn('name one INSTANCE, or --all', self.stderr.getvalue())
        self.assertEqual(2, self.reset('--all', A))

    def test_not_a_uuid_is_refused_escaped(self):
        self.assertEqual(2, self.reset('../x\x1b[2J'))
        self.assertIn('../x\\x1b[2J is not an instance UUID',
                      self.stderr.getvalue())


class PauseMainTestCase(ResetBudgetMainTestCase):
    """``pause INSTANCE --for DURATION`` and ``resume INSTANCE``."""

    def run_command(self, name, *args):
        self.conf.clear()
        path = os.path.join(self.tempdir, 'masakarimonitors.conf')
        with open(path, 'w') as f:
            f.write('[vmheartbeat]\nstate_path = %s\n' % self.tempdir)
        return vmheartbeatmonitor.main([name, '--config-file', path] +
                                       list(args))

    def test_durations(self):
        self.assertEqual([90.0, 5400.0, 7200.0, 86400.0, 1.5], [
            vmheartbeatmonitor.duration(t)
            for t in ('90', '90m', '2h', '1d', '1.5s')])
        for bad in ('', '0', '2 weeks', '-1h', '1e9', 'h', '1.5.5m'):
            self.assertRaises(ValueError, vmheartbeatmonitor.duration, bad)

    def test_asks_the_running_monitor(self):
        asked = []
        server = status.StatusServer(self.socket, lambda _i: [], commands={
            manager.PAUSE: lambda i, a: asked.append((i, a)) or {
                'paused_until': '2026-12-03T20:00:00Z'},
            manager.RESUME: lambda i, a: asked.append((i, a)) or {
                'resumed': False}})
        server.start()
        self.addCleanup(server.stop)
        self.assertEqual(0, self.run_command('pause', A, '--for', '2h'))
        self.assertIn('Escalation of %s paused until 2026-12-03T20:00:00Z.'
                      % A, self.stdout.getvalue())
        self.assertEqual(1, self.run_command('resume', A))
        self.assertIn('the operator had not paused %s' % A,
                      self.stderr.getvalue())
        self.assertEqual([(A, {'seconds': 7200.0}), (A, {})], asked)

    def test_a_pause_needs_an_end(self):
        self.assertEqual(2, self.run_command('pause', A))
        self.assertIn('a pause needs an end: --for DURATION',
                      self.stderr.getvalue())
        self.assertEqual(2, self.run_command('pause', A, '--for', 'ever'))
        self.assertIn('ever is not a duration', self.stderr.getvalue())

    def test_offline_pause_then_resume(self):
        self.assertEqual(0, self.run_command('pause', A, '--for', '1h'))
        self.assertIn('no monitor runs', self.stdout.getvalue())
        kept = guards.RecoveryGuards(self.conf)
        self.assertTrue(kept.open())
        self.assertEqual('operator', kept.pauses.paused(A)[1])
        kept.close()
        self.assertEqual(0, self.run_command('resume', A))
        self.assertEqual(1, self.run_command('resume', A))

    def test_too_long_is_refused(self):
        self.assertEqual(2, self.run_command('pause', A, '--for', '30d'))
        self.assertIn('more than 604800s ([recovery] max_pause) ahead',
                      self.stderr.getvalue())
