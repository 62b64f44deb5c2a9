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

import fixtures

from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import log
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base

#: the event kinds
FAILED = verdicts.EVENT_FAILED
REPORTED = verdicts.EVENT_REPORTED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

A = '11111111-1111-1111-1111-111111111111'


def failed(evidence=(), **kwargs):
    kwargs.setdefault('failure_class', 'heartbeat_lost')
    kwargs.setdefault('recover', True)
    return events.Event(FAILED, A, 'compute-1',
                        kwargs.pop('check', 'heartbeat'), evidence=evidence,
                        generated_time='2026-11-24T19:15:00', **kwargs)


class LogNotifierTestCase(base.TestCase):

    def test_takes_every_kind(self):
        self.assertEqual(set(verdicts.EVENT_KINDS),
                         set(log.LogNotifier(self.conf).kinds))

    def test_logs_the_failure_with_its_evidence(self):
        failure = failed(('healthy: timed_out', 'last probe: x'))
        self.assertEqual('logged', log.LogNotifier(self.conf).notify(failure))
        self.assertIn('Instance %s on compute-1 failed (heartbeat_lost, '
                      'recover) at 2026-11-24T19:15:00; evidence: healthy: '
                      'timed_out | '
                      'last probe: x' % A, self.logger.output)

    def test_report_only_says_so(self):
        failure = failed(failure_class='app_failed', check='app',
                         recover=False)
        self.assertEqual('logged', log.LogNotifier(self.conf).notify(failure))
        self.assertIn('failed (app_failed, report only)', self.logger.output)


class LogNotifierEventTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level='DEBUG', format='%(levelname)s %(message)s'))

    def test_a_failure_is_one_error_line(self):
        log.LogNotifier(self.conf).notify(failed(('missed 3',)))
        lines = self.logger.output.splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith('ERROR '), lines)

    def test_logs_one_info_line_per_event(self):
        event = events.Event(REPORTED, A, 'compute-1', 'app',
                             failure_class='app_failed', status='failed',
                             details='db down',
                             generated_time='2026-11-24T19:15:00')
        self.assertEqual('logged', log.LogNotifier(self.conf).notify(event))
        self.assertEqual(
            ['INFO Health event reported: instance %s on compute-1, check '
             'app, class app_failed, status failed at 2026-11-24T19:15:00: '
             'db down' % A], self.logger.output.splitlines())

    def test_the_answers_of_a_report_are_logged(self):
        event = events.Event(REPORTED, A, 'compute-1', 'heartbeat',
                             failure_class='heartbeat_lost',
                             details='every required notifier has it',
                             answers=(('log', 'logged'),
                                      ('masakari', 'accepted')),
                             generated_time='2026-11-24T19:15:00')
        log.LogNotifier(self.conf).notify(event)
        [line] = self.logger.output.splitlines()
        self.assertTrue(line.endswith(
            ': every required notifier has it; log: logged; masakari: '
            'accepted'), line)

    def test_missing_fields_are_dashes(self):
        event = events.Event(STATUS_CHANGED, A, 'compute-1',
                             'heartbeat', generated_time='2026-11-24T19:15:00')
        log.LogNotifier(self.conf).notify(event)
        self.assertEqual(
            ['INFO Health event status_changed: instance %s on compute-1, '
             'check heartbeat, class -, status - at 2026-11-24T19:15:00: -'
             % A], self.logger.output.splitlines())

    def test_a_suspension_says_until_when(self):
        event = events.Event(verdicts.EVENT_RECOVERY_SUSPENDED, A,
                             'compute-1', 'heartbeat',
                             failure_class='heartbeat_lost',
                             details='report_only: recovery budget spent',
                             until='2026-12-03T18:00:00Z',
                             generated_time='2026-12-03T17:00:00')
        log.LogNotifier(self.conf).notify(event)
        [line] = self.logger.output.splitlines()
        self.assertTrue(line.endswith(
            ': report_only: recovery budget spent; until '
            '2026-12-03T18:00:00Z'), line)

    def test_a_host_event_is_one_warning_about_the_host(self):
        event = events.Event(verdicts.EVENT_MASS_FAILURE, None, 'compute-1',
                             None, details='mass failure suspected: 4',
                             until='2026-12-03T18:00:00Z')
        log.LogNotifier(self.conf).notify(event)
        self.assertEqual(
            ['WARNING Health event mass_failure_suspected: host compute-1: '
             'mass failure suspected: 4; until 2026-12-03T18:00:00Z'],
            self.logger.output.splitlines())
