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

"""Recovery guards: budgets, back-off, what is kept and read back."""

import json
import os
import time
from unittest import mock

import fixtures

from masakarimonitors_ext.conf import recovery as recovery_conf
from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.common import statefile
from masakarimonitors_ext.vmheartbeat.escalation import guards
from masakarimonitors_ext.vmheartbeat.escalation import storm
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base

A = '6b1c5f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
B = '7c2d6a1f-2b3c-4d5e-9f0a-1b2c3d4e5f60'
RECOVER = verdicts.Permission.RECOVER
REPORT_ONLY = verdicts.Permission.REPORT_ONLY
HOLD = verdicts.Permission.HOLD
#: a time of today: the offline reset reads the file with the real clock
T0 = float(int(time.time()))


class GuardsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.state = self.useFixture(fixtures.TempDir()).path
        self.flags(group='vmheartbeat', state_path=self.state)
        # shorter than the defaults, for round numbers; the storm guard
        # has tests of its own
        self.flags(group='recovery', backoff_initial=60.0, backoff_max=300.0,
                   backoff_reset=600.0, storm_failures=0)
        self.wall = base.FakeClock(T0)
        self.guards = self.opened()
        self.budget = budgets.defaults(self.conf)

    def opened(self):
        made = guards.RecoveryGuards(self.conf, wall=self.wall)
        self.assertTrue(made.open())
        self.addCleanup(made.close)
        return made

    def recover(self, uuid=A, guard=None):
        """A failure that is recovered now: asked, then kept."""
        guard = guard or self.guards
        permit, _news = guard.permit(uuid, self.budget)
        self.assertEqual(RECOVER, permit.permission, permit)
        guard.recovered(uuid, permit.run)
        return permit

    def permission(self, uuid=A):
        return self.guards.permit(uuid, self.budget)[0].permission


class BudgetTestCase(GuardsTestCase):

    def test_defaults_are_three_an_hour_past_masakaris_window(self):
        defaults = budgets.Budget(**{
            opt.name: opt.default for opt in recovery_conf.opts
            if opt.name not in ('storm_window', 'storm_failures',
                                'storm_share', 'max_pause')})
        self.assertEqual((3, 3600.0, 180.0, 600.0, 1800.0), (
            defaults.max_recoveries, defaults.window,
            defaults.backoff_initial, defaults.backoff_max,
            defaults.backoff_reset))
        self.assertEqual([0.0, 180.0, 360.0, 600.0, 600.0],
                         [defaults.backoff(run) for run in range(5)])

    def test_the_backoff_doubles_up_to_its_cap(self):
        self.assertEqual([0.0, 60.0, 120.0, 240.0, 300.0, 300.0],
                         [self.budget.backoff(run) for run in range(6)])
        self.assertEqual(300.0, self.budget.backoff(10 ** 6))

    def test_the_fourth_failure_within_the_window_is_reported_only(self):
        for _ in range(3):
            self.recover()
            self.wall.advance(400.0)  # past each back-off
        permit, news = self.guards.permit(A, self.budget)
        self.assertEqual(REPORT_ONLY, permit.permission)
        self.assertTrue(news)
        self.assertIn('recovery budget spent: 3 recoveries within 3600s',
                      permit.reason)
        # until the first of them is older than the window
        self.assertEqual(T0 + 3600.0, permit.until)
        self.assertEqual(guards.iso(T0 + 3600.0), permit.until_iso)

    def test_told_once_per_suspension(self):
        for _ in range(3):
            self.recover()
            self.wall.advance(400.0)
        self.assertTrue(self.guards.permit(A, self.budget)[1])
        self.assertFalse(self.guards.permit(A, self.budget)[1])
        self.assertFalse(self.guards.permit(A, self.budget)[1])

    def test_recovered_again_once_the_oldest_ages_out(self):
        for _ in range(3):
            self.recover()
            self.wall.advance(400.0)
        self.assertEqual(REPORT_ONLY, self.permission())
        self.wall.set(T0 + 3600.0 + 1)
        self.assertEqual(RECOVER, self.permission())

    def test_other_instances_keep_their_own_budget(self):
        for _ in range(3):
            self.recover()
            self.wall.advance(400.0)
        self.assertEqual(REPORT_ONLY, self.permission(A))
        self.assertEqual(RECOVER, self.permission(B))

    def test_a_budget_of_zero_never_recovers(self):
        self.flags(group='recovery', max_recoveries=0)
        self.budget = budgets.defaults(self.conf)
        permit, news = self.guards.permit(A, self.budget)
        self.assertEqual(REPORT_ONLY, permit.permission)
        self.assertIsNone(permit.until)
        self.assertIsNone(permit.until_iso)
        self.assertTrue(news)

    def test_a_flavor_budget_applies(self):
        one = budgets.of(self.budget, (('max_recoveries', 1),))
        self.guards.recovered(A, 1)
        self.wall.advance(400.0)
        self.assertEqual(REPORT_ONLY, self.guards.permit(A, one)[0].permission)
        self.assertEqual(RECOVER, self.permission(A))


class BackoffTestCase(GuardsTestCase):

    def test_a_failure_within_the_backoff_is_held_until_it_ends(self):
        first = self.recover()
        self.assertEqual(1, first.run)
        self.wall.advance(30.0)
        permit, news = self.guards.permit(A, self.budget)
        self.assertEqual(HOLD, permit.permission)
        self.assertTrue(news)
        self.assertEqual(T0 + 60.0, permit.until)
        self.assertIn('back-off after 1 recoveries', permit.reason)
        self.wall.set(T0 + 60.0)
        self.assertEqual(RECOVER, self.permission())

    def test_the_backoff_doubles_within_a_run(self):
        self.recover()
        self.wall.advance(60.0)
        second = self.recover()
        self.assertEqual(2, second.run)
        self.wall.advance(119.0)
        self.assertEqual(HOLD, self.permission())
        self.wall.advance(1.0)
        self.assertEqual(3, self.recover().run)

    def test_a_clean_period_ends_the_run(self):
        self.flags(group='recovery', max_recoveries=10)
        self.budget = budgets.defaults(self.conf)
        self.recover()
        self.wall.advance(60.0)
        self.recover()
        self.wall.advance(600.0)  # backoff_reset without a failure
        permit = self.recover()
        self.assertEqual(1, permit.run)
        self.wall.advance(59.0)
        self.assertEqual(HOLD, self.permission())

    def test_no_backoff_when_turned_off(self):
        self.flags(group='recovery', backoff_initial=0.0)
        self.budget = budgets.defaults(self.conf)
        self.recover()
        self.assertEqual(RECOVER, self.permission())


class KeptTestCase(GuardsTestCase):

    def path(self):
        return os.path.join(self.state, guards.FILE)

    def write(self, body, version=1):
        with open(self.path(), 'w') as f:
            json.dump({'version': version, 'body': body}, f)

    def reopened(self):
        self.guards.close()
        return self.opened()

    def test_recoveries_survive_a_restart(self):
        for _ in range(3):
            self.recover()
            self.wall.advance(400.0)
        again = self.reopened()
        self.assertEqual(REPORT_ONLY,
                         again.permit(A, self.budget)[0].permission)
        self.assertEqual(3, again.describe(A, self.budget)['recoveries'])

    def test_the_run_survives_a_restart(self):
        self.recover()
        self.wall.advance(60.0)
        self.recover()
        self.wall.advance(60.0)
        again = self.reopened()
        permit = again.permit(A, self.budget)[0]
        self.assertEqual(HOLD, permit.permission)
        self.assertEqual(T0 + 60.0 + 120.0, permit.until)

    def test_a_second_monitor_cannot_hold_the_same_file(self):
        other = guards.RecoveryGuards(self.conf, wall=self.wall)
        self.assertFalse(other.open())
        self.assertIsNone(guards.reset_offline(self.conf, A))

    def refused(self, body, version=1):
        self.guards.close()
        self.logger.reset_output()
        self.write(body, version)
        again = self.opened()
        self.assertEqual(RECOVER, again.permit(A, self.budget)[0].permission)
        self.assertIn('moved aside', self.logger.output)
        self.assertFalse(os.path.exists(self.path()))
        again.close()

    def test_a_time_in_the_future_is_refused(self):
        self.refused({A: [{'at': T0 + 86400.0, 'run': 1}]})

    def test_a_run_out_of_bounds_is_refused(self):
        self.refused({A: [{'at': T0, 'run': 0}]})
        self.refused({A: [{'at': T0, 'run': True}]})
        self.refused({A: [{'at': T0, 'run': 101}]})

    def test_not_a_uuid_is_refused(self):
        self.refused({'../../etc/passwd': [{'at': T0, 'run': 1}]})

    def test_too_many_recoveries_are_refused(self):
        self.refused({A: [{'at': T0 - i, 'run': 1} for i in range(101)]})

    def test_not_a_number_is_refused(self):
        self.refused({A: [{'at': 'NaN', 'run': 1}]})
        self.refused({A: [{'at': float('nan'), 'run': 1}]})
        self.refused({A: [{'at': True, 'run': 1}]})

    def test_an_unknown_version_is_refused(self):
        self.refused({}, version=2)

    def test_old_recoveries_are_dropped_at_read(self):
        self.guards.close()
        self.write({A: [{'at': T0 - 8 * 86400.0, 'run': 1}]})
        again = self.opened()
        self.assertEqual({'recoveries': 0, 'last_recovery': None},
                         {k: again.describe(A, self.budget)[k]
                          for k in ('recoveries', 'last_recovery')})

    def test_a_file_that_cannot_be_written_keeps_them_in_memory(self):
        self.recover()
        self.wall.advance(60.0)
        with mock.patch.object(statefile.StateFile, 'save',
                               side_effect=OSError(28, 'No space left')):
            self.assertFalse(self.guards.recovered(A, 2))
        self.assertIn('Cannot keep the recovery budgets in %s' %
                      self.path(), self.logger.output)
        self.assertIn('kept in memory', self.logger.output)
        self.assertEqual(2, self.guards.describe(A, self.budget)[
            'recoveries'])


class ResetTestCase(GuardsTestCase):

    def spend(self, uuid):
        for _ in range(3):
            self.recover(uuid)
            self.wall.advance(400.0)

    def test_reset_one_instance(self):
        self.spend(A)
        self.spend(B)
        self.assertEqual(1, self.guards.reset(A))
        self.assertEqual(RECOVER, self.permission(A))
        self.assertEqual(REPORT_ONLY, self.permission(B))
        self.assertIn('Recovery budget reset for %s' % A, self.logger.output)

    def test_reset_every_instance(self):
        self.spend(A)
        self.spend(B)
        self.assertEqual(2, self.guards.reset())
        self.assertEqual(RECOVER, self.permission(A))
        self.assertEqual(RECOVER, self.permission(B))

    def test_a_reset_is_kept(self):
        self.spend(A)
        self.guards.reset(A)
        self.guards.close()
        again = self.opened()
        self.assertEqual(RECOVER, again.permit(A, self.budget)[0].permission)

    def test_a_suspension_after_a_reset_is_told_again(self):
        self.spend(A)
        self.assertTrue(self.guards.permit(A, self.budget)[1])
        self.guards.reset(A)
        self.spend(A)
        self.assertTrue(self.guards.permit(A, self.budget)[1])

    def test_offline_reset_when_no_monitor_holds_the_file(self):
        self.flags(group='recovery', max_recoveries=1)
        self.budget = budgets.defaults(self.conf)
        self.recover(A)
        self.assertEqual(REPORT_ONLY, self.permission(A))
        self.guards.close()
        self.assertEqual(1, guards.reset_offline(self.conf, A))
        again = self.opened()
        self.assertEqual(RECOVER, again.permit(A, self.budget)[0].permission)


class DescribeTestCase(GuardsTestCase):

    def test_what_the_status_shows(self):
        self.recover()
        self.wall.advance(10.0)
        shown = self.guards.describe(A, self.budget)
        self.assertEqual({
            'recoveries': 1, 'max_recoveries': 3, 'window': 3600.0,
            'last_recovery': guards.iso(T0), 'permission': 'hold',
            'until': guards.iso(T0 + 60.0), 'paused_until': None,
            'paused_by': None},
            {k: v for k, v in shown.items() if k != 'reason'})
        json.dumps(shown, allow_nan=False)


C = '8d3e7b20-3c4d-4e5f-8a0b-2c3d4e5f6071'
D = '9e4f8c31-4d5e-4f60-9b1c-3d4e5f607182'
E = 'af5a9d42-5e6f-4071-8c2d-4e5f60718293'


class StormTestCase(GuardsTestCase):
    """The storm guard: many instances of the host failing at once."""

    def setUp(self):
        super().setUp()
        self.flags(group='recovery', storm_failures=3, storm_share=0.5,
                   storm_window=60.0)

    def permits(self, uuids, watched=8):
        return [self.guards.permit(uuid, self.budget, watched)
                for uuid in uuids]

    def test_the_threshold(self):
        self.assertEqual(3, storm.storm_threshold(self.conf, 8))
        self.assertEqual(3, storm.storm_threshold(self.conf, 6))
        self.assertEqual(2, storm.storm_threshold(self.conf, 4))
        self.assertEqual(1, storm.storm_threshold(self.conf, 2))
        self.assertEqual(1, storm.storm_threshold(self.conf, 1))
        self.assertEqual(1, storm.storm_threshold(self.conf, 0))
        self.flags(group='recovery', storm_failures=0)
        self.assertIsNone(storm.storm_threshold(self.conf, 8))

    def test_the_first_failures_are_recovered_then_none(self):
        granted = self.permits([A, B, C, D, E])
        self.assertEqual([RECOVER] * 3 + [REPORT_ONLY] * 2,
                         [p.permission for p, _news in granted])
        # the host's news once, when it trips
        self.assertEqual([False, False, False, True, False],
                         [news for _p, news in granted])
        storm = granted[3][0]
        self.assertTrue(storm.storm)
        self.assertIn('mass failure suspected: 4 instances of this host '
                      'failed within 60s, more than 3', storm.reason)
        # until the oldest but three is older than the window
        self.assertEqual(T0 + 60.0, storm.until)
        self.assertFalse(granted[0][0].storm)

    def test_one_instance_failing_again_counts_once(self):
        for _ in range(5):
            self.guards.permit(A, self.budget, 8)
        self.assertEqual(RECOVER, self.permits([B])[0][0].permission)
        self.assertEqual(2, self.guards.host(8)['failed_within_window'])

    def test_it_ends_when_the_window_holds_few_enough(self):
        self.permits([A, B, C, D])
        shown = self.guards.host(8)
        self.assertEqual((True, guards.iso(T0), guards.iso(T0 + 60.0), 4, 3),
                         (shown['mass_failure_suspected'], shown['since'],
                          shown['until'], shown['failed_within_window'],
                          shown['threshold']))
        self.wall.advance(61.0)
        self.assertFalse(self.guards.host(8)['mass_failure_suspected'])
        # a single failure afterwards is recovered, and said
        self.assertEqual(RECOVER, self.permits([E])[0][0].permission)
        self.assertIn('Mass failure no longer suspected', self.logger.output)
        # and a new storm is news again
        granted = self.permits([A, B, C])
        self.assertEqual([RECOVER, RECOVER, REPORT_ONLY],
                         [p.permission for p, _news in granted])
        self.assertTrue(granted[2][1])

    def test_failures_spread_out_are_no_storm(self):
        for uuid in (A, B, C, D, E):
            self.assertEqual(RECOVER, self.permits([uuid])[0][0].permission)
            self.wall.advance(30.0)

    def test_few_watched_instances_trip_it_sooner(self):
        granted = self.permits([A, B], watched=2)
        self.assertEqual([RECOVER, REPORT_ONLY],
                         [p.permission for p, _news in granted])

    def test_off(self):
        self.flags(group='recovery', storm_failures=0)
        self.assertEqual([RECOVER] * 5, [p.permission for p, _news in
                                         self.permits([A, B, C, D, E])])
        self.assertIsNone(self.guards.host(8)['threshold'])

    def test_the_storm_comes_before_the_budget(self):
        self.recover(A)
        self.wall.advance(30.0)
        granted = self.permits([B, C, D, A])
        self.assertEqual(REPORT_ONLY, granted[-1][0].permission)
        self.assertTrue(granted[-1][0].storm)
