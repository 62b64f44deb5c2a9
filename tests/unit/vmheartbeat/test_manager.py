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
import signal
import subprocess
import sys
import threading
import types
from unittest import mock

import fixtures

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.escalation import episodes
from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat import manager
from masakarimonitors_ext.vmheartbeat.probing.probes import guest_agent
from masakarimonitors_ext.vmheartbeat.probing import scheduler
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import messaging
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import mistral
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import noop
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import vitrage
from masakarimonitors_ext.vmheartbeat import verdicts
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit import base as test_base
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat import table
from tests.unit.vmheartbeat.table import A
from tests.unit.vmheartbeat.table import domain
from tests.unit.vmheartbeat.table import hb

Outcome = verdicts.EpisodeOutcome


class ManagerTestCase(table.TableTestCase):

    def make_manager(self, optin_policy=None, beats=None):
        """A manager whose inventory, prober and escalator are fakes.

        Adoptions run in the test's thread.

        :param beats: its scheduler; a real one (never started) when None.
        """
        for module, name, part in (
                (manager.prober, 'Prober', table.fake_prober()),
                (manager.inventory, 'Inventory', table.fake_inventory()),
                (manager.episodes, 'Escalator',
                 mock.Mock(spec=episodes.Escalator))):
            self.useFixture(fixtures.MockPatchObject(module, name,
                                                     return_value=part))
        if beats is not None:
            self.useFixture(fixtures.MockPatchObject(
                manager.scheduler, 'BeatScheduler', return_value=beats))
        self.useFixture(fixtures.MockPatchObject(
            manager, 'futurist', types.SimpleNamespace(
                ThreadPoolExecutor=lambda max_workers: (
                    table.SteppedExecutor()))))
        return manager.VMHeartbeatManager(self.conf,
                                          optin_policy or self.optin)


class LoadDriversTestCase(ManagerTestCase):

    def test_loads_the_configured_drivers(self):
        self.flags(group='vmheartbeat', notifiers=['log', 'noop'],
                   max_answer_bytes=100)
        probe = manager.load_probe_driver(self.conf)
        self.assertIsInstance(probe, guest_agent.GuestAgentSyncProbe)
        self.assertEqual(100, probe.max_answer_bytes)
        self.assertEqual(['log', 'noop'],
                         [name for name, _ in
                          manager.load_notifiers(self.conf)])

    def test_unknown_probe_names_the_option(self):
        self.flags(group='vmheartbeat', probe_driver='smoke_signals')
        error = self.assertRaises(exception.ConfigurationError,
                                  manager.VMHeartbeatManager, self.conf,
                                  self.optin)
        self.assertEqual('vmheartbeat.probe_driver', error.option)
        self.assertIn('[vmheartbeat] probe_driver', str(error))
        self.assertIn('smoke_signals', str(error))

    def test_unknown_notifier_names_the_option(self):
        self.flags(group='vmheartbeat', notifiers=['log', 'pigeon'])
        error = self.assertRaises(exception.ConfigurationError,
                                  manager.VMHeartbeatManager, self.conf,
                                  self.optin)
        self.assertEqual('vmheartbeat.notifiers', error.option)
        self.assertIn('[vmheartbeat] notifiers', str(error))
        self.assertIn('pigeon', str(error))
        self.assertNotIn('log', error.reason)

    def test_loads_the_reporting_backends(self):
        self.flags(group='vmheartbeat',
                   notifiers=['vitrage', 'noop', 'mistral', 'messaging'])
        self.flags(group='mistral', workflow='vmhb_recover')
        self.flags(group='vitrage', event_signing_key='k' * 16)
        loaded = manager.load_notifiers(self.conf)
        self.assertEqual(['vitrage', 'noop', 'mistral', 'messaging'],
                         [name for name, _ in loaded])
        self.assertEqual([vitrage.VitrageNotifier, noop.NoopNotifier,
                          mistral.MistralNotifier,
                          messaging.MessagingNotifier],
                         [type(notifier) for _, notifier in loaded])
        for _, notifier in loaded:
            self.assertIs(self.conf, notifier.conf)

    def test_a_notifier_not_configured_is_not_made(self):
        # the mistral notifier would refuse to be made without a workflow
        self.flags(group='vmheartbeat', notifiers=['noop'])
        self.flags(group='mistral', workflow=None)
        self.assertEqual(['noop'], [name for name, _ in
                                    manager.load_notifiers(self.conf)])

    def test_configuration_error_of_a_notifier_is_raised_as_is(self):
        self.flags(group='vmheartbeat', notifiers=['noop', 'mistral'])
        self.flags(group='mistral', workflow=None)
        error = self.assertRaises(exception.ConfigurationError,
                                  manager.load_notifiers, self.conf)
        self.assertEqual('mistral.workflow', error.option)
        self.assertIn('[mistral] workflow', str(error))
        # and the monitor does not start
        error = self.assertRaises(exception.ConfigurationError,
                                  manager.VMHeartbeatManager, self.conf,
                                  self.optin)
        self.assertEqual('mistral.workflow', error.option)

    def test_vitrage_without_a_signing_key_is_refused(self):
        # the monitor does not start: the datasource would refuse every
        # event it posted
        self.flags(group='vmheartbeat', notifiers=['noop', 'vitrage'])
        for key in (None, '', 'k' * 15):
            self.flags(group='vitrage', event_signing_key=key)
            error = self.assertRaises(exception.ConfigurationError,
                                      manager.VMHeartbeatManager, self.conf,
                                      self.optin)
            self.assertEqual('vitrage.event_signing_key', error.option)
            self.assertIn('[vitrage] event_signing_key', str(error))
            self.assertIn('at least 16 characters', str(error))
        # not needed while the vitrage notifier is off
        self.flags(group='vmheartbeat', notifiers=['noop'])
        self.assertEqual(['noop'], [name for name, _ in
                                    manager.load_notifiers(self.conf)])

    def test_other_error_of_a_notifier_names_the_option(self):
        self.flags(group='vmheartbeat', notifiers=['noop', 'vitrage'])
        with mock.patch.object(vitrage.VitrageNotifier, '__init__',
                               side_effect=RuntimeError('no catalog')):
            error = self.assertRaises(exception.ConfigurationError,
                                      manager.load_notifiers, self.conf)
        self.assertEqual('vmheartbeat.notifiers', error.option)
        self.assertIn('[vmheartbeat] notifiers', str(error))
        self.assertIn('notifier vitrage cannot be loaded', str(error))
        self.assertIn('RuntimeError: no catalog', str(error))

    def test_notifiers_none_of_which_takes_failures_are_refused(self):
        self.flags(group='vmheartbeat', notifiers=['vitrage', 'mistral'])
        self.flags(group='vitrage', event_kinds=['recovered',
                                                 'status_changed'],
                   event_signing_key='k' * 16)
        self.flags(group='mistral', workflow='vmhb_recover',
                   event_kinds=['reported'])
        error = self.assertRaises(exception.ConfigurationError,
                                  manager.load_notifiers, self.conf)
        self.assertEqual('vmheartbeat.notifiers', error.option)
        self.assertIn('none of vitrage, mistral takes failures', str(error))
        self.assertIn('"noop"', str(error))
        # one that does is enough
        self.flags(group='vitrage', event_kinds=['failed'])
        self.assertEqual(['vitrage', 'mistral'], [
            name for name, _ in manager.load_notifiers(self.conf)])


class CheckServicesTestCase(ManagerTestCase):

    def test_one_warning_per_unreachable_service(self):
        monitor = self.make_manager()
        self.optin.check = lambda: 'ConnectFailure: Connection refused'
        notifier = mock.Mock()
        notifier.check.return_value = 'Masakari answered 401'
        monitor.notifiers = [('masakari', notifier)]
        monitor.check_services()
        self.assertEqual(1, self.logger.output.count(
            'Nova cannot be asked which instances are watched'))
        self.assertIn('ConnectFailure: Connection refused',
                      self.logger.output)
        self.assertEqual(1, self.logger.output.count(
            'Notifier masakari cannot deliver now: Masakari answered 401'))

    def test_silent_when_everything_answers(self):
        monitor = self.make_manager()
        monitor.check_services()
        self.assertNotIn('cannot', self.logger.output)


#: a main thread waiting for the stop while SIGTERM can only be taken by
#: another thread, as the kernel may choose any thread of the monitor
_SIGNALLED_ELSEWHERE = """
import signal, sys, threading
from masakarimonitors_ext.vmheartbeat import manager
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
ready = threading.Event()
def other():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    ready.set()
    threading.Event().wait(60)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
threading.Thread(target=other, daemon=True).start()
ready.wait()
print('waiting', flush=True)
manager.wait_until_set(stop, poll=0.1)
print('stopped', flush=True)
"""


class WaitUntilSetTestCase(test_base.TestCase):

    def test_every_runs_at_once_then_each_period_until_set(self):
        clock = test_base.FakeClock(0.0)
        calls = []

        class Ticking:
            """An event set at 10 s, its waits moving the clock."""

            def wait(self, timeout):
                clock.advance(timeout)
                return clock() >= 10.0

        manager.wait_until_set(Ticking(), lambda: calls.append(clock()),
                               3.0, poll=1.0, clock=clock)
        self.assertEqual([0.0, 3.0, 6.0, 9.0], calls)

    def test_a_signal_taken_by_another_thread_stops_the_wait(self):
        child = subprocess.Popen(
            [sys.executable, '-c', _SIGNALLED_ELSEWHERE],
            stdout=subprocess.PIPE, text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(__file__))))))
        self.addCleanup(child.kill)
        self.assertEqual('waiting\n', child.stdout.readline())
        child.send_signal(signal.SIGTERM)
        # NOTE: with a plain Event.wait() the child never gets here
        try:
            out, _ = child.communicate(timeout=test_base.WAIT)
        except subprocess.TimeoutExpired:
            self.fail('the wait did not end after SIGTERM')
        self.assertEqual('stopped\n', out)
        self.assertEqual(0, child.returncode)


class RunTestCase(ManagerTestCase):

    def test_run_resumes_escalations_then_stops(self):
        monitor = self.make_manager(
            beats=mock.Mock(spec=scheduler.BeatScheduler))
        monitor.escalator.resume_pending.return_value = [
            episodes.Resumed(A, checks.HEARTBEAT, verdicts.CLASS_HEARTBEAT)]
        order = mock.Mock()
        for name, part in (('scheduler', monitor.scheduler),
                           ('inventory', monitor.inventory),
                           ('escalator', monitor.escalator)):
            order.attach_mock(part, name)
        with mock.patch.object(manager.connections, 'start_event_loop'), (
                mock.patch.object(manager.connections, 'check_uri')):
            monitor.stop()
            monitor.run()

        self.assertEqual(machine.FAILED, self.state(monitor))
        names = [c[0] for c in order.mock_calls]
        self.assertEqual(['escalator.open', 'escalator.resume_pending',
                          'scheduler.start', 'inventory.start',
                          'inventory.stop', 'scheduler.stop',
                          'escalator.stop'], names)
        monitor.escalator.stop.assert_called_once_with(
            self.conf.vmheartbeat.shutdown_timeout)

    def test_resumed_escalation_keeps_the_instance_heartbeated(self):
        self.optin.decisions[A] = optin.Decision(
            True, fakes.settings(interval=7.0, timeout=1.0), 'opted in')
        monitor = self.make_manager()
        monitor.escalator.resume_pending.return_value = [
            episodes.Resumed(A, checks.HEARTBEAT, verdicts.CLASS_HEARTBEAT)]
        started = threading.Event()
        monitor.inventory.start.side_effect = lambda listener: started.set()
        self.useFixture(fixtures.MockPatchObject(manager.connections,
                                                 'start_event_loop'))
        self.useFixture(fixtures.MockPatchObject(manager.connections,
                                                 'check_uri'))
        runner = threading.Thread(target=monitor.run)
        runner.start()
        self.addCleanup(runner.join, test_base.WAIT)
        self.addCleanup(monitor.stop)
        self.wait_for(started, 'the start')
        self.assertEqual(machine.FAILED, self.state(monitor))

        # the inventory's first listing
        monitor.adoption.domains_listed({A: domain()})
        self.assertTrue(monitor.scheduler.watching(hb(A)))
        self.assertEqual(7.0, monitor.instances.health_of(A).settings.interval)
        self.assertEqual(machine.FAILED, self.state(monitor))
        monitor.instances.episode_closed(A, Outcome.ANSWERED)
        self.assertEqual(machine.HEALTHY, self.state(monitor))
        self.assertTrue(monitor.scheduler.watching(hb(A)))


class CommandsTestCase(ManagerTestCase):
    """The commands the status socket runs, and the manager's tick."""

    def setUp(self):
        super().setUp()
        self.flags(group='vmheartbeat',
                   state_path=self.useFixture(fixtures.TempDir()).path)
        self.monitor = self.make_manager()
        self.assertTrue(self.monitor.guards.open())
        self.addCleanup(self.monitor.guards.close)

    def test_commands_name_an_instance(self):
        for bad in (None, 'x', 12, '../etc'):
            self.assertRaises(ValueError, self.monitor.pause, bad,
                              {'seconds': 60})
            self.assertRaises(ValueError, self.monitor.resume, bad)
        self.assertRaises(ValueError, self.monitor.reset_budget, 'x')
        self.assertEqual({'instances_reset': 0},
                         self.monitor.reset_budget(None))

    def test_a_pause_needs_its_seconds(self):
        for arguments in (None, {}, {'seconds': 'soon'}, {'seconds': True}):
            self.assertRaises(ValueError, self.monitor.pause, table.A,
                              arguments)
        done = self.monitor.pause(table.A.upper(), {'seconds': 60})
        self.assertEqual(['paused_until'], list(done))
        self.assertEqual({'resumed': True}, self.monitor.resume(table.A))

    def test_the_tick_ends_the_pauses_due_and_logs_the_counts_now_and_then(
            self):
        self.monitor.guards.pauses.expire = mock.Mock()
        self.monitor.log_counts = mock.Mock()
        for _ in range(3):
            self.monitor.tick()
        self.assertEqual(3, self.monitor.guards.pauses.expire.call_count)
        # once per resync_interval
        self.assertEqual(1, self.monitor.log_counts.call_count)
