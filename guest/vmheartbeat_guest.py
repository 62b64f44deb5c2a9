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

Standard library only; copy this file into the guest image. Once per
boot, as root, make the mailbox for the application's user (the
guest's agent runs as root, so only root may own what it opens)::

    python3 vmheartbeat_guest.py init --user myapp

The application then calls :meth:`Mailbox.poll` from its own main loop
(never from a thread of its own that would keep answering while the loop
is stuck), at least once per heartbeat interval::

    import vmheartbeat_guest

    mailbox = vmheartbeat_guest.Mailbox()
    audits = {'db': check_database}      # name -> callable -> (ok, details)
    while running:
        do_some_work()
        mailbox.poll(status='healthy', details='12 workers', audits=audits)

The protocol is in doc/source/user/application-health.rst.
"""

import argparse
import json
import os
import pwd
import stat
import sys

MAILBOX = '/run/vmheartbeat'
STATES = ('starting', 'healthy', 'degraded', 'failed')
#: bytes of UTF-8 kept of the details, and of each audit's
MAX_DETAILS = 1024
#: the monitor's bound on a whole answer, in bytes of UTF-8 (its
#: ``[guest_checks] max_output_bytes``), newline excluded
MAX_ANSWER_BYTES = 4096
_MAX_CHALLENGE = 4096
_OPEN = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class MailboxError(Exception):
    """The mailbox is missing or not laid out safely."""


def cut(text, limit):
    """``text`` as UTF-8 of at most ``limit`` bytes, cut between characters.

    Characters that cannot be encoded (lone surrogates) are replaced.
    """
    data = str(text).encode('utf-8', 'replace')[:limit]
    return data.decode('utf-8', 'ignore')


class Mailbox:
    """The application's side of the mailbox.

    :param path: the mailbox directory: ``$VMHEARTBEAT_MAILBOX``, or
        by default ``/run/vmheartbeat``, where the monitor looks.
    :param max_answer_bytes: the monitor's bound on an answer:
        ``$VMHEARTBEAT_MAX_ANSWER_BYTES``, or by default 4096.
    """

    def __init__(self, path=None, max_answer_bytes=None):
        self.path = path or os.environ.get('VMHEARTBEAT_MAILBOX', MAILBOX)
        self.max_answer_bytes = max_answer_bytes or int(os.environ.get(
            'VMHEARTBEAT_MAX_ANSWER_BYTES', MAX_ANSWER_BYTES))
        self._answered = None

    def init(self, user=None):
        """Make the mailbox, as root, for ``user`` (a name or uid).

        The directory and ``challenge`` belong to root; ``answer`` is a
        regular file owned by ``user`` (root by default). Whatever was
        there is replaced, so that the agent never opens an entry the
        application could have made a symlink, a FIFO or a device.
        """
        if os.geteuid() != 0:
            raise MailboxError('init makes the mailbox for the agent, which '
                               'runs as root: run it as root')
        if user is None:
            uid = gid = 0
        else:
            try:
                entry = (pwd.getpwuid(int(user)) if str(user).isdigit()
                         else pwd.getpwnam(user))
            except (KeyError, ValueError):
                raise MailboxError('no such user %r' % (user,)) from None
            uid, gid = entry.pw_uid, entry.pw_gid
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            info = None
        if info is not None and not stat.S_ISDIR(info.st_mode):
            os.unlink(self.path)
            info = None
        if info is None:
            os.mkdir(self.path, 0o755)
        os.chown(self.path, 0, 0, follow_symlinks=False)
        os.chmod(self.path, 0o755)
        for name in os.listdir(self.path):
            entry = os.path.join(self.path, name)
            if stat.S_ISDIR(os.lstat(entry).st_mode):
                raise MailboxError('%s holds a directory %s: remove it' % (
                    self.path, name))
            os.unlink(entry)
        for name, owner in (('challenge', (0, 0)), ('answer', (uid, gid))):
            fd = os.open(os.path.join(self.path, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN, 0o644)
            try:
                os.fchown(fd, *owner)
                os.fchmod(fd, 0o644)
            finally:
                os.close(fd)

    def check(self):
        """Raise :class:`MailboxError` unless the mailbox is laid out safely.

        The directory must be a real directory owned by root and writable
        by nobody else, and ``answer`` a regular file.
        """
        try:
            info = os.lstat(self.path)
        except OSError as e:
            raise MailboxError('no mailbox %s (%s): run "init" as root at '
                               'boot' % (self.path, e.strerror)) from None
        if (not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or
                info.st_mode & 0o022):
            raise MailboxError('%s must be a directory owned by root, '
                               'writable by root only: run "init" as root '
                               'at boot' % self.path)

    def challenge(self):
        """The pending challenge as a dict, or None when there is none.

        Only one line of JSON ended by a newline is a challenge: anything
        else is a challenge the monitor is still writing.
        """
        try:
            fd = os.open(os.path.join(self.path, 'challenge'),
                         os.O_RDONLY | _OPEN)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = os.read(fd, _MAX_CHALLENGE + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        if not data.endswith(b'\n') or data.count(b'\n') != 1:
            return None
        try:
            challenge = json.loads(data.decode('utf-8'))
        except ValueError:
            return None
        if not isinstance(challenge, dict) or not isinstance(
                challenge.get('challenge'), str):
            return None
        return challenge

    def encode(self, challenge, status='healthy', details='', audits=None,
               recover=False):
        """The answer's line of UTF-8, within the monitor's bound.

        Every text is cut to :data:`MAX_DETAILS` bytes, and cut further,
        the longest first, until the whole answer fits.

        :raises ValueError: for a bad status, or audits too many to fit.
        """
        if status not in STATES:
            raise ValueError('status %r is not one of %s' % (status, STATES))
        limit = MAX_DETAILS
        while True:
            results = {}
            for name, (passed, text) in (audits or {}).items():
                results[str(name)] = {
                    'result': 'pass' if passed else 'fail',
                    'details': cut(text, limit)}
            body = json.dumps({'version': 1,
                               'challenge': challenge['challenge'],
                               'status': status,
                               'details': cut(details, limit),
                               'audits': results, 'recover': bool(recover)},
                              ensure_ascii=False, separators=(',', ':'))
            data = body.encode('utf-8', 'replace')
            if len(data) <= self.max_answer_bytes:
                return data + b'\n'
            if limit == 0:
                raise ValueError('%d audit results do not fit in %d bytes' % (
                    len(results), self.max_answer_bytes))
            limit //= 2

    def answer(self, challenge, status='healthy', details='', audits=None,
               recover=False):
        """Answer one challenge.

        :param challenge: what :meth:`challenge` returned.
        :param status: one of ``STATES``.
        :param details: free text, cut to fit (see :meth:`encode`).
        :param audits: {name: (passed, details)} for the audits the
            challenge asked for.
        :param recover: ask the cloud to recover this instance.
        """
        data = self.encode(challenge, status, details, audits, recover)
        self.check()
        # NOTE: written in place, then cut: the monitor reads the first
        # line, so it sees the old answer, or the new one whole.
        fd = os.open(os.path.join(self.path, 'answer'), os.O_WRONLY | _OPEN)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise MailboxError('%s/answer is not a regular file: run '
                                   '"init" as root' % self.path)
            if os.pwrite(fd, data, 0) != len(data):
                raise MailboxError('short write to %s/answer' % self.path)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)
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


def main(argv=None):
    """``init [--user USER] [--path DIR]``: make the mailbox, as root."""
    parser = argparse.ArgumentParser(
        prog='vmheartbeat_guest.py',
        description='Make the VM heartbeat mailbox (as root, at boot).')
    parser.add_argument('command', choices=['init'])
    parser.add_argument('--user', help="the application's user (root by "
                        "default)")
    parser.add_argument('--path', help='the mailbox (%s by default)' %
                        MAILBOX)
    args = parser.parse_args(argv)
    try:
        Mailbox(args.path).init(args.user)
    except (MailboxError, OSError) as e:
        print('vmheartbeat_guest.py: %s' % e, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
