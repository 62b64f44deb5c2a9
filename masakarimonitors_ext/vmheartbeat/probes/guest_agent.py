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
import secrets
import time

import libvirt
import libvirt_qemu

from masakarimonitors_ext.vmheartbeat.probes import base
from masakarimonitors_ext.vmheartbeat.probes import libvirt_errors

# NOTE: guest-sync ids are JSON numbers; stay within what every JSON parser
# holds exactly (2**53).
_NONCE_BITS = 52
_DETAIL_MAX = 200


class GuestAgentSyncProbe(base.ProbeDriver):
    """Send ``guest-sync`` with a random id; only the same id answers.

    :param max_answer_bytes: longest answer that is parsed at all.
    """

    def __init__(self, max_answer_bytes=4096):
        self.max_answer_bytes = max_answer_bytes

    def probe(self, domain, timeout):
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
        if len(answer) > self.max_answer_bytes:
            return base.Outcome.WRONG_ANSWER, (
                'answer of %d characters is over the %d limit' % (
                    len(answer), self.max_answer_bytes))
        try:
            parsed = json.loads(answer)
        except ValueError:
            return base.Outcome.WRONG_ANSWER, libvirt_errors.short(
                'answer is not JSON: %r' % answer)
        if not isinstance(parsed, dict) or 'return' not in parsed:
            return base.Outcome.WRONG_ANSWER, libvirt_errors.short(
                'answer has no return: %r' % answer)
        if parsed['return'] != nonce or isinstance(parsed['return'], bool):
            return base.Outcome.WRONG_ANSWER, libvirt_errors.short(
                'answer %r does not echo the challenge %d' % (
                    parsed['return'], nonce))
        return base.Outcome.ANSWERED, ''
