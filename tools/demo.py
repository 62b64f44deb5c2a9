#!/usr/bin/env python3
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

"""The main job: a real VM, hung on purpose, found and recovered.

Runs the real masakari-vmheartbeatmonitor against a tiny guest with the real
qemu-ga on libvirtd + QEMU (TCG), and the real Masakari API and engine
(over RabbitMQ) with a Nova stand-in that maps stop/start onto the libvirt
domain. Panics the guest kernel and prints the timeline: fault injected,
misses seen, escalation steps, notification accepted, Masakari's final
status, and the VM answering again. Then prints the health events each
configured backend received: Masakari's notification, the oslo.messaging
notifications an oslo.messaging listener (as Aodh or any tool runs one) got
from RabbitMQ, the executions of the example workflow the real Mistral
ran, and the alarms the real Vitrage raised and cleared (with the example
template).

Run it through tools/demo.sh, which sets the machine up first.
"""

import argparse
import datetime
import json
import os
import re
import sys
import tempfile
import time
import uuid

from tests.functional.fixtures.clients import notification_listener
from tests.functional.fixtures.services import libvirt_guest
from tests.functional.fixtures.services import masakari_service
from tests.functional.fixtures.services import mistral_service
from tests.functional.fixtures.services import monitor
from tests.functional.fixtures.services import rabbitmq
from tests.functional.fixtures.services import vitrage_service

HOSTNAME = 'compute-1'
VHOST = 'vmhb-demo'
EVENTS = ('failed', 'reported', 'recovered')
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VITRAGE_TEMPLATE = os.path.join(TOP, 'etc', 'masakarimonitors_ext', 'vitrage',
                                'vm-health-template.yaml')

# (pattern in the monitor log, what the timeline says)
MILESTONES = (
    (r'missed heartbeat (\d+/\d+): (\S+)', 'monitor: missed heartbeat'),
    (r'escalating \(flow (\S+)\)', 'monitor: escalation flow started'),
    (r're-probe (\d+/\d+) missed', 'flow: re-probe missed'),
    (r'domain is running, in no lifecycle', 'flow: domain confirmed running'),
    (r'last probe missed too', 'flow: last probe missed'),
    (r'notification masakari: (.*)', 'flow: Masakari answered'),
    (r'notification messaging: (.*)', 'flow: messaging notifier'),
    (r'failure reported', 'monitor: failure reported'),
    (r'no longer watched \((\w+)\)', 'monitor: domain stopped by recovery'),
    (r'\): watched', 'monitor: restarted domain watched again'),
    (r'answering heartbeats', 'monitor: VM answering heartbeats'),
    (r'Health event (\w+) of instance \S+ delivered to (\w+)',
     'outbox: event delivered:'),
)
_STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ')


def _log_time(line):
    match = _STAMP.match(line)
    if not match:
        return None
    stamp = datetime.datetime.strptime(match.group(1),
                                       '%Y-%m-%d %H:%M:%S.%f')
    return stamp.timestamp()


class Timeline:
    def __init__(self):
        self.t0 = None
        self.events = []

    def add(self, when, what):
        self.events.append((when, what))
        rel = '' if self.t0 is None else '%+8.2fs' % (when - self.t0)
        print('%s  %s' % (rel.rjust(9), what), flush=True)


def follow(proc, instance_uuid, timeline, seen, after):
    for line in proc.log().splitlines():
        if instance_uuid not in line or line in seen:
            continue
        when = _log_time(line)
        if when is None or when < after:
            continue
        for pattern, what in MILESTONES:
            match = re.search(pattern, line)
            if match:
                seen.add(line)
                detail = ' '.join(match.groups())
                timeline.add(when, '%s %s' % (what, detail) if detail
                             else what)
                break


def events_received(listener, instance_uuid, workdir, timeout=10):
    """Print what the oslo.messaging listener received; their kinds.

    The whole notifications are saved to ``workdir``/events.json.
    """
    try:
        listener.wait_for('vmheartbeat.instance.recovered', instance_uuid,
                          timeout=timeout)
    except AssertionError:
        pass
    received = listener.received(instance_uuid=instance_uuid)
    print('== the oslo.messaging listener received %d notification(s):'
          % len(received))
    for item in received:
        data = item.data
        print('   %s  %-33s %-5s class=%s check=%s event_id=%s' % (
            datetime.datetime.fromtimestamp(item.arrived).strftime(
                '%H:%M:%S.%f')[:-3], item.event_type, item.priority,
            data.get('failure_class'), data.get('check'),
            data.get('event_id')))
    path = os.path.join(workdir, 'events.json')
    with open(path, 'w') as out:
        json.dump([{'priority': item.priority,
                    'publisher_id': item.publisher_id,
                    'event_type': item.event_type,
                    'message_id': item.message_id,
                    'timestamp': item.timestamp,
                    'payload': item.payload} for item in received],
                  out, indent=2)
    print('   (the whole notifications are in %s)' % path)
    return tuple(item.data.get('kind') for item in received)


def mistral_received(mistral, instance_uuid, timeout=10):
    """Print the workflow executions Mistral ran; their event kinds."""
    deadline = time.time() + timeout
    while True:
        runs = [e for e in mistral.executions(mistral_service.WORKFLOW_NAME)
                if json.loads(e['input'])['event']['instance_uuid'] ==
                instance_uuid]
        done = [e for e in runs if e['state'] in mistral_service.FINAL_STATES]
        if len(done) >= 2 or time.time() > deadline:
            break
        time.sleep(0.2)
    print('== Mistral ran the workflow %s %d time(s):' % (
        mistral_service.WORKFLOW_NAME, len(runs)))
    kinds = []
    for run in runs:
        event = json.loads(run['input'])['event']
        kinds.append(event['kind'])
        print('   %s  execution %s  %-7s event %s (class %s)' % (
            run['created_at'], run['id'], run['state'], event['kind'],
            event['failure_class']))
    return tuple(kinds)


def vitrage_received(vitrage, instance_uuid):
    """Print the alarms Vitrage raised (and cleared); the instance's own."""
    names = {}
    for resource in vitrage.resources():
        names[resource['vitrage_id']] = '%s %s' % (resource['vitrage_type'],
                                                   resource['id'])
    shown = [a for a in vitrage.alarm_history()
             if a.get('instance_id') == instance_uuid or
             a.get('name') == 'VM health failure on host']
    print('== Vitrage raised %d alarm(s):' % len(shown))
    for alarm in shown:
        print('   %-26s %-8s on %s\n   %26s from %s to %s' % (
            alarm['name'], alarm.get('severity'),
            names.get(alarm.get('vitrage_resource_id'), '?'), '',
            alarm.get('start_timestamp'),
            alarm.get('end_timestamp') or 'now (active)'))
    return [a for a in shown if a.get('instance_id') == instance_uuid and
            a.get('vitrage_resource_type') == 'nova.instance']


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--fault', default='panic',
                        choices=('panic', 'kill_agent', 'sigstop'),
                        help='how to hang the guest (default: kernel panic)')
    parser.add_argument('--keep', action='store_true',
                        help='leave Masakari running at the end')
    args = parser.parse_args()

    print('== setting up: libvirtd, guest image, RabbitMQ, Masakari, a '
          'notification listener, Mistral and Vitrage (about 30 s)')
    libvirt_guest.ensure_libvirtd()
    libvirt_guest.ensure_guest_image()
    masakari = masakari_service.MasakariService(hostnames=(HOSTNAME,))
    masakari.start()
    rabbitmq.ensure_rabbitmq(vhost=VHOST, fresh_vhost=True)
    transport_url = 'rabbit://guest:guest@%s:%d/%s' % (
        rabbitmq.RABBIT_HOST, rabbitmq.RABBIT_PORT, VHOST)
    listener = notification_listener.NotificationListener(
        transport_url).start()
    mistral = mistral_service.MistralService()
    vitrage = vitrage_service.VitrageService(hostnames=(HOSTNAME,))
    workdir = tempfile.mkdtemp(prefix='vmhb-demo-')
    guest = None
    proc = None
    try:
        mistral.start()
        mistral.put_workflow()
        instance_uuid = str(uuid.uuid4())
        # Vitrage knows the instance on its host, as Nova's datasource
        # would tell it
        vitrage.start(instances={instance_uuid: HOSTNAME})
        vitrage.add_template(path=VITRAGE_TEMPLATE)
        masakari.create_segment_and_host(HOSTNAME)
        masakari.register_server(
            instance_uuid, name='demo-vm',
            extra_specs={'masakari:vm_heartbeat': 'true'})
        sections = {
            'DEFAULT': {'hostname': HOSTNAME},
            'libvirt': {'connection_uri': libvirt_guest.DEFAULT_URI},
            'vmheartbeat': {'interval': 1, 'timeout': 1,
                            'failure_threshold': 3,
                            'startup_grace_period': 30,
                            'opt_in': 'flavor',
                            'notifiers': 'masakari,messaging,vitrage,'
                                         'mistral,log',
                            'state_path': os.path.join(workdir, 'state')},
            'oslo_messaging_notifications': {'transport_url': transport_url},
            'mistral': {'auth_type': 'none',
                        'endpoint_override': mistral.api_url,
                        'workflow': mistral_service.WORKFLOW_NAME},
            'vitrage': {'auth_type': 'none',
                        'endpoint_override': vitrage.api_url,
                        'event_signing_key': vitrage_service.SIGNING_KEY},
        }
        sections.update(masakari.monitor_config())
        print('== starting masakari-vmheartbeatmonitor (log: %s/monitor.log)'
              % workdir)
        proc = monitor.MonitorProcess(workdir, sections).start()
        guest = libvirt_guest.Guest('vmhb-demo', uuid=instance_uuid)
        guest.cleanup()
        guest.create()
        print('== guest %s booted, qemu-ga answered in %.1fs' % (
            instance_uuid, guest.wait_agent(60)))
        proc.wait_for_log(r'Instance %s: answering heartbeats'
                          % instance_uuid, 60)
        print('== the monitor heartbeats it (interval 1s, timeout 1s, '
              'threshold 3); now hanging the guest (%s)\n' % args.fault)

        timeline = Timeline()
        timeline.t0 = getattr(guest, args.fault)()
        timeline.add(timeline.t0, 'fault injected: %s' % args.fault)
        seen, status, accepted = set(), None, None
        deadline = time.time() + 180
        while time.time() < deadline:
            follow(proc, instance_uuid, timeline, seen, timeline.t0)
            found = masakari.notifications_for(instance_uuid)
            if found and found[0]['status'] != status:
                status = found[0]['status']
                accepted = accepted or found[0]
                timeline.add(time.time(), 'masakari: notification %s is %s'
                             % (found[0]['notification_uuid'][:8], status))
            answering = any('answering' in what
                            for _, what in timeline.events)
            if status in ('ignored', 'error', 'failed') or (
                    status == 'finished' and answering):
                break
            time.sleep(0.1)
        follow(proc, instance_uuid, timeline, seen, timeline.t0)
        count = len(masakari.notifications_for(instance_uuid))
        print('\n== %d notification(s) for %s; Masakari status: %s' % (
            count, instance_uuid, status))
        received = events_received(listener, instance_uuid, workdir)
        runs = mistral_received(mistral, instance_uuid)
        alarms = vitrage_received(vitrage, instance_uuid)
        if (status != 'finished' or count != 1 or received != EVENTS or
                runs != ('failed', 'recovered') or len(alarms) != 1 or
                not alarms[0].get('end_timestamp')):
            print('== DEMO FAILED; monitor log tail:\n%s' % proc.tail(60))
            return 1
        print('== DEMO OK: hung VM found, reported once, recovered by '
              'Masakari, answering again; the listener got each event once, '
              'Mistral ran the workflow for the failure and the recovery, '
              'Vitrage raised the alarm on the instance and cleared it')
        return 0
    finally:
        if proc is not None:
            proc.stop()
        if guest is not None:
            guest.cleanup()
        listener.stop()
        if not args.keep:
            vitrage.stop()
            mistral.stop()
            masakari.stop()


if __name__ == '__main__':
    sys.exit(main())
