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

"""The shipped guest helpers, run as an application runs them.

Each helper answers challenges that the monitor's own probe writes into a
real directory (the agent's ``guest-file-*`` commands served from it),
and the probe reads and judges each answer with its own parser.
"""

import base64
import importlib.util
import json
import os
import pwd
import shutil
import stat
import subprocess

import fixtures

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.probing.probes import app_mailbox
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base as test_base
from tests.unit import fake_libvirt

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SHELL_HELPER = os.path.join(TOP, 'guest', 'vmheartbeat-guest')
GUIDE = os.path.join(TOP, 'doc', 'source', 'user', 'application-health.rst')
A = '11111111-1111-1111-1111-111111111111'
GREEK = 'Ελληνικά κείμενα '
MIXED = 'aé€😀'
HOSTILE = 'line\nforged ERROR\x1b[2J\r\x7f\u2028end'


def load_python_helper():
    spec = importlib.util.spec_from_file_location(
        'vmheartbeat_guest', os.path.join(TOP, 'guest',
                                          'vmheartbeat_guest.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


guest_helper = load_python_helper()


def shells():
    """The shells to run the shell helper with.

    Busybox's, as in a tiny guest, and the system's POSIX sh.
    """
    found = []
    busybox = shutil.which('busybox')
    if busybox:
        found.append([busybox, 'sh'])
    found.append(['/bin/sh'])
    return found


class DirGuest:
    """qemu-ga's guest-file-* commands, served from a real directory.

    Paths under the guest's mailbox are mapped to ``root``; the agent
    follows symlinks and opens as qemu-ga does ("w" truncates or
    creates, "r" reads).
    """

    def __init__(self, root):
        self.root = root
        self.handles = {}
        self.next_handle = 1

    def path(self, path):
        self.assert_mailbox(path)
        return os.path.join(self.root, os.path.basename(path))

    @staticmethod
    def assert_mailbox(path):
        if os.path.dirname(path) != app_mailbox.MAILBOX:
            raise AssertionError('the probe opened %s' % path)

    def __call__(self, domain, command, timeout, flags):
        request = json.loads(command)
        arguments = request.get('arguments', {})
        name = request['execute']
        if name == 'guest-file-open':
            flags = {'r': os.O_RDONLY,
                     'w': os.O_WRONLY | os.O_CREAT | os.O_TRUNC}
            try:
                fd = os.open(self.path(arguments['path']),
                             flags[arguments['mode']], 0o644)
            except OSError as e:
                raise fake_libvirt.agent_error(
                    name, "failed to open file '%s' (mode: '%s'): %s" % (
                        arguments['path'], arguments['mode'], e.strerror))
            handle = self.next_handle
            self.next_handle += 1
            self.handles[handle] = fd
            result = handle
        elif name == 'guest-file-read':
            data = os.read(self.handles[arguments['handle']],
                           arguments['count'])
            result = {'count': len(data), 'eof': True,
                      'buf-b64': base64.b64encode(data).decode()}
        elif name == 'guest-file-write':
            data = base64.b64decode(arguments['buf-b64'])
            os.write(self.handles[arguments['handle']], data)
            result = {'count': len(data), 'eof': False}
        elif name == 'guest-file-close':
            os.close(self.handles.pop(arguments['handle']))
            result = {}
        else:
            raise AssertionError('unexpected command %s' % name)
        return json.dumps({'return': result})


class HelperTestBase(test_base.TestCase):
    """A mailbox made by root, the probe, and a way to answer."""

    audits = ()

    def setUp(self):
        super().setUp()
        self.mailbox = self.useFixture(fixtures.TempDir()).path
        os.chmod(self.mailbox, 0o755)
        if os.geteuid() == 0:
            guest_helper.Mailbox(self.mailbox).init()
        else:
            # as init makes it, but owned by whoever runs the tests
            self.skipTest('the mailbox must be owned by root')
        self.clock = test_base.FakeClock(1000.0)
        self.probe = app_mailbox.AppMailboxProbe(max_answer_bytes=4096,
                                                 clock=self.clock)
        self.check = checks.CheckSettings(checks.APP, 1.0, 0.5, 3,
                                          audits=self.audits)
        self.domain = fake_libvirt.virDomain(A)
        self.memo = {}
        self.guest = DirGuest(self.mailbox)
        self.useFixture(fixtures.MockPatchObject(
            app_mailbox.libvirt_qemu, 'qemuAgentCommand', self.guest))

    def tearDown(self):
        self.assertEqual({}, self.guest.handles)
        super().tearDown()

    def challenge(self):
        """The probe writes a challenge; returns its nonce."""
        result = self.probe.probe(self.domain, 0.5, check=self.check,
                                  memo=self.memo)
        self.assertIs(base.Outcome.PENDING, result.outcome, result.detail)
        return self.memo['sent'].nonce

    def judged(self):
        """The probe reads the answer when due; returns its result."""
        self.clock.advance(self.check.timeout)
        return self.probe.probe(self.domain, 0.5, check=self.check,
                                memo=self.memo)

    def answer_bytes(self):
        with open(os.path.join(self.mailbox, 'answer'), 'rb') as f:
            return f.read()

    def shell(self, shell, *args, env=None):
        return subprocess.run(
            shell + [SHELL_HELPER] + list(args), capture_output=True,
            env=dict(os.environ, VMHEARTBEAT_MAILBOX=self.mailbox,
                     **(env or {})), timeout=60)

    def assert_kept(self, sent, kept, limit):
        """``kept`` is the start of ``sent`` made safe, within ``limit``."""
        self.assertLessEqual(len(kept.encode('utf-8')), limit)
        self.assertTrue(kept.isprintable(), kept)
        safe = ''.join(c for c in sent if c.isprintable())
        self.assertTrue(safe.startswith(kept), (sent[:40], kept[:40]))


class AnswerTestMixin:
    """What both helpers must do; ``answer(**fields)`` answers once."""

    audits = (('db', 10.0), ('disk', 10.0))

    def answered(self, **fields):
        self.challenge()
        self.answer(**fields)
        answer = self.answer_bytes()
        line = answer.partition(b'\n')[0]
        self.assertLessEqual(len(line), 4096)
        line.decode('utf-8')
        return self.judged()

    def test_plain_answer(self):
        result = self.answered(details='12 workers',
                               audits={'db': (True, 'lag 0.2 s'),
                                       'disk': (True, '')})
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertEqual('healthy', result.status)
        self.assertEqual('12 workers', result.details)

    def test_non_ascii_details_are_plain_utf8(self):
        details = GREEK * 60
        result = self.answered(details=details,
                               audits={'db': (True, ''), 'disk': (True, '')})
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertNotIn(b'\\u', self.answer_bytes())
        self.assert_kept(details, result.details, 1024)
        self.assertGreater(len(result.details), 400)

    def test_oversized_details_and_audits_fit_the_bound(self):
        for passed in (True, False):
            self.memo.clear()
            result = self.answered(
                details=MIXED * 3000, status='degraded',
                audits={'db': (passed, GREEK * 300),
                        'disk': (True, MIXED * 3000)})
            self.assertLessEqual(len(self.answer_bytes()), 4097)
            if passed:
                self.assertIs(base.Outcome.ANSWERED, result.outcome,
                              result.detail)
            else:
                # a failed audit is reported as one, never as a miss
                self.assertIs(base.Outcome.FAILED, result.outcome,
                              result.detail)
                self.assertEqual(verdicts.CLASS_AUDIT, result.failure_class)
            self.assertEqual('degraded', result.status)
            self.assert_kept(MIXED * 3000, result.details, 1024)

    def test_hostile_text_is_kept_printable(self):
        result = self.answered(details=HOSTILE,
                               audits={'db': (False, HOSTILE),
                                       'disk': (True, HOSTILE)})
        self.assertIs(base.Outcome.FAILED, result.outcome, result.detail)
        self.assertTrue(result.details.isprintable(), result.details)
        self.assertIn('forged ERROR', result.details)
        self.assertNotIn('\n', result.detail)

    def test_a_shorter_answer_over_a_longer_one(self):
        self.answered(details=GREEK * 60,
                      audits={'db': (True, ''), 'disk': (True, '')})
        result = self.answered(details='short',
                               audits={'db': (True, ''), 'disk': (True, '')})
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertEqual('short', result.details)

    def test_an_unfinished_challenge_is_no_challenge(self):
        self.challenge()
        path = os.path.join(self.mailbox, 'challenge')
        with open(path, 'rb') as f:
            whole = f.read()
        for partial in (b'', whole[:-1], whole[:20]):
            with open(path, 'wb') as f:
                f.write(partial)
            self.assertIsNone(self.pending(), partial)
        with open(path, 'wb') as f:
            f.write(whole)
        self.assertEqual(self.memo['sent'].nonce, self.pending())


class PythonHelperTestCase(AnswerTestMixin, HelperTestBase):

    def answer(self, status='healthy', details='', audits=None):
        box = guest_helper.Mailbox(self.mailbox)
        self.assertTrue(box.poll(status=status, details=details, audits={
            name: (lambda r=result: r) for name, result in
            (audits or {}).items()}))

    def pending(self):
        challenge = guest_helper.Mailbox(self.mailbox).challenge()
        return None if challenge is None else challenge['challenge']

    def test_poll_answers_each_challenge_once(self):
        box = guest_helper.Mailbox(self.mailbox)
        self.challenge()
        self.assertTrue(box.poll(audits={'db': lambda: (True, ''),
                                         'disk': lambda: (True, '')}))
        self.assertFalse(box.poll())
        self.assertIs(base.Outcome.ANSWERED, self.judged().outcome)

    def test_audits_that_cannot_fit_are_refused(self):
        box = guest_helper.Mailbox(self.mailbox, max_answer_bytes=200)
        self.assertRaises(ValueError, box.encode, {'challenge': 'ab'},
                          audits={'a%d' % i: (True, 'x') for i in range(30)})


class ShellHelperTestCase(AnswerTestMixin, HelperTestBase):

    def answer(self, status='healthy', details='', audits=None, args=()):
        for shell in shells():
            args = ['answer', '--challenge', self.memo['sent'].nonce,
                    '--status', status, '--details', details]
            for name, (passed, text) in (audits or {}).items():
                args += ['--audit', '%s=%s:%s' % (
                    name, 'pass' if passed else 'fail', text)]
            done = self.shell(shell, *args)
            self.assertEqual(0, done.returncode, done.stderr)

    def pending(self):
        ids = set()
        for shell in shells():
            done = self.shell(shell, 'challenge')
            ids.add(done.stdout.decode().split(' ')[0].strip() or None)
        self.assertEqual(1, len(ids), ids)
        return ids.pop()

    def test_invalid_utf8_bytes_are_dropped(self):
        self.challenge()
        for shell in shells():
            done = subprocess.run(
                shell + [SHELL_HELPER, 'answer', '--details',
                         b'ok \xff\xfe caf\xc3\xa9 \xe2\x82 end', '--audit',
                         b'db=pass:\xc3', '--audit', 'disk=pass'],
                capture_output=True, timeout=60,
                env=dict(os.environ, VMHEARTBEAT_MAILBOX=self.mailbox))
            self.assertEqual(0, done.returncode, done.stderr)
        result = self.judged()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertEqual('ok  café  end', result.details)

    def test_audits_prints_one_a_line(self):
        self.challenge()
        for shell in shells():
            done = self.shell(shell, 'audits')
            self.assertEqual(0, done.returncode, done.stderr)
            self.assertEqual(b'db\ndisk\n', done.stdout)

    def test_audit_names_are_checked(self):
        self.challenge()
        for shell in shells():
            done = self.shell(shell, 'answer', '--audit', 'a"b=pass')
            self.assertEqual(2, done.returncode)
            self.assertIn(b'is not an audit', done.stderr)


class MailboxLayoutTestCase(HelperTestBase):
    """Root only opens what nobody but root can replace."""

    def setUp(self):
        super().setUp()
        self.user = pwd.getpwnam('nobody')

    def assert_layout(self, uid):
        info = os.lstat(self.mailbox)
        self.assertTrue(stat.S_ISDIR(info.st_mode))
        self.assertEqual((0, 0o755), (info.st_uid, info.st_mode & 0o7777))
        self.assertEqual(['answer', 'challenge'],
                         sorted(os.listdir(self.mailbox)))
        for name, owner in (('challenge', 0), ('answer', uid)):
            info = os.lstat(os.path.join(self.mailbox, name))
            self.assertTrue(stat.S_ISREG(info.st_mode), name)
            self.assertEqual((owner, 0o644),
                             (info.st_uid, info.st_mode & 0o7777), name)

    def plant(self):
        """What an application's user left in a mailbox it owned."""
        os.chown(self.mailbox, self.user.pw_uid, self.user.pw_gid)
        for name in ('challenge', 'answer'):
            os.unlink(os.path.join(self.mailbox, name))
        victim = os.path.join(self.useFixture(fixtures.TempDir()).path,
                              'shadow')
        with open(victim, 'w') as f:
            f.write('secret')
        os.symlink(victim, os.path.join(self.mailbox, 'challenge'))
        os.mkfifo(os.path.join(self.mailbox, 'answer'))
        open(os.path.join(self.mailbox, '.answer.x'), 'w').close()
        return victim

    def test_python_init(self):
        victim = self.plant()
        guest_helper.Mailbox(self.mailbox).init(user='nobody')
        self.assert_layout(self.user.pw_uid)
        with open(victim) as f:
            self.assertEqual('secret', f.read())

    def test_shell_init(self):
        for shell in shells():
            victim = self.plant()
            done = self.shell(shell, 'init', '--user', 'nobody')
            self.assertEqual(0, done.returncode, done.stderr)
            self.assert_layout(self.user.pw_uid)
            with open(victim) as f:
                self.assertEqual('secret', f.read())

    def test_init_refuses_an_unknown_user(self):
        self.assertRaises(guest_helper.MailboxError,
                          guest_helper.Mailbox(self.mailbox).init,
                          user='no-such-user-here')
        for shell in shells():
            done = self.shell(shell, 'init', '--user', 'no-such-user-here')
            self.assertEqual(2, done.returncode)
            self.assertIn(b'no such user', done.stderr)

    def test_helpers_refuse_a_mailbox_root_does_not_own(self):
        self.challenge()
        for owner, mode in ((self.user.pw_uid, 0o755), (0, 0o775),
                            (0, 0o757)):
            os.chown(self.mailbox, owner, 0)
            os.chmod(self.mailbox, mode)
            self.assertRaises(guest_helper.MailboxError,
                              guest_helper.Mailbox(self.mailbox).poll)
            for shell in shells():
                done = self.shell(shell, 'answer')
                self.assertEqual(2, done.returncode)
                self.assertIn(b'must be owned by root', done.stderr)
        os.chown(self.mailbox, 0, 0)
        os.chmod(self.mailbox, 0o755)


class GuideExamplesTestCase(HelperTestBase):
    """The user guide's examples, run as written."""

    audits = (('db', 10.0), ('disk', 10.0))

    def example(self, intro):
        """The literal block after the paragraph that ends with ``intro``."""
        with open(GUIDE, encoding='utf-8') as f:
            text = f.read()
        start = text.index(intro + '::\n\n') + len(intro) + 3
        lines = []
        for line in text[start:].splitlines():
            if line and not line.startswith('    '):
                break
            lines.append(line[4:])
        return '\n'.join(lines).strip() + '\n'

    def wait_for_answer(self, process):
        # the application answers within the check's timeout; give it
        # far longer, and stop as soon as the answer is there
        nonce = self.memo['sent'].nonce.encode()
        for _ in range(600):
            if nonce in self.answer_bytes().partition(b'\n')[0]:
                return
            if process.poll() is not None:
                self.fail('the example exited: %s' % (
                    process.communicate(),))
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        self.fail('no answer within a minute')

    def run_example(self, argv, env):
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        results = []
        for _ in range(2):
            self.challenge()
            self.wait_for_answer(process)
            results.append(self.judged())
        return results

    def test_shell_example(self):
        bin_dir = self.useFixture(fixtures.TempDir()).path
        os.symlink(SHELL_HELPER, os.path.join(bin_dir, 'vmheartbeat-guest'))
        script = ('do_some_work() { sleep 0.05; }\n'
                  'check_db() { true; }\n'
                  'check_disk() { false; }\n' +
                  self.example('A shell application'))
        for shell in shells():
            self.memo.clear()
            results = self.run_example(
                shell + ['-c', script],
                dict(os.environ, VMHEARTBEAT_MAILBOX=self.mailbox,
                     PATH=bin_dir + os.pathsep + os.environ['PATH']))
            for result in results:
                self.assertIs(base.Outcome.FAILED, result.outcome,
                              result.detail)
                self.assertIn('audit failed: disk (see the log)',
                              result.detail)

    def test_python_example(self):
        script = (
            'import sys, time\n'
            'sys.path.insert(0, %r)\n'
            'import vmheartbeat_guest\n'
            'class db:\n'
            '    ping = staticmethod(lambda: True)\n'
            '    lag = staticmethod(lambda: 0.25)\n'
            'running = True\n'
            'def do_some_work():\n'
            '    time.sleep(0.05)\n' % os.path.join(TOP, 'guest') +
            self.example('``vmheartbeat_guest.py`` (Python 3, standard '
                         'library only)'))
        self.check = checks.CheckSettings(checks.APP, 1.0, 0.5, 3,
                                          audits=(('db', 10.0),))
        results = self.run_example(
            ['python3', '-c', script],
            dict(os.environ, VMHEARTBEAT_MAILBOX=self.mailbox))
        for result in results:
            self.assertIs(base.Outcome.ANSWERED, result.outcome,
                          result.detail)
            self.assertEqual('12 workers', result.details)
