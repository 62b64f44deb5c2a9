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

import time
import types
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from openstack import exceptions as sdk_exc

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import keystone
from masakarimonitors_ext.vmheartbeat.common import receivers
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import masakari
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat.common import test_keystone
from tests.unit.vmheartbeat.reporting.notifiers import fake_http

#: the event kinds
FAILED = verdicts.EVENT_FAILED

A = '11111111-1111-1111-1111-111111111111'


def failure(evidence=(), failure_class='heartbeat_lost', check='heartbeat',
            recover=True):
    """A confirmed failure, as the escalation's notify task builds it."""
    return events.Event(
        FAILED, A, 'compute-1', check, failure_class=failure_class,
        recover=recover, evidence=evidence,
        generated_time='2026-11-24T19:15:00',
        event_id=events.failure_id(A, '2026-11-24T19:15:00'))


FAILURE = failure(('missed 3 heartbeats',))


class FakeInstanceHA:
    """openstacksdk's instance_ha proxy: answers, or raises, in turn."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.created = []
        self.listed = []

    def segments(self, **query):
        self.listed.append(query)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return iter(answer)

    def create_notification(self, **attrs):
        self.created.append(attrs)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def accepted():
    return types.SimpleNamespace(
        notification_uuid='44444444-4444-4444-4444-444444444444')


def http_error(status, details):
    return sdk_exc.HttpException(message='HTTP %s' % status,
                                 http_status=status, details=details)


class MasakariNotifierTestCase(base.TestCase):

    def notifier(self, *answers):
        self.api = FakeInstanceHA(*answers)
        self.connection = types.SimpleNamespace(instance_ha=self.api)
        return masakari.MasakariNotifier(self.conf, self.connection)

    def test_accepted(self):
        answer = self.notifier(accepted()).notify(FAILURE)
        self.assertIn('44444444-4444-4444-4444-444444444444', answer)
        self.assertEqual([{
            'type': 'VM',
            'hostname': 'compute-1',
            'generated_time': '2026-11-24T19:15:00',
            'payload': {'instance_uuid': A,
                        'event': 'QEMU_GUEST_AGENT_ERROR',
                        'vir_domain_event': 'STOPPED_FAILED'},
        }], self.api.created)

    def test_payload_has_exactly_the_three_keys(self):
        self.notifier(accepted()).notify(FAILURE)
        self.assertEqual({'instance_uuid', 'event', 'vir_domain_event'},
                         set(self.api.created[0]['payload']))

    def test_duplicate_counts_as_delivered(self):
        notifier = self.notifier(sdk_exc.ConflictException(
            message='Conflict', http_status=409,
            details='Notification received from host compute-1 of type '
                    'VM is a duplicate'))
        answer = notifier.notify(FAILURE)
        self.assertIn('409', answer)
        self.assertIn('duplicate', answer)
        self.assertIs(self.connection, notifier._conn)

    def test_receiver_text_is_escaped(self):
        forged = 'x\n2026-01-01 00:00:00.000 1 ERROR forged\x1b[2J'
        answer = self.notifier(sdk_exc.ConflictException(
            message='Conflict', http_status=409,
            details=forged)).notify(FAILURE)
        self.assertTrue(answer.isprintable(), answer)
        for status in (400, 503):
            error = self.assertRaises(
                exception.NotificationError,
                self.notifier(http_error(status, forged)).notify, FAILURE)
            self.assertTrue(str(error).isprintable(), error)
        answer = self.notifier(types.SimpleNamespace(
            notification_uuid=forged)).notify(FAILURE)
        self.assertTrue(answer.isprintable(), answer)

    def test_host_on_maintenance_is_not_tried_again(self):
        notifier = self.notifier(sdk_exc.ConflictException(
            message='Conflict', http_status=409,
            details='Notification received from host compute-1 of type VM '
                    'is ignored as the host is already under maintenance.'))
        answer = notifier.notify(FAILURE)
        self.assertIn('maintenance', answer)
        self.assertNotIn('already has it', answer)
        self.assertIn('on maintenance', self.logger.output)

    def assert_permanent(self, status, details, *fix):
        notifier = self.notifier(http_error(status, details))
        error = self.assertRaises(exception.NotificationError,
                                  notifier.notify, FAILURE)
        self.assertIsInstance(error, exception.PermanentNotificationError)
        self.assertIn(str(status), str(error))
        self.assertIn(details, str(error))
        for words in fix:
            self.assertIn(words, str(error))

    def test_bad_request_names_the_hostname(self):
        self.assert_permanent(
            400, 'Host compute-1 is not a host of any failover segment',
            '[DEFAULT] hostname (compute-1)', 'failover segment')

    def test_forbidden_names_the_role(self):
        self.assert_permanent(
            403, 'Policy does not allow os_masakari_api:notifications:create',
            '[api] user', 'admin role')

    def test_not_found_names_the_endpoint(self):
        self.assert_permanent(404, 'The resource could not be found.',
                              '[api] endpoint_override')

    def assert_transient(self, error, *words):
        notifier = self.notifier(error)
        raised = self.assertRaises(exception.NotificationError,
                                   notifier.notify, FAILURE)
        self.assertIsInstance(raised, exception.TransientNotificationError)
        for word in words:
            self.assertIn(word, str(raised))
        # the next try starts from a new connection (a fresh token)
        self.assertIsNone(notifier._conn)

    def test_server_error_is_transient(self):
        self.assert_transient(http_error(500, 'Internal Server Error'),
                              '500')

    def test_unauthorized_is_transient(self):
        self.assert_transient(http_error(401, 'The request you have made '
                                              'requires authentication.'),
                              '401')

    def test_api_down_is_transient(self):
        self.assert_transient(ks_exc.ConnectFailure(
            'Unable to establish connection to http://127.0.0.1:15868/v1'),
            'not reachable', '127.0.0.1:15868')

    def test_sdk_error_is_transient(self):
        self.assert_transient(sdk_exc.SDKException('catalog has no '
                                                   'instance-ha'))

    def test_socket_error_is_transient(self):
        self.assert_transient(ConnectionResetError('reset by peer'))

    def test_try_again_after_a_transient_error(self):
        notifier = self.notifier(http_error(503, 'Service Unavailable'))
        self.assertRaises(exception.TransientNotificationError,
                          notifier.notify, FAILURE)
        retried = FakeInstanceHA(accepted())
        with mock.patch.object(
                masakari, 'make_masakari_connection',
                return_value=types.SimpleNamespace(
                    instance_ha=retried)) as make:
            notifier.notify(FAILURE)
        make.assert_called_once_with(self.conf)
        self.assertEqual(self.api.created, retried.created)

    def test_report_only_is_not_sent(self):
        notifier = self.notifier()
        report_only = failure(('app failed',), failure_class='app_failed',
                              check='app', recover=False)
        with mock.patch.object(masakari,
                               'make_masakari_connection') as make:
            answer = notifier.notify(report_only)
        self.assertEqual('not sent: app_failed is report only', answer)
        self.assertEqual([], self.api.created)
        make.assert_not_called()

    def test_report_only_makes_no_connection(self):
        notifier = masakari.MasakariNotifier(self.conf)
        with mock.patch.object(masakari,
                               'make_masakari_connection') as make:
            answer = notifier.notify(failure(recover=False))
        self.assertEqual('not sent: heartbeat_lost is report only', answer)
        make.assert_not_called()
        self.assertIsNone(notifier._conn)

    def test_other_classes_are_sent(self):
        notifier = self.notifier(accepted())
        notifier.notify(failure(failure_class='app_failed', check='app',
                                recover=True))
        self.assertEqual(1, len(self.api.created))
        # the payload is Masakari's, whatever failed
        self.assertEqual('QEMU_GUEST_AGENT_ERROR',
                         self.api.created[0]['payload']['event'])

    def test_takes_failures_only(self):
        self.assertEqual((FAILED,), masakari.MasakariNotifier.kinds)

    def test_other_kinds_are_not_sent(self):
        notifier = masakari.MasakariNotifier(self.conf)
        with mock.patch.object(masakari,
                               'make_masakari_connection') as make:
            for kind in set(verdicts.EVENT_KINDS) - {FAILED}:
                answer = notifier.notify(events.Event(
                    kind, A, 'compute-1', 'heartbeat',
                    failure_class='heartbeat_lost', recover=True))
                self.assertEqual('not sent: Masakari takes failures only',
                                 answer, kind)
        make.assert_not_called()
        self.assertIsNone(notifier._conn)


class CheckTestCase(MasakariNotifierTestCase):
    """The check made once at start: a reason, never an exception."""

    def test_reachable(self):
        self.assertIsNone(self.notifier(['segment']).check())
        self.assertEqual([{'limit': 1}], self.api.listed)

    def test_problems_are_reasons(self):
        for error, words in (
                (ks_exc.ConnectFailure('Connection refused'),
                 ('ConnectFailure', 'Connection refused')),
                (http_error(401, 'The request you have made requires '
                                 'authentication.'),
                 ('401', 'check the [api] credentials')),
                (http_error(403, 'Policy does not allow'),
                 ('403', 'admin role')),
                (ks_exc.DiscoveryFailure('no instance-ha endpoint'),
                 ('DiscoveryFailure',))):
            reason = self.notifier(error).check()
            for word in words:
                self.assertIn(word, reason)


class MakeMasakariConnectionTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(
            keystone.ks_loading, 'load_auth_from_conf_options',
            return_value=None))

    def test_from_the_api_options(self):
        self.flags(group='api', endpoint_override='http://127.0.0.1:15868/v1')
        with mock.patch.object(keystone.openstack.connection,
                               'Connection') as connection:
            masakari.make_masakari_connection(self.conf)
        kwargs = connection.call_args[1]
        self.assertEqual('http://127.0.0.1:15868/v1',
                         kwargs['instance_ha_endpoint_override'])
        # bounded: no redirects, capped answers, the timeout in all
        test_keystone.assert_bounded(self, kwargs['session'],
                                     masakari.DEFAULT_TIMEOUT)

    def test_without_endpoint_override(self):
        with mock.patch.object(keystone.openstack.connection,
                               'Connection') as connection:
            masakari.make_masakari_connection(self.conf)
        self.assertNotIn('instance_ha_endpoint_override',
                         connection.call_args[1])


class BoundedConnectionTestCase(base.TestCase):
    """A real openstacksdk connection from [api], against a local server.

    Version discovery (``GET /v1``) is answered with a version document,
    the notification with what the test queued.
    """

    TIMEOUT = 1.0

    def setUp(self):
        super().setUp()
        fake_http.private_conf(self)
        self.service = self.useFixture(fake_http.FakeService(
            (202, {'notification': {'notification_uuid': 'abc'}})))
        self.service.fixed['/v1'] = (200, {'version': {
            'id': 'v1.0', 'status': 'CURRENT', 'min_version': '1.0',
            'version': '1.2', 'links': [
                {'rel': 'self', 'href': self.service.url + '/v1/'}]}})
        self.conf.register_opts(
            ks_loading.get_auth_plugin_conf_options('admin_token'),
            group='api')
        url = self.service.url + '/v1'
        self.flags(group='api', auth_type='admin_token', token='tok',
                   endpoint=url, endpoint_override=url,
                   timeout=self.TIMEOUT)

    def notify(self):
        return masakari.MasakariNotifier(self.conf).notify(FAILURE)

    def posts(self):
        return [r for r in self.service.requests if r.method == 'POST']

    def assert_cut(self, started):
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, self.TIMEOUT)
        self.assertLess(elapsed, self.TIMEOUT + 0.5)

    def test_accepted(self):
        self.assertEqual('accepted by Masakari as notification abc',
                         self.notify())
        [post] = self.posts()
        self.assertEqual('/v1/notifications', post.path)
        self.assertEqual('tok', post.headers['x-auth-token'])

    def test_redirect_is_refused_for_good(self):
        target = self.useFixture(fake_http.FakeService())
        self.service.answer(fake_http.Redirect(
            307, target.url + '/v1/notifications'))
        error = self.assertRaises(exception.PermanentNotificationError,
                                  self.notify)
        self.assertIn('answered 307, a redirect to %s/v1/notifications'
                      % target.url, str(error))
        self.assertIn('redirects are not followed', str(error))
        self.assertIn('[api] endpoint_override', str(error))
        self.assertEqual(1, len(self.posts()))
        self.assertEqual([], target.requests)

    def test_redirected_discovery_is_refused_for_good(self):
        target = self.useFixture(fake_http.FakeService())
        self.service.fixed['/v1'] = fake_http.Redirect(
            301, target.url + '/v1')
        self.assertRaises(exception.PermanentNotificationError, self.notify)
        self.assertEqual([], self.posts())
        self.assertEqual([], target.requests)

    def test_dripping_masakari_is_cut_at_the_timeout(self):
        self.service.answer(fake_http.Drip(0.1))
        notifier = masakari.MasakariNotifier(self.conf)
        started = time.monotonic()
        error = self.assertRaises(exception.TransientNotificationError,
                                  notifier.notify, FAILURE)
        self.assert_cut(started)
        self.assertIn('timed out', str(error))
        self.wait_for(self.service.cut, 'the drip cut')
        # the next try is answered
        self.assertIn('accepted', notifier.notify(FAILURE))
        self.assertEqual(2, len(self.posts()))

    def test_dripping_discovery_is_cut_at_the_timeout(self):
        self.service.fixed['/v1'] = fake_http.Drip(0.1)
        started = time.monotonic()
        self.assertRaises(exception.TransientNotificationError, self.notify)
        self.assert_cut(started)
        self.assertEqual([], self.posts())

    def test_one_deadline_for_discovery_and_the_post(self):
        # each within the timeout, both together not
        self.service.fixed['/v1'] = fake_http.Late(
            0.8, self.service.fixed['/v1'])
        self.service.answer(fake_http.Drip(0.1))
        started = time.monotonic()
        self.assertRaises(exception.TransientNotificationError, self.notify)
        self.assert_cut(started)
        self.assertEqual(1, len(self.posts()))

    def test_huge_answer_to_the_notification_is_a_delivery(self):
        self.service.answer(fake_http.Huge(202, 64 * 1024 * 1024))
        self.assertEqual(
            'accepted by Masakari (202; an answer of more than %d bytes, '
            'not read)' % receivers.MAX_ANSWER_BYTES, self.notify())
        self.assertEqual(1, len(self.posts()))

    def test_huge_error_is_transient(self):
        self.service.answer(fake_http.Huge(500, 64 * 1024 * 1024))
        error = self.assertRaises(exception.TransientNotificationError,
                                  self.notify)
        self.assertIn('answered 500 with more than', str(error))
