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

"""The running domains of this host, from libvirt.

A read-only connection lists the running domains at start, after every
reconnection and every ``resync_interval``, and turns libvirt's lifecycle,
reboot and agent-lifecycle events into the monitor's domain events. When
libvirtd goes away the inventory reconnects by itself; events missed in
between are covered by the resync that follows.
"""

import dataclasses
import threading
import time
from xml.etree import ElementTree

import libvirt
from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.common import constants

LOG = logging.getLogger(__name__)

_LIFECYCLE = {
    libvirt.VIR_DOMAIN_EVENT_STARTED: constants.EVENT_STARTED,
    libvirt.VIR_DOMAIN_EVENT_RESUMED: constants.EVENT_RESUMED,
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: constants.EVENT_SUSPENDED,
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: constants.EVENT_SUSPENDED,
    libvirt.VIR_DOMAIN_EVENT_STOPPED: constants.EVENT_STOPPED,
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: constants.EVENT_STOPPED,
    libvirt.VIR_DOMAIN_EVENT_CRASHED: constants.EVENT_STOPPED,
    libvirt.VIR_DOMAIN_EVENT_DEFINED: constants.EVENT_REDEFINED,
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: constants.EVENT_UNDEFINED,
}

_AGENT_CONNECTED = (
    libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED)
_RECONNECT_DELAYS = (0.5, 1, 2, 5)


@dataclasses.dataclass(frozen=True)
class Domain:
    """An active domain: its UUID (the Nova instance UUID) and name.

    ``running`` is False while it is paused or otherwise not running;
    ``agent_connected`` says whether libvirt sees the guest agent connected
    on its channel right now (so the guest is past its boot).
    """

    uuid: str
    name: str
    has_agent_channel: bool
    running: bool = True
    agent_connected: bool = False


def agent_channel(xml):
    """(has the guest agent channel, agent connected) from a domain XML."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return False, False
    for target in root.findall('./devices/channel/target'):
        if target.get('name') == constants.GUEST_AGENT_CHANNEL:
            return True, target.get('state') == 'connected'
    return False, False


def has_agent_channel(xml):
    """True when the domain XML has the QEMU guest agent channel."""
    return agent_channel(xml)[0]


def _describe(dom):
    state, _reason = dom.state()
    channel, connected = agent_channel(dom.XMLDesc(0))
    return Domain(dom.UUIDString(), dom.name(), channel,
                  state == libvirt.VIR_DOMAIN_RUNNING, connected)


class Inventory:
    """Keeps the listener told of the running domains and their events.

    The listener gets ``domains_listed(domains, listed_at)`` with a dict
    of every running :class:`Domain` by UUID and the ``time.monotonic()``
    at which the listing began, and ``domain_event(instance_uuid,
    event, detail)`` with an event from ``constants.EVENT_*``; both are
    called from the inventory's own threads and must not block.

    :param uri: the libvirt URI.
    :param resync_interval: seconds between two full listings.
    """

    def __init__(self, uri, resync_interval):
        self.uri = uri
        self._listener = None
        self._resync_interval = resync_interval
        self._conn = None
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def listen(self, listener):
        """Tell ``listener`` (an ``adoption.Adoption``) from now on."""
        self._listener = listener

    def start(self, listener):
        """Watch the domains, telling ``listener`` (:meth:`listen`)."""
        self.listen(listener)
        self._thread = threading.Thread(target=self._run,
                                        name='vmhb-inventory', daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._lost.set()
        if self._thread is not None:
            self._thread.join(5)
        self._close()

    def describe(self, instance_uuid):
        """The :class:`Domain` of an active domain, or None."""
        return self._with_domain(
            instance_uuid, lambda dom: _describe(dom) if dom.isActive()
            else None)

    def domain_state(self, instance_uuid):
        """(state, reason, job_type) of a domain, from libvirt's own view.

        Does not talk to the guest or to QEMU, so it answers for a hung
        guest too.

        :returns: None when the domain is not defined.
        """
        def state(dom):
            state, reason = dom.state()
            job = libvirt.VIR_DOMAIN_JOB_NONE
            if state == libvirt.VIR_DOMAIN_RUNNING:
                job = dom.jobInfo()[0]
            return state, reason, job

        return self._with_domain(instance_uuid, state)

    def _with_domain(self, instance_uuid, func):
        """func(domain) on a connection of its own; None if undefined."""
        conn = libvirt.openReadOnly(self.uri)
        try:
            return func(conn.lookupByUUIDString(instance_uuid))
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise
        finally:
            conn.close()

    def _run(self):
        delays = iter(())
        while not self._stop.is_set():
            try:
                self._connect()
                delays = iter(_RECONNECT_DELAYS)
                self._watch()
            except libvirt.libvirtError as e:
                delay = next(delays, _RECONNECT_DELAYS[-1])
                LOG.warning('libvirt at %s is not reachable (%s); trying '
                            'again in %ss', self.uri, e.get_error_message(),
                            delay)
                self._close()
                self._stop.wait(delay)

    def _connect(self):
        self._lost.clear()
        conn = libvirt.openReadOnly(self.uri)
        conn.registerCloseCallback(self._closed, None)
        conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle,
            None)
        conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self._reboot, None)
        conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
            self._agent_lifecycle, None)
        self._conn = conn
        LOG.info('Watching the domains of %s', self.uri)

    def _watch(self):
        while not self._stop.is_set():
            listed_at = time.monotonic()
            self._listener.domains_listed(self._list(), listed_at)
            if self._lost.wait(self._resync_interval):
                if not self._stop.is_set():
                    LOG.warning('Connection to libvirt at %s lost; '
                                'reconnecting', self.uri)
                self._close()
                return

    def _list(self):
        domains = {}
        for dom in self._conn.listAllDomains(
                libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                domain = _describe(dom)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
                continue
            domains[domain.uuid] = domain
        return domains

    def _close(self):
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.unregisterCloseCallback()
        except libvirt.libvirtError:
            pass
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    def _closed(self, conn, reason, opaque):
        self._lost.set()

    def _lifecycle(self, conn, dom, event, detail, opaque):
        kind = _LIFECYCLE.get(event)
        if kind is None:
            return
        if (kind == constants.EVENT_REDEFINED and
                detail != libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED):
            return
        self._emit(dom, kind, detail)

    def _reboot(self, conn, dom, opaque):
        self._emit(dom, constants.EVENT_REBOOTED, 0)

    def _agent_lifecycle(self, conn, dom, state, reason, opaque):
        self._emit(dom, constants.EVENT_AGENT_CONNECTED
                   if state == _AGENT_CONNECTED
                   else constants.EVENT_AGENT_DISCONNECTED, reason)

    def _emit(self, dom, kind, detail):
        try:
            self._listener.domain_event(dom.UUIDString(), kind, detail)
        except Exception:
            LOG.exception('Handling event %s of domain %s failed', kind,
                          dom.name())
