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

"""Bounded sessions, through a real keystoneauth adapter.

Against local servers that redirect, trickle their answer a byte at a time
(over HTTP, over TLS, or in the TLS handshake) or send a huge or endless
body. Each drip would take minutes to send in full: a call that ends
within the deadline was cut by it.
"""

import time

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading

from masakarimonitors_ext.vmheartbeat.common import receivers
from tests.unit import base
from tests.unit.vmheartbeat.reporting.notifiers import fake_http

#: the group's timeout in these tests
TIMEOUT = 1.0
#: how much later than its deadline a cut call may return
MARGIN = 0.5
#: seconds between two bytes of a drip: far less than TIMEOUT, so that
#: requests' own timeout (per read) never ends the call
INTERVAL = 0.1
#: a TLS handshake record announcing 16 KiB, which then trickles
TLS_RECORD = b'\x16\x03\x03\x40\x00' + b'\x00' * 16384
HUGE = 64 * 1024 * 1024
TOKEN = 'secret-token'


class BoundedSessionTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        fake_http.private_conf(self)
        self.conf.register_opts(
            ks_loading.get_auth_plugin_conf_options('admin_token'),
            group='vitrage')
        self.flags(group='vitrage', auth_type='admin_token', token=TOKEN,
                   timeout=TIMEOUT)

    def session(self):
        auth = ks_loading.load_auth_from_conf_options(self.conf, 'vitrage')
        return receivers.load_session(self.conf, 'vitrage', auth)

    def adapter(self, url):
        return ks_adapter.Adapter(self.session(), endpoint_override=url)

    def service(self, *answers, tls=False):
        service = self.useFixture(fake_http.FakeService(tls=tls))
        if tls:
            self.flags(group='vitrage', cafile=service.cafile)
        service.answer(*answers)
        return service

    def assert_cut_at(self, seconds, call, *args, **kwargs):
        """call() raises DeadlineExceeded ``seconds`` after it started."""
        started = time.monotonic()
        error = self.assertRaises(receivers.DeadlineExceeded, call, *args,
                                  **kwargs)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, seconds)
        self.assertLess(elapsed, seconds + MARGIN)
        # as keystoneauth reports requests' timeouts
        self.assertIsInstance(error, ks_exc.ConnectTimeout)
        self.assertIn('timed out', str(error))
        return error

    def test_session_options(self):
        session = self.session()
        self.assertIs(False, session.redirect)
        self.assertEqual(TIMEOUT, session.timeout)
        for scheme in ('http', 'https'):
            self.assertIsInstance(session.session.get_adapter(
                scheme + '://somewhere'), receivers.BoundedAdapter)

    def test_default_timeout(self):
        self.flags(group='vitrage', timeout=None)
        self.assertEqual(receivers.DEFAULT_TIMEOUT, self.session().timeout)

    def test_redirects_are_not_followed(self):
        target = self.service()
        statuses = sorted(receivers.REDIRECTS)
        service = self.service(*[fake_http.Redirect(s, target.url + '/x')
                                 for s in statuses])
        adapter = self.adapter(service.url)
        for status in statuses:
            error = self.assertRaises(receivers.RedirectRefused,
                                      adapter.post, '/v1/event',
                                      json={'a': 1})
            self.assertEqual(status, error.status_code)
            self.assertEqual(target.url + '/x', error.location)
            self.assertIn('answered %d, a redirect to %s/x' % (
                status, target.url), str(error))
            self.assertIn('redirects are not followed', str(error))
        # each request carried the token; none went to the target
        sent = service.wait_requests(len(statuses))
        self.assertEqual([TOKEN] * len(statuses),
                         [r.headers['x-auth-token'] for r in sent])
        self.assertEqual([], target.requests)

    def test_https_redirect_to_http_is_not_followed(self):
        plain = self.service()
        service = self.service(fake_http.Redirect(302, plain.url + '/x'),
                               tls=True)
        self.assertTrue(service.url.startswith('https://'))
        self.assertRaises(receivers.RedirectRefused,
                          self.adapter(service.url).post, '/v1/event',
                          json={'a': 1})
        [request] = service.wait_requests(1)
        self.assertEqual(TOKEN, request.headers['x-auth-token'])
        self.assertEqual([], plain.requests)

    def test_a_version_list_is_an_answer(self):
        # 300 Multiple Choices: what Nova and Keystone answer at their root
        service = self.service((300, {'versions': []}))
        response = self.adapter(service.url).get('/', raise_exc=False)
        self.assertEqual(300, response.status_code)
        self.assertEqual({'versions': []}, response.json())

    def test_dripping_answer_is_cut_at_the_deadline(self):
        service = self.service(fake_http.Drip(INTERVAL))
        self.assert_cut_at(TIMEOUT, self.adapter(service.url).get, '/')
        # and its connection is closed: the server is freed too
        self.wait_for(service.cut, 'the drip cut')

    def test_dripping_tls_answer_is_cut_at_the_deadline(self):
        service = self.service(fake_http.Drip(INTERVAL), tls=True)
        self.assert_cut_at(TIMEOUT, self.adapter(service.url).get, '/')
        self.wait_for(service.cut, 'the drip cut')

    def test_dripping_tls_handshake_is_cut_at_the_deadline(self):
        # Python bounds a handshake by the socket's timeout in all: 5 s
        # here; the deadline of the whole call, shorter, cuts it first
        self.flags(group='vitrage', timeout=5.0, insecure=True)
        service = self.useFixture(fake_http.RawService(TLS_RECORD, INTERVAL))
        adapter = self.adapter(service.url)
        with receivers.deadline(TIMEOUT):
            self.assert_cut_at(TIMEOUT, adapter.get, '/')
        self.wait_for(service.cut, 'the handshake cut')
        self.assertEqual(1, service.connections)

    def test_a_kept_alive_connection_is_cut_too(self):
        service = self.service((200, {}), fake_http.Drip(INTERVAL))
        adapter = self.adapter(service.url)
        self.assertEqual({}, adapter.get('/').json())
        self.assert_cut_at(TIMEOUT, adapter.get, '/')
        first, second = service.wait_requests(2)
        # the second went over the first's connection
        self.assertEqual(first.peer, second.peer)
        self.wait_for(service.cut, 'the drip cut')
        # and a later call gets a new connection, and its answer
        self.assertEqual({}, adapter.get('/').json())

    def test_one_deadline_for_several_requests(self):
        self.flags(group='vitrage', timeout=5.0)
        service = self.service((200, {}), fake_http.Drip(INTERVAL))
        adapter = self.adapter(service.url)
        started = time.monotonic()
        with receivers.deadline(TIMEOUT):
            adapter.get('/')
            # cut at the deadline of the whole, not 5 s after it started
            self.assertRaises(receivers.DeadlineExceeded, adapter.get, '/')
        self.assertLess(time.monotonic() - started, TIMEOUT + MARGIN)

    def test_no_request_after_the_deadline(self):
        service = self.service()
        adapter = self.adapter(service.url)
        with receivers.deadline(0):
            self.assertRaises(receivers.DeadlineExceeded, adapter.get, '/')
        self.assertEqual([], service.requests)
        # the deadline ends with the block
        self.assertEqual({}, adapter.get('/').json())

    def test_huge_body_is_not_read_whole(self):
        service = self.service(fake_http.Huge(200, HUGE))
        error = self.assertRaises(receivers.AnswerTooLarge,
                                  self.adapter(service.url).get, '/')
        self.assertIsInstance(error, ks_exc.ClientException)
        self.assertEqual(200, error.status_code)
        self.assertEqual(receivers.MAX_ANSWER_BYTES,
                         len(error.response.content))
        self.assertIn('more than %d bytes' % receivers.MAX_ANSWER_BYTES,
                      str(error))
        self.wait_for(service.cut, 'the huge answer cut')
        # what the server could send is the cap and the sockets' buffers
        self.assertLess(service.sent_bytes, HUGE // 4)

    def test_endless_body_is_cut_at_the_cap(self):
        service = self.service(fake_http.Huge(500, None))
        started = time.monotonic()
        error = self.assertRaises(receivers.AnswerTooLarge,
                                  self.adapter(service.url).get, '/')
        # ended by the cap, not by the deadline
        self.assertLess(time.monotonic() - started, TIMEOUT)
        self.assertEqual(500, error.status_code)
        self.wait_for(service.cut, 'the endless answer cut')

    def test_next_call_after_a_huge_answer(self):
        service = self.service(fake_http.Huge(200, HUGE), (200, {'n': 2}))
        adapter = self.adapter(service.url)
        self.assertRaises(receivers.AnswerTooLarge, adapter.get, '/')
        self.assertEqual({'n': 2}, adapter.get('/').json())

    def test_the_cap_is_inclusive(self):
        self.useFixture(fixtures.MockPatchObject(receivers,
                                                 'MAX_ANSWER_BYTES', 100))
        service = self.service((200, 'x' * 100), (200, 'x' * 101))
        adapter = self.adapter(service.url)
        self.assertEqual('x' * 100, adapter.get('/').text)
        error = self.assertRaises(receivers.AnswerTooLarge, adapter.get, '/')
        self.assertEqual(b'x' * 100, error.response.content)
