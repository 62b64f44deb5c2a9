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

"""What the benchmarks read, and the report tools/benchmark.py prints.

It reads the monitor's log as it grows (``MonitorLog``: the per-instance
events a trial waits for, and the monitor's own count of heartbeat calls)
and CPU times from /proc. ``report()`` prints the tables; it judges
nothing. ``log_time()`` and ``bench_masakari()`` serve every benchmark.
"""

import collections
import datetime
import math
import os
import re
import resource
import statistics

CLK_TCK = os.sysconf('SC_CLK_TCK')
#: the benchmarks fail the same guests again and again, many at once:
#: they measure detection without the recovery guards ([recovery])
GUARDS_OFF = {'max_recoveries': 100, 'backoff_initial': 0,
              'storm_failures': 0}
_UUID = r'[0-9a-f]{8}-[0-9a-f-]{27}'
_STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ')
_EVENTS = (
    ('answering', re.compile(r'Instance (%s): answering heartbeats' % _UUID)),
    ('notified', re.compile(r'Instance (%s): notification masakari: (.*)'
                            % _UUID)),
    ('unwatched', re.compile(r'Instance (%s): no longer watched' % _UUID)),
    ('escalating', re.compile(r'Instance (%s) failed its heartbeats.*'
                              r'escalating' % _UUID)),
)
_CALLS = re.compile(r'Heartbeat calls so far: (\d+) \(answered (\d+), '
                    r'missed (\d+), other (\d+)\)')

# seq: the order of the event in its log; time: its time stamp (epoch);
# detail: the rest of the line (the notifier's answer for "notified")
Event = collections.namedtuple('Event', 'seq kind time detail')


#: where the benchmarks run Masakari: ports, directory and RabbitMQ vhost
#: of their own, beside the functional tests' (never both benchmarks at once)
BENCH_API_PORT = 25868
BENCH_STANDIN_PORT = 28774
BENCH_MASAKARI_DIR = '/var/lib/vmhb-testbed/masakari-bench'
BENCH_RABBIT_VHOST = 'vmhb-bench'


def bench_masakari(hostname, api_port=BENCH_API_PORT,
                   standin_port=BENCH_STANDIN_PORT,
                   base_dir=BENCH_MASAKARI_DIR,
                   rabbit_vhost=BENCH_RABBIT_VHOST):
    """The benchmarks' Masakari service; a repeat is never a 409 there."""
    from tests.functional.fixtures.services import masakari_service
    return masakari_service.MasakariService(
        hostnames=(hostname,), api_port=api_port, standin_port=standin_port,
        base_dir=base_dir, rabbit_vhost=rabbit_vhost,
        conf_overrides={'duplicate_notification_detection_interval': 0})


def log_time(line):
    """The epoch time a monitor or service log line begins with, or None."""
    stamp = _STAMP.match(line)
    return None if stamp is None else datetime.datetime.strptime(
        stamp.group(1), '%Y-%m-%d %H:%M:%S.%f').timestamp()


def say(text=''):
    print(text, flush=True)


def clock(seconds):
    seconds = int(round(seconds))
    return '%d:%02d' % (seconds // 60, seconds % 60)


def percentile(values, pct):
    """Nearest-rank percentile: the ceil(pct% x n)-th smallest value."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1,
                       math.ceil(pct / 100.0 * len(ordered)) - 1))
    return ordered[index]


def cpu_seconds(pid):
    """User + system CPU time of a running process."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_jiffies():
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open('/proc/stat') as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


class MonitorLog:
    """The events of one monitor process, read from its log as it grows.

    ``calls`` is the last "Heartbeat calls so far" count (total, answered,
    missed, other), None until the monitor logs one.
    """

    def __init__(self, path):
        self.path = path
        self.seq = 0
        self.calls = None
        self.events = collections.defaultdict(list)
        self._offset = 0
        self._partial = b''

    def poll(self):
        """Read what was added since the last poll."""
        try:
            with open(self.path, 'rb') as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b'\n')
        self._partial = lines.pop()
        for line in lines:
            self._parse(line.decode('utf-8', 'replace'))

    def _parse(self, line):
        stamp = _STAMP.match(line)
        if not stamp:
            return
        calls = _CALLS.search(line)
        if calls:
            self.calls = tuple(int(n) for n in calls.groups())
            return
        for kind, pattern in _EVENTS:
            found = pattern.search(line)
            if found:
                self.seq += 1
                self.events[found.group(1)].append(Event(
                    self.seq, kind, log_time(line),
                    found.group(found.lastindex)))
                return

    def first(self, instance_uuid, kind, after=0):
        """The first event of this kind for the instance after seq after."""
        for event in self.events.get(instance_uuid, ()):
            if event.kind == kind and event.seq > after:
                return event
        return None

    def count(self, uuids, kind):
        return sum(1 for u in uuids for e in self.events.get(u, ())
                   if e.kind == kind)


def _latency_table(results, faults, detection_timeout):
    say('\nDetection latency, fault injection to Masakari\'s 202, seconds '
        '(lost: no 202 within %d s):' % detection_timeout)
    say('%-26s %-10s %4s %6s %6s %6s %5s  %s' % (
        'case', 'fault', 'n', 'p50', 'p95', 'max', 'lost',
        'p95 - p95 without hung guests'))
    base = {}
    for number, result in enumerate(results):
        rows = [(f, result['latency'][f], result['lost'][f]) for f in faults]
        rows.append(('all', sum((r[1] for r in rows), []),
                     sum(r[2] for r in rows)))
        for fault, values, lost in rows:
            name = result['case'].name if fault == faults[0] else ''
            if not values:
                say('%-26s %-10s %4d %6s %6s %6s %5d' % (
                    name, fault, 0, '-', '-', '-', lost))
                continue
            p95 = percentile(values, 95)
            if number == 0:
                base[fault] = p95
            delta = ('%+.2f' % (p95 - base[fault])
                     if number and fault in base else '')
            say('%-26s %-10s %4d %6.2f %6.2f %6.2f %5d  %s' % (
                name, fault, len(values), statistics.median(values), p95,
                max(values), lost, delta))


def _alarm_table(finished, bystanders):
    say('\nfalse: Masakari\'s notifications for the %d never-faulted '
        'bystanders (hung guests excluded); escalations: the monitor\'s '
        '"escalating" lines for them; repeats: notifications of faulted '
        'guests beyond one per fault.' % bystanders)
    say('%-26s %5s %11s %7s' % ('case', 'false', 'escalations', 'repeats'))
    for result in finished:
        say('%-26s %5d %11d %7d' % (result['case'].name, result['false'],
                                    result['escalations'], result['repeats']))


def _cpu_table(finished):
    say('\nMonitor CPU per heartbeat call it counted (its last "Heartbeat '
        'calls so far" line; CPU read just before it stopped; "after start" '
        'leaves out the CPU used until it logged that it started):')
    say('%-26s %6s %8s %6s %5s %6s %8s %11s' % (
        'case', 'calls', 'answered', 'missed', 'other', 'CPU s', 'ms/call',
        'after start'))
    for result in finished:
        calls, cpu = result['calls'], result['cpu']
        if calls and calls[0]:
            say('%-26s %6d %8d %6d %5d %6.1f %8.2f %11.2f' % (
                (result['case'].name,) + calls + (
                    cpu, 1000.0 * cpu / calls[0],
                    1000.0 * (cpu - result['cpu_started']) / calls[0])))
        else:
            say('%-26s calls not counted (no "Heartbeat calls so far" line '
                'in its log); CPU %.1f s' % (result['case'].name, cpu))


def report(bench, faults, detection_timeout, wall, busy):
    """Print the tables and the totals of a (possibly unfinished) run.

    :param bench: the ``benchmark.Bench`` that ran.
    :param wall: its wall time; ``busy``: the machine's busy percentage.
    """
    _latency_table(bench.results, faults, detection_timeout)
    # NOTE: a case cut short (its monitor did not stop, say) has its
    # latencies only
    finished = [r for r in bench.results if 'repeats' in r]
    _alarm_table(finished, len(bench.bystanders))
    _cpu_table(finished)
    own = resource.getrusage(resource.RUSAGE_SELF)
    say('\nWall time %s: setup %s, %d trials %s (of which %s waiting for a '
        'recovered pool guest), case changes %s, teardown %s.' % (
            clock(wall), clock(bench.setup_time), bench.done,
            clock(bench.trial_time), clock(bench.waited),
            clock(sum(r.get('overhead', 0) for r in bench.results)),
            clock(bench.teardown_time)))
    say('CPU: this script %.1f s, the monitors %.1f s; the machine was %d %% '
        'busy (%d cores, other runs included).' % (
            own.ru_utime + own.ru_stime,
            sum(r.get('cpu', 0.0) for r in bench.results), busy,
            os.cpu_count()))
