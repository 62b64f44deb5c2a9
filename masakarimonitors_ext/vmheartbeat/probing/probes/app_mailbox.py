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

"""The application heartbeat: a challenge and its answer, as guest files.

The monitor and an application inside the guest share a mailbox, the
directory :data:`MAILBOX`. At each run (every interval) the monitor writes
a new challenge and returns ``pending`` with the time the answer is due;
the scheduler runs the check again then, and that run reads the
application's answer. Only the agent's stock ``guest-file-*`` commands are
used: no helper process answers for the application, so an answer proves
that the application itself runs.

The agent runs as root and follows symlinks, so it must only ever open
entries that nobody but root can replace: the mailbox directory and
``challenge`` belong to root (mode 0755 and 0644), and ``answer`` is a
regular file made by root at the guest's start and owned by the
application's user, who can write its content but never replace it by a
symlink, a FIFO or a device.

Each message is one line of JSON ended by a newline, and only a line so
ended is complete: the agent truncates ``challenge`` and then writes it,
and the application writes ``answer`` in place (and may leave the tail of
a longer, earlier answer after the newline), so a reader may see an empty
or unfinished text, never a wrong one ended by a newline.

Challenge (written by the monitor, one line of JSON)::

    {"version": 1, "challenge": "<32 hex digits>", "sequence": 7,
     "audits": ["db", "disk"]}

Answer (written by the application)::

    {"version": 1, "challenge": "<the same digits>",
     "status": "healthy", "details": "12 workers",
     "audits": {"db": {"result": "pass", "details": "..."},
                "disk": {"result": "fail", "details": "92% full"}},
     "recover": false}

``status`` is one of ``starting``, ``healthy``, ``degraded``, ``failed``;
``details`` at most :data:`MAX_DETAILS` characters are kept; ``audits``
holds a result for each audit the challenge asked for. The whole answer is
at most ``max_answer_bytes`` bytes of UTF-8 before its newline. An answer
to an earlier challenge is stale, and like a wrong echo, an unfinished
answer or no answer, a miss.
"""

import base64
import collections
import json
import math
import secrets
import time

import libvirt
import libvirt_qemu

from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import libvirt_errors
from masakarimonitors_ext.vmheartbeat import verdicts

MAILBOX = '/run/vmheartbeat'
CHALLENGE = MAILBOX + '/challenge'
ANSWER = MAILBOX + '/answer'
VERSION = 1
#: characters of the application's details, and of each audit's, kept
MAX_DETAILS = 1024
_QUOTE = 100
_NO_SUCH_FILE = 'No such file or directory'

#: a challenge written: its nonce, when, the audits it asked for, and
#: whether its answer was read
Sent = collections.namedtuple('Sent', 'nonce at audits read')
#: challenges remembered to tell a stale answer from a wrong one
_REMEMBERED = 8


class _Miss(Exception):
    def __init__(self, outcome, detail, **fields):
        super().__init__(detail)
        self.result = (outcome, detail, fields)


class AppMailboxProbe(base.ProbeDriver):
    """Reads the application's answer to the last challenge, writes the next.

    :param max_answer_bytes: largest answer read, in bytes of UTF-8.
    """

    def __init__(self, max_answer_bytes=4096, clock=time.monotonic):
        self.max_answer_bytes = max_answer_bytes
        self._clock = clock

    def probe(self, domain, timeout, check=None, memo=None, idle=None):
        memo = {} if memo is None else memo
        started = self._clock()
        sent = memo.get('sent')
        agent_timeout = max(1, math.ceil(timeout))
        if sent is not None and not sent.read:
            age = started - sent.at
            if age < check.timeout:
                return base.ProbeResult(
                    base.Outcome.PENDING, 'challenge written %.3fs ago; '
                    'its answer is due %ss after it' % (age, check.timeout),
                    started, retry_after=check.timeout - age)
            try:
                verdict = self._read_answer(domain, sent, memo, agent_timeout)
            except _Miss as e:
                verdict = e.result
            except libvirt.libvirtError as e:
                # the agent is stuck, frozen or refusing: the challenge
                # stays unread, and is read at the next run
                return self._result(libvirt_errors.classify(e) + ({},),
                                    started)
            # NOTE: an answer is read once: the next run writes a new
            # challenge, so an old answer is never taken twice.
            memo['sent'] = sent._replace(read=True)
            return self._result(verdict, started)
        try:
            self._write_challenge(domain, check, memo, agent_timeout)
        except _Miss as e:
            return self._result(e.result, started)
        except libvirt.libvirtError as e:
            return self._result(libvirt_errors.classify(e) + ({},), started)
        return base.ProbeResult(
            base.Outcome.PENDING, 'challenge written; its answer is read in '
            '%ss' % check.timeout, started, self._clock() - started,
            retry_after=check.timeout)

    def _result(self, verdict, started):
        outcome, detail, fields = verdict
        return base.ProbeResult(outcome, detail, started,
                                self._clock() - started, **fields)

    # Agent calls

    def _agent(self, domain, command, agent_timeout, max_bytes=4096):
        try:
            answer = libvirt_qemu.qemuAgentCommand(
                domain, json.dumps(command), agent_timeout, 0)
        except libvirt.libvirtError as e:
            outcome, detail = libvirt_errors.classify(e)
            if (outcome is base.Outcome.AGENT_ERROR and
                    _NO_SUCH_FILE in (e.get_error_message() or '')):
                raise _Miss(base.Outcome.NOT_CONNECTED,
                            'no application answers: %s' % detail,
                            failure_class=verdicts.CLASS_APP_HEARTBEAT)
            raise
        try:
            parsed = guestdata.loads(answer, max_bytes)
        except guestdata.GuestDataError as e:
            raise _Miss(base.Outcome.WRONG_ANSWER, '%s answer refused, %s' % (
                command['execute'], e))
        if not isinstance(parsed, dict) or 'return' not in parsed:
            raise _Miss(base.Outcome.WRONG_ANSWER, '%s answer has no return' %
                        command['execute'])
        return parsed['return']

    def _open(self, domain, path, mode, agent_timeout):
        handle = self._agent(domain, {'execute': 'guest-file-open',
                                      'arguments': {'path': path,
                                                    'mode': mode}},
                             agent_timeout)
        if not isinstance(handle, int) or isinstance(handle, bool):
            raise _Miss(base.Outcome.WRONG_ANSWER, 'guest-file-open gave no '
                        'handle')
        return handle

    def _close(self, domain, handle, agent_timeout):
        self._agent(domain, {'execute': 'guest-file-close',
                             'arguments': {'handle': handle}}, agent_timeout)

    def _write_challenge(self, domain, check, memo, agent_timeout):
        now = self._clock()
        audited = memo.setdefault('audited', {})
        due = tuple(name for name, period in check.audits
                    if now - audited.get(name, -math.inf) >= period)
        nonce = secrets.token_hex(16)
        sequence = memo.get('sequence', 0) + 1
        body = json.dumps({'version': VERSION, 'challenge': nonce,
                           'sequence': sequence, 'audits': list(due)},
                          separators=(',', ':')) + '\n'
        handle = self._open(domain, CHALLENGE, 'w', agent_timeout)
        try:
            self._agent(domain, {'execute': 'guest-file-write', 'arguments': {
                'handle': handle,
                'buf-b64': base64.b64encode(body.encode()).decode()}},
                agent_timeout)
        finally:
            self._close(domain, handle, agent_timeout)
        earlier = memo.setdefault('earlier', collections.deque(
            maxlen=_REMEMBERED))
        previous = memo.get('sent')
        if previous is not None:
            earlier.append(previous.nonce)
        memo['sent'] = Sent(nonce, self._clock(), due, False)
        memo['sequence'] = sequence

    def _read_answer(self, domain, sent, memo, agent_timeout):
        handle = self._open(domain, ANSWER, 'r', agent_timeout)
        try:
            read = self._agent(
                domain, {'execute': 'guest-file-read', 'arguments': {
                    'handle': handle, 'count': self.max_answer_bytes + 1}},
                agent_timeout, max_bytes=2 * self.max_answer_bytes + 256)
        finally:
            self._close(domain, handle, agent_timeout)
        if not isinstance(read, dict) or not isinstance(
                read.get('buf-b64'), str):
            return (base.Outcome.WRONG_ANSWER,
                    'guest-file-read gave no data', {})
        try:
            raw = base64.b64decode(read['buf-b64'], validate=True)
        except ValueError:
            return base.Outcome.WRONG_ANSWER, 'answer is not base64', {}
        line, newline, _rest = raw.partition(b'\n')
        if len(line) > self.max_answer_bytes:
            return (base.Outcome.WRONG_ANSWER,
                    'answer larger than %d bytes' % self.max_answer_bytes, {})
        if not newline:
            return (base.Outcome.WRONG_ANSWER,
                    'answer incomplete: no newline ends it', {})
        try:
            answer = guestdata.loads(line.decode('utf-8'),
                                     self.max_answer_bytes)
        except (UnicodeDecodeError, guestdata.GuestDataError) as e:
            return base.Outcome.WRONG_ANSWER, 'answer refused, %s' % (
                guestdata.escape(e)), {}
        return self._judge(answer, sent, memo)

    def _judge(self, answer, sent, memo):
        """Classify a parsed answer to the challenge ``sent``."""
        if not isinstance(answer, dict):
            return base.Outcome.WRONG_ANSWER, 'answer is not an object', {}
        echo = answer.get('challenge')
        if echo != sent.nonce:
            if echo is not None and echo in memo.get('earlier', ()):
                return (base.Outcome.WRONG_ANSWER,
                        'stale answer: it echoes an earlier challenge', {})
            return (base.Outcome.WRONG_ANSWER,
                    'answer %s does not echo the challenge %s' % (
                        guestdata.escape(json.dumps(echo), _QUOTE),
                        sent.nonce), {})
        status = answer.get('status')
        if status not in verdicts.APP_STATES:
            return base.Outcome.WRONG_ANSWER, 'unknown status %s' % (
                guestdata.escape(json.dumps(status), _QUOTE)), {}
        details = answer.get('details', '')
        details = guestdata.escape(details if isinstance(details, str)
                                   else json.dumps(details), MAX_DETAILS)
        fields = {'status': status, 'details': details,
                  'recover': answer.get('recover') is True}
        if status == verdicts.APP_FAILED:
            return (base.Outcome.FAILED, 'the application reports failed',
                    dict(fields, failure_class=verdicts.CLASS_APP_FAILED))
        results = answer.get('audits', {})
        if not isinstance(results, dict):
            results = {}
        # NOTE: an audit is done when it passed; until then (no answer, no
        # result, a failure) it is asked for in every challenge, so the
        # escalation's re-probes look at a failed one too.
        failed, missing = [], []
        audited = memo.setdefault('audited', {})
        for name in sent.audits:
            result = results.get(name)
            if not isinstance(result, dict) or result.get('result') not in (
                    'pass', 'fail'):
                missing.append(name)
            elif result['result'] == 'pass':
                audited[name] = sent.at
            else:
                text = result.get('details', '')
                failed.append('%s (%s)' % (name, guestdata.escape(
                    text if isinstance(text, str) else json.dumps(text),
                    _QUOTE)))
        if missing:
            return (base.Outcome.WRONG_ANSWER,
                    'no result for the requested audit %s' % ', '.join(
                        missing), fields)
        if failed:
            return base.Outcome.FAILED, 'audit failed: %s' % ', '.join(
                failed), dict(fields, failure_class=verdicts.CLASS_AUDIT)
        return base.Outcome.ANSWERED, '', fields
