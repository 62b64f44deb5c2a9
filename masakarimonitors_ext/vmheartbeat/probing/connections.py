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

"""libvirt connections: the event loop and the pool for heartbeat calls.

A hung guest holds its agent call for 5 s or more, and libvirt makes other
calls on the same connection wait behind it. Heartbeat calls therefore each
get a connection of their own from a pool, so a few hung guests cannot
delay the others. Calls to guests that hold their calls (hung guests) may
take only part of the pool, and guests hung for long only a smaller part,
so any number of hung guests leaves connections for the guests that answer
and for a guest that has just begun to hang, whose failure is still to be
found.
"""

import contextlib
import threading
import time

import libvirt
from oslo_log import log as logging

from masakarimonitors_ext import exception

LOG = logging.getLogger(__name__)

#: the guest answers, or fails at once (its calls hold no connection long)
TIER_ANSWERING = 0
#: the guest's last call was held past its timeout: it may be hanging
TIER_HOLDING = 1
#: the guest has held several calls in a row: it hangs, and is known to
TIER_HUNG = 2

_event_loop_lock = threading.Lock()
_event_loop_thread = None


def _run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


def start_event_loop():
    """Register and run libvirt's default event loop once per process.

    Must run before the first connection is opened: it also gives every
    connection libvirt's keepalive, so a dead libvirtd is noticed.
    """
    global _event_loop_thread
    with _event_loop_lock:
        if _event_loop_thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()
        _event_loop_thread = threading.Thread(
            target=_run_event_loop, name='libvirt-event-loop', daemon=True)
        _event_loop_thread.start()


def _silence_libvirt_errors():
    # NOTE: without a handler libvirt prints every error on stderr, and a
    # failed heartbeat is an expected error here.
    libvirt.registerErrorHandler(lambda ctx, err: None, None)


def check_uri(uri):
    """Open and close a connection: fail at start on a bad URI.

    :raises: ConfigurationError naming [libvirt] connection_uri.
    """
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        raise exception.ConfigurationError(
            'libvirt.connection_uri',
            'cannot connect to %s: %s' % (uri, e.get_error_message()))
    conn.close()


class _PooledConnection:
    def __init__(self, index):
        self.index = index
        self.busy = False
        self.conn = None
        self.domains = {}


class Lease:
    """A call's hold on a pooled connection, which it may let go a while.

    ``domain`` is the instance's ``virDomain`` on the connection held now;
    ``longest_hold`` is the longest time, in seconds, the call held one
    connection without letting it go: how long the guest kept it.
    """

    def __init__(self, pool, instance_uuid, wait, tier, sleep):
        self._pool = pool
        self._instance_uuid = instance_uuid
        self._wait = wait
        self._tier = tier
        self._sleep = sleep
        self._since = None
        self.slot = None
        self.domain = None
        self.longest_hold = 0.0

    def take(self):
        """Reserve a connection; the domain on it.

        :raises: LibvirtUnavailable, libvirt.libvirtError as
            :meth:`ConnectionPool.domain` does.
        """
        self.slot = self._pool._acquire(self._wait, self._tier)
        self._since = time.monotonic()
        try:
            self.domain = self._pool._lookup(self.slot, self._instance_uuid)
        except libvirt.libvirtError as e:
            self._pool._after_error(self.slot, self._instance_uuid, e)
            self.let_go()
            raise
        except Exception:
            self.let_go()
            raise
        return self.domain

    def let_go(self):
        """Release the connection held, if any."""
        if self.slot is None:
            return
        slot, self.slot, self.domain = self.slot, None, None
        self.longest_hold = max(self.longest_hold,
                                time.monotonic() - self._since)
        self._pool._release(slot, self._tier)

    def idle(self, seconds):
        """Wait ``seconds`` without a connection, then take one again.

        :returns: the domain on the connection now held.
        :raises: LibvirtUnavailable when none frees within the call's wait.
        """
        self.let_go()
        self._sleep(seconds)
        return self.take()


class ConnectionPool:
    """Connections for heartbeat calls, each carrying one call at a time.

    libvirt queues an agent call behind a stuck one on the same connection
    (measured: a healthy guest's call waited 4 s behind calls to stopped
    QEMUs on a shared connection, and none on a connection of its own), so
    a call never shares its connection. Connections open on first use and
    stay open for the next calls.

    :param uri: the libvirt URI.
    :param size: the most connections, so the most calls in flight. Keep it
        below libvirtd's ``max_workers`` (default 20): each call in flight
        holds one libvirtd worker, a stuck one for 5 s or more.

    Each call comes with the tier of its guest (``TIER_*``). A quarter of
    the connections (at least one, when there are two or more) is kept for
    guests that answer; guests hung for long, already found, may hold at
    most half of the rest (at least one), so guests that have just begun
    to hold their calls, whose failure is still to be found, are probed
    ahead of them.
    """

    def __init__(self, uri, size):
        self.uri = uri
        self._slots = [_PooledConnection(i) for i in range(size)]
        kept = max(1, size // 4) if size > 1 else 0
        #: most calls of TIER_HOLDING and TIER_HUNG guests at once
        self.holding_limit = size - kept
        #: most calls of TIER_HUNG guests at once
        self.hung_limit = max(1, self.holding_limit // 2)
        self._calls = {TIER_ANSWERING: 0, TIER_HOLDING: 0, TIER_HUNG: 0}
        self._cond = threading.Condition()
        _silence_libvirt_errors()

    @contextlib.contextmanager
    def domain(self, instance_uuid, wait, tier=TIER_ANSWERING):
        """Reserve a connection and yield the instance's ``virDomain``.

        :param wait: seconds to wait for a free connection.
        :param tier: how the guest's last calls went, a ``TIER_*``.
        :raises: LibvirtUnavailable when libvirtd cannot be reached or no
            connection frees in time.
        :raises: libvirt.libvirtError (VIR_ERR_NO_DOMAIN) for an unknown
            domain.
        """
        slot = self._acquire(wait, tier)
        try:
            dom = self._lookup(slot, instance_uuid)
            yield dom
        except libvirt.libvirtError as e:
            self._after_error(slot, instance_uuid, e)
            raise
        finally:
            self._release(slot, tier)

    @contextlib.contextmanager
    def lease(self, instance_uuid, wait, tier=TIER_ANSWERING,
              sleep=time.sleep):
        """Like :meth:`domain`, for a call that waits between agent calls.

        Yields a :class:`Lease`, whose ``idle()`` lets the connection go
        while the call waits (an exec check between two status polls), so
        a call holds a connection only while an agent call is on the wire.

        :param sleep: how the lease waits while idle.
        """
        lease = Lease(self, instance_uuid, wait, tier, sleep)
        lease.take()
        try:
            yield lease
        except libvirt.libvirtError as e:
            if lease.slot is not None:
                self._after_error(lease.slot, instance_uuid, e)
            raise
        finally:
            lease.let_go()

    def forget(self, instance_uuid):
        """Drop the instance's ``virDomain`` from every connection."""
        with self._cond:
            for slot in self._slots:
                slot.domains.pop(instance_uuid, None)

    def _after_error(self, slot, instance_uuid, error):
        if not self._is_alive(slot):
            self._reset(slot)
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            slot.domains.pop(instance_uuid, None)

    def _allowed(self, tier):
        holding = self._calls[TIER_HOLDING] + self._calls[TIER_HUNG]
        if tier == TIER_ANSWERING:
            return True
        if tier == TIER_HOLDING:
            return holding < self.holding_limit
        return (holding < self.holding_limit and
                self._calls[TIER_HUNG] < self.hung_limit)

    def _acquire(self, wait, tier):
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                # an open connection first, then a new one
                free = [s for s in self._slots if not s.busy]
                if free and self._allowed(tier):
                    slot = min(free, key=lambda s: s.conn is None)
                    slot.busy = True
                    self._calls[tier] += 1
                    return slot
                left = deadline - time.monotonic()
                if left <= 0:
                    if free:
                        raise exception.LibvirtUnavailable(
                            'calls to hung guests hold their share of the '
                            'libvirt connections (%d of %d)' % (
                                self._calls[TIER_HOLDING] +
                                self._calls[TIER_HUNG], len(self._slots)))
                    raise exception.LibvirtUnavailable(
                        'all %d libvirt connections carry a call' % len(
                            self._slots))
                self._cond.wait(left)

    def _release(self, slot, tier):
        with self._cond:
            slot.busy = False
            self._calls[tier] -= 1
            self._cond.notify_all()

    def _lookup(self, slot, instance_uuid):
        with self._cond:
            conn = slot.conn
        if conn is None:
            try:
                conn = libvirt.open(self.uri)
            except libvirt.libvirtError as e:
                raise exception.LibvirtUnavailable(
                    'cannot connect to %s: %s' % (
                        self.uri, e.get_error_message()))
            with self._cond:
                if slot.conn is None:
                    slot.conn, slot.domains = conn, {}
                else:
                    conn.close()
                    conn = slot.conn
        dom = slot.domains.get(instance_uuid)
        if dom is None:
            dom = conn.lookupByUUIDString(instance_uuid)
            slot.domains[instance_uuid] = dom
        return dom

    @staticmethod
    def _is_alive(slot):
        try:
            return slot.conn is not None and slot.conn.isAlive() == 1
        except libvirt.libvirtError:
            return False

    def _reset(self, slot):
        with self._cond:
            conn, slot.conn, slot.domains = slot.conn, None, {}
        if conn is not None:
            LOG.info('libvirt connection %d to %s lost; it is reopened at '
                     'the next heartbeat', slot.index, self.uri)
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()

    def reset_broken(self):
        """Drop the connections libvirt reports dead (libvirtd restarted)."""
        for slot in self._slots:
            if slot.conn is not None and not self._is_alive(slot):
                self._reset(slot)

    def close(self):
        for slot in self._slots:
            self._reset(slot)
