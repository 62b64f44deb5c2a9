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

"""Maintenance pauses: by the operator, by the server metadata."""

import json
import os
import time

import fixtures

from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.escalation import guards
from masakarimonitors_ext.vmheartbeat.escalation import pauses
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

A = '6b1c5f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f'
KEY = 'masakari:vm_heartbeat'
#: a time of today: what is read back is checked against the real clock
T0 = float(int(time.time()))
STARTED = verdicts.EVENT_PAUSE_STARTED
ENDED = verdicts.EVENT_PAUSE_ENDED


class PausesTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.state = self.useFixture(fixtures.TempDir()).path
        self.flags(group='vmheartbeat', state_path=self.state)
        self.flags(hostname='compute-1')
        self.wall = base.FakeClock(T0)
        self.sink = fakes.RecordingSink()
        self.pauses = pauses.Pauses(self.conf, self.sink, self.wall)

    def kinds(self):
        return [(e.kind, e.instance_uuid) for e in self.sink.events]

    def test_an_operator_pause_has_an_end(self):
        until = self.pauses.pause(A, 7200)
        self.assertEqual(budgets.iso(T0 + 7200), until)
        self.assertEqual((T0 + 7200, pauses.OPERATOR), self.pauses.paused(A))
        [event] = self.sink.events
        self.assertEqual((STARTED, A, until, 'warning'), (
            event.kind, event.instance_uuid, event.until, event.severity))
        self.assertIn('escalation paused by the operator until', event.details)

    def test_a_pause_without_an_end_or_too_long_is_refused(self):
        for seconds in (0, -1, float('inf'), float('nan'), 8 * 86400):
            self.assertRaises(ValueError, self.pauses.pause, A, seconds)
        self.assertIsNone(self.pauses.paused(A))
        self.assertEqual([], self.sink.events)

    def test_it_expires_with_an_event(self):
        self.pauses.pause(A, 60)
        self.pauses.expire()
        self.assertIsNotNone(self.pauses.paused(A))
        self.wall.advance(60)
        self.assertIsNone(self.pauses.paused(A))
        self.pauses.expire()
        self.pauses.expire()
        self.assertEqual([(STARTED, A), (ENDED, A)], self.kinds())
        self.assertIn('expired', self.sink.events[-1].details)

    def test_resume(self):
        self.assertFalse(self.pauses.resume(A))
        self.pauses.pause(A, 60)
        self.assertTrue(self.pauses.resume(A))
        self.assertIsNone(self.pauses.paused(A))
        self.assertEqual([(STARTED, A), (ENDED, A)], self.kinds())

    def test_kept_across_a_restart(self):
        self.pauses.pause(A, 3600)
        again = pauses.Pauses(self.conf, None, self.wall)
        again.load()
        self.assertEqual((T0 + 3600, pauses.OPERATOR), again.paused(A))

    def test_what_is_read_back_is_checked(self):
        path = os.path.join(self.state, pauses.FILE)
        for body in ({A: T0 + 30 * 86400}, {A: 'soon'}, {A: True},
                     {'../x': T0 + 60}, [A]):
            with open(path, 'w') as f:
                json.dump({'version': 1, 'body': body}, f)
            again = pauses.Pauses(self.conf, None, self.wall)
            again.load()
            self.assertIsNone(again.paused(A), body)
            self.assertFalse(os.path.exists(path))
        # an end past is no pause, and no problem
        with open(path, 'w') as f:
            json.dump({'version': 1, 'body': {A: T0 - 60}}, f)
        again = pauses.Pauses(self.conf, None, self.wall)
        again.load()
        self.assertIsNone(again.paused(A))
        self.assertTrue(os.path.exists(path))


class MetadataTestCase(PausesTestCase):

    def test_the_owner_pauses_and_unpauses(self):
        self.pauses.from_metadata(A, T0 + 600)
        self.pauses.from_metadata(A, T0 + 600)  # the same, again: no news
        self.assertEqual((T0 + 600, pauses.METADATA), self.pauses.paused(A))
        self.pauses.from_metadata(A, None)
        self.assertIsNone(self.pauses.paused(A))
        self.assertEqual([(STARTED, A), (ENDED, A)], self.kinds())
        self.assertIn('removed from the server metadata',
                      self.sink.events[-1].details)

    def test_the_later_end_stands_and_resume_leaves_the_owners(self):
        self.pauses.from_metadata(A, T0 + 600)
        self.pauses.pause(A, 60)
        self.assertEqual((T0 + 600, pauses.METADATA), self.pauses.paused(A))
        self.assertTrue(self.pauses.resume(A))
        self.assertEqual((T0 + 600, pauses.METADATA), self.pauses.paused(A))
        self.assertIn('the server metadata pauses it until',
                      self.sink.events[-1].details)
        # not kept on disk: Nova says it again
        again = pauses.Pauses(self.conf, None, self.wall)
        again.load()
        self.assertIsNone(again.paused(A))

    def test_a_refused_pause_is_said_once(self):
        for _ in range(3):
            self.pauses.from_metadata(A, None, 'too long')
        self.assertEqual(1, self.logger.output.count(
            'the server metadata asks for a pause that is refused: too '
            'long'))
        self.assertEqual([], self.sink.events)


class FromMetadataTestCase(base.TestCase):

    def parse(self, value, now=T0, max_pause=86400.0):
        return budgets.pause_from_metadata(
            {KEY + '_paused_until': value}, KEY, now, max_pause)

    def test_iso_times(self):
        self.assertEqual((T0 + 3600, None),
                         self.parse(budgets.iso(T0 + 3600)))
        # an offset, and no zone at all (UTC)
        when = time.strftime('%Y-%m-%dT%H:%M:%S+02:00',
                             time.gmtime(T0 + 3600 + 7200))
        self.assertEqual((T0 + 3600, None), self.parse(when))
        self.assertEqual((T0 + 3600, None), self.parse(time.strftime(
            '%Y-%m-%dT%H:%M:%S', time.gmtime(T0 + 3600))))

    def test_no_pause(self):
        self.assertEqual((None, None), budgets.pause_from_metadata(
            None, KEY, T0, 60))
        self.assertEqual((None, None), budgets.pause_from_metadata(
            {}, KEY, T0, 60))
        self.assertEqual((None, None), self.parse(''))
        # past: over, and no problem
        self.assertEqual((None, None), self.parse(budgets.iso(T0 - 1)))

    def test_refused(self):
        for value in ('tomorrow', 'x' * 65, budgets.iso(T0 + 2 * 86400),
                      '9999-12-31T00:00:00Z', 42):
            until, problem = self.parse(value)
            self.assertIsNone(until, value)
            self.assertIn(KEY + '_paused_until', problem)


class GuardsPauseTestCase(PausesTestCase):

    def test_a_paused_instance_is_held_first(self):
        kept = guards.RecoveryGuards(self.conf, self.wall, self.pauses)
        budget = budgets.defaults(self.conf)
        self.pauses.pause(A, 600)
        permit, news = kept.permit(A, budget, 1)
        self.assertEqual((verdicts.Permission.HOLD, T0 + 600, False),
                         (permit.permission, permit.until, news))
        self.assertEqual('escalation paused by the operator', permit.reason)
        shown = kept.describe(A, budget)
        self.assertEqual((budgets.iso(T0 + 600), 'operator', 'hold'), (
            shown['paused_until'], shown['paused_by'], shown['permission']))
        # a paused failure counts for no storm
        self.assertEqual(0, kept.host(1)['failed_within_window'])
        self.wall.advance(600)
        self.assertEqual(verdicts.Permission.RECOVER,
                         kept.permit(A, budget, 1)[0].permission)
