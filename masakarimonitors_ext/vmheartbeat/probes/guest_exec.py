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

"""The exec health check: a command run in the guest through the agent.

``guest-exec`` starts the command with its output captured, then
``guest-exec-status`` is polled, with a growing pause, until the command
exits or its timeout passes. Exit status 0 is healthy; anything else, a
signal, or a command still running at its timeout is a failure of the
check. At most one command per instance runs at a time: one still running
from the last run is looked at again, not started again, so a command that
hangs or forks endlessly never piles up copies of itself.

Only the exit status and a bounded head of stdout and stderr are read:
what the agent returns is never parsed as a whole.
"""

import base64
import json
import math
import re
import time

import libvirt
import libvirt_qemu

from masakarimonitors_ext.vmheartbeat import guestdata
from masakarimonitors_ext.vmheartbeat.probes import base
from masakarimonitors_ext.vmheartbeat.probes import libvirt_errors

_PID = re.compile(r'"pid"\s*:\s*([0-9]{1,10})')
_EXITED = re.compile(r'"exited"\s*:\s*(true|false)')
_EXITCODE = re.compile(r'"exitcode"\s*:\s*(-?[0-9]{1,10})')
_SIGNAL = re.compile(r'"signal"\s*:\s*([0-9]{1,5})')
_FIRST_POLL = 0.01
_MAX_POLL = 0.25
# What a guest-exec-status names a pid the agent does not know by.
_UNKNOWN_PID = "Invalid parameter 'pid'"


def _data(answer, field, max_bytes):
    """The head of a base64 field of the answer, decoded and escaped."""
    match = re.search(r'"%s"\s*:\s*"([A-Za-z0-9+/=]{0,%d})(")?' % (
        field, 4 * math.ceil(max_bytes / 3)), answer)
    if match is None:
        return ''
    encoded = match.group(1)
    if match.group(2) is None:
        # cut short: whole groups of four only
        encoded = encoded[:len(encoded) - len(encoded) % 4]
    try:
        raw = base64.b64decode(encoded)
    except ValueError:
        return ''
    return guestdata.escape(raw.decode('utf-8', errors='replace').strip(),
                            max_bytes)


class _Failed(Exception):
    def __init__(self, outcome, detail):
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


class GuestExecProbe(base.ProbeDriver):
    """Runs the check's command in the guest; exit status 0 is healthy.

    :param max_output_bytes: bytes of stdout and of stderr kept as details.
    """

    def __init__(self, max_output_bytes=4096, sleep=time.sleep,
                 clock=time.monotonic):
        self.max_output_bytes = max_output_bytes
        self._sleep = sleep
        self._clock = clock

    def probe(self, domain, timeout, check=None, memo=None):
        memo = {} if memo is None else memo
        started = self._clock()
        agent_timeout = max(1, math.ceil(min(timeout, check.timeout)))
        try:
            outcome, detail, details = self._run(domain, check, memo,
                                                 started, agent_timeout)
        except _Failed as e:
            outcome, detail, details = e.outcome, e.detail, ''
        except libvirt.libvirtError as e:
            outcome, detail = libvirt_errors.classify(e)
            details = ''
            if outcome is base.Outcome.AGENT_ERROR:
                # the agent could not start the command: the check fails
                outcome = base.Outcome.FAILED
        return base.ProbeResult(outcome, detail, started,
                                self._clock() - started, details=details)

    def _agent(self, domain, command, agent_timeout):
        return libvirt_qemu.qemuAgentCommand(
            domain, json.dumps(command), agent_timeout, 0)

    def _status(self, domain, pid, agent_timeout):
        """The command's status answer; None when the agent forgot it."""
        try:
            answer = self._agent(domain, {'execute': 'guest-exec-status',
                                          'arguments': {'pid': pid}},
                                 agent_timeout)
        except libvirt.libvirtError as e:
            if _UNKNOWN_PID in (e.get_error_message() or ''):
                return None
            raise
        if not isinstance(answer, str):
            raise _Failed(base.Outcome.WRONG_ANSWER, 'status is not text')
        return answer

    def _run(self, domain, check, memo, started, agent_timeout):
        running = memo.get('pid')
        if running is not None:
            status = self._status(domain, running, agent_timeout)
            if status is not None and _exited(status) is False:
                return base.Outcome.FAILED, (
                    'the command started %.0fs ago is still running; not '
                    'started again' % (started - memo['since'])), ''
            memo.pop('pid', None)
        argv = check.command
        answer = self._agent(domain, {
            'execute': 'guest-exec',
            'arguments': {'path': argv[0], 'arg': list(argv[1:]),
                          'capture-output': True}}, agent_timeout)
        match = _PID.search(answer if isinstance(answer, str) else '')
        if match is None:
            return base.Outcome.WRONG_ANSWER, 'guest-exec gave no pid: %s' % (
                guestdata.escape(answer, 100)), ''
        pid = int(match.group(1))
        deadline = started + check.timeout
        pause = _FIRST_POLL
        while True:
            status = self._status(domain, pid, agent_timeout)
            if status is None:
                return base.Outcome.WRONG_ANSWER, (
                    'the agent forgot the command (pid %d)' % pid), ''
            if _exited(status):
                return self._verdict(status)
            now = self._clock()
            if now >= deadline:
                memo['pid'], memo['since'] = pid, started
                return base.Outcome.FAILED, (
                    'the command did not exit within %ss' % check.timeout), ''
            self._sleep(min(pause, deadline - now))
            pause = min(pause * 2, _MAX_POLL)

    def _verdict(self, status):
        out = _data(status, 'out-data', self.max_output_bytes)
        err = _data(status, 'err-data', self.max_output_bytes)
        details = ' | '.join(part for part in (out, err) if part)
        signal = _SIGNAL.search(status)
        if signal is not None:
            return base.Outcome.FAILED, 'the command was killed by signal ' \
                '%s' % signal.group(1), details
        code = _EXITCODE.search(status)
        if code is None:
            return base.Outcome.WRONG_ANSWER, 'no exit status', details
        if int(code.group(1)) == 0:
            return base.Outcome.ANSWERED, '', details
        return base.Outcome.FAILED, 'exit status %s' % code.group(1), details


def _exited(status):
    match = _EXITED.search(status)
    return None if match is None else match.group(1) == 'true'
