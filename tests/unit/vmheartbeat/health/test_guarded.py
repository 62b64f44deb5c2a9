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

"""The instances table with recovery guards: budgets and back-off.

The table and real ``guards.RecoveryGuards`` (their own wall clock), a
fake escalator: what the escalator would keep of a reported recovery is
kept by :meth:`GuardedTestCase.reported`.
"""

import time
import types

import fixtures

from masakarimonitors_ext.vmheartbeat.common import nova
from masakarimonitors_ext.vmheartbeat.escalation import guards
from masakarimonitors_ext.vmheartbeat.escalation import pauses
from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat.health import views
from masakarimonitors_ext.vmheartbeat import status_text
from masakarimonitors_ext.vmheartbeat import verdicts
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit import base
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat.table import A
from tests.unit.vmheartbeat.table import B
from tests.unit.vmheartbeat.table import domain
from tests.unit.vmheartbeat.table import hb
from tests.unit.vmheartbeat.table import KEY
from tests.unit.vmheartbeat.table import TableTestCase

SUSPENDED = verdicts.EVENT_RECOVERY_SUSPENDED
#: a time of today: the opt-in reads the server metadata with the real clock
T0 = float(int(time.time()))


class GuardedTestCase(TableTestCase):

    #: ``[recovery] storm_failures``: off but in the storm guard's tests
    storm_failures = 0

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level='INFO', format='%(levelname)s %(message)s'))
        self.flags(group='vmheartbeat',
                   state_path=self.useFixture(fixtures.TempDir()).path)
        self.flags(hostname='compute-1')
        self.flags(group='recovery', backoff_initial=60.0, backoff_max=300.0,
                   backoff_reset=600.0, storm_failures=self.storm_failures,
                   storm_window=60.0)
        self.wall = base.FakeClock(T0)
        self.guards = guards.RecoveryGuards(self.conf, wall=self.wall)
        self.assertTrue(self.guards.open())
        self.addCleanup(self.guards.close)
        self.sink = fakes.RecordingSink()
        self.start(self.optin)

    def start(self, policy):
        self.clock.set(0.0)
        self.parts = self.make_parts(policy, self.sink, self.guards)
        self.parts.escalator.escalating.return_value = False
        self.parts.domains_listed({A: domain(), B: domain()})
        self.clock.set(100.0)  # past the startup grace period
        self.answer(A)
        self.answer(B)

    def answer(self, uuid=A):
        self.parts.instances.on_result(hb(uuid), fakes.ANSWERED)

    def fail(self, uuid=A):
        """Misses up to the threshold; the escalation's arguments or None."""
        self.parts.escalator.start.reset_mock()
        self.miss(self.parts, 3, uuid)
        started = self.parts.escalator.start.call_args
        return None if started is None else started[1]

    def reported(self, started, uuid=A):
        """The escalator reported it, and kept the recovery it asked for."""
        if started['recover']:
            self.guards.recovered(uuid, started['recovery_run'])
        self.close_episode(self.parts, verdicts.EpisodeOutcome.NOTIFIED,
                           uuid=uuid)

    def recovered_once(self, uuid=A):
        started = self.fail(uuid)
        self.assertTrue(started['recover'], started)
        self.reported(started, uuid)
        self.answer(uuid)
        return started

    def suspended(self):
        return [e for e in self.sink.events if e.kind == SUSPENDED]

    def warnings(self):
        return [line for line in self.logger.output.splitlines()
                if line.startswith('WARNING') and 'not recovered' in line]


class BudgetTestCase(GuardedTestCase):

    def spend(self, uuid=A):
        for run in range(3):
            self.assertEqual(1 + run, self.recovered_once(uuid)[
                'recovery_run'])
            self.wall.advance(400.0)  # past each back-off

    def test_three_recoveries_then_report_only(self):
        self.spend()
        started = self.fail()
        self.assertFalse(started['recover'])
        self.assertEqual(0, started['recovery_run'])
        [event] = self.suspended()
        self.assertEqual((A, 'heartbeat', verdicts.CLASS_HEARTBEAT, False),
                         (event.instance_uuid, event.check,
                          event.failure_class, event.recover))
        self.assertEqual(guards.iso(T0 + 3600.0), event.until)
        self.assertIn('recovery budget spent', event.details)
        self.assertEqual(1, len(self.warnings()), self.logger.output)

    def test_the_status_shows_the_spent_budget(self):
        self.spend()
        self.reported(self.fail())
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(views.REPORTED_ONLY, item['state'])
        self.assertEqual(3, item['recovery']['recoveries'])
        self.assertEqual('report_only', item['recovery']['permission'])
        text = status_text.format_text([item])
        self.assertIn('reported (report only: not recovered)', text)
        self.assertIn('recoveries: 3 of 3 within 3600.0s', text)
        self.assertIn('next failure reported only until %s' % guards.iso(
            T0 + 3600.0), text)

    def test_one_event_and_warning_per_suspension(self):
        self.spend()
        for _ in range(3):
            self.reported(self.fail())
            self.answer()
        self.assertEqual(1, len(self.suspended()))
        self.assertEqual(1, len(self.warnings()))

    def test_a_reset_brings_recovery_back(self):
        self.spend()
        self.reported(self.fail())
        self.answer()
        self.guards.reset(A)
        self.assertTrue(self.fail()['recover'])

    def test_report_only_flavor_classes_do_not_spend_it(self):
        self.optin.decisions[A] = optin.Decision(
            True, fakes.settings(), 'opted in',
            report_only=frozenset([verdicts.CLASS_HEARTBEAT]))
        self.start(self.optin)
        for _ in range(5):
            started = self.fail()
            self.assertFalse(started['recover'])
            self.reported(started)
            self.answer()
        self.assertEqual(0, self.guards.describe(
            A, self.parts.instances._budget)['recoveries'])
        self.assertEqual([], self.suspended())

    def test_a_flavor_sets_a_budget_of_its_own(self):
        compute = fakes.FakeCompute({
            A: {KEY: 'true', KEY + '_max_recoveries': '1'},
            B: {KEY: 'true', KEY + '_max_recoveries': 'lots'}})
        policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=compute)), self.clock)
        self.flags(group='vmheartbeat', opt_in='flavor')
        self.start(policy)
        self.recovered_once(A)
        self.wall.advance(400.0)
        self.assertFalse(self.fail(A)['recover'])
        # a value out of bounds leaves the operator's budget, said once
        self.assertIn("%s_max_recoveries='lots' is not an integer from 0 "
                      "to 100" % KEY, self.logger.output)
        for _ in range(3):
            self.recovered_once(B)
            self.wall.advance(400.0)
        self.assertFalse(self.fail(B)['recover'])


class BackoffTestCase(GuardedTestCase):

    def test_a_failure_within_the_backoff_waits_for_its_end(self):
        self.recovered_once()
        self.wall.advance(30.0)
        self.assertIsNone(self.fail())
        self.assertEqual(machine.ON_HOLD, self.state(self.parts))
        [event] = self.suspended()
        self.assertEqual(guards.iso(T0 + 60.0), event.until)
        self.assertIn('hold: back-off after 1 recoveries', event.details)
        # more misses within it: still on hold, told once
        self.miss(self.parts, 5)
        self.parts.escalator.start.assert_not_called()
        self.assertEqual(1, len(self.suspended()))
        self.wall.set(T0 + 60.0)
        self.miss(self.parts)
        started = self.parts.escalator.start.call_args[1]
        self.assertTrue(started['recover'])
        self.assertEqual(2, started['recovery_run'])
        self.assertEqual(machine.FAILED, self.state(self.parts))

    def test_an_answer_on_hold_clears_the_failure(self):
        self.recovered_once()
        self.wall.advance(30.0)
        self.fail()
        self.answer()
        self.assertEqual(machine.HEALTHY, self.state(self.parts))
        self.wall.set(T0 + 60.0)
        self.miss(self.parts)
        self.parts.escalator.start.assert_not_called()

    def test_the_status_shows_the_hold(self):
        self.recovered_once()
        self.wall.advance(30.0)
        self.fail()
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(machine.ON_HOLD, item['state'])
        self.assertEqual('hold', item['recovery']['permission'])
        text = status_text.format_text([item])
        self.assertIn('failed, on hold (not escalated yet)', text)
        self.assertIn('next failure on hold until %s' % guards.iso(
            T0 + 60.0), text)

    def test_a_restart_on_hold_starts_afresh(self):
        self.recovered_once()
        self.wall.advance(30.0)
        self.fail()
        self.parts.instances.lifecycle(A, 'started')
        self.assertEqual(machine.STARTING, self.state(self.parts))


C = '33333333-3333-3333-3333-333333333333'


class StormTestCase(GuardedTestCase):
    """The table with the storm guard: A, B and C watched."""

    storm_failures = 1

    def setUp(self):
        super().setUp()
        self.optin.decisions[C] = optin.Decision(True, fakes.settings(),
                                                 'opted in')
        self.parts.domains_listed({A: domain(), B: domain(), C: domain()})
        self.answer(C)

    def mass(self):
        return [e for e in self.sink.events
                if e.kind == verdicts.EVENT_MASS_FAILURE]

    def test_past_the_threshold_every_failure_is_reported_only(self):
        self.assertTrue(self.fail(A)['recover'])
        started = self.fail(B)
        self.assertFalse(started['recover'])
        self.assertFalse(self.fail(C)['recover'])
        [event] = self.mass()
        self.assertEqual((None, None, 'compute-1', 'error'),
                         (event.instance_uuid, event.check, event.hostname,
                          event.severity))
        self.assertIn('mass failure suspected: 2 instances of this host '
                      'failed within 60s, more than 1', event.details)
        self.assertEqual(guards.iso(T0 + 60.0), event.until)
        lines = [line for line in self.logger.output.splitlines()
                 if 'Mass failure suspected on this host' in line]
        self.assertEqual(1, len(lines))
        self.assertTrue(lines[0].startswith('WARNING'))
        # no per-instance suspension for a storm
        self.assertEqual([], self.suspended())

    def test_the_status_shows_it(self):
        self.fail(A)
        self.fail(B)
        shown = self.parts.instances.host_view()
        self.assertTrue(shown['mass_failure_suspected'])
        text = status_text.format_recovery(shown)
        self.assertIn('mass failure suspected since %s: 2 instances failed '
                      'within 60.0s, more than 1' % guards.iso(T0), text)
        self.wall.advance(61.0)
        self.assertIn('storm guard: 0 instances failed within 60.0s',
                      status_text.format_recovery(
                          self.parts.instances.host_view()))

    def test_after_the_window_a_single_failure_is_recovered(self):
        self.reported(self.fail(A))
        self.reported(self.fail(B))
        self.wall.advance(61.0)
        self.assertTrue(self.fail(C)['recover'])
        self.assertEqual(1, len(self.mass()))


class PauseTestCase(GuardedTestCase):
    """A paused instance: its checks go on, its failure is on hold."""

    def test_a_paused_failure_waits_for_the_end_of_the_pause(self):
        self.guards.pauses.pause(A, 600)
        self.assertIsNone(self.fail())
        self.assertEqual(machine.ON_HOLD, self.state(self.parts))
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(('operator', guards.iso(T0 + 600)), (
            item['recovery']['paused_by'], item['recovery']['paused_until']))
        self.assertIn('next failure on hold until %s: escalation paused by '
                      'the operator' % guards.iso(T0 + 600),
                      status_text.format_text([item]))
        # its checks go on, and are shown
        self.miss(self.parts, 3)
        self.parts.escalator.start.assert_not_called()
        self.assertEqual([], self.suspended())
        self.wall.advance(600)
        self.miss(self.parts)
        started = self.parts.escalator.start.call_args[1]
        self.assertTrue(started['recover'])

    def test_a_pause_holds_a_class_the_flavor_reports_only_too(self):
        self.optin.decisions[A] = optin.Decision(
            True, fakes.settings(), 'opted in',
            report_only=frozenset([verdicts.CLASS_HEARTBEAT]))
        self.start(self.optin)
        self.guards.pauses.pause(A, 600)
        self.assertIsNone(self.fail())
        self.wall.advance(600)
        self.miss(self.parts)
        self.assertFalse(self.parts.escalator.start.call_args[1]['recover'])

    def test_the_server_metadata_pauses_through_the_opt_in(self):
        until = guards.iso(T0 + 900)
        compute = fakes.FakeCompute()
        compute.servers[A] = fakes.server(
            {KEY: 'true'}, metadata={KEY + '_paused_until': until})
        compute.servers[B] = fakes.server(
            {KEY: 'true'}, metadata={KEY + '_paused_until': 'never'})
        policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=compute)), self.clock)
        self.flags(group='vmheartbeat', opt_in='flavor')
        self.start(policy)
        # (the opt-in reads it with the real clock)
        self.assertEqual(pauses.METADATA,
                         self.guards.pauses.paused(A)[1])
        self.assertIsNone(self.guards.pauses.paused(B))
        self.assertIn('the server metadata asks for a pause that is '
                      'refused: %s_paused_until=' % KEY, self.logger.output)
        self.assertIsNone(self.fail(A))
        self.assertTrue(self.fail(B)['recover'])
