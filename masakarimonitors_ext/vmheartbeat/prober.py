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

"""Heartbeat calls: one in flight per instance, on a bounded thread pool.

Both the beat scheduler and the escalation probe through here. A call that
is still in flight is never doubled: a second caller waits on the same call,
and a call past its deadline counts as a miss without any new call piling
onto the stuck one.
"""

import threading
import time

import futurist
import libvirt
from oslo_log import log as logging

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.probes import base
from masakarimonitors_ext.vmheartbeat.probes import libvirt_errors

LOG = logging.getLogger(__name__)


class Call:
    """One heartbeat call in flight.

    :param future: resolves to a ``ProbeResult``.
    :param started: ``time.monotonic()`` when it was submitted.
    :param deadline: ``time.monotonic()`` by which it must be answered.
    """

    __slots__ = ('future', 'started', 'deadline')

    def __init__(self, future, started, deadline):
        self.future = future
        self.started = started
        self.deadline = deadline

    def overdue_result(self, now):
        """The miss a caller records for this call once past its deadline."""
        return base.ProbeResult(
            base.Outcome.TIMED_OUT,
            'no answer %.3fs after the call started' % (now - self.started),
            self.started, now - self.started)


class Prober:
    """Runs probe driver calls for instances.

    :param driver: a ``probes.base.ProbeDriver``.
    :param pool: a ``connections.ConnectionPool``.
    :param workers: threads carrying calls.
    """

    def __init__(self, driver, pool, workers, clock=time.monotonic):
        self._driver = driver
        self._pool = pool
        self._clock = clock
        self._executor = futurist.ThreadPoolExecutor(max_workers=workers)
        self._calls = {}
        self._lock = threading.Lock()

    def submit(self, instance_uuid, timeout, on_done=None):
        """Start a call unless one is in flight for this instance.

        :param on_done: called with (instance_uuid, call, result) when a
            call this method started completes, from a pool thread.
        :returns: (call, started) where ``started`` is False when the call
            was already in flight.
        """
        with self._lock:
            call = self._calls.get(instance_uuid)
            if call is not None:
                return call, False
            now = self._clock()
            call = Call(None, now, now + timeout)
            self._calls[instance_uuid] = call
            call.future = self._executor.submit(
                self._run, instance_uuid, timeout, call)
        if on_done is not None:
            call.future.add_done_callback(
                lambda fut: on_done(instance_uuid, call, fut.result()))
        return call, True

    def in_flight(self, instance_uuid):
        with self._lock:
            return self._calls.get(instance_uuid)

    def probe(self, instance_uuid, timeout):
        """Probe now and wait for the verdict (the escalation's re-probe).

        Joins a call in flight instead of piling another onto it; such a
        call already past its deadline is a miss at once.
        """
        call, _ = self.submit(instance_uuid, timeout)
        wait = call.deadline - self._clock()
        if wait > 0:
            try:
                return call.future.result(timeout=wait)
            except futurist.TimeoutError:
                pass
        if call.future.done():
            return call.future.result()
        return call.overdue_result(self._clock())

    def _run(self, instance_uuid, timeout, call):
        try:
            return self._probe(instance_uuid, timeout, call.deadline)
        except Exception as e:  # a driver bug must not kill the monitor
            LOG.exception('Probe of instance %s failed unexpectedly',
                          instance_uuid)
            return base.ProbeResult(base.Outcome.INCONCLUSIVE,
                                    'probe error: %s' % e, call.started,
                                    self._clock() - call.started)
        finally:
            with self._lock:
                if self._calls.get(instance_uuid) is call:
                    del self._calls[instance_uuid]

    def _probe(self, instance_uuid, timeout, deadline):
        started = self._clock()
        try:
            with self._pool.domain(instance_uuid,
                                   max(0.0, deadline - started)) as dom:
                result = self._driver.probe(dom, timeout)
        except exception.LibvirtUnavailable as e:
            return base.ProbeResult(base.Outcome.INCONCLUSIVE, str(e),
                                    started, self._clock() - started)
        except libvirt.libvirtError as e:
            outcome, detail = libvirt_errors.classify(e)
            return base.ProbeResult(outcome, detail, started,
                                    self._clock() - started)
        if result.outcome is base.Outcome.INCONCLUSIVE:
            self._pool.reset_broken()
        return result

    def shutdown(self):
        self._executor.shutdown(wait=False)
