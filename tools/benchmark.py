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

"""Benchmark: detection latency per fault class, and CPU per heartbeat call.

On the real testbed (libvirtd + QEMU TCG + qemu-ga, the real Masakari), with
interval 1 s, timeout 1 s and failure threshold 3, it measures the time from
a fault injection (kill_agent, panic, sigstop, each at a random point
between two beats) to Masakari's 202 for the notification, as the monitor
logs it, in three cases, each with a monitor process of its own:

* no hung guests: 5 healthy bystanders;
* 5 hung guests: the same plus 5 guests whose QEMU is stopped (SIGSTOP);
* 6 hung > 4 connections: 6 hung guests and
  ``[vmheartbeat] libvirt_connections = 4``.

Faults go one at a time to the guests of a small pool, Nova servers with
HA_Enabled=True: Masakari recovers each faulted guest (stop, start) while
the next fault goes to another one, and a recovered guest is faulted again
once it answers heartbeats. Hung guests and bystanders have no HA_Enabled,
so Masakari leaves them alone. Masakari's duplicate window is 0 s here, so
the next fault of a guest is a new notification (202), not a 409.

For each case it also counts the false notifications (Masakari's
notifications for the bystanders, which are never faulted) and the
monitor's escalations of bystanders, and divides the monitor's CPU time by
the heartbeat calls it counted (its last "Heartbeat calls so far" line).
It asserts nothing and exits 0 unless the testbed fails. It runs its own
Masakari (ports, directory and RabbitMQ vhost below), so the functional
tests can run at the same time. Run as root after tools/testbed/setup.sh::

    .venv/bin/python -m tools.benchmark [--runs 6]

It prints its plan with an estimate of its duration, one line per trial,
then the tables. Six runs per fault and case (54 trials) take about 8 to 9
minutes on the 2-core testbed, most of it in the third case while a
monitor takes 5 to 30 s to detect a fault there; with so few runs, p95 is
the largest value.
"""

import argparse
import collections
import concurrent.futures
import os
import random
import sys
import tempfile
import time
import uuid

from tools.benchmark_results import BENCH_API_PORT
from tools.benchmark_results import bench_masakari
from tools.benchmark_results import BENCH_MASAKARI_DIR
from tools.benchmark_results import BENCH_RABBIT_VHOST
from tools.benchmark_results import BENCH_STANDIN_PORT
from tools.benchmark_results import clock
from tools.benchmark_results import cpu_seconds
from tools.benchmark_results import GUARDS_OFF
from tools.benchmark_results import machine_jiffies
from tools.benchmark_results import MonitorLog
from tools.benchmark_results import report
from tools.benchmark_results import say

from tests.functional.fixtures.clients import masakari_api
from tests.functional.fixtures.services import libvirt_guest
from tests.functional.fixtures.services import monitor
from tests.functional.fixtures.services import service_processes

HOSTNAME = 'compute-1'
EXTRA_SPECS = {'masakari:vm_heartbeat': 'true'}
FAULTS = ('kill_agent', 'panic', 'sigstop')
INTERVAL = 1.0
DETECTION_TIMEOUT = 60.0    # fault to Masakari's answer, else "lost"
READY_TIMEOUT = 90.0        # boot or recovery until heartbeats answer
HUNG_TIMEOUT = 30.0         # hung guests reported before the trials start
# Rough costs measured on the 2-core testbed, for the estimate at start.
SETUP_COST = 20.0           # Masakari, first boots
CASE_COST = 15.0            # monitor start, hung guests reported, stop
TEARDOWN_COST = 8.0
# cost: the seconds a trial took here, for the estimate at start
Case = collections.namedtuple('Case', 'name hung connections cost')


class TestbedError(Exception):
    """The testbed did not do its part; the benchmark cannot go on."""


class PoolGuest:
    """A guest that takes faults; ready once heartbeats answer again."""

    def __init__(self, guest):
        self.guest = guest
        self.after = 0              # the answer must come after this event
        self.recovering = False     # and after a stop, when recovering
        self.since = time.monotonic()
        self.used = 0.0

    def ready(self, log):
        mark = self.after
        if self.recovering:
            stopped = log.first(self.guest.uuid, 'unwatched', mark)
            if stopped is None:
                return False
            mark = stopped.seq
        return log.first(self.guest.uuid, 'answering', mark) is not None


class Bench:
    def __init__(self, args):
        self.args = args
        self.masakari = bench_masakari(
            HOSTNAME, api_port=args.api_port, standin_port=args.standin_port,
            base_dir=args.base_dir, rabbit_vhost=args.rabbit_vhost)
        self.workdir = tempfile.mkdtemp(prefix='vmhb-bench-')
        self.cases = [Case('no hung guests', 0, None, 5.0),
                      Case('%d hung guests' % args.hung, args.hung, None,
                           5.0),
                      Case('%d hung > %d connections' % (
                          args.crowd_hung, args.crowd_connections),
                          args.crowd_hung, args.crowd_connections, 15.0)]
        self.per_case = len(FAULTS) * args.runs
        self.trials = len(self.cases) * self.per_case
        self.guests, self.bystanders, self.pool, self.hung = [], [], [], []
        self.pool_uuids = set()
        self.results = []
        self.done = 0
        self.waited = 0.0           # trials waiting for a ready pool guest
        self.trial_time = 0.0
        self.monitor = self.log = None
        self.start = time.monotonic()
        self.setup_time = self.teardown_time = 0.0

    # guests

    def new_guest(self, kind):
        """A guest (not yet created) of this run."""
        instance_uuid = str(uuid.uuid4())
        guest = libvirt_guest.Guest('bench-%s-%s' % (kind, instance_uuid[:8]),
                                    uuid=instance_uuid)
        self.guests.append(guest)
        if kind == 'pool':
            self.pool_uuids.add(instance_uuid)
        return guest

    def register(self, guest, ha):
        """Make it a Nova server, opted in; HA_Enabled if ha."""
        self.masakari.register_server(
            guest.uuid, extra_specs=EXTRA_SPECS,
            metadata={'HA_Enabled': 'True'} if ha else {})

    def replace(self, member, why):
        say('  note: pool guest %s %s; replaced by a new guest'
            % (member.guest.name, why))
        member.guest.cleanup()
        guest = self.new_guest('pool')
        self.register(guest, ha=True)
        guest.create()
        self.pool[self.pool.index(member)] = PoolGuest(guest)

    def next_ready(self):
        """The pool guest that is ready and was used least recently."""
        deadline = time.monotonic() + 2 * READY_TIMEOUT
        while True:
            self.log.poll()
            ready = [m for m in self.pool if m.ready(self.log)]
            if ready:
                return min(ready, key=lambda m: m.used)
            for member in list(self.pool):
                if time.monotonic() - member.since > READY_TIMEOUT:
                    self.replace(member, 'did not answer heartbeats within '
                                 '%d s' % READY_TIMEOUT)
            if time.monotonic() > deadline:
                raise TestbedError('no pool guest answers heartbeats')
            time.sleep(0.05)

    def wait_until(self, what, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            self.log.poll()
            if predicate():
                return True
            if time.monotonic() > deadline:
                return False
            self.monitor.proc.poll()
            if self.monitor.proc.returncode is not None:
                raise TestbedError('monitor exited while waiting for %s:\n%s'
                                   % (what, self.monitor.tail()))
            time.sleep(0.05)

    def notifications(self):
        return collections.Counter(
            (n.get('payload') or {}).get('instance_uuid')
            for n in self.masakari.list_notifications() if n['type'] == 'VM')

    # one case

    def start_monitor(self, case):
        vmheartbeat = {
            'interval': INTERVAL, 'timeout': 1, 'failure_threshold': 3,
            'startup_grace_period': 30, 'opt_in': 'flavor',
            'notifiers': 'masakari',
            'resync_interval': self.args.resync_interval,
            'state_path': os.path.join(self.workdir, 'state-%d' % (
                self.cases.index(case) + 1))}
        if case.connections:
            vmheartbeat['libvirt_connections'] = case.connections
        sections = {'DEFAULT': {'hostname': HOSTNAME},
                    'libvirt': {'connection_uri': libvirt_guest.DEFAULT_URI},
                    'vmheartbeat': vmheartbeat,
                    'recovery': GUARDS_OFF}
        sections.update(self.masakari.monitor_config())
        self.monitor = monitor.MonitorProcess(self.workdir, sections).start()
        self.log = MonitorLog(self.monitor.log_file)
        return cpu_seconds(self.monitor.proc.pid)

    def run_case(self, case):
        began = time.monotonic()
        hung = self.hung[:case.hung]
        for guest in hung:
            self.register(guest, ha=False)
        before = self.notifications()
        result = {'case': case, 'latency': collections.defaultdict(list),
                  'lost': collections.Counter(), 'times': [],
                  'cpu_started': self.start_monitor(case)}
        self.results.append(result)
        for member in self.pool:
            member.after, member.recovering = 0, False
            member.since = time.monotonic()
        everyone = self.bystanders + [m.guest for m in self.pool] + hung
        if not self.wait_until('the guests', lambda: all(
                self.log.first(g.uuid, 'answering') for g in everyone),
                READY_TIMEOUT):
            raise TestbedError('guests not answering heartbeats after %d s'
                               % READY_TIMEOUT)
        mark = self.log.seq
        for guest in hung:
            guest.sigstop()
        if hung and not self.wait_until('the hung guests', lambda: all(
                self.log.first(g.uuid, 'notified', mark) for g in hung),
                HUNG_TIMEOUT):
            say('  note: not every hung guest was reported within %d s; '
                'the trials start anyway' % HUNG_TIMEOUT)
        case_trials = time.monotonic()
        for run in range(1, self.args.runs + 1):
            for fault in FAULTS:
                self.trial(result, fault, run)
        case_trials = time.monotonic() - case_trials
        if case is not self.cases[-1]:
            self.drain()
        result['cpu'] = cpu_seconds(self.monitor.proc.pid)
        self.monitor.stop()
        self.monitor = None
        self.log.poll()
        for guest in hung:
            guest.sigcont()
        self.tally(result, before)
        result['overhead'] = time.monotonic() - began - case_trials

    def tally(self, result, before):
        """Count calls, false notifications, escalations and repeats."""
        after = self.notifications()
        result['calls'] = self.log.calls
        result['false'] = sum(after[g.uuid] - before[g.uuid]
                              for g in self.bystanders)
        result['escalations'] = self.log.count(
            [g.uuid for g in self.bystanders], 'escalating')
        result['repeats'] = sum(after[u] - before[u] for u in
                                self.pool_uuids) - sum(
            len(v) for v in result['latency'].values())

    def drain(self):
        """Wait until Masakari has stopped and started every faulted guest.

        The next monitor then sees them boot and answer.
        """
        def restarted(member):
            return not member.recovering or (self.log.first(
                member.guest.uuid, 'unwatched', member.after) and
                member.guest.is_active())
        self.wait_until('the recoveries', lambda: all(
            restarted(m) for m in self.pool), READY_TIMEOUT)
        for member in [m for m in self.pool if not restarted(m)]:
            self.replace(member, 'was not recovered within %d s'
                         % READY_TIMEOUT)

    def trial(self, result, fault, run):
        began = time.monotonic()
        member = self.next_ready()
        self.waited += time.monotonic() - began
        guest = member.guest
        time.sleep(random.uniform(0.0, INTERVAL))
        self.log.poll()
        mark = self.log.seq
        injected = getattr(guest, fault)()
        self.wait_until('a notification', lambda: self.log.first(
            guest.uuid, 'notified', mark), DETECTION_TIMEOUT)
        event = self.log.first(guest.uuid, 'notified', mark)
        if fault == 'sigstop':
            guest.sigcont()
        member.used = time.monotonic()
        member.since = time.monotonic()
        if event is not None and event.detail.startswith('accepted'):
            latency = event.time - injected
            result['latency'][fault].append(latency)
            member.after, member.recovering = event.seq, True
            shown = '%.2f s' % latency
        else:
            result['lost'][fault] += 1
            shown = ('no notification within %d s' % DETECTION_TIMEOUT
                     if event is None else 'Masakari: %s' % event.detail)
            self.replace(member, 'gave no 202')
        self.done += 1
        result['times'].append(time.monotonic() - began)
        self.trial_time += result['times'][-1]
        self.progress(result, fault, run, shown)

    def remaining(self, result):
        """Seconds still to go: this case at its pace, the rest estimated."""
        times = result['times']
        later = self.cases[len(self.results):]
        return ((self.per_case - len(times)) * sum(times) / len(times) +
                sum(self.per_case * c.cost + CASE_COST for c in later) +
                TEARDOWN_COST)

    def progress(self, result, fault, run, shown):
        say('[%3d/%d] %-24s %-10s run %d/%d: %-9s elapsed %s, ETA %s' % (
            self.done, self.trials, result['case'].name, fault, run,
            self.args.runs, shown, clock(time.monotonic() - self.start),
            clock(self.remaining(result))))

    # the whole run

    def plan(self):
        args = self.args
        estimate = SETUP_COST + TEARDOWN_COST + sum(
            self.per_case * c.cost + CASE_COST for c in self.cases)
        say('VM heartbeat benchmark: fault injection to Masakari\'s 202, '
            'interval %g s, timeout 1 s, threshold 3.' % INTERVAL)
        say('Cases, each with a monitor process of its own, %d healthy '
            'bystanders and a pool of %d guests that take the faults:'
            % (args.bystanders, args.pool))
        for number, case in enumerate(self.cases, 1):
            say('  %d. %s (libvirt_connections %s): about %.0f s per trial'
                % (number, case.name, case.connections or 'default',
                   case.cost))
        say('%d faults (%s) x %d runs x %d cases = %d trials, one at a time; '
            'expect about %s in all (with %d s of setup and %d s per case '
            'change) on an otherwise idle 2-core machine.' % (
                len(FAULTS), ', '.join(FAULTS), args.runs, len(self.cases),
                self.trials, clock(estimate), SETUP_COST, CASE_COST))
        say('Masakari: API port %d, stand-in port %d, %s, vhost %s; '
            'monitor logs in %s' % (args.api_port, args.standin_port,
                                    args.base_dir, args.rabbit_vhost,
                                    self.workdir))

    def run(self):
        self.plan()
        libvirt_guest.ensure_libvirtd()
        libvirt_guest.ensure_guest_image()
        try:
            self.setup()
            for number, case in enumerate(self.cases, 1):
                say('--- case %d/%d: %s' % (number, len(self.cases),
                                            case.name))
                self.run_case(case)
        finally:
            self.teardown()

    def setup(self):
        """Start Masakari while every guest boots.

        Bystanders and the pool become Nova servers now, the hung guests
        only in their case (so the monitors before ignore them).
        """
        self.bystanders = [self.new_guest('bystander')
                           for _ in range(self.args.bystanders)]
        self.pool = [PoolGuest(self.new_guest('pool'))
                     for _ in range(self.args.pool)]
        self.hung = [self.new_guest('hung')
                     for _ in range(max(c.hung for c in self.cases))]
        with concurrent.futures.ThreadPoolExecutor(4) as executor:
            booting = [executor.submit(g.create) for g in self.guests]
            self.masakari.start()
            self.masakari.create_segment_and_host(HOSTNAME)
            for future in booting:
                future.result()
        # NOTE: the first boot on a cold machine can leave an agent silent
        # past the monitor's startup grace: that guest would be reported,
        # rightly, and counted as a false notification. Every agent
        # answers before the first monitor starts.
        with concurrent.futures.ThreadPoolExecutor(8) as executor:
            waited = list(executor.map(
                lambda g: g.wait_agent(READY_TIMEOUT), self.guests))
        say('every guest agent answers (the slowest after %.1f s)'
            % max(waited))
        for guest in self.bystanders:
            self.register(guest, ha=False)
        for member in self.pool:
            self.register(member.guest, ha=True)
        self.setup_time = time.monotonic() - self.start

    def teardown(self):
        began = time.monotonic()
        try:
            if self.monitor is not None:
                self.monitor.stop()
        finally:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda g: g.cleanup(), self.guests))
            self.masakari.stop()
            self.teardown_time = time.monotonic() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=6,
                        help='faults per class and case (default 6)')
    parser.add_argument('--pool', type=int, default=3,
                        help='guests taking turns at the faults (default 3)')
    parser.add_argument('--bystanders', type=int, default=5)
    parser.add_argument('--hung', type=int, default=5,
                        help='hung guests of the second case (default 5)')
    parser.add_argument('--crowd-hung', type=int, default=6,
                        help='hung guests of the third case (default 6)')
    parser.add_argument('--crowd-connections', type=int, default=4,
                        help='libvirt_connections of the third case '
                             '(default 4)')
    parser.add_argument('--resync-interval', type=float, default=5.0,
                        help='the monitor\'s resync_interval, after which '
                             'it logs its call counts (default 5)')
    parser.add_argument('--api-port', type=int, default=BENCH_API_PORT)
    parser.add_argument('--standin-port', type=int,
                        default=BENCH_STANDIN_PORT)
    parser.add_argument('--base-dir',
                        default=BENCH_MASAKARI_DIR)
    parser.add_argument('--rabbit-vhost', default=BENCH_RABBIT_VHOST)
    args = parser.parse_args()
    bench = Bench(args)
    jiffies = machine_jiffies()
    status = 0
    try:
        bench.run()
    except (TestbedError, libvirt_guest.GuestError, monitor.MonitorError,
            service_processes.ServiceError, masakari_api.APIError,
            OSError) as e:
        say('\nThe testbed failed: %s' % e)
        status = 1
    busy, total = (b - a for a, b in zip(jiffies, machine_jiffies()))
    report(bench, FAULTS, DETECTION_TIMEOUT, time.monotonic() - bench.start,
           100.0 * busy / max(total, 1))
    return status


if __name__ == '__main__':
    sys.exit(main())
