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

"""How the REST notifiers map what a service answers to our errors.

Through a real keystoneauth adapter (auth_type none, endpoint_override)
against a local HTTP server, for Mistral and for Vitrage.
"""

import time
from unittest import mock

from keystoneauth1 import loading as ks_loading

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import keystone
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import mistral
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import vitrage
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat.reporting.notifiers import fake_http

A = '11111111-1111-1111-1111-111111111111'
GENERATED = '2026-11-24T19:15:00'


def failure():
    return events.Event(
        verdicts.EVENT_FAILED, A, 'compute-1', 'heartbeat',
        failure_class='heartbeat_lost', recover=True,
        evidence=('missed 3 heartbeats',), generated_time=GENERATED,
        event_id=events.failure_id(A, GENERATED))


#: answers no later try can change
PERMANENT = (400, 403, 404, 405, 413, 415, 422)
#: answers a later try may not get
TRANSIENT = (401, 408, 409, 429, 500, 502, 503, 504)
#: a body far longer than any answer read
HUGE = 64 * 1024 * 1024


class RestErrorsMixin:
    """The error mapping of ``RestNotifier.post``, through ``notify``."""

    GROUP = None
    SERVICE = None
    #: the path the notifier posts to, below the endpoint
    PATH = None
    #: the endpoint, below the server's URL
    ROOT = ''
    ACCEPTED = (200, {})

    def setUp(self):
        super().setUp()
        fake_http.private_conf(self)
        self.service = self.useFixture(fake_http.FakeService(self.ACCEPTED))
        self.flags(group=self.GROUP, auth_type='none', timeout=5.0,
                   endpoint_override=self.service.url + self.ROOT)

    def make(self):
        raise NotImplementedError

    def answered(self, status, body='Something is wrong'):
        """What notify raised for one answer."""
        self.service.answer((status, body))
        return self.assertRaises(exception.NotificationError,
                                 self.make().notify, failure())

    def test_posts_json_to_its_path(self):
        self.make().notify(failure())
        [request] = self.service.wait_requests(1)
        self.assertEqual('POST', request.method)
        self.assertEqual(self.ROOT + self.PATH, request.path)
        self.assertEqual('application/json', request.headers['content-type'])
        self.assertIsInstance(request.json(), dict)

    def test_permanent_answers(self):
        for status in PERMANENT:
            error = self.answered(status, 'no such thing %d' % status)
            self.assertIsInstance(error, exception.PermanentNotificationError,
                                  status)
            self.assertIn('%s refused' % self.SERVICE, str(error))
            self.assertIn('(%d: no such thing %d)' % (status, status),
                          str(error))

    def test_transient_answers(self):
        for status in TRANSIENT:
            error = self.answered(status, 'try later %d' % status)
            self.assertIsInstance(error, exception.TransientNotificationError,
                                  status)
            self.assertIn('%s answered %d' % (self.SERVICE, status),
                          str(error))
            self.assertIn('try later %d' % status, str(error))
        self.assertEqual(len(TRANSIENT), len(self.service.requests))

    def test_answer_text_is_one_bounded_line(self):
        error = self.answered(500, 'line one\n\tline two\r\n' + 'x' * 1000)
        self.assertIn('line one line two x', str(error))
        self.assertNotIn('\n', str(error))
        self.assertLess(len(str(error)), 500)
        self.assertNotIn('x' * 300, str(error))

    def test_json_error_body_is_shown(self):
        error = self.answered(400, {'faultstring': 'Invalid input'})
        self.assertIn('Invalid input', str(error))

    def count_adapters(self):
        """A patch counting the adapters made from the configuration."""
        return mock.patch.object(keystone, 'get_adapter',
                                 wraps=keystone.get_adapter)

    def test_unauthorized_makes_a_new_adapter_for_the_next_try(self):
        notifier = self.make()
        self.service.answer((401, 'The token expired'),
                            (500, 'busy'), (500, 'busy'))
        with self.count_adapters() as made:
            for status in (401, 500, 500):
                error = self.assertRaises(exception.NotificationError,
                                          notifier.notify, failure())
                self.assertIsInstance(
                    error, exception.TransientNotificationError)
                self.assertIn('answered %d' % status, str(error))
            notifier.notify(failure())
        # one for the first try, one after the 401; a 500 keeps it
        self.assertEqual(2, made.call_count)
        self.assertEqual(4, len(self.service.requests))

    def test_refused_connection_is_transient(self):
        url = fake_http.closed_port_url()
        self.flags(group=self.GROUP, endpoint_override=url + self.ROOT)
        notifier = self.make()
        with self.count_adapters() as made:
            for _ in range(2):
                error = self.assertRaises(exception.NotificationError,
                                          notifier.notify, failure())
                self.assertIsInstance(
                    error, exception.TransientNotificationError)
                self.assertIn('%s not reachable' % self.SERVICE, str(error))
                self.assertIn('ConnectFailure', str(error))
        # each try starts again from the configuration
        self.assertEqual(2, made.call_count)

    def test_timeout_is_transient(self):
        self.flags(group=self.GROUP, timeout=0.3)
        self.service.answer(fake_http.HANG)
        notifier = self.make()
        error = self.assertRaises(exception.NotificationError,
                                  notifier.notify, failure())
        # the server never answers (until the test ends): the group's
        # timeout ended the call
        self.assertTrue(self.service.hanging.is_set())
        self.assertIsInstance(error, exception.TransientNotificationError)
        self.assertIn('%s not reachable' % self.SERVICE, str(error))
        # requests' read timeout or the whole call's deadline, whichever
        # comes first: they are the same here
        self.assertIn('timed out', str(error))
        # and the next try is answered
        notifier.notify(failure())
        self.assertEqual(2, len(self.service.wait_requests(2)))

    def test_redirect_is_permanent_and_not_followed(self):
        target = self.useFixture(fake_http.FakeService())
        for status in (301, 302, 307, 308):
            self.service.answer(fake_http.Redirect(
                status, target.url + self.ROOT + self.PATH))
            error = self.assertRaises(exception.NotificationError,
                                      self.make().notify, failure())
            self.assertIsInstance(error, exception.PermanentNotificationError)
            self.assertIn('answered %d, a redirect to %s' % (
                status, target.url), str(error))
            self.assertIn('redirects are not followed: set '
                          'endpoint_override', str(error))
            self.assertIn('[%s]' % self.GROUP, str(error))
        self.assertEqual(4, len(self.service.requests))
        self.assertEqual([], target.requests)

    def test_dripping_service_is_cut_at_the_timeout(self):
        self.flags(group=self.GROUP, timeout=1.0)
        # all of it would take about 100 s
        self.service.answer(fake_http.Drip(0.1))
        notifier = self.make()
        started = time.monotonic()
        error = self.assertRaises(exception.NotificationError,
                                  notifier.notify, failure())
        elapsed = time.monotonic() - started
        self.assertIsInstance(error, exception.TransientNotificationError)
        self.assertIn('DeadlineExceeded', str(error))
        self.assertGreaterEqual(elapsed, 1.0)
        self.assertLess(elapsed, 1.5)
        self.wait_for(self.service.cut, 'the drip cut')
        # and the next try is answered
        notifier.notify(failure())

    def test_huge_answers_are_judged_by_their_status(self):
        self.service.answer(fake_http.Huge(500, HUGE))
        error = self.assertRaises(exception.NotificationError,
                                  self.make().notify, failure())
        self.assertIsInstance(error, exception.TransientNotificationError)
        self.assertIn('answered 500', str(error))
        self.assertLess(len(str(error)), 500)
        self.service.answer(fake_http.Huge(400, HUGE))
        error = self.assertRaises(exception.NotificationError,
                                  self.make().notify, failure())
        self.assertIsInstance(error, exception.PermanentNotificationError)
        self.assertLess(self.service.sent_bytes, HUGE // 2)

    def test_huge_answer_to_an_accepted_post_is_a_delivery(self):
        self.service.answer(fake_http.Huge(self.ACCEPTED[0], HUGE))
        self.assertIsInstance(self.make().notify(failure()), str)
        self.wait_for(self.service.cut, 'the huge answer cut')
        self.assertLess(self.service.sent_bytes, HUGE // 4)

    def test_a_try_after_a_transient_answer_sends_the_same_body(self):
        self.service.answer((503, 'Service Unavailable'))
        notifier = self.make()
        self.assertRaises(exception.TransientNotificationError,
                          notifier.notify, failure())
        notifier.notify(failure())
        first, second = self.service.wait_requests(2)
        self.assertEqual(first.json(), second.json())

    def test_check_with_an_endpoint(self):
        self.assertIsNone(self.make().check())

    def test_check_names_a_missing_auth_option(self):
        self.flags(group=self.GROUP, auth_type='password')
        notifier = self.make()
        reason = notifier.check()
        self.assertIn('MissingRequiredOptions', reason)
        self.assertIn('auth_url', reason)
        # nothing was sent, and a later check tries again
        self.assertEqual([], self.service.requests)
        self.assertEqual(reason, notifier.check())

    def test_credentials_of_the_group(self):
        self.flags(group=self.GROUP, auth_type='admin_token')
        self.register_admin_token(self.GROUP)
        self.register_admin_token('api')
        self.flags(group=self.GROUP, token='token-of-the-group')
        self.flags(group='api', auth_type='admin_token',
                   token='token-of-api')
        self.make().notify(failure())
        [request] = self.service.wait_requests(1)
        self.assertEqual('token-of-the-group',
                         request.headers['x-auth-token'])

    def test_api_credentials_when_the_group_has_no_auth_type(self):
        self.flags(group=self.GROUP, auth_type=None)
        self.register_admin_token('api')
        self.flags(group='api', auth_type='admin_token',
                   token='token-of-api')
        self.make().notify(failure())
        [request] = self.service.wait_requests(1)
        self.assertEqual('token-of-api', request.headers['x-auth-token'])
        # still the group's endpoint
        self.assertEqual(self.ROOT + self.PATH, request.path)

    def register_admin_token(self, group):
        """Register what keystoneauth registers when it loads the plugin."""
        self.conf.register_opts(
            ks_loading.get_auth_plugin_conf_options('admin_token'),
            group=group)


class MistralErrorsTestCase(RestErrorsMixin, base.TestCase):

    GROUP = 'mistral'
    SERVICE = 'Mistral'
    ROOT = '/v2'
    PATH = '/executions'
    ACCEPTED = (201, {'id': 'x', 'state': 'RUNNING'})

    def setUp(self):
        super().setUp()
        self.flags(group='mistral', workflow='vmhb_recover')

    def make(self):
        return mistral.MistralNotifier(self.conf)

    def test_hints(self):
        for status in (400, 404):
            error = self.answered(status)
            self.assertIn("check that the workflow 'vmhb_recover' exists "
                          "and takes one input named 'event'", str(error))
        error = self.answered(403)
        self.assertIn('check the [mistral] credentials', str(error))
        for status in (405, 422):
            self.assertNotIn('; check', str(self.answered(status)))


class VitrageErrorsTestCase(RestErrorsMixin, base.TestCase):

    GROUP = 'vitrage'
    SERVICE = 'Vitrage'
    PATH = '/v1/event'

    def make(self):
        self.flags(group='vitrage', event_signing_key='k' * 16)
        return vitrage.VitrageNotifier(self.conf)

    def test_a_try_after_a_transient_answer_sends_the_same_body(self):
        # the same event; each try signed when it is made
        self.service.answer((503, 'Service Unavailable'))
        notifier = self.make()
        self.assertRaises(exception.TransientNotificationError,
                          notifier.notify, failure())
        notifier.notify(failure())
        first, second = [r.json() for r in self.service.wait_requests(2)]
        for body in (first, second):
            body['details'].pop('signed_at')
            body['details'].pop('signature')
        self.assertEqual(first, second)

    def test_hints(self):
        self.assertIn('check the [vitrage] credentials',
                      str(self.answered(403)))
        self.assertIn('[vitrage] endpoint_override', str(self.answered(404)))
        self.assertIn('service type rca', str(self.answered(404)))
        for status in (400, 405, 422):
            self.assertNotIn('; check', str(self.answered(status)))
