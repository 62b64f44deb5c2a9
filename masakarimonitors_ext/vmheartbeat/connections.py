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

libvirtd serves at most ``max_client_requests`` (default 5) calls at once on
one connection, and a hung guest holds its call for 5 s or more. Heartbeat
calls are therefore spread over several connections, each carrying at most
``calls_per_connection`` calls, so a few hung guests cannot starve the
others.
"""

import contextlib
import threading
import time

import libvirt
from oslo_log import log as logging

from masakarimonitors_ext import exception

LOG = logging.getLogger(__name__)

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
    def __init__(self, index, calls):
        self.index = index
        self.free = calls
        self.conn = None
        self.domains = {}


class ConnectionPool:
    """Connections for heartbeat calls, with a bound on calls per connection.

    :param uri: the libvirt URI.
    :param size: how many connections.
    :param calls_per_connection: calls in flight at once on one connection.
    """

    def __init__(self, uri, size, calls_per_connection):
        self.uri = uri
        self._slots = [_PooledConnection(i, calls_per_connection)
                       for i in range(size)]
        self._cond = threading.Condition()
        _silence_libvirt_errors()

    @contextlib.contextmanager
    def domain(self, instance_uuid, wait):
        """Reserve a call slot and yield the instance's ``virDomain``.

        :param wait: seconds to wait for a free slot.
        :raises: LibvirtUnavailable when libvirtd cannot be reached or no
            slot frees in time.
        :raises: libvirt.libvirtError (VIR_ERR_NO_DOMAIN) for an unknown
            domain.
        """
        slot = self._acquire(wait)
        try:
            dom = self._lookup(slot, instance_uuid)
            yield dom
        except libvirt.libvirtError as e:
            if not self._is_alive(slot):
                self._reset(slot)
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                slot.domains.pop(instance_uuid, None)
            raise
        finally:
            self._release(slot)

    def _acquire(self, wait):
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                slot = max(self._slots, key=lambda s: s.free)
                if slot.free > 0:
                    slot.free -= 1
                    return slot
                left = deadline - time.monotonic()
                if left <= 0:
                    raise exception.LibvirtUnavailable(
                        'every libvirt connection carries its maximum of '
                        'calls')
                self._cond.wait(left)

    def _release(self, slot):
        with self._cond:
            slot.free += 1
            self._cond.notify()

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
