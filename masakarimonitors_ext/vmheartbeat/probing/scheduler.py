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

"""When each check of each watched instance runs.

Checks are keyed by ``checks.CheckKey`` (an instance and one of its
checks), each with its own settings: the agent heartbeat, an application
heartbeat, an exec health check. Below, a beat is one run of one check.

One thread keeps a heap of due times. At each check's beat it starts a
call through the prober, unless a call is still in flight: such a call past
its deadline is a miss, and no new call piles onto it. Each call also gets a
deadline entry, so a guest that holds its call (a hung guest holds it 5 s or
more in libvirt) is counted as missing at its deadline, not when libvirt
gives up; each later beat that finds the call still in flight is
missed at its own deadline. A call's deadline counts from the moment it has
a libvirt connection: a call still waiting for one is not missing. Results
go to ``on_result(key, result)``.

A check that answers ``pending`` with a ``retry_after`` (an application
heartbeat wrote its challenge) runs once more then, to read the answer;
its regular beats go on as they were.

Agent events ask for an immediate beat (:meth:`BeatScheduler.probe_now`);
a guest that toggles its agent connection gets at most one such beat per
interval.
"""

import heapq
import itertools
import threading
import time

from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.probing.probes import base

LOG = logging.getLogger(__name__)

_BEAT = 'beat'
# A run asked for by a pending result (an application heartbeat's answer
# is read when it is due); the regular beats go on as they were.
_FOLLOW_UP = 'follow-up'
_RUNS = (_BEAT, _FOLLOW_UP)
_DEADLINE = 'deadline'
_SLOT_DEADLINE = 'slot-deadline'


class _Watched:
    __slots__ = ('settings', 'generation', 'missed_call', 'last_immediate')

    def __init__(self, settings, generation):
        self.settings = settings
        self.generation = generation
        self.missed_call = None
        self.last_immediate = None


class BeatScheduler:
    """Heartbeats watched instances at their own interval.

    :param prober: a ``prober.Prober``.
    :param clock: ``time.monotonic`` or a stand-in.
    """

    def __init__(self, prober, clock=time.monotonic):
        self._prober = prober
        self._on_result = None
        self._clock = clock
        self._heap = []
        self._seq = itertools.count()
        self._generations = itertools.count(1)
        self._watched = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = None

    def watch(self, key, settings, delay=0.0):
        """Heartbeat an instance (again) with these settings."""
        with self._cond:
            entry = _Watched(settings, next(self._generations))
            old = self._watched.get(key)
            if old is not None:
                entry.missed_call = old.missed_call
                entry.last_immediate = old.last_immediate
            self._watched[key] = entry
            self._push(self._clock() + delay, key, _BEAT, entry)

    def unwatch(self, key):
        with self._cond:
            self._watched.pop(key, None)

    def watching(self, key):
        with self._cond:
            return key in self._watched

    def probe_now(self, key):
        """Beat now (an event hinted at trouble); the next beats follow.

        At most once per interval per instance: the guest drives the
        events, and must not drive the monitor's pace.

        :returns: False when ignored (not watched, or too soon).
        """
        with self._cond:
            entry = self._watched.get(key)
            if entry is None:
                return False
            now = self._clock()
            if (entry.last_immediate is not None and
                    now - entry.last_immediate < entry.settings.interval):
                return False
            entry.last_immediate = now
            entry.generation = next(self._generations)
            self._push(now, key, _BEAT, entry)
            return True

    def _push(self, when, key, kind, entry, call=None):
        heapq.heappush(self._heap, (when, next(self._seq), key,
                                    kind, entry.generation, call))
        self._cond.notify()

    def listen(self, on_result):
        """Report each result to ``on_result(key, ProbeResult)``.

        Called from the scheduler thread or a probe thread; it must not
        block.
        """
        self._on_result = on_result

    def start(self, on_result):
        """Beat from now on, reporting to ``on_result`` (:meth:`listen`)."""
        self.listen(on_result)
        self._thread = threading.Thread(target=self._run,
                                        name='vmhb-scheduler', daemon=True)
        self._thread.start()

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self):
        while True:
            with self._cond:
                due = self._next_due()
                if due is None:
                    return
            for item in due:
                self._handle(*item)

    def _next_due(self):
        while not self._stopping:
            now = self._clock()
            if self._heap and self._heap[0][0] <= now:
                due = []
                while self._heap and self._heap[0][0] <= now:
                    _, _, uuid, kind, generation, call = heapq.heappop(
                        self._heap)
                    entry = self._watched.get(uuid)
                    if kind in _RUNS and (entry is None or
                                          entry.generation != generation):
                        continue
                    if entry is not None:
                        due.append((uuid, kind, entry, call, now))
                if due:
                    return due
                continue
            wait = self._heap[0][0] - now if self._heap else None
            self._cond.wait(wait)
        return None

    def _handle(self, key, kind, entry, call, now):
        if kind not in _RUNS:
            # A beat that found a call in flight is missed unless that call
            # answered during its slot, or is still waiting for a libvirt
            # connection (waiting is no evidence against the guest).
            with self._cond:
                # NOTE: checked under the lock _call_done takes, so a call
                # completing right now is reported once, either way.
                if call.future.done():
                    missed = (kind == _SLOT_DEADLINE and
                              call.future.result().missed)
                elif call.overdue(now):
                    missed = True
                else:
                    missed = False
                    if kind == _DEADLINE:
                        # not started yet, or started late: look again at
                        # its own deadline
                        self._push(call.deadline if call.started is not None
                                   else now + entry.settings.call_timeout,
                                   key, _DEADLINE, entry, call)
                if missed:
                    entry.missed_call = call
            if missed:
                self._report(key, call.future.result()
                             if call.future.done()
                             else call.overdue_result(now))
            return
        settings = entry.settings
        timeout = settings.call_timeout
        if kind == _BEAT:
            with self._cond:
                self._push(now + settings.interval, key, _BEAT, entry)
        call, started = self._prober.submit(key, timeout,
                                            on_done=self._call_done,
                                            wait=settings.interval,
                                            check=settings)
        # NOTE: a call still in flight (a hung guest holds it for seconds)
        # is not doubled: this beat is missed at its own deadline unless
        # that call completes first.
        with self._cond:
            if started:
                self._push(now + timeout, key, _DEADLINE,
                           entry, call)
            else:
                self._push(now + timeout, key,
                           _SLOT_DEADLINE, entry, call)

    def _call_done(self, key, call, result):
        with self._cond:
            entry = self._watched.get(key)
            if entry is None or entry.missed_call is call:
                # already counted as missed at its deadline
                return
            if result.outcome is base.Outcome.PENDING and (
                    result.retry_after or 0) > 0:
                self._push(self._clock() + result.retry_after, key,
                           _FOLLOW_UP, entry)
        self._report(key, result)

    def _report(self, key, result):
        try:
            self._on_result(key, result)
        except Exception:
            LOG.exception('Handling the heartbeat result of instance %s '
                          'failed', key)
