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

"""Benchmark of application-level health: CPU per check, failure latency.

On the real testbed (libvirtd + QEMU TCG + qemu-ga, the real Masakari), with
``--guests`` guests (5), each phase with a monitor process of its own:

1. agent heartbeat only (interval 1 s): CPU per heartbeat call;
2. the same with the code of ``--baseline`` (a git revision, run from a
   worktree under /tmp through PYTHONPATH), when given: CPU per heartbeat
   call before;
3. heartbeat plus an application heartbeat (interval 1 s, timeout 0.5 s):
   the extra CPU per application heartbeat call;
4. heartbeat plus an exec health check (``/bin/true`` every 2 s): the extra
   CPU per exec check run;
5. application failure latency: the application of one guest killed
   (kill -9) at a random point between two challenges, ``--runs`` times
   (10), to Masakari's 202 as the monitor logs it; target p95 <= interval
   x threshold + timeout + 2 s = 5.5 s.

CPU is the monitor process's user + system time over ``--window`` seconds
(60) of steady state, divided by the calls it counted over the same window
(its "Heartbeat calls so far" lines). The extra CPU of a check is the CPU
per second above phase 1's, divided by that check's calls per second.

It runs its own Masakari (the ports, directory and RabbitMQ vhost of
tools/benchmark.py; do not run both at once). It asserts nothing. Run as
root after tools/testbed/setup.sh::

    .venv/bin/python -m tools.benchmark_app [--baseline 6d9e1f6]
"""

import argparse
import concurrent.futures
import glob
import os
import random
import re
import statistics
import subprocess
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
from tools.benchmark_results import log_time
from tools.benchmark_results import percentile
from tools.benchmark_results import say

from tests.functional.fixtures.services import guest_app
from tests.functional.fixtures.services import libvirt_guest
from tests.functional.fixtures.services import monitor

HOSTNAME = 'compute-1'
KEY = 'masakari:vm_heartbeat'
HEARTBEAT = {KEY: 'true'}
APP = dict(HEARTBEAT, **{KEY + '_app': 'true', KEY + '_app_interval': '1',
                         KEY + '_app_timeout': '0.5',
                         KEY + '_app_failure_threshold': '3'})
EXEC = dict(HEARTBEAT, **{KEY + '_exec': '/bin/true',
                          KEY + '_exec_interval': '2',
                          KEY + '_exec_timeout': '1'})
TARGET = 1.0 * 3 + 0.5 + 2.0
_CALLS = re.compile(r'Heartbeat calls so far: (\d+) ')
_OTHER_CALLS = re.compile(r'application heartbeat calls: (\d+) .*exec check '
                          r'runs: (\d+)')


class Bench:

    def __init__(self, args):
        self.args = args
        self.masakari = bench_masakari(
            HOSTNAME, api_port=args.api_port, standin_port=args.standin_port,
            base_dir=args.base_dir, rabbit_vhost=args.rabbit_vhost)
        self.workdir = tempfile.mkdtemp(prefix='vmhb-bench-app-')
        self.guests = []
        self.proc = None
        self.phase = 0
        self.cpu = {}
        self.latency = []
        self.lost = 0

    # plumbing

    def lines(self):
        with open(self.proc.log_file, errors='replace') as f:
            return f.read().splitlines()

    def wait_log(self, pattern, after=0.0, timeout=60.0):
        """Time of the first log line matching pattern after ``after``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                when = log_time(line)
                if when is not None and when > after and regex.search(line):
                    return when
            time.sleep(0.1)
        return None

    def start_monitor(self, name, env=None):
        self.phase += 1
        sections = {'DEFAULT': {'hostname': HOSTNAME},
                    'libvirt': {'connection_uri': libvirt_guest.DEFAULT_URI},
                    'vmheartbeat': {
                        'interval': 1, 'timeout': 1, 'failure_threshold': 3,
                        'startup_grace_period': 30, 'opt_in': 'flavor',
                        'notifiers': 'masakari', 'resync_interval': 5,
                        'state_path': os.path.join(self.workdir,
                                                   'state-%d' % self.phase)},
                    'guest_checks': {'exec_allowed_commands': ['/bin/true']},
                    'recovery': GUARDS_OFF}
        sections.update(self.masakari.monitor_config())
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            self.proc = monitor.MonitorProcess(self.workdir, sections).start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        say('  %s: monitor %s, log %s' % (
            name, self.proc.proc.pid, self.proc.log_file))

    def register(self, specs):
        for guest in self.guests:
            self.masakari.register_server(guest.uuid, extra_specs=specs,
                                          metadata={})

    def counts(self):
        """(time, heartbeat, app, exec) of the last counts line."""
        for line in reversed(self.lines()):
            found = _CALLS.search(line)
            if found:
                other = _OTHER_CALLS.search(line)
                return (log_time(line), int(found.group(1))) + (
                    (0, 0) if other is None
                    else tuple(int(n) for n in other.groups()))
        return None

    def next_counts(self, after):
        """Wait for a counts line after ``after``; returns it and the CPU."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            counts = self.counts()
            if counts is not None and counts[0] > after:
                return counts, cpu_seconds(self.proc.proc.pid)
            time.sleep(0.05)
        raise RuntimeError('no call counts logged in 30 s')

    # phases

    def steady(self, name, specs, ready, env=None):
        """CPU and calls over the window, in steady state."""
        self.register(specs)
        self.start_monitor(name, env)
        began = time.time()
        for guest in self.guests:
            for pattern in ready:
                if self.wait_log(pattern % guest.uuid, timeout=90) is None:
                    raise RuntimeError('%s: %s not seen' % (
                        guest.name, pattern % guest.uuid))
        first, cpu0 = self.next_counts(time.time())
        say('    steady after %.0f s; measuring %d s' % (
            time.time() - began, self.args.window))
        time.sleep(self.args.window)
        last, cpu1 = self.next_counts(time.time())
        self.proc.stop()
        window = last[0] - first[0]
        calls = [b - a for a, b in zip(first[1:], last[1:])]
        self.cpu[name] = (cpu1 - cpu0, window, calls)
        say('    %.2f s CPU in %.1f s: %d heartbeat calls, %d application '
            'heartbeat calls, %d exec runs' % (cpu1 - cpu0, window, *calls))

    def baseline_env(self):
        """The monitor's environment to run the code of the baseline.

        Its tree comes first on the path, with its own package metadata:
        the probe drivers and notifiers are the baseline's entry points,
        wherever its modules were.
        """
        tree = '/tmp/vmhb-baseline-%s' % self.args.baseline
        if not os.path.isdir(tree):
            subprocess.run(['git', 'worktree', 'add', '--detach', tree,
                            self.args.baseline], check=True,
                           stdout=subprocess.DEVNULL)
        if not glob.glob(os.path.join(tree, '*.egg-info')):
            subprocess.run([sys.executable, 'setup.py', '-q', 'egg_info'],
                           cwd=tree, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return {'PYTHONPATH': tree}

    def latency_runs(self):
        self.register(APP)
        for guest in self.guests:
            guest_app.start(guest)
        self.start_monitor('application failure latency')
        for guest in self.guests:
            if self.wait_log(r'Instance %s: app check answering'
                             % guest.uuid, timeout=90) is None:
                raise RuntimeError('%s: application not answering'
                                   % guest.name)
        for run in range(1, self.args.runs + 1):
            guest = self.guests[run % len(self.guests)]
            time.sleep(random.uniform(0.0, 1.0))
            injected = guest_app.kill(guest)
            reported = self.wait_log(
                r'Instance %s: notification masakari: accepted'
                % guest.uuid, after=injected, timeout=30)
            if reported is None:
                self.lost += 1
                shown = 'no 202 within 30 s'
            else:
                self.latency.append(reported - injected)
                shown = '%.2f s' % self.latency[-1]
            say('  [%2d/%d] %s: application killed -> 202: %s' % (
                run, self.args.runs, guest.name, shown))
            mark = time.time()
            guest_app.start(guest)
            if self.wait_log(r'Instance %s: app check answering'
                             % guest.uuid, after=mark, timeout=60) is None:
                raise RuntimeError('%s: application not answering again'
                                   % guest.name)
        self.proc.stop()

    def run(self):
        args = self.args
        phases = 0 if args.latency_only else 4 if args.baseline else 3
        say('Application-level health benchmark: %d guests; %d steady '
            'phases of about %d s each, then %d application kills; expect '
            'about %s.' % (args.guests, phases, args.window + 25, args.runs,
                           clock(60 + phases * (args.window + 25) +
                                 args.runs * 8 + 20)))
        libvirt_guest.ensure_libvirtd()
        libvirt_guest.ensure_guest_image()
        self.guests = [libvirt_guest.Guest('bench-app-%s' % u[:8], uuid=u)
                       for u in (str(uuid.uuid4())
                                 for _ in range(args.guests))]
        try:
            with concurrent.futures.ThreadPoolExecutor(4) as executor:
                booting = [executor.submit(g.create) for g in self.guests]
                self.masakari.start()
                self.masakari.create_segment_and_host(HOSTNAME)
                for future in booting:
                    future.result()
            for guest in self.guests:
                guest.wait_agent(90)
            if args.latency_only:
                say('--- application failure latency')
                self.latency_runs()
                return
            heartbeat = [r'Instance %s: answering heartbeats']
            say('--- 1. agent heartbeat only')
            self.steady('heartbeat', HEARTBEAT, heartbeat)
            if args.baseline:
                say('--- 2. agent heartbeat only, code of %s' % args.baseline)
                self.steady('heartbeat (%s)' % args.baseline, HEARTBEAT,
                            heartbeat, self.baseline_env())
            say('--- 3. heartbeat + application heartbeat')
            for guest in self.guests:
                guest_app.start(guest)
            self.steady('application', APP,
                        heartbeat + [r'Instance %s: app check answering'])
            say('--- 4. heartbeat + exec check')
            self.steady('exec', EXEC,
                        heartbeat + [r'Instance %s: exec check answering'])
            say('--- 5. application failure latency')
            self.latency_runs()
        finally:
            if self.proc is not None and self.proc.proc.poll() is None:
                self.proc.stop()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda g: g.cleanup(), self.guests))
            self.masakari.stop()

    def report(self):
        say('\nMonitor CPU (user + system) per call, steady state:')
        base = self.cpu.get('heartbeat')
        for name, (cpu, window, calls) in self.cpu.items():
            hb, app, run = calls
            line = '  %-28s %6.2f ms per heartbeat call' % (
                name, 1000.0 * cpu / max(hb, 1))
            if base and name in ('application', 'exec'):
                extra = cpu / window - base[0] / base[1]
                per = app if name == 'application' else run
                line += '; extra %.2f ms per %s' % (
                    1000.0 * extra * window / max(per, 1),
                    'application heartbeat call' if name == 'application'
                    else 'exec check run')
            say(line)
        if self.latency:
            say('\nApplication killed -> Masakari\'s 202, seconds (n=%d, '
                'lost %d): p50 %.2f, p95 %.2f, max %.2f; target p95 <= '
                '%.1f' % (len(self.latency), self.lost,
                          statistics.median(self.latency),
                          percentile(self.latency, 95), max(self.latency),
                          TARGET))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--guests', type=int, default=5)
    parser.add_argument('--window', type=int, default=60,
                        help='seconds of steady state measured per phase')
    parser.add_argument('--runs', type=int, default=10,
                        help='application kills (default 10)')
    parser.add_argument('--latency-only', action='store_true',
                        help='measure the application failure latency only')
    parser.add_argument('--baseline', default=None,
                        help='a git revision to measure phase 1 with too')
    parser.add_argument('--api-port', type=int, default=BENCH_API_PORT)
    parser.add_argument('--standin-port', type=int,
                        default=BENCH_STANDIN_PORT)
    parser.add_argument('--base-dir',
                        default=BENCH_MASAKARI_DIR)
    parser.add_argument('--rabbit-vhost', default=BENCH_RABBIT_VHOST)
    bench = Bench(parser.parse_args())
    started = time.monotonic()
    status = 0
    try:
        bench.run()
    except (RuntimeError, libvirt_guest.GuestError, monitor.MonitorError,
            OSError) as e:
        say('\nThe testbed failed: %s' % e)
        status = 1
    bench.report()
    say('\nTook %s.' % clock(time.monotonic() - started))
    return status


if __name__ == '__main__':
    sys.exit(main())
