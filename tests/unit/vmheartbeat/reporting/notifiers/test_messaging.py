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

import inspect
import threading
from unittest import mock

from kombu import exceptions as kombu_exc
import oslo_messaging
from oslo_messaging import transport as oslo_transport
from oslo_utils import timeutils

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import messaging
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base

#: the event kinds
FAILED = verdicts.EVENT_FAILED
RECOVERED = verdicts.EVENT_RECOVERED
REPORTED = verdicts.EVENT_REPORTED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

A = '11111111-1111-1111-1111-111111111111'
GENERATED = '2026-11-24T19:15:00'
TOPICS = ['notifications', 'vitrage_notifications']


def event(kind=FAILED, status=None):
    return events.Event(
        kind, A, 'compute-1',
        checks.APP if kind == STATUS_CHANGED else checks.HEARTBEAT,
        failure_class=(None if kind == STATUS_CHANGED
                       else verdicts.CLASS_HEARTBEAT),
        recover=True if kind == FAILED else None, status=status,
        evidence=('missed 3 heartbeats',) if kind == FAILED else (),
        generated_time=GENERATED,
        event_id=events.failure_id(A, GENERATED))


class FakeTransport:
    """A notification transport: records each send, or raises.

    ``errors[n]``, when not None, is raised by the n-th send (from 0).
    """

    def __init__(self, errors=()):
        self.errors = list(errors)
        self.sent = []
        self.cleanups = 0

    def _send_notification(self, target, ctxt, message, version, retry=None):
        call = len(self.sent)
        self.sent.append({'topic': target.topic, 'ctxt': ctxt,
                          'message': dict(message), 'version': version,
                          'retry': retry})
        # as oslo.messaging's amqp driver does to the message it is given
        message['_unique_id'] = 'unique-%d' % call
        if call < len(self.errors) and self.errors[call] is not None:
            raise self.errors[call]

    def cleanup(self):
        self.cleanups += 1


class TransportContractTestCase(base.TestCase):
    """The notifier calls a private method of oslo.messaging's transport.

    So the installed oslo.messaging (the one requirements.txt admits) must
    have it with the parameters the notifier passes, and the fake above
    must take what the real one takes.
    """

    def test_the_installed_transport_has_the_method_the_notifier_calls(self):
        real = inspect.signature(
            oslo_transport.NotificationTransport._send_notification)
        self.assertEqual(['self', 'target', 'ctxt', 'message', 'version',
                          'retry'], list(real.parameters))
        self.assertEqual(real.parameters.keys(), inspect.signature(
            FakeTransport._send_notification).parameters.keys())


class MessagingTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        # registers [oslo_messaging_notifications], as the notifier does
        # when it makes its transport
        oslo_messaging.get_notification_transport(
            self.conf, url='fake:/').cleanup()
        self.flags(group='oslo_messaging_notifications', topics=TOPICS)

    def notifier(self, *errors):
        self.transport = FakeTransport(errors)
        return messaging.MessagingNotifier(self.conf, self.transport)


class NotifyTestCase(MessagingTestCase):

    def test_one_notification_per_topic(self):
        answer = self.notifier().notify(event())
        self.assertEqual('sent as vmheartbeat.instance.failed (ERROR) to '
                         'notifications, vitrage_notifications', answer)
        self.assertEqual(['notifications.error',
                          'vitrage_notifications.error'],
                         [s['topic'] for s in self.transport.sent])
        first, second = self.transport.sent
        self.assertEqual(first['message'], second['message'])
        for sent in self.transport.sent:
            self.assertEqual({}, sent['ctxt'])
            self.assertEqual(2.0, sent['version'])

    def test_priority_of_the_severity(self):
        for one, priority in (
                (event(FAILED), 'ERROR'),
                (event(REPORTED), 'ERROR'),
                (event(RECOVERED), 'INFO'),
                (event(STATUS_CHANGED, verdicts.APP_FAILED), 'ERROR'),
                (event(STATUS_CHANGED, verdicts.APP_DEGRADED), 'WARN'),
                (event(STATUS_CHANGED, verdicts.APP_HEALTHY), 'INFO')):
            self.flags(group='oslo_messaging_notifications',
                       topics=['notifications'])
            self.notifier().notify(one)
            [sent] = self.transport.sent
            self.assertEqual(priority, sent['message']['priority'], one)
            self.assertEqual('notifications.%s' % priority.lower(),
                             sent['topic'])
            self.assertEqual('vmheartbeat.instance.%s' % one.kind,
                             sent['message']['event_type'])

    def test_message(self):
        one = event()
        self.notifier().notify(one)
        message = self.transport.sent[0]['message']
        self.assertEqual({'message_id', 'publisher_id', 'event_type',
                          'priority', 'payload', 'timestamp'}, set(message))
        self.assertEqual(one.event_id, message['message_id'])
        self.assertEqual('masakari-vmheartbeatmonitor:compute-1',
                         message['publisher_id'])
        self.assertEqual('vmheartbeat.instance.failed',
                         message['event_type'])
        # oslo.messaging's own format of the time
        timeutils.parse_strtime(message['timestamp'],
                                '%Y-%m-%d %H:%M:%S.%f')

    def test_a_host_event_has_a_host_event_type(self):
        one = events.Event(verdicts.EVENT_MASS_FAILURE, None, 'compute-1',
                           None, details='mass failure suspected',
                           until='2026-12-03T18:00:00Z')
        self.notifier().notify(one)
        message = self.transport.sent[0]['message']
        self.assertEqual(('vmheartbeat.host.mass_failure_suspected', 'ERROR'),
                         (message['event_type'], message['priority']))
        data = message['payload']['masakari_object.data']
        self.assertEqual((None, '2026-12-03T18:00:00Z'),
                         (data['instance_uuid'], data['until']))

    def test_payload(self):
        one = event(STATUS_CHANGED, verdicts.APP_DEGRADED)
        self.notifier().notify(one)
        payload = self.transport.sent[0]['message']['payload']
        data = one.to_dict()
        del data['version']
        self.assertEqual({
            'masakari_object.name': 'InstanceHealthEventPayload',
            'masakari_object.namespace': 'masakarimonitors_ext',
            'masakari_object.version': events.VERSION,
            'masakari_object.data': data,
        }, payload)
        self.assertEqual('warning', data['severity'])
        self.assertEqual(verdicts.APP_DEGRADED, data['status'])

    def test_a_repeat_has_the_same_message_id(self):
        notifier = self.notifier()
        notifier.notify(event())
        notifier.notify(event())
        self.assertEqual([event().event_id] * 4,
                         [s['message']['message_id']
                          for s in self.transport.sent])

    def test_retries_of_one_try(self):
        self.notifier().notify(event())
        self.assertEqual([1, 1], [s['retry'] for s in self.transport.sent])
        self.flags(group='messaging_notifier', send_retries=4)
        self.notifier().notify(event())
        self.assertEqual([4, 4], [s['retry'] for s in self.transport.sent])
        # never oslo.messaging's own retry, which may be -1 (forever)
        self.flags(group='oslo_messaging_notifications', retry=-1)
        self.notifier().notify(event())
        self.assertEqual([4, 4], [s['retry'] for s in self.transport.sent])

    def test_not_confirmed_is_transient(self):
        notifier = self.notifier(None, oslo_messaging.MessageDeliveryFailure(
            'Unable to connect to AMQP server after 1 tries'))
        error = self.assertRaises(exception.NotificationError,
                                  notifier.notify, event())
        self.assertIsInstance(error, exception.TransientNotificationError)
        self.assertIn('vmheartbeat.instance.failed', str(error))
        self.assertIn('vitrage_notifications.error', str(error))
        self.assertIn('Unable to connect to AMQP server', str(error))

    def test_each_topic_gets_the_message_as_made(self):
        self.notifier().notify(event())
        for sent in self.transport.sent:
            self.assertNotIn('_unique_id', sent['message'])

    def test_other_errors_of_the_transport_are_transient(self):
        for error in (oslo_messaging.MessagingTimeout('timed out'),
                      oslo_messaging.MessagingException('broker gone'),
                      kombu_exc.OperationalError('[Errno 111] Connection '
                                                 'refused'),
                      ConnectionResetError('reset by peer')):
            notifier = self.notifier(error)
            raised = self.assertRaises(exception.NotificationError,
                                       notifier.notify, event())
            self.assertIsInstance(raised,
                                  exception.TransientNotificationError)
            self.assertIn(type(error).__name__, str(raised))
            self.assertIn(str(error), str(raised))
            # the first topic failed: the second was not tried
            self.assertEqual(1, len(self.transport.sent))

    def test_a_try_after_a_failure_sends_the_same_message(self):
        notifier = self.notifier(
            oslo_messaging.MessageDeliveryFailure('not confirmed'))
        self.assertRaises(exception.TransientNotificationError,
                          notifier.notify, event())
        notifier.notify(event())
        first, again = self.transport.sent[0], self.transport.sent[1]
        self.assertEqual(first['topic'], again['topic'])
        for key in ('message_id', 'payload', 'priority', 'event_type',
                    'publisher_id'):
            self.assertEqual(first['message'][key], again['message'][key])

    def test_takes_every_kind(self):
        self.assertEqual(verdicts.EVENT_KINDS, self.notifier().kinds)


class TransportTestCase(MessagingTestCase):
    """The transport the notifier makes from the configuration."""

    def test_invalid_transport_url(self):
        for url in ('not a url', 'nosuchdriver://broker:5672/'):
            self.flags(group='oslo_messaging_notifications',
                       transport_url=url)
            notifier = messaging.MessagingNotifier(self.conf)
            reason = notifier.check()
            self.assertIn('[oslo_messaging_notifications] transport_url',
                          reason)
            error = self.assertRaises(exception.NotificationError,
                                      notifier.notify, event())
            self.assertIsInstance(error,
                                  exception.PermanentNotificationError)
            self.assertIn('transport_url', str(error))
            notifier.close()

    def test_made_once_and_cleaned_up_at_close(self):
        self.flags(group='oslo_messaging_notifications',
                   transport_url='fake:/')
        real = oslo_messaging.get_notification_transport
        with mock.patch.object(messaging.oslo_messaging,
                               'get_notification_transport',
                               side_effect=real) as make:
            notifier = messaging.MessagingNotifier(self.conf)
            # nothing is made before it is needed
            make.assert_not_called()
            self.assertIsNone(notifier.check())
            transport = notifier.transport
            notifier.notify(event())
            self.assertEqual(1, make.call_count)
            with mock.patch.object(transport, 'cleanup',
                                   wraps=transport.cleanup) as cleanup:
                notifier.close()
                notifier.close()
            cleanup.assert_called_once_with()
            # a notify after close makes a new one
            notifier.notify(event())
            self.assertEqual(2, make.call_count)
            self.assertIsNot(transport, notifier.transport)
            notifier.close()

    def test_close_cleans_up_the_given_transport_once(self):
        notifier = self.notifier()
        notifier.close()
        notifier.close()
        self.assertEqual(1, self.transport.cleanups)

    def test_close_before_any_transport(self):
        self.flags(group='oslo_messaging_notifications',
                   transport_url='fake:/')
        with mock.patch.object(messaging.oslo_messaging,
                               'get_notification_transport') as make:
            messaging.MessagingNotifier(self.conf).close()
        make.assert_not_called()


class ListenerTestCase(MessagingTestCase):
    """What an oslo.messaging notification listener receives."""

    def test_a_listener_gets_the_notification(self):
        transport = oslo_messaging.get_notification_transport(
            self.conf, url='fake:/')
        received = []
        done = threading.Event()

        class Endpoint:

            def warn(self, ctxt, publisher_id, event_type, payload,
                     metadata):
                received.append((publisher_id, event_type, payload,
                                 metadata))
                done.set()

        listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic='vitrage_notifications')],
            [Endpoint()], executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        notifier = messaging.MessagingNotifier(self.conf, transport)
        self.addCleanup(notifier.close)
        one = event(STATUS_CHANGED, verdicts.APP_DEGRADED)
        notifier.notify(one)
        self.wait_for(done, 'the notification')
        [(publisher_id, event_type, payload, metadata)] = received
        self.assertEqual('masakari-vmheartbeatmonitor:compute-1',
                         publisher_id)
        self.assertEqual('vmheartbeat.instance.status_changed', event_type)
        self.assertEqual(one.event_id, metadata['message_id'])
        self.assertEqual(one, events.Event.from_dict(dict(
            payload['masakari_object.data'],
            version=payload['masakari_object.version'])))
