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
Vitrage or Aodh run one) receives them; ``mistral`` starts the example
workflow on the real Mistral (API, engine and executor), ``vitrage`` raises
and clears alarms on the real Vitrage (API, graph and persistor), which
runs our ``vmheartbeat`` datasource and has the example template; both are
reached directly or through a fault proxy.
The monitor reaches RabbitMQ through a TCP proxy that can refuse or hang,
as a broker that died or stopped; the listener reaches it directly.
Masakari is judged, as everywhere, by its stored notifications and by the
POSTs its API logged; Mistral and Vitrage by what they store and by the
POSTs their own logs show.
"""

import atexit
import json
import os
import signal
import subprocess
import threading

from masakarimonitors_ext.vitrage_datasources.vmheartbeat import (
    events as vitrage_events)
from masakarimonitors_ext.vmheartbeat.reporting import events
from tests.functional import base
from tests.functional.fixtures.clients import notification_listener
from tests.functional.fixtures.faults import tcp_proxy
from tests.functional.fixtures.services import mistral_service
from tests.functional.fixtures.services import rabbitmq
from tests.functional.fixtures.services import vitrage_service
from tests.functional import test_application_health as app_tests

VHOST = 'vmhb-events'
INSTANCE_ALARM = 'vmheartbeat.instance'
RAISE = 'vmheartbeat.alarm.raise'
CLEAR = 'vmheartbeat.alarm.clear'
FAILED = 'vmheartbeat.instance.failed'
REPORTED = 'vmheartbeat.instance.reported'
RECOVERED = 'vmheartbeat.instance.recovered'
STATUS_CHANGED = 'vmheartbeat.instance.status_changed'
PUBLISHER = 'masakari-vmheartbeatmonitor:%s' % base.HOSTNAME
# the outbox's line: the failure waits there, in order with later events
NOT_DELIVERED = r'failed of instance %s not delivered to messaging'
# Seconds an event may take from the monitor's log line to the listener.
EVENT_LAG = 10
VITRAGE_TEMPLATE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'etc', 'masakarimonitors_ext', 'vitrage',
    'vm-health-template.yaml')
POLICY_FILE = os.path.join(os.path.dirname(VITRAGE_TEMPLATE), 'policy.yaml')


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
                          'masakarimonitors_ext', events.VERSION),
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

    def waiting(self, proc):
        """{notifier: events its outbox keeps}, as ``status`` shows."""
        code, out, err = proc.status('--json')
        self.assertEqual(0, code, err)
        return {n['notifier']: n['pending']
                for n in json.loads(out)['notifiers']}

    def test_broker_refusing_then_back_delivers_once(self):
        proc, guest = self._fault_with_broker(self.broker.refuse)
        proc.wait_for_log(NOT_DELIVERED % guest.uuid, timeout=30, count=2)
        self.assertEqual([], self.listener.received(FAILED, guest.uuid))
        # the status shows what waits for the broker
        # (Masakari has its failures from the escalation, not the outbox)
        self.assertNotIn('masakari', self.waiting(proc))
        self.assertGreaterEqual(self.waiting(proc)['messaging'], 1)
        self.broker.forward()
        self.listener.wait_for(FAILED, guest.uuid, timeout=60)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=30)
        self.listener.wait_for(REPORTED, guest.uuid, timeout=EVENT_LAG)
        self.assert_once(FAILED, guest)
        self.assert_notifications(guest, 1)
        self.wait_until(lambda: self.waiting(proc)['messaging'] == 0,
                        EVENT_LAG, 'the outbox emptied once delivered')

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
        # reported: the broker holds neither Masakari nor the report
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=10)
        proc.wait_for_log(NOT_DELIVERED % guest.uuid, timeout=30)
        proc.stop(signal.SIGTERM)
        self.broker.forward()
        restarted = self.monitor()
        restarted.wait_for_log(r'2 health event\(s\) for notifier '
                               r'messaging kept from the last run',
                               timeout=30)
        failed, = self.listener.wait_for(FAILED, guest.uuid, timeout=60)
        reported, = self.listener.wait_for(REPORTED, guest.uuid,
                                           timeout=EVENT_LAG)
        # in order, each once
        self.assertLess(failed.arrived, reported.arrived)
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
                          r'queued' % guest.uuid, timeout=10)
        proc.wait_for_log(r'Best-effort notifier messaging gave up the '
                          r'failed event of instance %s' % guest.uuid,
                          timeout=30)
        self.assert_notifications(guest, 1)
        self.assertEqual([], self.listener.received(FAILED, guest.uuid))


_backends_lock = threading.Lock()
_backends = None


def backends():
    """The process-wide real Mistral and Vitrage, started on first use.

    Mistral has the example workflow, Vitrage the example template.
    """
    global _backends
    with _backends_lock:
        if _backends is None:
            mistral = mistral_service.MistralService()
            vitrage = vitrage_service.VitrageService(
                hostnames=(base.HOSTNAME,))
            mistral.start()
            atexit.register(mistral.stop)
            vitrage.start()
            atexit.register(vitrage.stop)
            mistral.put_workflow()
            vitrage.add_template(path=VITRAGE_TEMPLATE)
            _backends = mistral, vitrage
        return _backends


class BackendsTestCase(MessagingTestCase):
    """Masakari, RabbitMQ, the real Mistral and the real Vitrage."""

    NOTIFIERS = 'masakari,messaging,vitrage,mistral,log'

    def setUp(self):
        super().setUp()
        self.mistral, self.vitrage = backends()
        self.mistral_mark = self.mistral.api_log_mark()
        self.vitrage_mark = self.vitrage.api_log_mark()

    def monitor(self, notifiers=NOTIFIERS, mistral_url=None,
                vitrage_url=None, recovery=None, **vmheartbeat):
        return self.start_monitor(sections={
            'recovery': recovery or {},
            'oslo_messaging_notifications': {
                'transport_url': rabbit_url(self.broker.port)},
            'mistral': {'auth_type': 'none', 'timeout': 3,
                        'endpoint_override': (
                            mistral_url or self.mistral.api_url),
                        'workflow': mistral_service.WORKFLOW_NAME},
            'vitrage': {'auth_type': 'none', 'timeout': 3,
                        'endpoint_override': (
                            vitrage_url or self.vitrage.api_url),
                        'event_signing_key': vitrage_service.SIGNING_KEY},
        }, notifiers=notifiers, **vmheartbeat)

    def executions_of(self, guest):
        """Mistral's executions for the guest: {event kind: [execution]}."""
        found = {}
        for execution in self.mistral.executions(
                mistral_service.WORKFLOW_NAME):
            event = json.loads(execution['input'])['event']
            if event['instance_uuid'] == guest.uuid:
                found.setdefault(event['kind'], []).append(execution)
        return found

    def alarm_of(self, guest, history=False):
        alarms = (self.vitrage.alarm_history() if history
                  else self.vitrage.alarms())
        return [a for a in alarms if a.get('name') == INSTANCE_ALARM and
                a.get('instance_id') == guest.uuid]

    def assert_held_by_vitrage_and_mistral(self, proc, guest):
        """The failure not delivered to either, and neither has it."""
        for name in ('vitrage', 'mistral'):
            proc.wait_for_log(r'failed of instance %s not delivered to %s'
                              % (guest.uuid, name), timeout=30)
        self.assertEqual([], self.mistral.execution_posts(self.mistral_mark))
        self.assertEqual([], self.vitrage.event_posts(self.vitrage_mark))

    def vitrage_posts(self):
        """(type, alarm name, instance) of each POST Vitrage received."""
        return [(e['type'], e['details'].get('name'),
                 e['details'].get('instance_id'))
                for e in self.vitrage.event_posts(self.vitrage_mark)]


class TestEveryBackend(BackendsTestCase):

    def test_failure_and_recovery_reach_every_backend_once(self):
        proc = self.monitor()
        guest = self.make_guest()
        # Vitrage knows the instance on its host, as Nova's datasource
        # would tell it
        self.vitrage.add_instances({guest.uuid: base.HOSTNAME})
        self.wait_watched(proc, guest)
        guest.kill_agent()
        notification = self.wait_notifications(guest)[0]
        failed, = self.listener.wait_for(FAILED, guest.uuid,
                                         timeout=EVENT_LAG)
        event_id = failed.data['event_id']
        # Vitrage raised the alarm on the instance; the template set the
        # instance's state to ERROR and raised its deduced alarm on the
        # host
        self.vitrage.wait_alarms(lambda alarms: self.alarm_of(guest),
                                 timeout=EVENT_LAG)
        alarm, = self.alarm_of(guest)
        instance = self.vitrage.resource(guest.uuid)
        self.assertEqual(('vmheartbeat', 'nova.instance',
                          instance['vitrage_id'], 'CRITICAL'),
                         (alarm['vitrage_type'],
                          alarm['vitrage_resource_type'],
                          alarm['vitrage_resource_id'],
                          alarm['vitrage_operational_severity']))
        self.assertEqual((event_id, 'heartbeat', 'heartbeat_lost'),
                         (alarm['event_id'], alarm['check'],
                          alarm['failure_class']))
        self.wait_until(
            lambda: self.vitrage.resource(guest.uuid).get(
                'vitrage_operational_state') == 'ERROR', EVENT_LAG,
            'the instance ERROR in Vitrage')
        self.vitrage.wait_alarms(lambda alarms: any(
            a.get('name') == 'VM health failure on host' and
            a.get('vitrage_resource_type') == 'nova.host'
            for a in alarms), timeout=EVENT_LAG)
        # Mistral ran the workflow once, with the event as its input
        execution = self.mistral.wait_execution(event_id, timeout=EVENT_LAG)
        self.assertEqual('SUCCESS', execution['state'], execution)
        # the same event, with its version (in the envelope for messaging)
        self.assertEqual(dict(failed.data, version=events.VERSION),
                         json.loads(execution['input'])['event'])

        self.wait_recovered(notification)
        guest.wait_agent(60)
        recovered, = self.listener.wait_for(RECOVERED, guest.uuid,
                                            timeout=60)
        self.vitrage.wait_alarms(lambda alarms: not self.alarm_of(guest),
                                 timeout=EVENT_LAG)
        self.wait_until(
            lambda: self.vitrage.resource(guest.uuid).get(
                'vitrage_operational_state') == 'OK', EVENT_LAG,
            'the instance OK again in Vitrage')
        self.mistral.wait_execution(recovered.data['event_id'],
                                    timeout=EVENT_LAG)

        # each receiver got each event once
        self.assert_notifications(guest, 1)
        self.assert_once(FAILED, guest)
        self.assert_once(REPORTED, guest)
        self.assert_once(RECOVERED, guest)
        runs = self.executions_of(guest)
        self.assertEqual({'failed': 1, 'recovered': 1},
                         {k: len(v) for k, v in runs.items()})
        self.assertEqual(
            [event_id, recovered.data['event_id']],
            self.mistral.execution_posts(self.mistral_mark))
        self.assertEqual([(RAISE, INSTANCE_ALARM, guest.uuid),
                          (CLEAR, INSTANCE_ALARM, guest.uuid)],
                         self.vitrage_posts())
        self.assertEqual(1, len(self.alarm_of(guest, history=True)))
        self.assertEqual([], proc.lines(r'Traceback'))


class TestFanOut(BackendsTestCase):
    """One backend refuses, one hangs, one answers 500.

    The others are on time, and each gets the failure once when it is back.
    """

    def test_refusing_hanging_and_failing_backends(self):
        vitrage = self.fault_proxy(self.vitrage.api_url, 'vitrage-proxy')
        mistral = self.fault_proxy(self.mistral.api_url, 'mistral-proxy')
        proc = self.monitor(vitrage_url=vitrage.url,
                            mistral_url=mistral.url + '/v2')
        guest = self.make_guest(metadata={})
        self.wait_watched(proc, guest)
        vitrage.refuse()
        mistral.fail(500)
        self.broker.hang()
        guest.kill_agent()
        # Masakari is not held by the three broken backends
        self.wait_notifications(guest)
        proc.wait_for_log(r'Instance %s: notification masakari: accepted'
                          % guest.uuid, timeout=5)
        proc.wait_for_log(r'Health event failed of instance %s delivered '
                          r'to log: logged' % guest.uuid, timeout=5)
        # (the hung broker holds its try until it is back)
        self.assert_held_by_vitrage_and_mistral(proc, guest)

        vitrage.forward()
        mistral.forward()
        self.broker.forward()
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=60)
        failed, = self.listener.wait_for(FAILED, guest.uuid, timeout=30)
        event_id = failed.data['event_id']
        self.mistral.wait_execution(event_id, timeout=EVENT_LAG)
        self.assertEqual([event_id],
                         self.mistral.execution_posts(self.mistral_mark))
        self.assertEqual(1, len(self.vitrage.event_posts(
            self.vitrage_mark)))
        self.assertEqual(1, len(self.alarm_of(guest)))
        self.assert_once(FAILED, guest)
        self.assert_notifications(guest, 1)

    def test_a_required_backend_down_holds_not_the_next_failure(self):
        vitrage = self.fault_proxy(self.vitrage.api_url, 'vitrage-proxy')
        # no back-off: the second failure is recovered at once
        proc = self.monitor(vitrage_url=vitrage.url,
                            recovery={'backoff_initial': 0})
        guest = self.make_guest(metadata={})
        self.wait_watched(proc, guest)
        vitrage.refuse()
        guest.kill_agent()
        self.wait_notifications(guest)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=10)
        # booted again (the operator's own recovery) and failing again,
        # Vitrage still down: Masakari gets the second failure on time
        guest.destroy()
        guest.create()
        guest.wait_agent(60)
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          timeout=60, count=2)
        guest.kill_agent()
        # Masakari got the second failure on time
        self.wait_notifications(guest, count=2)
        self.assert_posts((202, 202))
        self.assertEqual([], self.vitrage.event_posts(self.vitrage_mark))
        vitrage.forward()
        # Vitrage then gets the instance's events once each, in order:
        # raised, cleared by the recovery, raised again
        self.wait_until(
            lambda: len(self.vitrage.event_posts(self.vitrage_mark)) >= 3,
            60, 'three events posted to Vitrage')
        posted = (RAISE, INSTANCE_ALARM, guest.uuid)
        cleared = (CLEAR, INSTANCE_ALARM, guest.uuid)
        self.assertEqual([posted, cleared, posted], self.vitrage_posts())
        self.vitrage.wait_alarms(lambda alarms: self.alarm_of(guest),
                                 timeout=EVENT_LAG)
        self.assert_notifications(guest, 2, posts=(202, 202))

    def _backends_fail_then_come_back(self, vitrage_fault, mistral_fault):
        vitrage = self.fault_proxy(self.vitrage.api_url, 'vitrage-proxy')
        mistral = self.fault_proxy(self.mistral.api_url, 'mistral-proxy')
        proc = self.monitor(vitrage_url=vitrage.url,
                            mistral_url=mistral.url + '/v2')
        guest = self.make_guest(metadata={})
        self.wait_watched(proc, guest)
        vitrage_fault(vitrage)
        mistral_fault(mistral)
        guest.kill_agent()
        self.wait_notifications(guest)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=10)
        # each try is bounded by its [group] timeout (3 s here)
        self.assert_held_by_vitrage_and_mistral(proc, guest)
        vitrage.forward()
        mistral.forward()
        failed, = self.listener.wait_for(FAILED, guest.uuid, timeout=30)
        event_id = failed.data['event_id']
        self.mistral.wait_execution(event_id, timeout=60)
        self.wait_until(
            lambda: self.vitrage.event_posts(self.vitrage_mark), 60,
            'the failure posted to Vitrage')
        self.assertEqual([event_id],
                         self.mistral.execution_posts(self.mistral_mark))
        self.assertEqual(1, len(self.vitrage.event_posts(
            self.vitrage_mark)))
        self.assert_notifications(guest, 1)

    def test_vitrage_hanging_and_mistral_refusing_then_back(self):
        self._backends_fail_then_come_back(
            lambda proxy: proxy.hang(), lambda proxy: proxy.refuse())

    def test_vitrage_failing_and_mistral_hanging_then_back(self):
        self._backends_fail_then_come_back(
            lambda proxy: proxy.fail(503), lambda proxy: proxy.hang())


class TestVitrageDatasource(base.FunctionalTestCase):
    """Our vmheartbeat datasource, in the real vitrage-graph.

    Events are posted as the notifier posts them, without a monitor; the
    graph's own log says what it dropped.
    """

    INSTANCE = '31111111-2222-3333-4444-555555555555'
    OTHER = '61111111-2222-3333-4444-555555555555'

    def setUp(self):
        super().setUp()
        _mistral, self.vitrage = backends()
        self.graph_mark = self.vitrage.log_mark(vitrage_service.GRAPH)

    def details(self, **changes):
        details = {'instance_id': self.INSTANCE, 'name': INSTANCE_ALARM,
                   'severity': 'critical', 'hostname': base.HOSTNAME,
                   'check': 'heartbeat'}
        details.update(changes)
        return details

    def alarms(self):
        return [a for a in self.vitrage.alarms()
                if a.get('instance_id') == self.INSTANCE]

    def graph_log(self):
        return self.vitrage.log_since(vitrage_service.GRAPH, self.graph_mark)

    def test_raise_update_and_clear(self):
        self.assertEqual(200, self.vitrage.post_event(RAISE, self.details()))
        self.assertEqual(200, self.vitrage.post_event(RAISE, self.details()))
        self.vitrage.wait_alarms(lambda alarms: self.alarms())
        alarm, = self.alarms()
        self.assertEqual(('nova.instance', 'CRITICAL'),
                         (alarm['vitrage_resource_type'],
                          alarm['vitrage_operational_severity']))
        # the repeat was not passed on; a raise with new details is
        self.wait_until(lambda: len(self.vitrage.enqueued(
            RAISE, self.graph_mark)) == 2, 10, 'two raises in the graph')
        self.assertEqual('[]', self.vitrage.enqueued(
            RAISE, self.graph_mark)[1])
        self.assertEqual(200, self.vitrage.post_event(
            RAISE, self.details(check='app', severity='warning')))
        self.wait_until(lambda: self.vitrage.alarm(alarm['vitrage_id']).get(
            'check') == 'app', 10, 'the alarm updated in the graph')
        self.assertEqual('WARNING', self.vitrage.alarm(alarm['vitrage_id'])[
            'vitrage_operational_severity'])
        self.assertEqual(200, self.vitrage.post_event(CLEAR, self.details()))
        self.vitrage.wait_alarms(lambda alarms: not self.alarms())
        # one alarm in all: the repeated raise changed nothing, the
        # updated one changed its details
        self.assertEqual(1, len([
            a for a in self.vitrage.alarm_history()
            if a.get('instance_id') == self.INSTANCE]))
        # a repeated clear is passed on as nothing
        self.assertEqual(200, self.vitrage.post_event(CLEAR, self.details()))
        self.wait_until(lambda: len(self.vitrage.enqueued(
            CLEAR, self.graph_mark)) == 2, 10, 'two clears in the graph')
        first, second = self.vitrage.enqueued(CLEAR, self.graph_mark)
        self.assertNotEqual('[]', first)
        self.assertEqual('[]', second)

    def test_bad_events_are_dropped_and_logged(self):
        bad = (self.details(instance_id='compute-1'),
               self.details(name='vmheartbeat.instance.%s' % self.INSTANCE),
               self.details(severity='fatal'),
               self.details(evidence=['a', 'list']),
               self.details(evidence='\x1b[2J' + 'x' * 9000),
               self.details(vitrage_is_deleted=True),
               self.details(project_id='another tenant'))
        for details in bad:
            self.assertEqual(200, self.vitrage.post_event(RAISE, details))
        # then a good one, after them in the same queue
        good = self.details(instance_id='41111111-2222-3333-4444-555555555555')
        self.assertEqual(200, self.vitrage.post_event(RAISE, good))
        self.vitrage.wait_alarms(lambda alarms: any(
            a.get('instance_id') == good['instance_id'] for a in alarms))
        self.assertEqual([], self.alarms())
        log = self.graph_log()
        self.assertEqual(7, log.count('vmheartbeat event dropped ('), log)
        for reason in ('instance_id is not a uuid', 'name is not one of',
                       'severity is not one of',
                       "detail 'evidence' is not a plain value",
                       "detail 'evidence' is over 8192 characters",
                       "detail 'vitrage_is_deleted' is reserved to Vitrage",
                       "detail 'project_id' is reserved to Vitrage"):
            self.assertIn(reason, log)
        self.assertNotIn('\x1b', log)
        self.assertEqual(200, self.vitrage.post_event(CLEAR, good))
        self.vitrage.wait_alarms(lambda alarms: not any(
            a.get('instance_id') == good['instance_id'] for a in alarms))

    def test_events_not_signed_with_the_key_raise_no_alarm(self):
        # anyone allowed to post events may post one: unsigned, signed
        # with another key, or signed and changed on the way
        self.assertEqual(200, self.vitrage.post_event(
            RAISE, self.details(), signing_key=None))
        self.assertEqual(200, self.vitrage.post_event(
            RAISE, self.details(), signing_key='not the key of the graph'))
        signed = vitrage_events.sign(
            {'type': RAISE, 'time': vitrage_events.utc_time(),
             'details': self.details(instance_id=self.OTHER)},
            vitrage_service.SIGNING_KEY)
        signed['details']['instance_id'] = self.INSTANCE
        self.assertEqual(200, self.vitrage.post_event(
            RAISE, signed['details'], event_time=signed['time'],
            signing_key=None))
        # the same, as signed, is taken: after them in the same queue
        signed['details']['instance_id'] = self.OTHER
        self.assertEqual(200, self.vitrage.post_event(
            RAISE, signed['details'], event_time=signed['time'],
            signing_key=None))
        self.vitrage.wait_alarms(lambda alarms: any(
            a.get('instance_id') == self.OTHER for a in alarms))
        self.assertEqual([], self.alarms())
        self.assertEqual(['[]', '[]', '[]'], self.vitrage.enqueued(
            RAISE, self.graph_mark)[:3])
        log = self.graph_log()
        self.assertIn('vmheartbeat event refused (not signed)', log)
        self.assertIn('vmheartbeat event refused (bad signature)', log)
        # and a replay of what was taken is not
        self.assertEqual(200, self.vitrage.post_event(
            CLEAR, self.details(instance_id=self.OTHER)))
        self.vitrage.wait_alarms(lambda alarms: not any(
            a.get('instance_id') == self.OTHER for a in alarms))
        self.assertEqual(200, self.vitrage.post_event(
            RAISE, signed['details'], event_time=signed['time'],
            signing_key=None))
        self.wait_until(lambda: 'replay of an event already taken' in
                        self.graph_log(), 10, 'the replay refused')
        self.assertEqual([], [a for a in self.vitrage.alarms()
                              if a.get('instance_id') == self.OTHER])

    def test_one_alarm_whatever_the_spelling_of_the_uuid(self):
        instance = 'aaaaaaaa-2222-3333-4444-bbbbbbbbbbbb'
        for spelling in (instance.upper(), instance.replace('-', '')):
            self.assertEqual(200, self.vitrage.post_event(
                RAISE, self.details(instance_id=spelling)))
        alarms = self.vitrage.wait_alarms(lambda alarms: any(
            a.get('instance_id') == instance for a in alarms))
        self.assertEqual(1, len([a for a in alarms if a.get('name') ==
                                 INSTANCE_ALARM and a.get(
                                     'instance_id', '').lower().replace(
                                     '-', '') == instance.replace('-', '')]))
        self.assertEqual(200, self.vitrage.post_event(
            CLEAR, self.details(instance_id=instance.upper())))
        self.vitrage.wait_alarms(lambda alarms: not any(
            a.get('instance_id') == instance for a in alarms))
        self.assertEqual(1, len([a for a in self.vitrage.alarm_history()
                                 if a.get('instance_id') == instance]))

    def test_reserved_keys_are_vitrages_own(self):
        # every property name of Vitrage's graph is refused in details,
        # but the two the datasource checks the values of
        script = ('import json; from vitrage.common import constants as c; '
                  'print(json.dumps(sorted({getattr(k, n) for k in '
                  '(c.VertexProperties, c.EdgeProperties) for n in dir(k) '
                  'if n.isupper()})))')
        names = json.loads(subprocess.run(
            [self.vitrage._bin('python'), '-c', script], check=True,
            stdout=subprocess.PIPE, universal_newlines=True).stdout)
        self.assertIn('vitrage_is_deleted', names)
        self.assertEqual(['name', 'severity'], [
            n for n in names if not vitrage_events.is_reserved(n)])

    def test_the_shipped_policy_restricts_event_post(self):
        # Vitrage's own rules and oslo.policy, with our policy file: only
        # the admin and service roles may post (the testbed's Vitrage runs
        # noauth without it: the monitor there sends no roles)
        script = '''if True:
            import json, sys
            from oslo_config import cfg
            from oslo_policy import policy
            from vitrage.common import policies
            conf = cfg.ConfigOpts()
            conf([], project='vitrage', default_config_files=[])
            allowed = {}
            for path in (None, sys.argv[1]):
                enforcer = policy.Enforcer(conf, policy_file=path)
                enforcer.register_defaults(policies.list_rules())
                allowed[str(path)] = {
                    role: enforcer.enforce('event post', {}, {
                        'roles': [role], 'user_id': 'u',
                        'project_id': 'p'})
                    for role in ('member', 'reader', '', 'admin',
                                 'service')}
            print(json.dumps(allowed))
        '''
        allowed = json.loads(subprocess.run(
            [self.vitrage._bin('python'), '-c', script, POLICY_FILE],
            check=True, stdout=subprocess.PIPE,
            universal_newlines=True).stdout)
        # Vitrage's default: anyone
        self.assertEqual({'member': True, 'reader': True, '': True,
                          'admin': True, 'service': True}, allowed['None'])
        self.assertEqual({'member': False, 'reader': False, '': False,
                          'admin': True, 'service': True},
                         allowed[POLICY_FILE])

    def test_a_clear_of_no_alarm_changes_nothing(self):
        self.assertEqual(200, self.vitrage.post_event(CLEAR, self.details()))
        self.wait_until(
            lambda: self.vitrage.enqueued(CLEAR, self.graph_mark), 10,
            'the clear received by vitrage-graph')
        self.assertEqual(['[]'], self.vitrage.enqueued(CLEAR, self.graph_mark))
        self.assertEqual([], self.alarms())

    def test_template_on_an_instance_of_a_host_that_went_down(self):
        # the example template: the instance ERROR, a deduced alarm on its
        # host caused by the instance's alarm, itself caused by the host's
        # doctor alarm
        instance = '51111111-2222-3333-4444-555555555555'
        self.vitrage.add_instances({instance: base.HOSTNAME})
        host_down = {'hostname': base.HOSTNAME, 'status': 'down'}
        self.assertEqual(200, self.vitrage.post_event('compute.host.down',
                                                      host_down))
        self.addCleanup(self.vitrage.post_event, 'compute.host.down',
                        dict(host_down, status='up'))
        details = self.details(instance_id=instance)
        self.assertEqual(200, self.vitrage.post_event(RAISE, details))
        alarms = self.vitrage.wait_alarms(lambda alarms: {
            'compute.host.down', 'VM health failure on host'} <= {
            a.get('name') for a in alarms} and any(
            a.get('instance_id') == instance for a in alarms))
        ids = {a['name']: a['vitrage_id'] for a in alarms
               if a.get('instance_id') in (None, instance)}
        self.wait_until(
            lambda: self.vitrage.resource(instance).get(
                'vitrage_operational_state') == 'ERROR', 10,
            'the instance ERROR')
        self.wait_until(lambda: {
            (ids['compute.host.down'], ids[INSTANCE_ALARM]),
            (ids[INSTANCE_ALARM], ids['VM health failure on host'])} <=
            set(self.vitrage.causal_links()), 10, 'the causal links')
        self.assertEqual(200, self.vitrage.post_event(CLEAR, details))
        self.vitrage.wait_alarms(lambda alarms: not any(
            a.get('instance_id') == instance or
            a.get('name') == 'VM health failure on host' for a in alarms))
        self.wait_until(
            lambda: self.vitrage.resource(instance).get(
                'vitrage_operational_state') == 'OK', 10, 'the instance OK')
