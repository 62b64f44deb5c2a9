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

``guest-exec`` starts the command, then ``guest-exec-status`` is polled,
with a growing pause, until the command exits or its timeout passes. Exit
status 0 is healthy; anything else, a signal, or a command still running at
its timeout is a failure of the check. At most one command per instance runs
at a time: one still running from the last run is looked at again, not
started again, so a command that hangs or forks endlessly never piles up
copies of itself.

qemu-ga keeps up to 16 MiB of each output stream and returns it all in the
one ``guest-exec-status`` answer after the command exits; libvirt carries
at most 4 MiB in one reply and breaks the domain's agent channel on an
agent reply over about 10 MiB (both measured with libvirt 9.0 and qemu-ga
7.2: see the admin guide). So the output is bounded in the guest: in the
``bounded`` mode, the default, the command runs under ``/bin/sh`` with its
stdout and stderr merged and cut by ``head -c`` one byte past the check's
bound, its exit status kept; more output than the bound is a failed run.
The command's words are the shell's positional parameters, never parsed by
it. In the ``none`` mode (guests without a POSIX shell) no output is
captured. A status answer larger than a bounded one can be is refused
unread, and what is read is only the exit status and a bounded head of the
output.
"""

import base64
import json
import math
import re
import time

import libvirt
import libvirt_qemu

from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import libvirt_errors

_PID = re.compile(r'"pid"\s*:\s*([0-9]{1,10})')
_EXITED = re.compile(r'"exited"\s*:\s*(true|false)')
_EXITCODE = re.compile(r'"exitcode"\s*:\s*(-?[0-9]{1,10})')
_SIGNAL = re.compile(r'"signal"\s*:\s*([0-9]{1,5})')
_FIRST_POLL = 0.01
_MAX_POLL = 0.25
# What a guest-exec-status names a pid the agent does not know by.
_UNKNOWN_PID = "Invalid parameter 'pid'"
# How libvirt words a reply larger than its RPC carries (4 MiB).
_TOO_LARGE = 'Unable to encode message payload'

#: the output modes ([guest_checks] exec_output)
BOUNDED = 'bounded'
NO_OUTPUT = 'none'
OUTPUT_MODES = (BOUNDED, NO_OUTPUT)

#: the guest's shell, for the bounded mode
SHELL = '/bin/sh'
#: the script of the bounded mode, given the most bytes kept: "$@" is the
#: command, its exit status comes back through fd 4, its merged output
#: through head on fd 3
_BOUNDED_SCRIPT = (
    'exec 3>&1; '
    'rc=$({ { "$@" 2>&1 3>&- 4>&-; echo "$?" >&4; } | head -c %d >&3; } '
    '4>&1); exit "${rc:-1}"')
#: the shell's $0, in its own messages
_SCRIPT_NAME = 'vmheartbeat-exec'
#: room for the fields of a status answer around its output
_STATUS_OVERHEAD = 4096


def _data(answer, field, max_bytes):
    """The head of a base64 field of the answer, decoded and escaped.

    :returns: (text, over) where ``over`` is True when the field holds
        more than ``max_bytes``.
    """
    match = re.search(r'"%s"\s*:\s*"([A-Za-z0-9+/=]{0,%d})(")?' % (
        field, 4 * math.ceil(max_bytes / 3)), answer)
    if match is None:
        return '', False
    encoded = match.group(1)
    if match.group(2) is None:
        # cut short: whole groups of four only
        encoded = encoded[:len(encoded) - len(encoded) % 4]
    try:
        raw = base64.b64decode(encoded)
    except ValueError:
        return '', False
    over = len(raw) > max_bytes or match.group(2) is None
    return guestdata.escape(raw.decode('utf-8', errors='replace').strip(),
                            max_bytes), over


class _Failed(Exception):
    def __init__(self, outcome, detail):
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


class GuestExecProbe(base.ProbeDriver):
    """Runs the check's command in the guest; exit status 0 is healthy.

    :param max_output_bytes: bytes of output kept as details; in the
        bounded mode, more is a failed run.
    :param output: :data:`BOUNDED` or :data:`NO_OUTPUT`.
    """

    def __init__(self, max_output_bytes=4096, output=BOUNDED,
                 sleep=time.sleep, clock=time.monotonic):
        if output not in OUTPUT_MODES:
            raise ValueError('output must be one of %s, not %r' % (
                ', '.join(OUTPUT_MODES), output))
        self.max_output_bytes = max_output_bytes
        self.output = output
        #: the longest status answer read: two bounded outputs in base64
        self.max_status_chars = (2 * 4 * math.ceil(
            (max_output_bytes + 1) / 3) + _STATUS_OVERHEAD)
        self._sleep = sleep
        self._clock = clock

    def probe(self, domain, timeout, check=None, memo=None, idle=None):
        memo = {} if memo is None else memo
        started = self._clock()
        agent_timeout = max(1, math.ceil(min(timeout, check.timeout)))
        try:
            outcome, detail, details = self._run(
                domain, check, memo, started, agent_timeout,
                idle or (lambda seconds: self._sleep(seconds) or domain))
        except _Failed as e:
            memo.clear()
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
            message = e.get_error_message() or ''
            if _UNKNOWN_PID in message:
                return None
            if _TOO_LARGE in message:
                raise _Failed(base.Outcome.FAILED, (
                    'the agent\'s status answer is more than libvirt '
                    'carries in one reply (4 MiB): not read'))
            raise
        if not isinstance(answer, str):
            raise _Failed(base.Outcome.WRONG_ANSWER, 'status is not text')
        if len(answer) > self.max_status_chars:
            raise _Failed(base.Outcome.FAILED, (
                'the agent\'s status answer is %d characters, more than '
                'the %d a bounded output takes: not read' % (
                    len(answer), self.max_status_chars)))
        return answer

    def _start_request(self, argv):
        if self.output == NO_OUTPUT:
            return {'path': argv[0], 'arg': list(argv[1:]),
                    'capture-output': False}
        return {'path': SHELL,
                'arg': ['-c', _BOUNDED_SCRIPT % (self.max_output_bytes + 1),
                        _SCRIPT_NAME] + list(argv),
                'capture-output': True}

    def _run(self, domain, check, memo, started, agent_timeout, idle):
        running = memo.get('pid')
        if running is not None:
            status = self._status(domain, running, agent_timeout)
            if status is None:
                memo.clear()
            elif started < memo['since'] + check.timeout:
                # the last run was cut short (no connection to poll on):
                # this one goes on with the same command
                return self._until_exit(domain, check, memo, agent_timeout,
                                        idle, status)
            elif _exited(status) is False:
                return base.Outcome.FAILED, (
                    'the command started %.0fs ago is still running; not '
                    'started again' % (started - memo['since'])), ''
            else:
                memo.clear()
        argv = check.command
        answer = self._agent(domain, {
            'execute': 'guest-exec',
            'arguments': self._start_request(argv)}, agent_timeout)
        match = _PID.search(answer if isinstance(answer, str) else '')
        if match is None:
            return base.Outcome.WRONG_ANSWER, 'guest-exec gave no pid: %s' % (
                guestdata.escape(answer, 100)), ''
        memo['pid'], memo['since'] = int(match.group(1)), started
        return self._until_exit(domain, check, memo, agent_timeout, idle)

    def _until_exit(self, domain, check, memo, agent_timeout, idle,
                    status=None):
        """Poll the command of ``memo`` until it exits or its time is up.

        The command stays in ``memo`` until it exits, so a run that ends
        early (no libvirt connection after a pause) is taken up by the
        next one.
        """
        pid = memo['pid']
        deadline = memo['since'] + check.timeout
        pause = _FIRST_POLL
        while True:
            if status is None:
                status = self._status(domain, pid, agent_timeout)
            if status is None:
                memo.clear()
                return base.Outcome.WRONG_ANSWER, (
                    'the agent forgot the command (pid %d)' % pid), ''
            if _exited(status):
                memo.clear()
                return self._verdict(status)
            now = self._clock()
            if now >= deadline:
                return base.Outcome.FAILED, (
                    'the command did not exit within %ss' % check.timeout), ''
            status = None
            domain = idle(min(pause, deadline - now))
            pause = min(pause * 2, _MAX_POLL)

    def _verdict(self, status):
        out, over = _data(status, 'out-data', self.max_output_bytes)
        err, _ = _data(status, 'err-data', self.max_output_bytes)
        details = ' | '.join(part for part in (out, err) if part)
        if over and self.output == BOUNDED:
            return base.Outcome.FAILED, (
                'the command wrote more than %d bytes of output' %
                self.max_output_bytes), details
        signal = _SIGNAL.search(status)
        if signal is not None:
            return (base.Outcome.FAILED,
                    'the command was killed by signal %s' % signal.group(1),
                    details)
        code = _EXITCODE.search(status)
        if code is None:
            return base.Outcome.WRONG_ANSWER, 'no exit status', details
        if int(code.group(1)) == 0:
            return base.Outcome.ANSWERED, '', details
        return base.Outcome.FAILED, 'exit status %s' % code.group(1), details


def _exited(status):
    match = _EXITED.search(status)
    return None if match is None else match.group(1) == 'true'
