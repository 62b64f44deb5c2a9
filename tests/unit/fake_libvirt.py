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

"""Fake ``libvirt`` and ``libvirt_qemu`` modules for the unit tests.

:func:`install` puts this module in ``sys.modules`` as ``libvirt`` and
:data:`libvirt_qemu` as ``libvirt_qemu``, so the unit tests behave the
same whether or not libvirt-python is installed. The constants carry
libvirt's real values; the errors carry the codes, domains and messages
that libvirt-python raises for each fault (see /work/shared/TESTBED.md).
"""

import json
import sys
import threading
import types

# Error codes (virErrorNumber)
VIR_ERR_OK = 0
VIR_ERR_INTERNAL_ERROR = 1
VIR_ERR_NO_CONNECT = 5
VIR_ERR_INVALID_CONN = 6
VIR_ERR_OPERATION_FAILED = 9
VIR_ERR_SYSTEM_ERROR = 38
VIR_ERR_RPC = 39
VIR_ERR_NO_DOMAIN = 42
VIR_ERR_AUTH_FAILED = 45
VIR_ERR_OPERATION_INVALID = 55
VIR_ERR_OPERATION_TIMEOUT = 68
VIR_ERR_ARGUMENT_UNSUPPORTED = 74
VIR_ERR_AGENT_UNRESPONSIVE = 86
VIR_ERR_AUTH_UNAVAILABLE = 94

# Error domains (virErrorDomain)
VIR_FROM_NONE = 0
VIR_FROM_RPC = 7
VIR_FROM_QEMU = 10
VIR_FROM_REMOTE = 13
VIR_FROM_DOMAIN = 20

# Domain states (virDomainState)
VIR_DOMAIN_NOSTATE = 0
VIR_DOMAIN_RUNNING = 1
VIR_DOMAIN_BLOCKED = 2
VIR_DOMAIN_PAUSED = 3
VIR_DOMAIN_SHUTDOWN = 4
VIR_DOMAIN_SHUTOFF = 5
VIR_DOMAIN_CRASHED = 6
VIR_DOMAIN_PMSUSPENDED = 7

VIR_DOMAIN_RUNNING_BOOTED = 1
VIR_DOMAIN_PAUSED_USER = 1

# Jobs (virDomainJobType)
VIR_DOMAIN_JOB_NONE = 0
VIR_DOMAIN_JOB_BOUNDED = 1
VIR_DOMAIN_JOB_UNBOUNDED = 2

# Lifecycle events (virDomainEventType) and some details
VIR_DOMAIN_EVENT_DEFINED = 0
VIR_DOMAIN_EVENT_UNDEFINED = 1
VIR_DOMAIN_EVENT_STARTED = 2
VIR_DOMAIN_EVENT_SUSPENDED = 3
VIR_DOMAIN_EVENT_RESUMED = 4
VIR_DOMAIN_EVENT_STOPPED = 5
VIR_DOMAIN_EVENT_SHUTDOWN = 6
VIR_DOMAIN_EVENT_PMSUSPENDED = 7
VIR_DOMAIN_EVENT_CRASHED = 8
VIR_DOMAIN_EVENT_DEFINED_ADDED = 0
VIR_DOMAIN_EVENT_DEFINED_UPDATED = 1
VIR_DOMAIN_EVENT_STOPPED_DESTROYED = 1
VIR_DOMAIN_EVENT_STOPPED_FAILED = 5

# Event ids (virDomainEventID)
VIR_DOMAIN_EVENT_ID_LIFECYCLE = 0
VIR_DOMAIN_EVENT_ID_REBOOT = 1
VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE = 18

VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED = 1
VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED = 2
VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_DOMAIN_STARTED = 1
VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL = 2

VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1


class libvirtError(Exception):
    """libvirt-python's error, with the error tuple set by the fake."""

    def __init__(self, msg, code=VIR_ERR_INTERNAL_ERROR,
                 domain=VIR_FROM_QEMU):
        super().__init__(msg)
        self.err = (code, domain, msg, 2, None, None, None, -1, -1)

    def get_error_code(self):
        return self.err[0]

    def get_error_domain(self):
        return self.err[1]

    def get_error_message(self):
        return self.err[2]


# The errors each fault raises (TESTBED.md, "How faults look")

def paused_error():
    """The domain is paused (or otherwise not running)."""
    return libvirtError(
        'Requested operation is not valid: domain is not running',
        VIR_ERR_OPERATION_INVALID, VIR_FROM_QEMU)


def agent_not_connected_error():
    """qemu-ga was killed inside the guest."""
    return libvirtError(
        'Guest agent is not responding: QEMU guest agent is not connected',
        VIR_ERR_AGENT_UNRESPONSIVE, VIR_FROM_QEMU)


def agent_timeout_error():
    """The guest panicked or QEMU is stopped: the call timed out."""
    return libvirtError(
        'Guest agent is not responding: Guest agent not available for now',
        VIR_ERR_AGENT_UNRESPONSIVE, VIR_FROM_QEMU)


def agent_error(command, text):
    """The guest agent refused a command; ``text`` is its own reason.

    In libvirt 9.0's wording.
    """
    return libvirtError(
        "internal error: unable to execute QEMU agent command '%s': %s" % (
            command, text), VIR_ERR_INTERNAL_ERROR, VIR_FROM_QEMU)


def no_domain_error(instance_uuid):
    return libvirtError(
        "Domain not found: no domain with matching uuid '%s'" % (
            instance_uuid,), VIR_ERR_NO_DOMAIN, VIR_FROM_QEMU)


def connection_closed_error():
    """libvirtd went away under an open connection."""
    return libvirtError('internal error: client socket is closed',
                        VIR_ERR_INTERNAL_ERROR, VIR_FROM_RPC)


def cannot_connect_error(path='/var/run/libvirt/libvirt-sock'):
    """libvirtd is not running."""
    return libvirtError(
        "Failed to connect socket to '%s': No such file or directory" % (
            path,), VIR_ERR_SYSTEM_ERROR, VIR_FROM_RPC)


def agent_xml(name='org.qemu.guest_agent.0'):
    return ("<domain type='qemu'><name>vm</name><devices>"
            "<channel type='unix'><source mode='bind' path='/tmp/ga'/>"
            "<target type='virtio' name='%s'/></channel>"
            "</devices></domain>" % name)


NO_AGENT_XML = "<domain type='qemu'><name>vm</name><devices/></domain>"


def echo_agent(command, timeout):
    """A live qemu-ga: guest-sync returns the id it was given."""
    request = json.loads(command)
    return json.dumps({'return': request['arguments']['id']})


class virDomain:
    """A domain; ``agent(command, timeout)`` plays the guest agent."""

    def __init__(self, uuid, name='vm', state=VIR_DOMAIN_RUNNING,
                 reason=VIR_DOMAIN_RUNNING_BOOTED, xml=None, active=True,
                 job=VIR_DOMAIN_JOB_NONE, agent=echo_agent):
        self.uuid = uuid
        self._name = name
        self.state_value = state
        self.reason = reason
        self.xml = agent_xml() if xml is None else xml
        self.active = active
        self.job = job
        self.agent = agent

    def UUIDString(self):
        return self.uuid

    def name(self):
        return self._name

    def state(self):
        return [self.state_value, self.reason]

    def isActive(self):
        return 1 if self.active else 0

    def XMLDesc(self, flags=0):
        return self.xml

    def jobInfo(self):
        return [self.job, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]


class virConnect:
    """A connection to a fake libvirtd holding ``domains`` by UUID."""

    def __init__(self, uri='qemu:///system', domains=None, read_only=False):
        self.uri = uri
        self.domains = {} if domains is None else domains
        self.read_only = read_only
        self.alive = True
        self.closed = False
        self.close_callback = None
        self.event_callbacks = {}

    def lookupByUUIDString(self, uuid):
        if not self.alive:
            raise connection_closed_error()
        try:
            return self.domains[uuid]
        except KeyError:
            raise no_domain_error(uuid)

    def listAllDomains(self, flags=0):
        if not self.alive:
            raise connection_closed_error()
        return [d for d in self.domains.values()
                if d.active or not flags & VIR_CONNECT_LIST_DOMAINS_ACTIVE]

    def isAlive(self):
        return 1 if self.alive else 0

    def close(self):
        self.closed = True
        return 0

    def registerCloseCallback(self, callback, opaque):
        self.close_callback = (callback, opaque)

    def unregisterCloseCallback(self):
        self.close_callback = None

    def domainEventRegisterAny(self, dom, event_id, callback, opaque):
        self.event_callbacks[event_id] = (callback, opaque)
        return len(self.event_callbacks)

    def fire(self, event_id, dom, *args):
        """Deliver an event as libvirt's event loop would."""
        callback, opaque = self.event_callbacks[event_id]
        callback(self, dom, *args, opaque)

    def lose(self):
        """libvirtd went away: the connection is dead."""
        self.alive = False
        if self.close_callback is not None:
            callback, opaque = self.close_callback
            callback(self, 0, opaque)


def open(uri=None):
    raise cannot_connect_error()


def openReadOnly(uri=None):
    raise cannot_connect_error()


def registerErrorHandler(handler, ctx):
    return 1


_event_loop_never = threading.Event()


def virEventRegisterDefaultImpl():
    return 0


def virEventRunDefaultImpl():
    # NOTE: the real one blocks until an event comes; never spin.
    _event_loop_never.wait()
    return 0


def _qemu_agent_command(domain, command, timeout, flags):
    return domain.agent(command, timeout)


libvirt_qemu = types.ModuleType('libvirt_qemu')
libvirt_qemu.__doc__ = 'Fake libvirt_qemu for the unit tests.'
libvirt_qemu.qemuAgentCommand = _qemu_agent_command


def install():
    """Make ``import libvirt`` and ``import libvirt_qemu`` give the fakes."""
    sys.modules['libvirt'] = sys.modules[__name__]
    sys.modules['libvirt_qemu'] = libvirt_qemu
