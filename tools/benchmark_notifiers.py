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

"""Benchmark of the reporting backends: fault to each receiver, CPU per event.

On the real testbed (libvirtd + QEMU TCG + qemu-ga, the real Masakari, a
real RabbitMQ with an oslo.messaging listener, the real Mistral and the
real Vitrage), one monitor with the notifiers masakari, messaging, vitrage
and mistral watches ``--guests`` guests (3; interval 1 s, timeout 1 s,
threshold 3). Then:

1. ``--window`` seconds (60) of steady state: the monitor's CPU per second
   without faults;
2. ``--runs`` faults (10): qemu-ga killed in one guest at a time, at a
   random point of its heartbeat cycle; for each, the time from the kill to
   each receiver having the ``failed`` event, as the receiver recorded it:
   Masakari's 202 (the monitor's log line of the answer), the listener's
   arrival time, Mistral's "Create execution" log line for the event's id,
   vitrage-graph's "EVENTS ENQUEUED" record of the alarm raised on the
   instance by the vmheartbeat datasource.
   The guest is then booted again for a later run.

Reports p50 and p95 (nearest rank) per receiver, each receiver's time
after Masakari's 202 (target: within 1 s), and the monitor's CPU per
delivered event: its CPU from each kill until the ``reported`` event
reached the listener, less the steady-state CPU per second over those
windows, divided by the deliveries the receivers recorded in them (each
fault: the failure to the four receivers, and the report to the
listener). Booting the guest again after each fault is not measured.

It runs its own services on ports and directories of its own (Masakari of
tools/benchmark.py: do not run both at once). It asserts nothing. Run as
root after tools/testbed/setup.sh::

    .venv/bin/python -m tools.benchmark_notifiers [--runs 10]
"""

import argparse
import concurrent.futures
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid

from tools.benchmark_results import bench_masakari
from tools.benchmark_results import clock
from tools.benchmark_results import cpu_seconds
from tools.benchmark_results import GUARDS_OFF
from tools.benchmark_results import log_time
from tools.benchmark_results import percentile
from tools.benchmark_results import say

from tests.functional.fixtures.clients import notification_listener
from tests.functional.fixtures.services import libvirt_guest
from tests.functional.fixtures.services import mistral_service
from tests.functional.fixtures.services import monitor
from tests.functional.fixtures.services import rabbitmq
from tests.functional.fixtures.services import service_processes
from tests.functional.fixtures.services import vitrage_service

HOSTNAME = 'compute-1'
KEY = 'masakari:vm_heartbeat'
RECEIVERS = ('masakari', 'messaging', 'mistral', 'vitrage')
EVENTS_VHOST = 'vmhb-bench-events'
TESTBED = os.environ.get('VMHB_TESTBED_DIR', '/var/lib/vmhb-testbed')


def first_line_time(text, pattern, after=0.0):
    """Time of the first log line of ``text`` matching, after ``after``."""
    regex = re.compile(pattern)
    for line in text.splitlines():
        if regex.search(line):
            when = log_time(line)
            if when is not None and when > after:
                return when
    return None


def graph_raise_time(text, instance_uuid, after=0.0):
    """When vitrage-graph's datasource took the instance's alarm raise.

    vitrage-graph logs each event it got, then on the next line what the
    datasources made of it: the time of the first such record of a
    ``vmheartbeat.alarm.raise`` for the instance, after ``after``.
    """
    for match in re.finditer(
            r"^(.*) INFO vitrage\.entity_graph\.driver_exec \[-\] EVENTS "
            r"ENQUEUED:\[[^\]]*\] \[vmheartbeat\.alarm\.raise\] \n"
            r"\[\{.*'instance_id': '%s'" % re.escape(instance_uuid), text,
            re.M):
        when = log_time(match.group(1))
        if when is not None and when > after:
            return when
    return None


class Bench:

    def __init__(self, args):
        self.args = args
        self.masakari = bench_masakari(HOSTNAME)
        self.mistral = mistral_service.MistralService(
            api_port=28989, base_dir=os.path.join(TESTBED, 'mistral-bench'),
            rabbit_vhost='vmhb-bench-mistral')
        self.vitrage = vitrage_service.VitrageService(
            hostnames=(HOSTNAME,), api_port=28999,
            base_dir=os.path.join(TESTBED, 'vitrage-bench'),
            rabbit_vhost='vmhb-bench-vitrage')
        self.listener = None
        self.workdir = tempfile.mkdtemp(prefix='vmhb-bench-notifiers-')
        self.guests = []
        self.proc = None
        self.latency = {name: [] for name in RECEIVERS}
        self.lost = {name: 0 for name in RECEIVERS}
        self.idle_cpu_rate = None
        self.cpu_per_event = None
        self.deliveries = 0
        self.graph_mark = self.mistral_mark = 0

    def start_services(self):
        rabbitmq.ensure_rabbitmq(vhost=EVENTS_VHOST, fresh_vhost=True)
        url = 'rabbit://guest:guest@%s:%d/%s' % (
            rabbitmq.RABBIT_HOST, rabbitmq.RABBIT_PORT, EVENTS_VHOST)
        self.listener = notification_listener.NotificationListener(
            url).start()
        self.masakari.start()
        self.masakari.create_segment_and_host(HOSTNAME)
        self.mistral.start()
        self.mistral.put_workflow()
        self.vitrage.start()
        return url

    def start_monitor(self, transport_url):
        sections = {
            'DEFAULT': {'hostname': HOSTNAME},
            'libvirt': {'connection_uri': libvirt_guest.DEFAULT_URI},
            'vmheartbeat': {
                'interval': 1, 'timeout': 1, 'failure_threshold': 3,
                'startup_grace_period': 30, 'opt_in': 'flavor',
                'notifiers': 'masakari,messaging,vitrage,mistral',
                'resync_interval': 5,
                'state_path': os.path.join(self.workdir, 'state')},
            'oslo_messaging_notifications': {'transport_url': transport_url},
            'recovery': GUARDS_OFF,
            'mistral': {'auth_type': 'none',
                        'endpoint_override': self.mistral.api_url,
                        'workflow': mistral_service.WORKFLOW_NAME},
            'vitrage': {'auth_type': 'none',
                        'endpoint_override': self.vitrage.api_url,
                        'event_signing_key': vitrage_service.SIGNING_KEY},
        }
        sections.update(self.masakari.monitor_config())
        self.proc = monitor.MonitorProcess(self.workdir, sections).start()
        say('  monitor %s, log %s' % (self.proc.proc.pid,
                                      self.proc.log_file))

    def wait_answering(self, guest, after=0.0, timeout=90):
        pattern = re.compile(r'Instance %s: answering heartbeats'
                             % guest.uuid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.proc.log().splitlines():
                when = log_time(line)
                if when and when > after and pattern.search(line):
                    return when
            time.sleep(0.1)
        raise RuntimeError('%s not answering heartbeats' % guest.name)

    def receivers(self, guest, injected, timeout=30.0):
        """Time of the failure at each receiver, None when not there."""
        found = dict.fromkeys(RECEIVERS)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and None in found.values():
            log = self.proc.log()
            found['masakari'] = first_line_time(
                log, r'Instance %s: notification masakari: accepted'
                % guest.uuid, injected)
            failed = [r for r in self.listener.received(
                'vmheartbeat.instance.failed', guest.uuid)
                if r.arrived > injected]
            if failed:
                found['messaging'] = failed[0].arrived
                event_id = failed[0].data['event_id']
                found['mistral'] = first_line_time(
                    self.mistral.log_since(mistral_service.SERVER,
                                           self.mistral_mark),
                    r"Create execution \[execution=Execution \[id='%s'"
                    % event_id, injected)
            found['vitrage'] = graph_raise_time(
                self.vitrage.log_since(vitrage_service.GRAPH,
                                       self.graph_mark), guest.uuid,
                injected)
            time.sleep(0.1)
        return found

    def deliveries_since(self, mistral_mark, vitrage_mark, masakari_mark,
                         received):
        """Deliveries the receivers recorded since the marks."""
        return (len(self.listener.received()) - received +
                self.mistral.post_count(mistral_mark) +
                self.vitrage.post_count(vitrage_mark) +
                len(self.masakari.notification_posts(masakari_mark)))

    def wait_event(self, event_type, guest, after, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(r.arrived > after for r in self.listener.received(
                    event_type, guest.uuid)):
                return
            time.sleep(0.05)

    def run(self):
        args = self.args
        say('Reporting backends benchmark: Masakari, RabbitMQ, Mistral and '
            'Vitrage (about 40 s to start), %d guests, %d s of steady state, '
            'then %d faults of about 8 s each; expect about %s.' % (
                args.guests, args.window, args.runs,
                clock(60 + args.window + 8 * args.runs)))
        libvirt_guest.ensure_libvirtd()
        libvirt_guest.ensure_guest_image()
        self.guests = [libvirt_guest.Guest('bench-ntf-%s' % u[:8], uuid=u)
                       for u in (str(uuid.uuid4())
                                 for _ in range(args.guests))]
        pool = concurrent.futures.ThreadPoolExecutor(4)
        try:
            booting = [pool.submit(g.create) for g in self.guests]
            say('--- starting the services')
            url = self.start_services()
            for guest in self.guests:
                self.masakari.register_server(
                    guest.uuid, extra_specs={KEY: 'true'}, metadata={})
            for future in booting:
                future.result()
            for guest in self.guests:
                guest.wait_agent(90)
            self.graph_mark = self.vitrage.log_mark(vitrage_service.GRAPH)
            self.start_monitor(url)
            for guest in self.guests:
                self.wait_answering(guest)
            say('--- 1. steady state, %d s' % args.window)
            cpu0, t0 = cpu_seconds(self.proc.proc.pid), time.monotonic()
            time.sleep(args.window)
            cpu1, t1 = cpu_seconds(self.proc.proc.pid), time.monotonic()
            self.idle_cpu_rate = (cpu1 - cpu0) / (t1 - t0)
            say('    %.3f s CPU per second' % self.idle_cpu_rate)
            say('--- 2. %d faults' % args.runs)
            self.mistral_mark = self.mistral.api_log_mark()
            busy = idle = 0.0
            for run in range(1, args.runs + 1):
                guest = self.guests[run % len(self.guests)]
                time.sleep(random.uniform(0.0, 1.0))
                marks = (self.mistral.api_log_mark(),
                         self.vitrage.api_log_mark(),
                         self.masakari.api_log_mark(),
                         len(self.listener.received()))
                cpu0, t0 = cpu_seconds(self.proc.proc.pid), time.monotonic()
                injected = guest.kill_agent()
                found = self.receivers(guest, injected)
                # the reported event follows Masakari's answer
                self.wait_event('vmheartbeat.instance.reported', guest,
                                injected)
                cpu1, t1 = cpu_seconds(self.proc.proc.pid), time.monotonic()
                busy += cpu1 - cpu0
                idle += self.idle_cpu_rate * (t1 - t0)
                self.deliveries += self.deliveries_since(*marks)
                shown = []
                for name in RECEIVERS:
                    if found[name] is None:
                        self.lost[name] += 1
                        shown.append('%s lost' % name)
                    else:
                        self.latency[name].append(found[name] - injected)
                        shown.append('%s %.2f' % (name,
                                                  found[name] - injected))
                say('  [%2d/%d] %s: %s' % (run, args.runs, guest.name,
                                           ', '.join(shown)))
                after = self.reboot(guest)
                self.wait_answering(guest, after=after)
            self.cpu_per_event = (busy - idle) / max(self.deliveries, 1)
        finally:
            if self.proc is not None and self.proc.proc.poll() is None:
                self.proc.stop()
            list(pool.map(lambda g: g.cleanup(), self.guests))
            pool.shutdown()
            if self.listener is not None:
                self.listener.stop()
            self.vitrage.stop()
            self.mistral.stop()
            self.masakari.stop()

    @staticmethod
    def reboot(guest):
        """Boot the guest again (not measured); the time it was started."""
        guest.destroy()
        started = time.time()
        guest.create()
        guest.wait_agent(90)
        return started

    def report(self):
        masakari = self.latency['masakari']
        say('\nFault (qemu-ga killed) to the failure at each receiver, '
            'seconds (nearest-rank p95):')
        say('%-10s %4s %5s %6s %6s %6s   %s' % (
            'receiver', 'n', 'lost', 'p50', 'p95', 'max',
            'after Masakari\'s 202: p50, p95 (target <= 1 s)'))
        for name in RECEIVERS:
            values = self.latency[name]
            if not values:
                say('%-10s %4d %5d' % (name, 0, self.lost[name]))
                continue
            line = '%-10s %4d %5d %6.2f %6.2f %6.2f' % (
                name, len(values), self.lost[name],
                statistics.median(values), percentile(values, 95),
                max(values))
            if name != 'masakari' and len(masakari) == len(values):
                after = [v - m for v, m in zip(values, masakari)]
                line += '   %+.2f, %+.2f' % (statistics.median(after),
                                             percentile(after, 95))
            say(line)
        if self.cpu_per_event is not None:
            say('\nMonitor CPU: %.3f s per second in steady state; %.2f ms '
                'per delivered event above it (%d deliveries recorded by '
                'the receivers from each kill to its reported event, '
                'Masakari\'s POSTs included)' % (
                    self.idle_cpu_rate, 1000.0 * self.cpu_per_event,
                    self.deliveries))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--guests', type=int, default=3)
    parser.add_argument('--window', type=int, default=60,
                        help='seconds of steady state measured')
    parser.add_argument('--runs', type=int, default=10,
                        help='faults (default 10)')
    bench = Bench(parser.parse_args())
    started = time.monotonic()
    status = 0
    try:
        bench.run()
    except (RuntimeError, libvirt_guest.GuestError, monitor.MonitorError,
            service_processes.ServiceError, OSError) as e:
        say('\nThe testbed failed: %s' % e)
        status = 1
    bench.report()
    say('\nTook %s.' % clock(time.monotonic() - started))
    return status


if __name__ == '__main__':
    sys.exit(main())
