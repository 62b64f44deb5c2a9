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

"""What a libvirt error from a guest agent call means for a heartbeat."""

import libvirt

from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.probing.probes import base

_DETAIL_MAX = 200
# How qemu-ga words a command it refuses, as libvirt relays it.
_DISABLED = 'has been disabled'
_FROZEN = 'frozen state'

_CONNECTION_ERRORS = frozenset([
    libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN,
    libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_ERR_AUTH_UNAVAILABLE,
])
_CONNECTION_DOMAINS = frozenset([libvirt.VIR_FROM_RPC,
                                 libvirt.VIR_FROM_REMOTE])


def classify(error):
    """Map a libvirtError of an agent call to an outcome.

    :returns: (Outcome, detail)
    """
    code = error.get_error_code()
    message = error.get_error_message() or str(error)
    detail = short('libvirt error %s: %s' % (code, message))
    if code == libvirt.VIR_ERR_AGENT_UNRESPONSIVE:
        if 'not connected' in message:
            return base.Outcome.NOT_CONNECTED, detail
        return base.Outcome.TIMED_OUT, detail
    if code in (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN):
        return base.Outcome.NOT_RUNNING, detail
    if code == libvirt.VIR_ERR_OPERATION_TIMEOUT:
        return base.Outcome.TIMED_OUT, detail
    if (code in _CONNECTION_ERRORS or
            error.get_error_domain() in _CONNECTION_DOMAINS):
        return base.Outcome.INCONCLUSIVE, detail
    if _DISABLED in message:
        # qemu-ga refuses a command it has disabled: while the filesystems
        # are frozen ("...: the agent is in frozen state"), or for good by
        # its allow or block lists.
        if _FROZEN in message:
            return base.Outcome.HELD, detail
        return base.Outcome.BLOCKED, detail
    return base.Outcome.AGENT_ERROR, detail


def short(text):
    """Escape and bound a text that may come from a guest, for the log.

    libvirt's message for a failed agent command carries the agent's own
    error description, which the guest writes.
    """
    return guestdata.escape(text, _DETAIL_MAX)
