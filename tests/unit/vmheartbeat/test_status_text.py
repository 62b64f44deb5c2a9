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

"""The status as the ``status`` command prints it: every field escaped."""

from masakarimonitors_ext.vmheartbeat.health import views
from masakarimonitors_ext.vmheartbeat import status_text
from tests.unit import base
from tests.unit.vmheartbeat.test_status import A
from tests.unit.vmheartbeat.test_status import B
from tests.unit.vmheartbeat.test_status import C
from tests.unit.vmheartbeat.test_status import check
from tests.unit.vmheartbeat.test_status import FAILED
from tests.unit.vmheartbeat.test_status import NOT_WATCHED
from tests.unit.vmheartbeat.test_status import NOTIFIERS
from tests.unit.vmheartbeat.test_status import RECOVERY
from tests.unit.vmheartbeat.test_status import SNAPSHOT
from tests.unit.vmheartbeat.test_status import WATCHED


class FormatTextTestCase(base.TestCase):

    def test_watched_with_checks(self):
        self.assertEqual([
            '%s instance-1111: watched (flavor extra spec '
            'masakari:vm_heartbeat=true)' % A,
            '  state healthy',
            '  application: degraded: cache cold',
            '  report only: app_failed',
            '  app: timed_out 0.5s ago, status degraded: no answer '
            '(misses 1/2, every 10.0s)',
            '  exec: not run yet (misses 0/2, every 30.0s)',
            '  heartbeat: answered 1.3s ago (misses 0/3, every 5.0s)',
        ], status_text.format_text([WATCHED]).splitlines())

    def test_not_watched(self):
        self.assertEqual(
            '%s -: not watched (flavor has no masakari:vm_heartbeat '
            'extra spec)' % B, status_text.format_text([NOT_WATCHED]))

    def test_failed(self):
        self.assertEqual([
            '%s instance-3333: watched (opt_in = all)' % C,
            '  state failed, failure app_failed of the app check, '
            'escalating',
            '  application: failed',
        ], status_text.format_text([FAILED]).splitlines())

    def test_failed_not_escalating(self):
        item = dict(FAILED, escalating=False, app_status=None)
        self.assertEqual(
            '  state failed, failure app_failed of the app check',
            status_text.format_text([item]).splitlines()[1])

    def test_application_unknown(self):
        item = dict(WATCHED, app_status=views.APP_UNKNOWN, app_details='',
                    app_status_age=42.04)
        self.assertEqual('  application: unknown (last answer 42.0s ago)',
                         status_text.format_text([item]).splitlines()[2])
        item['app_status_age'] = None
        self.assertEqual('  application: unknown (no answer yet)',
                         status_text.format_text([item]).splitlines()[2])

    def test_reported_only(self):
        item = dict(FAILED, state=views.REPORTED_ONLY, escalating=False)
        self.assertEqual(
            '  state reported (report only: not recovered), failure '
            'app_failed of the app check',
            status_text.format_text([item]).splitlines()[1])

    def test_suppressed(self):
        item = dict(FAILED, state='suppressed', suppressed_because='paused',
                    failure_class=None, failed_check=None, app_status=None)
        self.assertEqual(['%s instance-3333: watched (opt_in = all)' % C,
                          '  state suppressed (paused)'],
                         status_text.format_text([item]).splitlines())

    def test_one_block_each(self):
        lines = status_text.format_text(SNAPSHOT).splitlines()
        self.assertEqual(7 + 1 + 3, len(lines))
        self.assertEqual([A, B, C], [line.split()[0] for line in lines
                                     if not line.startswith(' ')])

    def test_nothing(self):
        self.assertEqual('', status_text.format_text([]))

    def test_everything_shown_is_escaped(self):
        hostile = '\x1b]0;owned\x07\x1b[2J\nroot# \u202e'
        item = dict(WATCHED, name=hostile, reason=hostile,
                    suppressed_because=hostile, failure_class=hostile,
                    failed_check=hostile, escalating=True,
                    app_status=hostile, app_details=hostile,
                    report_only=[hostile], checks={hostile: dict(
                        check(hostile, hostile, misses=hostile),
                        last={'outcome': hostile, 'detail': hostile,
                              'status': hostile, 'details': hostile,
                              'age': hostile})})
        text = status_text.format_text([
            item, dict(NOT_WATCHED, name=hostile, instance_uuid=hostile)])
        self.assertNotIn('\x1b', text)
        lines = text.split('\n')
        self.assertEqual(6, len(lines), lines)
        for line in lines:
            self.assertTrue(line.isprintable(), line)
        self.assertIn('\\x1b]0;owned\\x07\\x1b[2J\\nroot# \\u202e',
                      lines[0])

    def test_unexpected_types_are_shown_not_raised(self):
        item = {'instance_uuid': A, 'watched': True, 'state': 5,
                'checks': {'app': {'last': 'x', 'misses': None}}}
        lines = status_text.format_text([item, {'checks': None}]).splitlines()
        self.assertEqual(['%s -: watched (-)' % A, '  state 5',
                          '  app: not run yet (misses -/-, every -s)',
                          '- -: not watched (-)'], lines)


class FormatNotifiersTestCase(base.TestCase):

    def test_each_notifier(self):
        self.assertEqual([
            'notifiers (events waiting in the outbox, dropped since the '
            'start):',
            '  masakari (required): 0 waiting, 0 dropped',
            '  rest (best effort): 1000 waiting, 37 dropped',
        ], status_text.format_notifiers(NOTIFIERS).splitlines())

    def test_none(self):
        self.assertEqual('', status_text.format_notifiers([]))

    def test_everything_shown_is_escaped(self):
        hostile = '\x1b[2J\nroot# \u202e'
        text = status_text.format_notifiers([
            {'notifier': hostile, 'policy': hostile, 'pending': hostile,
             'dropped': [hostile]}, 'not a dict'])
        self.assertNotIn('\x1b', text)
        lines = text.split('\n')
        self.assertEqual(3, len(lines), lines)
        for line in lines:
            self.assertTrue(line.isprintable(), line)
        self.assertEqual('  - (-): - waiting, - dropped', lines[2])


class FormatRecoveryTestCase(base.TestCase):

    SHOWN = RECOVERY

    def test_text(self):
        self.assertEqual(
            'mass failure suspected since 2026-12-03T17:00:00Z: 5 instances '
            'failed within 60.0s, more than 3; failures are reported only, '
            'not recovered, until 2026-12-03T17:01:00Z',
            status_text.format_recovery(self.SHOWN))
        self.assertEqual('storm guard: off', status_text.format_recovery(
            {'threshold': None, 'mass_failure_suspected': False}))
        self.assertEqual('', status_text.format_recovery({}))
        # any shape, escaped
        for odd in (None, [], 'x', {'mass_failure_suspected': True,
                                    'since': ['\x1b[2J'], 'until': {}}):
            text = status_text.format_recovery(odd)
            self.assertNotIn('\x1b', text)
