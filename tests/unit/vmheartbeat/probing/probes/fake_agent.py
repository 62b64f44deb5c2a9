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

"""qemu-ga as the probe drivers' tests meet it, through libvirt_qemu.

``agent_error`` and the errors below are what libvirt raises for the
agent's answers; :class:`FakeGuest` runs the guest-file-* commands on a
filesystem held in a dict (the application mailbox), :class:`ScriptedAgent`
plays a script of answers by command name (guest-exec).
"""

import base64
import json
import posixpath

from masakarimonitors_ext.vmheartbeat.probing.probes import app_mailbox
from tests.unit import fake_libvirt

agent_error = fake_libvirt.agent_error


def frozen_error(command):
    return agent_error(command, 'Command %s has been disabled: the agent '
                       'is in frozen state' % command)


def blocked_error(command):
    return agent_error(command, 'Command %s has been disabled' % command)


class FakeGuest:
    """qemu-ga's guest-file-* commands on a guest filesystem held in a dict.

    :param dirs: the directories that exist.

    ``fail`` maps a command name to an exception raised instead of running
    it; ``garbage`` a command name to a text answered once instead of the
    real answer (the command runs, but for guest-file-open).
    """

    def __init__(self, dirs=(app_mailbox.MAILBOX,)):
        self.files = {}
        self.dirs = set(dirs)
        self.handles = {}
        self.next_handle = 1000
        self.fail = {}
        self.garbage = {}
        self.calls = []
        self.opens = 0
        self.closes = 0

    def __call__(self, domain, command, timeout, flags):
        request = json.loads(command)
        name = request['execute']
        self.calls.append((name, request.get('arguments', {}), timeout))
        error = self.fail.get(name)
        if error is not None:
            raise error
        if name == 'guest-file-open' and name in self.garbage:
            return self.garbage.pop(name)
        answer = json.dumps({'return': getattr(
            self, name.replace('-', '_'))(**request['arguments'])})
        return self.garbage.pop(name, answer)

    def guest_file_open(self, path, mode):
        if (mode == 'r' and path not in self.files or
                posixpath.dirname(path) not in self.dirs):
            raise agent_error('guest-file-open', "failed to open file '%s' "
                              "(mode: '%s'): No such file or directory" % (
                                  path, mode))
        if mode == 'w':
            self.files[path] = b''
        handle = self.next_handle
        self.next_handle += 1
        self.handles[handle] = [path, 0]
        self.opens += 1
        return handle

    def handle(self, handle, command):
        if handle not in self.handles:
            raise agent_error(command, "Invalid parameter 'handle'")
        return self.handles[handle]

    def guest_file_read(self, handle, count):
        path, pos = self.handle(handle, 'guest-file-read')
        data = self.files[path][pos:pos + count]
        self.handles[handle][1] = pos + len(data)
        return {'count': len(data),
                'buf-b64': base64.b64encode(data).decode(),
                'eof': pos + len(data) >= len(self.files[path])}

    def guest_file_write(self, handle, **arguments):
        path, pos = self.handle(handle, 'guest-file-write')
        data = base64.b64decode(arguments['buf-b64'])
        self.files[path] = self.files[path][:pos] + data
        self.handles[handle][1] = pos + len(data)
        return {'count': len(data), 'eof': False}

    def guest_file_close(self, handle):
        self.handle(handle, 'guest-file-close')
        del self.handles[handle]
        self.closes += 1
        return {}

    def names(self):
        return [name for name, _, _ in self.calls]

    # The application in the guest

    def challenge(self):
        return json.loads(self.files[app_mailbox.CHALLENGE].decode())

    def answer_raw(self, data):
        self.files[app_mailbox.ANSWER] = data

    def answer(self, challenge=None, status='healthy', **fields):
        """Answer the challenge in the mailbox (or ``challenge``)."""
        body = {'version': 1, 'status': status,
                'challenge': (self.challenge()['challenge']
                              if challenge is None else challenge)}
        body.update(fields)
        self.answer_raw(json.dumps(body).encode() + b'\n')


class ScriptedAgent:
    """A qemu-ga playing a script, by command name.

    Each entry of ``script`` is a list of answers given in turn, the last
    one again and again; an answer is a text, an exception to raise or a
    callable of the request.
    """

    def __init__(self, **script):
        self.script = {name.replace('_', '-'): list(answers)
                       for name, answers in script.items()}
        self.calls = []

    def __call__(self, domain, command, timeout, flags):
        request = json.loads(command)
        self.calls.append((request, timeout, flags))
        answers = self.script.get(request['execute'])
        if not answers:
            raise agent_error(request['execute'], 'The command %s has not '
                              'been found' % request['execute'])
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def names(self):
        return [request['execute'] for request, _, _ in self.calls]
