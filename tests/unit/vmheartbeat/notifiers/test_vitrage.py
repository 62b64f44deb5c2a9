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

from masakarimonitors_ext.vmheartbeat import checks
from masakarimonitors_ext.vmheartbeat import events
from masakarimonitors_ext.vmheartbeat.notifiers import vitrage
from tests.unit import base
from tests.unit.vmheartbeat.notifiers import fake_http

A = '11111111-1111-1111-1111-111111111111'
GENERATED = '2026-11-24T19:15:00'
#: the only time format Vitrage's doctor datasource reads
TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


def event(kind, status=None, generated_time=GENERATED,
          event_id='44444444-4444-4444-8444-444444444444'):
    return events.Event(
        kind, A, 'compute-1',
        checks.APP if kind == events.STATUS_CHANGED else checks.HEARTBEAT,
        failure_class=(None if kind == events.STATUS_CHANGED
                       else checks.CLASS_HEARTBEAT),
        recover=True if kind == events.FAILED else None,
        status=status, details='what happened',
        evidence=('missed 3 heartbeats',) if kind == events.FAILED else (),
        generated_time=generated_time, event_id=event_id)


class VitrageEventTestCase(base.TestCase):
    """The body of POST /v1/event."""

    def assert_alarm(self, body, name, status, severity):
        self.assertEqual(name % A, body['type'])
        self.assertEqual(status, body['details']['status'])
        self.assertEqual(severity, body['details']['severity'])

    def test_failure_raises_the_instance_alarm(self):
        body = vitrage.vitrage_event(event(events.FAILED))
        self.assertEqual({'time', 'type', 'details'}, set(body))
        self.assert_alarm(body, 'vmheartbeat.instance.%s', 'down',
                          'critical')

    def test_report_keeps_the_instance_alarm_raised(self):
        self.assert_alarm(vitrage.vitrage_event(event(events.REPORTED)),
                          'vmheartbeat.instance.%s', 'down', 'critical')

    def test_recovery_clears_the_instance_alarm(self):
        self.assert_alarm(vitrage.vitrage_event(event(events.RECOVERED)),
                          'vmheartbeat.instance.%s', 'up', 'info')

    def test_application_status(self):
        for status, alarm, severity in (
                (checks.FAILED, 'down', 'critical'),
                (checks.DEGRADED, 'down', 'warning'),
                (checks.HEALTHY, 'up', 'info')):
            body = vitrage.vitrage_event(event(events.STATUS_CHANGED,
                                               status))
            self.assert_alarm(body, 'vmheartbeat.app.%s', alarm, severity)

    def test_details(self):
        one = event(events.FAILED)
        details = vitrage.vitrage_event(one)['details']
        self.assertEqual('compute-1', details['hostname'])
        self.assertEqual(A, details['instance_uuid'])
        self.assertEqual(one.event_id, details['monitor_event_id'])
        self.assertEqual('masakari-vmheartbeatmonitor', details['source'])
        self.assertEqual('masakari-vmheartbeatmonitor:compute-1',
                         details['monitor_id'])
        self.assertEqual(('heartbeat', 'heartbeat_lost'),
                         (details['check'], details['failure_class']))
        self.assertEqual(('failed', '1.0', one.generated_time),
                         (details['event_kind'], details['event_version'],
                          details['generated_time']))
        # Vitrage keeps them as alarm properties: plain values only
        for key, value in details.items():
            self.assertIsInstance(value, (str, int, float, bool,
                                          type(None)), key)

    def test_the_evidence_is_one_bounded_string(self):
        one = events.Event(events.FAILED, A, 'compute-1', 'heartbeat',
                           evidence=('x' * 3000, 'y' * 3000))
        evidence = vitrage.vitrage_event(one)['details']['evidence']
        self.assertEqual(4096, len(evidence))
        self.assertTrue(evidence.startswith('x' * 3000 + ' | y'))

    def test_an_application_status_is_kept_beside_the_alarm_status(self):
        one = event(events.STATUS_CHANGED, status=checks.DEGRADED)
        details = vitrage.vitrage_event(one)['details']
        self.assertEqual(('down', 'warning'),
                         (details['status'], details['severity']))
        self.assertEqual(('degraded', 'warning'),
                         (details['app_status'], details['event_severity']))

    def test_starting_changes_no_alarm(self):
        self.assertIsNone(vitrage.vitrage_event(
            event(events.STATUS_CHANGED, status=checks.STARTING)))

    def test_a_time_with_an_offset_is_turned_to_utc(self):
        body = vitrage.vitrage_event(event(
            events.FAILED, generated_time=GENERATED + '+02:00'))
        self.assertEqual('2026-11-24T17:15:00.000000', body['time'])

    def test_time_in_the_doctor_format(self):
        for generated in (GENERATED, GENERATED + '+00:00', GENERATED + 'Z',
                          GENERATED + '.000000'):
            body = vitrage.vitrage_event(event(
                events.FAILED, generated_time=generated))
            self.assertEqual('2026-11-24T19:15:00.000000', body['time'],
                             generated)
        body = vitrage.vitrage_event(event(
            events.FAILED, generated_time='2026-11-24T19:15:00.123456'))
        self.assertEqual('2026-11-24T19:15:00.123456', body['time'])

    def test_time_of_an_event_without_a_readable_time_is_now(self):
        before = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None, microsecond=0)
        body = vitrage.vitrage_event(event(events.FAILED,
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
                   endpoint_override=self.service.url)

    def test_posts_the_event(self):
        one = event(events.FAILED)
        answer = vitrage.VitrageNotifier(self.conf).notify(one)
        self.assertEqual('posted alarm vmheartbeat.instance.%s down' % A,
                         answer)
        [request] = self.service.wait_requests(1)
        self.assertEqual('POST', request.method)
        self.assertEqual('/v1/event', request.path)
        self.assertEqual('application/json', request.headers['content-type'])
        body = request.json()
        self.assertEqual(vitrage.vitrage_event(one), body)
        self.assertEqual('2026-11-24T19:15:00.000000', body['time'])
        self.assertEqual('vmheartbeat.instance.%s' % A, body['type'])
        self.assertEqual('compute-1', body['details']['hostname'])
        self.assertEqual('down', body['details']['status'])
        self.assertEqual('critical', body['details']['severity'])
        self.assertEqual(one.event_id, body['details']['monitor_event_id'])
        self.assertEqual(A, body['details']['instance_uuid'])

    def test_posts_the_application_status(self):
        notifier = vitrage.VitrageNotifier(self.conf)
        self.assertEqual(
            'posted alarm vmheartbeat.app.%s up' % A,
            notifier.notify(event(events.STATUS_CHANGED, checks.HEALTHY)))
        [request] = self.service.wait_requests(1)
        self.assertEqual('vmheartbeat.app.%s' % A, request.json()['type'])
        self.assertEqual('up', request.json()['details']['status'])

    def test_a_repeated_event_posts_the_same_body(self):
        notifier = vitrage.VitrageNotifier(self.conf)
        notifier.notify(event(events.RECOVERED))
        notifier.notify(event(events.RECOVERED))
        first, second = self.service.wait_requests(2)
        self.assertEqual(first.json(), second.json())

    def test_kinds_from_the_configuration(self):
        self.assertEqual(
            (events.FAILED, events.RECOVERED, events.STATUS_CHANGED),
            vitrage.VitrageNotifier(self.conf).kinds)
        self.flags(group='vitrage', event_kinds=['status_changed'])
        self.assertEqual((events.STATUS_CHANGED,),
                         vitrage.VitrageNotifier(self.conf).kinds)

    def test_made_without_contacting_vitrage(self):
        vitrage.VitrageNotifier(self.conf)
        self.assertEqual([], self.service.requests)
