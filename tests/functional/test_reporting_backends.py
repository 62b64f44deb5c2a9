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

"""Health events reach every configured backend, each exactly once.

The ``messaging`` notifier sends to the real RabbitMQ, on a virtual host
of the test's own, where an oslo.messaging notification listener (as
Vitrage or Aodh run one) receives them. The monitor reaches RabbitMQ
through a TCP proxy that can refuse or hang, as a broker that died or
stopped; the listener reaches it directly. Masakari is judged, as
everywhere, by its stored notifications and by the POSTs its API logged.
"""

import signal

from tests.functional import base
from tests.functional.fixtures import notification_listener
from tests.functional.fixtures import rabbitmq
from tests.functional.fixtures import tcp_proxy
from tests.functional import test_application_health as app_tests

VHOST = 'vmhb-events'
FAILED = 'vmheartbeat.instance.failed'
REPORTED = 'vmheartbeat.instance.reported'
RECOVERED = 'vmheartbeat.instance.recovered'
STATUS_CHANGED = 'vmheartbeat.instance.status_changed'
PUBLISHER = 'masakari-vmheartbeatmonitor:%s' % base.HOSTNAME
NOT_DELIVERED = r'Notification not delivered to messaging'
# Seconds an event may take from the monitor's log line to the listener.
EVENT_LAG = 10


def rabbit_url(port):
    return 'rabbit://guest:guest@%s:%d/%s' % (
        rabbitmq.RABBIT_HOST, port, VHOST)


class MessagingTestCase(app_tests.ApplicationTestCase):
    """A listener on a fresh virtual host, and the broker behind a proxy."""

    def setUp(self):
        super().setUp()
        rabbitmq.ensure_rabbitmq(vhost=VHOST, fresh_vhost=True)
        self.broker = tcp_proxy.TcpProxy(
            (rabbitmq.RABBIT_HOST, rabbitmq.RABBIT_PORT)).start()
        self.addCleanup(self.broker.stop)
        self.listener = notification_listener.NotificationListener(
            rabbit_url(rabbitmq.RABBIT_PORT)).start()
        self.addCleanup(self.listener.stop)

    def monitor(self, notifiers='masakari,messaging,log', **vmheartbeat):
        return self.start_monitor(sections={
            'oslo_messaging_notifications': {
                'transport_url': rabbit_url(self.broker.port)},
        }, notifiers=notifiers, **vmheartbeat)

    def assert_event(self, received, guest, kind, priority):
        """The notification is the event, in the documented shape."""
        self.assertEqual(PUBLISHER, received.publisher_id)
        self.assertEqual(priority, received.priority)
        payload = received.payload
        self.assertEqual(('InstanceHealthEventPayload',
                          'masakarimonitors_ext', '1.0'),
                         (payload['masakari_object.name'],
                          payload['masakari_object.namespace'],
                          payload['masakari_object.version']))
        data = received.data
        self.assertEqual((kind, guest.uuid, base.HOSTNAME),
                         (data['kind'], data['instance_uuid'],
                          data['hostname']))
        # the message carries the event's own identifier: a listener can
        # recognize a repeat
        self.assertEqual(received.message_id, data['event_id'])
        return data

    def assert_once(self, event_type, guest):
        found = self.listener.received(event_type, guest.uuid)
        self.assertEqual(1, len(found), found)
        return found[0]


class TestMessagingEvents(MessagingTestCase):

    def test_failure_reported_and_recovered_each_once(self):
        proc = self.monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.kill_agent()
        self.assert_reported_once_and_recovered(proc, guest,
                                                answered_before=1)
        recovered, = self.listener.wait_for(RECOVERED, guest.uuid,
                                            timeout=EVENT_LAG)
        failed = self.assert_once(FAILED, guest)
        reported = self.assert_once(REPORTED, guest)
        self.assertEqual(1, len(self.listener.received(RECOVERED,
                                                       guest.uuid)))
        self.assertLess(failed.arrived, reported.arrived)
        self.assertLess(reported.arrived, recovered.arrived)

        data = self.assert_event(failed, guest, 'failed', 'ERROR')
        self.assertEqual(('heartbeat', 'heartbeat_lost', True, 'error'),
                         (data['check'], data['failure_class'],
                          data['recover'], data['severity']))
        self.assertTrue(any('last probe' in e for e in data['evidence']),
                        data['evidence'])
        notification, = self.masakari.notifications_for(guest.uuid)
        data = self.assert_event(reported, guest, 'reported', 'ERROR')
        self.assertIn(notification['notification_uuid'],
                      data['answers']['masakari'])
        self.assertEqual('heartbeat_lost', data['failure_class'])
        self.assert_event(recovered, guest, 'recovered', 'INFO')
        self.assertEqual([], proc.lines(r'Traceback'))

    def test_degraded_application_is_an_event_not_a_notification(self):
        guest = self.app_guest()
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        healthy, = self.listener.wait_for(STATUS_CHANGED, guest.uuid,
                                          timeout=EVENT_LAG)
        data = self.assert_event(healthy, guest, 'status_changed', 'INFO')
        self.assertEqual(('app', 'healthy'), (data['check'], data['status']))

        self.guest_shell(guest, 'echo degraded >/tmp/app-status')
        found = self.listener.wait_for(STATUS_CHANGED, guest.uuid, count=2,
                                       timeout=EVENT_LAG + 10)
        data = self.assert_event(found[1], guest, 'status_changed', 'WARN')
        self.assertEqual(('degraded', 'warning'),
                         (data['status'], data['severity']))
        self.assertRegex(data['details'], r'serving, pid \d+')
        self.assert_quiet(guest, 3)
        self.assertEqual([], self.notification_posts())
        self.assertEqual([], self.listener.received(FAILED, guest.uuid))


class TestMessagingFaults(MessagingTestCase):
    """The broker fails: Masakari is on time, the event comes once."""

    def _fault_with_broker(self, broker_fault, **vmheartbeat):
        proc = self.monitor(**vmheartbeat)
        # metadata {}: Masakari finishes without restarting the domain
        guest = self.make_guest(metadata={})
        self.wait_watched(proc, guest)
        broker_fault()
        guest.kill_agent()
        # Masakari is not held by the broken broker
        self.wait_notifications(guest)
        proc.wait_for_log(r'Instance %s: notification masakari: accepted'
                          % guest.uuid, timeout=5)
        return proc, guest

    def test_broker_refusing_then_back_delivers_once(self):
        proc, guest = self._fault_with_broker(self.broker.refuse)
        proc.wait_for_log(NOT_DELIVERED, timeout=30, count=2)
        self.assertEqual([], self.listener.received(FAILED, guest.uuid))
        self.broker.forward()
        self.listener.wait_for(FAILED, guest.uuid, timeout=60)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=30)
        self.listener.wait_for(REPORTED, guest.uuid, timeout=EVENT_LAG)
        self.assert_once(FAILED, guest)
        self.assert_notifications(guest, 1)

    def test_broker_hanging_does_not_hold_masakari(self):
        proc, guest = self._fault_with_broker(self.broker.hang)
        self.assertEqual([], self.listener.received(FAILED, guest.uuid))
        # a hung broker that is restarted resets its connections
        self.broker.forward()
        self.listener.wait_for(FAILED, guest.uuid, timeout=60)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=30)
        self.assert_once(FAILED, guest)
        self.assert_notifications(guest, 1)

    def test_required_broker_down_across_a_restart_delivers_once(self):
        proc, guest = self._fault_with_broker(self.broker.refuse)
        proc.wait_for_log(NOT_DELIVERED, timeout=30)
        proc.stop(signal.SIGTERM)
        self.broker.forward()
        restarted = self.monitor()
        restarted.wait_for_log(r'Instance %s: resuming the escalation a '
                               r'previous run left while notifying'
                               % guest.uuid, timeout=30)
        restarted.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                               timeout=60)
        self.listener.wait_for(REPORTED, guest.uuid, timeout=EVENT_LAG)
        self.assert_once(FAILED, guest)
        # Masakari had it before the restart: not sent again
        self.assertEqual([], restarted.lines(r'notification masakari'))
        self.assert_notifications(guest, 1)

    def test_best_effort_broker_is_given_up(self):
        proc, guest = self._fault_with_broker(
            self.broker.refuse, best_effort_notifiers='messaging',
            best_effort_deadline=3)
        # the best-effort notifier does not hold the report
        proc.wait_for_log(r'Instance %s: failure reported \(.*messaging: '
                          r'queued \(best effort\)' % guest.uuid, timeout=10)
        proc.wait_for_log(r'Best-effort notifier messaging gave up the '
                          r'failed event of instance %s' % guest.uuid,
                          timeout=30)
        self.assert_notifications(guest, 1)
        self.assertEqual([], self.listener.received(FAILED, guest.uuid))
