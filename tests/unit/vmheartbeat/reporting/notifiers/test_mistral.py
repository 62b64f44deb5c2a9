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

"""The Mistral notifier, against a local HTTP server.

How its errors are mapped: test_rest.
"""

import json

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import mistral
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
WORKFLOW = 'vmhb_recover'


def failure():
    return events.Event(
        FAILED, A, 'compute-1', checks.HEARTBEAT,
        failure_class=verdicts.CLASS_HEARTBEAT, recover=True,
        details='heartbeat failed: heartbeat_lost',
        evidence=('missed 3 heartbeats', 'domain: running (reason 1)'),
        generated_time=GENERATED, event_id=events.failure_id(A, GENERATED))


def recovered():
    return events.Event(
        RECOVERED, A, 'compute-1', checks.HEARTBEAT,
        failure_class=verdicts.CLASS_HEARTBEAT,
        generated_time='2026-11-24T19:25:00',
        event_id='33333333-3333-4333-8333-333333333333')


class MistralNotifierTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        fake_http.private_conf(self)
        self.service = self.useFixture(fake_http.FakeService(
            (201, {'id': 'ignored', 'state': 'RUNNING'})))
        self.flags(group='mistral', auth_type='none', workflow=WORKFLOW,
                   endpoint_override=self.service.url + '/v2')

    def notify(self, event, *answers):
        self.service.answer(*answers)
        return mistral.MistralNotifier(self.conf).notify(event)

    def test_starts_the_workflow_with_the_event(self):
        event = failure()
        answer = self.notify(event, (201, {'id': event.event_id,
                                           'state': 'RUNNING'}))
        self.assertEqual('execution %s of workflow %s: RUNNING' % (
            event.event_id, WORKFLOW), answer)
        [request] = self.service.wait_requests(1)
        self.assertEqual('POST', request.method)
        self.assertEqual('/v2/executions', request.path)
        self.assertEqual('application/json', request.headers['content-type'])
        self.assertEqual('notused', request.headers['x-auth-token'])
        body = request.json()
        self.assertEqual({'id', 'workflow_name', 'input', 'description'},
                         set(body))
        self.assertEqual(event.event_id, body['id'])
        self.assertEqual(WORKFLOW, body['workflow_name'])
        # Mistral takes the input as a JSON string
        self.assertIsInstance(body['input'], str)
        self.assertEqual({'event': event.to_dict()}, json.loads(body['input']))
        self.assertEqual(
            'masakari-vmheartbeatmonitor: instance %s failed' % A,
            body['description'])

    def test_the_input_is_the_whole_versioned_event(self):
        self.notify(failure())
        [request] = self.service.wait_requests(1)
        given = json.loads(request.json()['input'])['event']
        self.assertEqual(events.VERSION, given['version'])
        self.assertEqual('error', given['severity'])
        self.assertEqual(['missed 3 heartbeats',
                          'domain: running (reason 1)'], given['evidence'])
        # and it reads back as the very event
        self.assertEqual(failure(), events.Event.from_dict(given))

    def test_input_name(self):
        self.flags(group='mistral', input_name='health_event')
        self.notify(recovered())
        [request] = self.service.wait_requests(1)
        self.assertEqual({'health_event': recovered().to_dict()},
                         json.loads(request.json()['input']))
        self.assertIn('instance %s recovered' % A,
                      request.json()['description'])

    def test_a_host_event_names_the_host(self):
        self.notify(events.Event(verdicts.EVENT_MASS_FAILURE, None,
                                 'compute-1', None))
        [request] = self.service.wait_requests(1)
        self.assertEqual('masakari-vmheartbeatmonitor: host compute-1 '
                         'mass_failure_suspected',
                         request.json()['description'])

    def test_a_repeated_event_sends_the_same_id(self):
        # Mistral answers a repeat of an id with the execution it has
        self.notify(failure(), (201, {'id': failure().event_id,
                                      'state': 'RUNNING'}))
        answer = self.notify(failure(), (200, {'id': failure().event_id,
                                               'state': 'SUCCESS'}))
        self.assertIn('SUCCESS', answer)
        first, second = self.service.wait_requests(2)
        self.assertEqual(first.json(), second.json())
        self.assertEqual(events.failure_id(A, GENERATED),
                         second.json()['id'])

    def test_an_answer_that_is_not_json(self):
        answer = self.notify(failure(), (201, 'Created'))
        self.assertEqual('execution %s of workflow %s: started' % (
            failure().event_id, WORKFLOW), answer)

    def test_a_hostile_answer_is_delivered_and_escaped(self):
        # Mistral accepted: a deep, forged or huge answer is still a
        # delivery (a RecursionError used to escape and be retried for
        # ever), and what it says is escaped
        for body in ('[' * 100000 + ']' * 100000,
                     {'id': 'x\n2026 ERROR forged\x1b[2J', 'state': '\x07'},
                     {'id': 'y' * 200000}):
            answer = self.notify(failure(), (201, body))
            self.assertTrue(answer.startswith('execution '), answer[:80])
            self.assertTrue(answer.isprintable(), answer[:80])
            self.assertLess(len(answer), 300)

    def test_kinds_from_the_configuration(self):
        self.assertEqual((FAILED, RECOVERED),
                         mistral.MistralNotifier(self.conf).kinds)
        self.flags(group='mistral', event_kinds=['reported',
                                                 'status_changed'])
        self.assertEqual((REPORTED, STATUS_CHANGED),
                         mistral.MistralNotifier(self.conf).kinds)

    def test_no_workflow_is_a_configuration_error(self):
        self.flags(group='mistral', workflow=None)
        error = self.assertRaises(exception.ConfigurationError,
                                  mistral.MistralNotifier, self.conf)
        self.assertEqual('mistral.workflow', error.option)
        self.assertIn('[mistral] workflow', str(error))

    def test_made_without_contacting_mistral(self):
        mistral.MistralNotifier(self.conf)
        self.assertEqual([], self.service.requests)
