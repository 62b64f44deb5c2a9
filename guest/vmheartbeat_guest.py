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

"""Answer the VM heartbeat monitor's application heartbeat from a guest.

Standard library only; copy this file into the guest image. An
application calls :meth:`Mailbox.poll` from its own main loop (never from
a thread of its own that would keep answering while the loop is stuck),
at least once per heartbeat interval::

    import vmheartbeat_guest

    mailbox = vmheartbeat_guest.Mailbox()
    mailbox.init()
    audits = {'db': check_database}      # name -> callable -> (ok, details)
    while running:
        do_some_work()
        mailbox.poll(status='healthy', details='12 workers', audits=audits)

The protocol is in doc/source/user/application-health.rst.
"""

import json
import os
import tempfile

MAILBOX = '/run/vmheartbeat'
STATES = ('starting', 'healthy', 'degraded', 'failed')
MAX_DETAILS = 1024
_MAX_CHALLENGE = 4096


class Mailbox:
    """The application's side of the mailbox.

    :param path: the mailbox directory (the monitor uses
        ``/run/vmheartbeat``).
    """

    def __init__(self, path=MAILBOX):
        self.path = path
        self._answered = None

    def init(self):
        """Make the mailbox; the monitor writes challenges into it."""
        os.makedirs(self.path, exist_ok=True)
        os.chmod(self.path, 0o755)

    def challenge(self):
        """The pending challenge as a dict, or None when there is none."""
        try:
            with open(os.path.join(self.path, 'challenge'), 'rb') as f:
                data = f.read(_MAX_CHALLENGE)
            challenge = json.loads(data.decode('utf-8'))
        except (OSError, ValueError):
            return None
        if not isinstance(challenge, dict) or not isinstance(
                challenge.get('challenge'), str):
            return None
        return challenge

    def answer(self, challenge, status='healthy', details='', audits=None,
               recover=False):
        """Answer one challenge.

        :param challenge: what :meth:`challenge` returned.
        :param status: one of ``STATES``.
        :param details: free text, cut to ``MAX_DETAILS`` characters.
        :param audits: {name: (passed, details)} for the audits the
            challenge asked for.
        :param recover: ask the cloud to recover this instance.
        """
        if status not in STATES:
            raise ValueError('status %r is not one of %s' % (status, STATES))
        results = {}
        for name, (passed, text) in (audits or {}).items():
            results[name] = {'result': 'pass' if passed else 'fail',
                             'details': str(text)[:MAX_DETAILS]}
        body = json.dumps({'version': 1,
                           'challenge': challenge['challenge'],
                           'status': status,
                           'details': str(details)[:MAX_DETAILS],
                           'audits': results, 'recover': bool(recover)})
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix='.answer.')
        try:
            with os.fdopen(fd, 'w') as f:
                f.write(body + '\n')
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(self.path, 'answer'))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self._answered = challenge['challenge']

    def poll(self, status='healthy', details='', audits=None, recover=False):
        """Answer the pending challenge once, running the audits it asks for.

        :param audits: {name: callable returning (passed, details)}; an
            audit asked for but not given here, or that raises, fails.
        :returns: True when a new challenge was answered.
        """
        challenge = self.challenge()
        if challenge is None or challenge['challenge'] == self._answered:
            return False
        results = {}
        for name in challenge.get('audits') or ():
            func = (audits or {}).get(name)
            if func is None:
                results[name] = (False, 'no such audit in the application')
                continue
            try:
                results[name] = func()
            except Exception as e:
                results[name] = (False, 'audit raised %s: %s' % (
                    type(e).__name__, e))
        self.answer(challenge, status, details, results, recover)
        return True
