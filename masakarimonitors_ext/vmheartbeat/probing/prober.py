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

"""Probe calls: one in flight per check, on a bounded thread pool.

Calls are keyed by check (``checks.CheckKey``: an instance and one of its
checks) and made by the driver of the check's kind. Both the beat
scheduler and the escalation probe through here. A call that is still in
flight is never doubled: a second caller waits on the same call, and a call
past its deadline counts as a miss without any new call piling onto the
stuck one.

A call's time starts when it has a libvirt connection, not when it is
submitted: waiting for a connection (or a worker) is not evidence against
a guest. A check's call lets its connection go while it waits between two
agent calls, so it holds one only while a call is on the wire. A guest
that keeps a connection past half its call's timeout, answering or not (a
hung guest holds a call for 5 s or more in libvirt), has the calls of all
its checks carried in a tier of the connection pool that never takes every
connection from the guests that answer quickly; one that has held several
calls in a row waits behind one that has just begun to.
"""

import collections
import threading
import time

import futurist
import libvirt
from oslo_log import log as logging

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.probing import connections
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import libvirt_errors

LOG = logging.getLogger(__name__)

#: How long libvirt holds an agent call to a hung guest (its own guest-sync
#: before each command), measured with libvirt 9.0: the escalation waits up
#: to twice that for a connection before it calls a probe inconclusive.
LIBVIRT_AGENT_HOLD = 5.0

#: calls held in a row after which a guest counts as hung for long
HUNG_AFTER = 3

#: share of its timeout past which holding a connection makes a call
#: slow: a healthy guest answers in milliseconds (guest-sync p99 2.8 ms
#: under TCG), and one that answers just in time holds a connection as
#: long as one that does not answer
SLOW_SHARE = 0.5

Counts = collections.namedtuple('Counts', 'total answered missed other')


class Call:
    """One probe call in flight.

    :param future: resolves to a ``ProbeResult``.
    :param submitted: ``time.monotonic()`` when it was submitted.
    :param timeout: seconds the guest has to answer once the call started.
    ``started`` and ``deadline`` stay None until the call has a libvirt
    connection: until then it is waiting, not unanswered.
    """

    __slots__ = ('future', 'submitted', 'timeout', 'started', 'deadline',
                 'held')

    def __init__(self, future, submitted, timeout):
        self.future = future
        self.submitted = submitted
        self.timeout = timeout
        self.started = None
        self.deadline = None
        #: the longest time the call held one connection, once it ended
        #: (None: all of its time since it started)
        self.held = None

    def begin(self, now):
        # NOTE: deadline first: a reader that sees started sees deadline.
        self.deadline = now + self.timeout
        self.started = now

    def idle(self):
        """The call let its connection go: waiting, not unanswered.

        :meth:`begin` starts it again, with a deadline of its own, once it
        has a connection again.
        """
        self.started = None

    def overdue(self, now):
        """True once the call started and is past its deadline."""
        return self.started is not None and now >= self.deadline

    def overdue_result(self, now):
        """The miss a caller records for this call once past its deadline."""
        started = self.started
        if started is None:
            # it went idle since it was found overdue
            started = self.deadline - self.timeout
        return base.ProbeResult(
            base.Outcome.TIMED_OUT,
            'no answer %.3fs after the call started' % (now - started),
            started, now - started)

    def waiting_result(self, now):
        """No verdict: the call is still waiting for a connection."""
        return base.ProbeResult(
            base.Outcome.INCONCLUSIVE,
            'waited %.3fs for a libvirt connection' % (now - self.submitted),
            self.submitted, now - self.submitted)


class Prober:
    """Runs probe driver calls for the checks of instances.

    :param driver: the agent heartbeat's ``probes.base.ProbeDriver``.
    :param pool: a ``connections.ConnectionPool``.
    :param workers: threads carrying calls.
    :param drivers: {check kind: ProbeDriver} of the other checks.
    """

    def __init__(self, driver, pool, workers, clock=time.monotonic,
                 drivers=None):
        self._drivers = dict(drivers or {})
        self._drivers[checks.HEARTBEAT] = driver
        self._pool = pool
        self._clock = clock
        self._executor = futurist.ThreadPoolExecutor(max_workers=workers)
        self._calls = {}
        self._held = {}
        self._memos = {}
        self._counts = collections.Counter()
        self._lock = threading.Lock()

    def submit(self, key, timeout, on_done=None, wait=None, check=None):
        """Start a call unless one is in flight for this check.

        :param key: the check, a ``checks.CheckKey``.
        :param on_done: called with (key, call, result) when a call this
            method started completes, from a pool thread.
        :param wait: seconds the call may wait for a libvirt connection
            before it ends inconclusive (``timeout`` when None).
        :param check: the check's settings, handed to the driver.
        :returns: (call, started) where ``started`` is False when the call
            was already in flight.
        """
        with self._lock:
            call = self._calls.get(key)
            if call is not None:
                return call, False
            call = Call(None, self._clock(), timeout)
            self._calls[key] = call
            call.future = self._executor.submit(
                self._run, key, call, timeout if wait is None else wait,
                self._tier(key.instance_uuid), check)
        if on_done is not None:
            call.future.add_done_callback(
                lambda fut: on_done(key, call, fut.result()))
        return call, True

    def in_flight(self, key):
        with self._lock:
            return self._calls.get(key)

    def probe(self, key, timeout, check=None):
        """Probe now and wait for the verdict (the escalation's re-probe).

        A fresh challenge when no call is in flight; otherwise joins the
        call in flight instead of piling another onto it, and such a call
        already past its deadline is a miss at once. A call that finds no
        libvirt connection free is inconclusive, never a miss.
        """
        call, _ = self.submit(key, timeout,
                              wait=max(timeout, 2 * LIBVIRT_AGENT_HOLD),
                              check=check)
        while call.started is None and not call.future.done():
            # waiting for a connection: the call's own wait bounds this
            try:
                return call.future.result(timeout=timeout)
            except futurist.TimeoutError:
                pass
        wait = 0.0 if call.future.done() else call.deadline - self._clock()
        if wait > 0:
            try:
                return call.future.result(timeout=wait)
            except futurist.TimeoutError:
                pass
        if call.future.done():
            return call.future.result()
        return call.overdue_result(self._clock())

    def _tier(self, instance_uuid):
        held = self._held.get(instance_uuid, 0)
        if not held:
            return connections.TIER_ANSWERING
        if held < HUNG_AFTER:
            return connections.TIER_HOLDING
        return connections.TIER_HUNG

    def forget(self, instance_uuid):
        """The instance is no longer watched: forget all its checks.

        Its domain is dropped from the connection pool too.
        """
        with self._lock:
            self._held.pop(instance_uuid, None)
            for key in [k for k in self._memos
                        if k.instance_uuid == instance_uuid]:
                del self._memos[key]
        self._pool.forget(instance_uuid)

    def counts(self, kind=checks.HEARTBEAT):
        """:class:`Counts` of the calls of one check kind since start.

        Each call is counted by its ``probes.base.Outcome`` (None for a
        call that gave none); ``missed`` are the outcomes in
        ``probes.base.MISSES``, ``other`` the rest.
        """
        with self._lock:
            outcomes = {outcome: n for (k, outcome), n in self._counts.items()
                        if k == kind}
        total = sum(outcomes.values())
        answered = outcomes.get(base.Outcome.ANSWERED, 0)
        missed = sum(n for outcome, n in outcomes.items()
                     if outcome in base.MISSES)
        return Counts(total, answered, missed, total - answered - missed)

    def _run(self, key, call, wait, tier, check):
        result = None
        try:
            result = self._probe(key, call, wait, tier, check)
            return result
        except Exception as e:  # a driver bug must not kill the monitor
            LOG.exception('Probe %s failed unexpectedly', key)
            now = self._clock()
            result = base.ProbeResult(base.Outcome.INCONCLUSIVE,
                                      'probe error: %s' % guestdata.escape(
                                          e), call.submitted,
                                      now - call.submitted)
            return result
        finally:
            with self._lock:
                if self._calls.get(key) is call:
                    del self._calls[key]
                self._account(key.instance_uuid, call, result, key.check)

    def _account(self, instance_uuid, call, result, kind):
        """Count a completed call and track held calls (under the lock)."""
        self._counts[kind, None if result is None else result.outcome] += 1
        if call.started is None:
            return
        held = (self._clock() - call.started if call.held is None
                else call.held)
        if (result is not None and
                result.outcome is base.Outcome.TIMED_OUT or
                held > SLOW_SHARE * call.timeout):
            self._held[instance_uuid] = self._held.get(instance_uuid, 0) + 1
        else:
            self._held.pop(instance_uuid, None)

    def _memo(self, key):
        with self._lock:
            memo = self._memos.get(key)
            if memo is None:
                memo = self._memos[key] = {}
            return memo

    def _probe(self, key, call, wait, tier, check):
        kind = key.check
        driver = self._drivers.get(kind)
        if driver is None:
            return base.ProbeResult(
                base.Outcome.INCONCLUSIVE, 'no probe driver for %s '
                'checks' % kind, call.submitted, 0.0)
        try:
            if kind == checks.HEARTBEAT:
                with self._pool.domain(key.instance_uuid, wait, tier) as dom:
                    call.begin(self._clock())
                    result = driver.probe(dom, call.timeout)
            else:
                result = self._probe_check(key, call, wait, tier, check,
                                           driver)
        except exception.LibvirtUnavailable as e:
            now = self._clock()
            return base.ProbeResult(base.Outcome.INCONCLUSIVE, str(e),
                                    call.started or call.submitted,
                                    now - (call.started or call.submitted))
        except libvirt.libvirtError as e:
            outcome, detail = libvirt_errors.classify(e)
            now = self._clock()
            return base.ProbeResult(outcome, detail,
                                    call.started or call.submitted,
                                    now - (call.started or call.submitted))
        if result.outcome is base.Outcome.INCONCLUSIVE:
            self._pool.reset_broken()
        return result

    def _probe_check(self, key, call, wait, tier, check, driver):
        """A check's call, its connection let go between agent calls."""
        memo = self._memo(key)

        def idle(seconds):
            # NOTE: the time without a connection, and waiting for one
            # again, is not the guest's: the call's deadline starts anew.
            call.idle()
            domain = lease.idle(seconds)
            call.begin(self._clock())
            return domain

        with self._pool.lease(key.instance_uuid, wait, tier) as lease:
            try:
                call.begin(self._clock())
                return driver.probe(lease.domain, call.timeout, check, memo,
                                    idle=idle)
            finally:
                lease.let_go()
                call.held = lease.longest_hold

    def shutdown(self):
        self._executor.shutdown(wait=False)
