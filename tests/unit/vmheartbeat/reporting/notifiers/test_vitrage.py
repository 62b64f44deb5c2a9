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

"""The Vitrage notifier, against a local HTTP server.

How its errors are mapped: test_rest.
"""

import datetime
import re

from masakarimonitors_ext import exception
from masakarimonitors_ext.vitrage_datasources.vmheartbeat import (
    events as vitrage_events)
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import vitrage
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat.reporting.notifiers import fake_http

#: the event kinds
FAILED = verdicts.EVENT_FAILED
RECOVERED = verdicts.EVENT_RECOVERED
REPORTED = verdicts.EVENT_REPORTED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

A = '11111111-1111-1111-1111-111111111111'
GENERATED = '2026-11-24T19:15:00'
KEY = 'a signing key of the testbed'
#: the only time format Vitrage's event datasources read
TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


def event(kind, status=None, generated_time=GENERATED,
          event_id='44444444-4444-4444-8444-444444444444'):
    return events.Event(
        kind, A, 'compute-1',
        checks.APP if kind == STATUS_CHANGED else checks.HEARTBEAT,
        failure_class=(None if kind == STATUS_CHANGED
                       else verdicts.CLASS_HEARTBEAT),
        recover=True if kind == FAILED else None,
        status=status, details='what happened',
        evidence=('missed 3 heartbeats',) if kind == FAILED else (),
        generated_time=generated_time, event_id=event_id)


class VitrageEventTestCase(base.TestCase):
    """The body of POST /v1/event."""

    def assert_alarm(self, body, event_type, name, severity):
        self.assertEqual(event_type, body['type'])
        self.assertEqual(name, body['details']['name'])
        self.assertEqual(A, body['details']['instance_id'])
        self.assertEqual(severity, body['details']['severity'])
        # what the vmheartbeat datasource takes
        self.assertEqual([], vitrage_events.problems(body['type'],
                                                     body['details']))

    def test_failure_raises_the_instance_alarm(self):
        body = vitrage.vitrage_event(event(FAILED))
        self.assertEqual({'time', 'type', 'details'}, set(body))
        self.assert_alarm(body, 'vmheartbeat.alarm.raise',
                          'vmheartbeat.instance', 'critical')

    def test_report_keeps_the_instance_alarm_raised(self):
        self.assert_alarm(vitrage.vitrage_event(event(REPORTED)),
                          'vmheartbeat.alarm.raise', 'vmheartbeat.instance',
                          'critical')

    def test_recovery_clears_the_instance_alarm(self):
        self.assert_alarm(vitrage.vitrage_event(event(RECOVERED)),
                          'vmheartbeat.alarm.clear', 'vmheartbeat.instance',
                          'info')

    def test_application_status(self):
        for status, event_type, severity in (
                (verdicts.APP_FAILED, 'vmheartbeat.alarm.raise', 'critical'),
                (verdicts.APP_DEGRADED, 'vmheartbeat.alarm.raise', 'warning'),
                (verdicts.APP_HEALTHY, 'vmheartbeat.alarm.clear', 'info')):
            body = vitrage.vitrage_event(event(STATUS_CHANGED,
                                               status))
            self.assert_alarm(body, event_type, 'vmheartbeat.app', severity)

    def test_never_a_doctor_status(self):
        # Vitrage's event API sends an event whose details say status up
        # or down to its doctor datasource instead
        for one in (event(FAILED), event(RECOVERED),
                    event(STATUS_CHANGED, verdicts.APP_FAILED),
                    event(STATUS_CHANGED, verdicts.APP_HEALTHY)):
            self.assertNotIn('status', vitrage.vitrage_event(one)['details'])

    def test_details(self):
        one = event(FAILED)
        details = vitrage.vitrage_event(one)['details']
        self.assertEqual('compute-1', details['hostname'])
        self.assertEqual(A, details['instance_id'])
        self.assertEqual(one.event_id, details['event_id'])
        self.assertEqual('masakari-vmheartbeatmonitor:compute-1',
                         details['source'])
        self.assertEqual(('heartbeat', 'heartbeat_lost'),
                         (details['check'], details['failure_class']))
        self.assertEqual(('failed', events.VERSION, one.generated_time),
                         (details['event_kind'], details['event_version'],
                          details['generated_time']))
        # Vitrage keeps them as alarm properties: plain values only
        for key, value in details.items():
            self.assertIsInstance(value, (str, int, float, bool,
                                          type(None)), key)

    def test_the_evidence_is_one_bounded_string(self):
        one = events.Event(FAILED, A, 'compute-1', 'heartbeat',
                           evidence=('x' * 3000, 'y' * 3000))
        evidence = vitrage.vitrage_event(one)['details']['evidence']
        self.assertEqual(4096, len(evidence))
        self.assertTrue(evidence.startswith('x' * 3000 + ' | y'))

    def test_every_string_is_bounded_as_the_datasource_wants(self):
        # the answers of the other notifiers are unbounded: the datasource
        # would drop the event the monitor counted as delivered
        one = events.Event(
            FAILED, A, 'compute-1', 'heartbeat',
            details='d' * 20000,
            answers=tuple(('notifier%d' % i, 'x' * 1000) for i in range(20)))
        body = vitrage.vitrage_event(one)
        self.assertEqual(vitrage_events.MAX_VALUE,
                         len(body['details']['answers']))
        self.assertEqual(vitrage_events.MAX_VALUE,
                         len(body['details']['description']))
        self.assertTrue(body['details']['answers'].startswith(
            'notifier0: xxx'))
        self.assertEqual([], vitrage_events.problems(body['type'],
                                                     body['details']))

    def test_no_detail_is_reserved_to_vitrage(self):
        for one in (event(FAILED), event(RECOVERED),
                    event(STATUS_CHANGED, verdicts.APP_FAILED)):
            details = vitrage.vitrage_event(one)['details']
            self.assertEqual([], [k for k in details
                                  if vitrage_events.is_reserved(k)])

    def test_the_instance_uuid_as_nova_spells_it(self):
        one = events.Event(FAILED, A.upper(), 'compute-1',
                           'heartbeat')
        self.assertEqual(A, vitrage.vitrage_event(one)['details'][
            'instance_id'])

    def test_an_application_status_is_kept_beside_the_alarm_status(self):
        one = event(STATUS_CHANGED, status=verdicts.APP_DEGRADED)
        details = vitrage.vitrage_event(one)['details']
        self.assertEqual(('vmheartbeat.app', 'warning'),
                         (details['name'], details['severity']))
        self.assertEqual(('degraded', 'warning'),
                         (details['app_status'], details['event_severity']))

    def test_starting_changes_no_alarm(self):
        self.assertIsNone(vitrage.vitrage_event(
            event(STATUS_CHANGED, status=verdicts.APP_STARTING)))

    def test_guards_events_change_no_alarm(self):
        self.assertIsNone(vitrage.vitrage_event(
            event(verdicts.EVENT_RECOVERY_SUSPENDED)))
        self.assertIsNone(vitrage.vitrage_event(events.Event(
            verdicts.EVENT_MASS_FAILURE, None, 'compute-1', None)))

    def test_a_time_with_an_offset_is_turned_to_utc(self):
        body = vitrage.vitrage_event(event(
            FAILED, generated_time=GENERATED + '+02:00'))
        self.assertEqual('2026-11-24T17:15:00.000000', body['time'])

    def test_time_in_the_datasource_format(self):
        for generated in (GENERATED, GENERATED + '+00:00', GENERATED + 'Z',
                          GENERATED + '.000000'):
            body = vitrage.vitrage_event(event(
                FAILED, generated_time=generated))
            self.assertEqual('2026-11-24T19:15:00.000000', body['time'],
                             generated)
        body = vitrage.vitrage_event(event(
            FAILED, generated_time='2026-11-24T19:15:00.123456'))
        self.assertEqual('2026-11-24T19:15:00.123456', body['time'])

    def test_time_of_an_event_without_a_readable_time_is_now(self):
        before = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None, microsecond=0)
        body = vitrage.vitrage_event(event(FAILED,
                                           generated_time='not a time'))
        self.assertTrue(re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$',
                                 body['time']), body['time'])
        when = datetime.datetime.strptime(body['time'], TIME_FORMAT)
        self.assertLessEqual(before, when)
        self.assertLess(when - before, datetime.timedelta(seconds=60))


class VitrageNotifierTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        fake_http.private_conf(self)
        self.service = self.useFixture(fake_http.FakeService((200, {})))
        self.flags(group='vitrage', auth_type='none',
                   endpoint_override=self.service.url,
                   event_signing_key=KEY)

    def test_posts_the_event(self):
        one = event(FAILED)
        answer = vitrage.VitrageNotifier(self.conf).notify(one)
        self.assertEqual('posted vmheartbeat.alarm.raise vmheartbeat.instance',
                         answer)
        [request] = self.service.wait_requests(1)
        self.assertEqual('POST', request.method)
        self.assertEqual('/v1/event', request.path)
        self.assertEqual('application/json', request.headers['content-type'])
        body = request.json()
        # the event, signed for this try
        details = dict(body['details'])
        signature = details.pop('signature')
        signed_at = details.pop('signed_at')
        self.assertEqual(vitrage.vitrage_event(one),
                         dict(body, details=details))
        self.assertEqual(vitrage_events.signature(
            KEY, body['type'], body['time'], dict(details,
                                                  signed_at=signed_at)),
                         signature)
        self.assertIsNone(vitrage_events.verify(
            KEY, body['type'], body['time'], body['details']))
        self.assertEqual('bad signature', vitrage_events.verify(
            'another key of the testbed', body['type'], body['time'],
            body['details']))
        # signed now, not when the event was generated: an event that
        # waited in the outbox is still fresh
        when = datetime.datetime.strptime(signed_at, TIME_FORMAT)
        now = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None)
        self.assertLess(abs(now - when), datetime.timedelta(seconds=60))
        self.assertEqual('2026-11-24T19:15:00.000000', body['time'])
        self.assertEqual('vmheartbeat.alarm.raise', body['type'])
        self.assertEqual('compute-1', body['details']['hostname'])
        self.assertEqual('vmheartbeat.instance', body['details']['name'])
        self.assertEqual('critical', body['details']['severity'])
        self.assertEqual(one.event_id, body['details']['event_id'])
        self.assertEqual(A, body['details']['instance_id'])

    def test_posts_the_application_status(self):
        notifier = vitrage.VitrageNotifier(self.conf)
        self.assertEqual(
            'posted vmheartbeat.alarm.clear vmheartbeat.app',
            notifier.notify(event(STATUS_CHANGED, verdicts.APP_HEALTHY)))
        [request] = self.service.wait_requests(1)
        self.assertEqual('vmheartbeat.alarm.clear', request.json()['type'])
        self.assertEqual('vmheartbeat.app', request.json()['details']['name'])

    def test_a_repeated_event_posts_the_same_event_signed_again(self):
        notifier = vitrage.VitrageNotifier(self.conf)
        notifier.notify(event(RECOVERED))
        notifier.notify(event(RECOVERED))
        first, second = [r.json() for r in self.service.wait_requests(2)]
        self.assertNotEqual(first['details']['signature'],
                            second['details']['signature'])
        for body in (first, second):
            body['details'].pop('signed_at')
            body['details'].pop('signature')
        self.assertEqual(first, second)

    def test_no_signing_key_no_notifier(self):
        for key in (None, '', 'x' * (vitrage_events.MIN_KEY_LENGTH - 1)):
            self.flags(group='vitrage', event_signing_key=key)
            error = self.assertRaises(exception.ConfigurationError,
                                      vitrage.VitrageNotifier, self.conf)
            self.assertEqual('vitrage.event_signing_key', error.option)
            self.assertIn('at least 16 characters', str(error))
        self.assertEqual([], self.service.requests)

    def test_the_signing_key_is_secret(self):
        opt = self.conf._get_opt_info('event_signing_key', 'vitrage')['opt']
        self.assertTrue(opt.secret)
        self.assertIn('at least %d characters'
                      % vitrage_events.MIN_KEY_LENGTH, opt.help)

    def test_kinds_from_the_configuration(self):
        self.assertEqual(
            (FAILED, RECOVERED, STATUS_CHANGED),
            vitrage.VitrageNotifier(self.conf).kinds)
        self.flags(group='vitrage', event_kinds=['status_changed'])
        self.assertEqual((STATUS_CHANGED,),
                         vitrage.VitrageNotifier(self.conf).kinds)

    def test_made_without_contacting_vitrage(self):
        vitrage.VitrageNotifier(self.conf)
        self.assertEqual([], self.service.requests)
