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

"""Heartbeat through the QEMU guest agent: guest-sync with a fresh nonce.

A right answer proves that QEMU runs the guest, that the guest kernel
schedules the agent and that the virtio-serial I/O path works.
"""

import json
import math
import re
import secrets
import time

import libvirt
import libvirt_qemu

from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import libvirt_errors

# NOTE: guest-sync ids are JSON numbers; stay within what every JSON parser
# holds exactly (2**53).
_NONCE_BITS = 52
# Guest text quoted in a detail, in characters.
_QUOTE_MAX = 100
# What qemu-ga answers to guest-sync, as libvirt relays it; it holds JSON
# whitespace and ASCII digits only, so it is parsed as JSON would be.
_NORMAL_ANSWER = re.compile(
    r'[ \t\n\r]*\{[ \t\n\r]*"return"[ \t\n\r]*:[ \t\n\r]*'
    r'(0|[1-9][0-9]{0,15})[ \t\n\r]*\}[ \t\n\r]*')


class GuestAgentSyncProbe(base.ProbeDriver):
    """Send ``guest-sync`` with a random id; only the same id answers.

    The usual answer is recognized without a JSON parser; any other is
    parsed within bounds (``common.guestdata``) to say what is wrong with
    it.

    :param max_answer_bytes: largest answer, in bytes of UTF-8, that is
        parsed at all.
    """

    def __init__(self, max_answer_bytes=4096):
        self.max_answer_bytes = max_answer_bytes

    def probe(self, domain, timeout, check=None, memo=None, idle=None):
        nonce = secrets.randbits(_NONCE_BITS)
        command = '{"execute":"guest-sync","arguments":{"id":%d}}' % nonce
        # NOTE: libvirt takes whole seconds; the caller enforces the exact
        # deadline by counting a call still running past it as a miss.
        libvirt_timeout = max(1, math.ceil(timeout))
        started = time.monotonic()
        try:
            answer = libvirt_qemu.qemuAgentCommand(
                domain, command, libvirt_timeout, 0)
        except libvirt.libvirtError as e:
            outcome, detail = libvirt_errors.classify(e)
            return base.ProbeResult(outcome, detail, started,
                                    time.monotonic() - started)
        duration = time.monotonic() - started
        outcome, detail = self._check_answer(answer, nonce)
        if outcome is base.Outcome.ANSWERED and duration > timeout:
            outcome, detail = base.Outcome.TIMED_OUT, (
                'answered after the %.3fs timeout' % timeout)
        return base.ProbeResult(outcome, detail, started, duration)

    def _check_answer(self, answer, nonce):
        if not isinstance(answer, str):
            return base.Outcome.WRONG_ANSWER, 'answer is not text'
        if len(answer) <= self.max_answer_bytes:
            normal = _NORMAL_ANSWER.fullmatch(answer)
            if normal is not None:
                echo = int(normal.group(1))
                if echo == nonce:
                    return base.Outcome.ANSWERED, ''
                return base.Outcome.WRONG_ANSWER, (
                    'answer %d does not echo the challenge %d' % (
                        echo, nonce))
        return self._check_any_answer(answer, nonce)

    def _check_any_answer(self, answer, nonce):
        """Check an answer that is not the usual one, to say what is wrong.

        Also the reference the fast path in :meth:`_check_answer` agrees
        with.
        """
        try:
            parsed = guestdata.loads(answer, self.max_answer_bytes)
        except guestdata.GuestDataError as e:
            return base.Outcome.WRONG_ANSWER, 'answer refused, %s: %s' % (
                e, guestdata.escape(answer, _QUOTE_MAX))
        if not isinstance(parsed, dict) or 'return' not in parsed:
            return base.Outcome.WRONG_ANSWER, 'answer has no return: %s' % (
                guestdata.escape(answer, _QUOTE_MAX))
        echo = parsed['return']
        if echo != nonce or isinstance(echo, bool):
            return base.Outcome.WRONG_ANSWER, (
                'answer %s does not echo the challenge %d' % (
                    guestdata.escape(json.dumps(echo), _QUOTE_MAX), nonce))
        return base.Outcome.ANSWERED, ''
