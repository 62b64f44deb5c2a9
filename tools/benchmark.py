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

"""Benchmark: detection latency per fault class, and CPU per probe.

On the real testbed (libvirtd + QEMU TCG + qemu-ga, the real Masakari), with
interval 1 s, timeout 1 s and failure threshold 3, it measures for each
fault class the time from the fault injection to Masakari's 202 for the
notification (read from the monitor's log), alone and while 5 other guests
are hung (QEMU stopped), and the monitor process's CPU time per heartbeat.
It also counts notifications for guests that were never faulted (false
alarms). Numbers only: it asserts nothing. Run as root after
tools/testbed/setup.sh::

    .venv/bin/python tools/benchmark.py [--runs 5]
"""

import argparse
import datetime
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.functional.fixtures import libvirt_guest  # noqa: E402
from tests.functional.fixtures import masakari_service  # noqa: E402
from tests.functional.fixtures import monitor  # noqa: E402

HOSTNAME = 'compute-1'
FAULTS = ('kill_agent', 'panic', 'sigstop')
_STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ')
CLK_TCK = os.sysconf('SC_CLK_TCK')


def log_time(line):
    stamp = _STAMP.match(line).group(1)
    return datetime.datetime.strptime(
        stamp, '%Y-%m-%d %H:%M:%S.%f').timestamp()


def percentile(values, pct):
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1,
                       int(round(pct / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Bench:
    def __init__(self, args):
        self.args = args
        self.masakari = masakari_service.MasakariService(
            hostnames=(HOSTNAME,))
        self.workdir = tempfile.mkdtemp(prefix='vmhb-bench-')
        self.guests = []
        self.faulted = set()

    def guest(self, prefix):
        instance_uuid = str(uuid.uuid4())
        # no HA_Enabled: Masakari records the notification and leaves the
        # VM alone, so hung neighbours stay hung
        self.masakari.register_server(
            instance_uuid, extra_specs={'masakari:vm_heartbeat': 'true'},
            metadata={})
        guest = libvirt_guest.Guest('%s-%s' % (prefix, instance_uuid[:8]),
                                    uuid=instance_uuid)
        guest.create()
        self.guests.append(guest)
        return guest

    def start_monitor(self):
        sections = {
            'DEFAULT': {'hostname': HOSTNAME},
            'libvirt': {'connection_uri': libvirt_guest.DEFAULT_URI},
            'vmheartbeat': {'interval': 1, 'timeout': 1,
                            'failure_threshold': 3,
                            'startup_grace_period': 30, 'opt_in': 'flavor',
                            'notifiers': 'masakari',
                            'state_path': os.path.join(self.workdir,
                                                       'state')},
        }
        sections.update(self.masakari.monitor_config())
        self.monitor = monitor.MonitorProcess(self.workdir, sections).start()

    def wait_healthy(self, guest):
        guest.wait_agent(60)
        self.monitor.wait_for_log(r'Instance %s: answering heartbeats'
                                  % guest.uuid, 60)

    def measure(self, fault, guest):
        self.faulted.add(guest.uuid)
        # a fault lands anywhere between two beats, not just after one
        time.sleep(random.uniform(0.0, 1.0))
        injected = getattr(guest, fault)()
        line = self.monitor.wait_for_log(
            r'Instance %s: notification masakari: accepted' % guest.uuid, 60)
        latency = log_time(line) - injected
        if fault == 'sigstop':
            guest.sigcont()
        guest.cleanup()
        return latency

    def latencies(self, fault):
        result = []
        for _ in range(self.args.runs):
            guest = self.guest('bench')
            self.wait_healthy(guest)
            result.append(self.measure(fault, guest))
        return result

    def cpu_per_probe(self, seconds=30):
        healthy = [g for g in self.guests if g.uuid not in self.faulted and
                   g.is_active()]
        pid = self.monitor.proc.pid
        before = cpu_seconds(pid)
        beats_before = time.monotonic()
        time.sleep(seconds)
        used = cpu_seconds(pid) - before
        probes = len(healthy) * (time.monotonic() - beats_before)
        return used, probes, len(healthy)

    def run(self):
        libvirt_guest.ensure_libvirtd()
        libvirt_guest.ensure_guest_image()
        self.masakari.start()
        self.masakari.create_segment_and_host(HOSTNAME)
        self.start_monitor()
        report = {}
        try:
            bystanders = [self.guest('bystander') for _ in range(5)]
            for guest in bystanders:
                self.wait_healthy(guest)
            used, probes, count = self.cpu_per_probe(self.args.cpu_seconds)
            report['cpu'] = (used, probes, count)
            for fault in FAULTS:
                report[fault] = self.latencies(fault)
            hung = [self.guest('hung') for _ in range(5)]
            for guest in hung:
                self.wait_healthy(guest)
            for guest in hung:
                self.faulted.add(guest.uuid)
                guest.sigstop()
            for fault in FAULTS:
                report[fault + ' (5 hung)'] = self.latencies(fault)
            for guest in hung:
                guest.sigcont()
            false = [g.uuid for g in bystanders
                     if self.masakari.notifications_for(g.uuid)]
            report['false'] = false
        finally:
            self.monitor.stop()
            for guest in self.guests:
                guest.cleanup()
            self.masakari.stop()
        return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5,
                        help='faults per class and condition (default 5)')
    parser.add_argument('--cpu-seconds', type=float, default=30.0,
                        help='seconds of steady heartbeats for the CPU '
                             'measure (default 30)')
    args = parser.parse_args()
    report = Bench(args).run()
    print('\nDetection latency, fault injection to Masakari 202 '
          '(interval 1 s, timeout 1 s, threshold 3), seconds:')
    print('%-24s %5s %7s %7s %7s' % ('fault', 'runs', 'p50', 'p95', 'max'))
    for key, values in report.items():
        if key in ('cpu', 'false'):
            continue
        print('%-24s %5d %7.2f %7.2f %7.2f' % (
            key, len(values), statistics.median(values),
            percentile(values, 95), max(values)))
    used, probes, count = report['cpu']
    per_probe = 1000.0 * used / max(probes, 1)
    print('\nMonitor CPU: %.2f s for %.0f heartbeats of %d guests: '
          '%.2f ms per probe' % (used, probes, count, per_probe))
    print('False notifications for never-faulted guests: %d' % len(
        report['false']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
