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

import json

import fixtures

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.probing.probes import app_mailbox
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base as test_base
from tests.unit import fake_libvirt
from tests.unit.vmheartbeat.probing.probes import fake_agent

A = '11111111-1111-1111-1111-111111111111'
FORGED = '\n2026-01-01 00:00:00.000 1 ERROR forged\x1b[2J\u2028\r'


agent_error = fake_libvirt.agent_error


frozen_error = fake_agent.frozen_error
blocked_error = fake_agent.blocked_error
FakeGuest = fake_agent.FakeGuest


class AppMailboxProbeTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = test_base.FakeClock(1000.0)
        self.probe = app_mailbox.AppMailboxProbe(max_answer_bytes=4096,
                                                 clock=self.clock)
        self.domain = fake_libvirt.virDomain(A)
        self.check = checks.CheckSettings(checks.APP, 1.0, 0.5, 3)
        self.memo = {}
        self.guest = FakeGuest()
        self.useFixture(fixtures.MockPatchObject(
            app_mailbox.libvirt_qemu, 'qemuAgentCommand', self.guest))

    def tearDown(self):
        # whatever happened, no handle is left open in the guest
        self.assertEqual({}, self.guest.handles)
        self.assertEqual(self.guest.opens, self.guest.closes)
        super().tearDown()

    def run_probe(self, advance=1.0):
        self.clock.advance(advance)
        return self.probe.probe(self.domain, 0.5, check=self.check,
                                memo=self.memo)

    def write_run(self, advance=1.0):
        """A run that writes a new challenge; returns the challenge."""
        calls = len(self.guest.calls)
        result = self.run_probe(advance)
        self.assertIs(base.Outcome.PENDING, result.outcome, result.detail)
        self.assertEqual(self.check.timeout, result.retry_after)
        self.assertEqual(['guest-file-open', 'guest-file-write',
                          'guest-file-close'], self.guest.names()[calls:])
        return self.guest.challenge()

    def first_run(self):
        return self.write_run(0.0)

    def read_run(self):
        """The run when the answer is due (the scheduler's follow-up)."""
        return self.run_probe(self.check.timeout)

    def answered(self, **fields):
        """A challenge, the application's answer, then the read run."""
        self.first_run()
        self.guest.answer(**fields)
        return self.read_run()

    def asked_again(self):
        """The audits of the next challenge."""
        return self.write_run()['audits']

    # The protocol's timing

    def test_first_run_writes_a_challenge(self):
        result = self.run_probe(0.0)
        self.assertIs(base.Outcome.PENDING, result.outcome)
        self.assertFalse(result.missed)
        self.assertFalse(result.answered)
        self.assertEqual('challenge written; its answer is read in 0.5s',
                         result.detail)
        self.assertEqual(0.5, result.retry_after)
        self.assertEqual(1000.0, result.started)
        raw = self.guest.files[app_mailbox.CHALLENGE]
        self.assertTrue(raw.endswith(b'\n'))
        self.assertEqual(1, raw.count(b'\n'))
        challenge = json.loads(raw.decode())
        self.assertEqual({'version', 'challenge', 'sequence', 'audits'},
                         set(challenge))
        self.assertEqual(1, challenge['version'])
        self.assertEqual(1, challenge['sequence'])
        self.assertEqual([], challenge['audits'])
        self.assertRegex(challenge['challenge'], '^[0-9a-f]{32}$')
        sent = self.memo['sent']
        self.assertEqual(challenge['challenge'], sent.nonce)
        self.assertEqual(1000.0, sent.at)
        self.assertFalse(sent.read)
        self.assertEqual(['guest-file-open', 'guest-file-write',
                          'guest-file-close'], self.guest.names())
        self.assertEqual({'path': '/run/vmheartbeat/challenge', 'mode': 'w'},
                         self.guest.calls[0][1])
        self.assertEqual([1] * 3, [t for _, _, t in self.guest.calls])
        self.assertNotIn(app_mailbox.ANSWER, self.guest.files)

    def test_write_run_is_pending_for_the_check_timeout_reads_nothing(self):
        # the check's timeout, not the agent call's, sets when to read
        self.check = checks.CheckSettings(checks.APP, 10.0, 2.5, 3)
        self.answered()
        # an answer waits in the mailbox: the write run does not read it
        self.assertIn(app_mailbox.ANSWER, self.guest.files)
        del self.guest.calls[:]
        result = self.run_probe(10.0)
        self.assertIs(base.Outcome.PENDING, result.outcome)
        self.assertFalse(result.missed)
        self.assertEqual(2.5, result.retry_after)
        self.assertEqual('challenge written; its answer is read in 2.5s',
                         result.detail)
        self.assertEqual(['guest-file-open', 'guest-file-write',
                          'guest-file-close'], self.guest.names())
        self.assertNotIn('guest-file-read', self.guest.names())
        self.assertEqual([app_mailbox.CHALLENGE], [
            a['path'] for n, a, _ in self.guest.calls
            if n == 'guest-file-open'])
        self.assertEqual(2, self.guest.challenge()['sequence'])
        self.assertFalse(self.memo['sent'].read)

    def test_read_run_makes_no_write(self):
        first = self.first_run()
        self.guest.answer()
        challenge = self.guest.files[app_mailbox.CHALLENGE]
        sent = self.memo['sent']
        del self.guest.calls[:]
        result = self.read_run()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertIsNone(result.retry_after)
        self.assertEqual(['guest-file-open', 'guest-file-read',
                          'guest-file-close'], self.guest.names())
        self.assertEqual({'path': '/run/vmheartbeat/answer', 'mode': 'r'},
                         self.guest.calls[0][1])
        # the challenge is the same, now read
        self.assertEqual(challenge, self.guest.files[app_mailbox.CHALLENGE])
        self.assertEqual(1, first['sequence'])
        self.assertEqual(1, self.memo['sequence'])
        self.assertEqual(sent._replace(read=True), self.memo['sent'])

    def test_right_answer(self):
        first = self.first_run()
        self.guest.answer(details='12 workers')
        del self.guest.calls[:]
        result = self.read_run()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertTrue(result.answered)
        self.assertFalse(result.missed)
        self.assertEqual('', result.detail)
        self.assertEqual('healthy', result.status)
        self.assertEqual('12 workers', result.details)
        self.assertFalse(result.recover)
        self.assertIsNone(result.failure_class)
        self.assertIsNone(result.retry_after)
        self.assertEqual(1000.5, result.started)
        # only the answer is read
        self.assertEqual(['guest-file-open', 'guest-file-read',
                          'guest-file-close'], self.guest.names())
        self.assertEqual(4097, self.guest.calls[1][1]['count'])
        self.assertEqual([1] * 3, [t for _, _, t in self.guest.calls])
        # the next run writes the next challenge
        second = self.write_run()
        self.assertEqual(2, second['sequence'])
        self.assertNotEqual(first['challenge'], second['challenge'])

    def test_every_challenge_is_new(self):
        nonces = set()
        for _ in range(5):
            nonces.add(self.write_run()['challenge'])
            self.guest.answer()
            self.assertIs(base.Outcome.ANSWERED, self.read_run().outcome)
        self.assertEqual(5, len(nonces))
        self.assertEqual(5, self.guest.challenge()['sequence'])

    def test_answer_is_read_when_due(self):
        for _ in range(5):
            self.write_run()
            self.guest.answer()
            result = self.read_run()
            self.assertIs(base.Outcome.ANSWERED, result.outcome)
            self.assertTrue(self.memo['sent'].read)

    def test_run_before_the_timeout_is_pending_without_an_agent_call(self):
        first = self.first_run()
        self.guest.answer()
        calls = len(self.guest.calls)
        for advance, left in ((0.2, 0.3), (0.29, 0.01)):
            result = self.run_probe(advance)
            self.assertIs(base.Outcome.PENDING, result.outcome)
            self.assertFalse(result.missed)
            self.assertIn('its answer is due 0.5s after it', result.detail)
            self.assertAlmostEqual(left, result.retry_after)
            self.assertEqual(calls, len(self.guest.calls))
            self.assertEqual(first, self.guest.challenge())
            self.assertFalse(self.memo['sent'].read)
        result = self.run_probe(0.01)
        self.assertIs(base.Outcome.ANSWERED, result.outcome)

    def test_an_answer_is_never_judged_twice(self):
        self.assertIs(base.Outcome.ANSWERED, self.answered().outcome)
        # the next run, however soon or late, writes a new challenge: it
        # does not read the answer again
        second = self.write_run(0.0)
        self.assertEqual(2, second['sequence'])
        # the application hangs: its old answer is not taken again
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        third = self.write_run(100.0)
        self.assertEqual(3, third['sequence'])
        # a run before the third answer is due does not read either
        calls = len(self.guest.calls)
        self.assertIs(base.Outcome.PENDING, self.run_probe(0.1).outcome)
        self.assertEqual(calls, len(self.guest.calls))

    # What the answer says

    def test_stale_answer(self):
        self.answered()
        self.write_run()
        # the application hangs: its answer to the first challenge stays
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertTrue(result.missed)
        self.assertEqual('stale answer: it echoes an earlier challenge',
                         result.detail)
        self.assertTrue(self.memo['sent'].read)

    def test_stale_answer_three_challenges_back(self):
        nonces = []
        for _ in range(3):
            nonces.append(self.write_run()['challenge'])
            self.guest.answer()
            self.assertIs(base.Outcome.ANSWERED, self.read_run().outcome)
        self.write_run()
        # an answer to the challenge three before this one
        self.guest.answer(challenge=nonces[0])
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertTrue(result.missed)
        self.assertEqual('stale answer: it echoes an earlier challenge',
                         result.detail)

    def test_stale_answers_are_told_among_the_last_eight(self):
        nonces = []
        for _ in range(9):
            nonces.append(self.write_run()['challenge'])
            self.guest.answer()
            self.read_run()
        self.write_run()
        # eight challenges back: still known
        self.guest.answer(challenge=nonces[1])
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('stale answer', result.detail)
        # nine back: forgotten, a plain wrong echo
        self.write_run()
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertNotIn('stale', result.detail)
        self.assertIn('does not echo the challenge', result.detail)

    def test_wrong_echo(self):
        self.first_run()
        self.guest.answer(challenge='0' * 32)
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertTrue(result.missed)
        self.assertIn('does not echo the challenge %s' %
                      self.memo['sent'].nonce, result.detail)
        self.assertIn('"%s"' % ('0' * 32), result.detail)
        self.assertNotIn('stale', result.detail)

    def test_no_echo(self):
        self.first_run()
        self.guest.answer_raw(b'{"version": 1, "status": "healthy"}\n')
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('answer null does not echo', result.detail)

    def test_application_reports_failed(self):
        result = self.answered(status='failed', details='db down')
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertTrue(result.missed)
        self.assertEqual(verdicts.CLASS_APP_FAILED, result.failure_class)
        self.assertEqual('failed', result.status)
        self.assertEqual('db down', result.details)
        self.assertIn('reports failed', result.detail)

    def test_degraded(self):
        result = self.answered(status='degraded', details='1 of 2 up')
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual('degraded', result.status)
        self.assertEqual('1 of 2 up', result.details)
        self.assertIsNone(result.failure_class)

    def test_starting(self):
        result = self.answered(status='starting')
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual('starting', result.status)
        self.assertEqual('', result.details)

    def test_unknown_status(self):
        for status in ('ok', None, ['healthy'], {'a': 1}, 1):
            self.memo.clear()
            result = self.answered(status=status)
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome, status)
            self.assertIn('unknown status', result.detail)

    def test_recover_is_carried(self):
        for status, outcome in (('degraded', base.Outcome.ANSWERED),
                                ('failed', base.Outcome.FAILED)):
            self.memo.clear()
            result = self.answered(status=status, recover=True)
            self.assertIs(outcome, result.outcome)
            self.assertTrue(result.recover)

    def test_recover_must_be_true_itself(self):
        for value in ('true', 1, 'yes', [True]):
            self.memo.clear()
            result = self.answered(status='failed', recover=value)
            self.assertFalse(result.recover, value)

    def test_details_not_text(self):
        result = self.answered(details={'workers': 12})
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual('{"workers": 12}', result.details)

    # Audits

    def test_audits_are_asked_for_per_their_period(self):
        self.check = checks.CheckSettings(
            checks.APP, 1.0, 0.5, 3, audits=(('db', 10.0), ('disk', 3.0)))
        asked = []
        for _ in range(11):
            # a challenge every second, its answer read half a second on
            challenge = self.write_run(0.5)
            asked.append(challenge['audits'])
            self.guest.answer(audits={name: {'result': 'pass'}
                                      for name in challenge['audits']})
            result = self.read_run()
            self.assertIs(base.Outcome.ANSWERED, result.outcome,
                          result.detail)
        # at 1000.5 both, then disk every 3s, db every 10s
        self.assertEqual([['db', 'disk'], [], [], ['disk'], [], [],
                          ['disk'], [], [], ['disk'], ['db']], asked)

    def test_audit_passed(self):
        self.check = checks.CheckSettings(checks.APP, 1.0, 0.5, 3,
                                          audits=(('db', 10.0),))
        self.assertEqual(['db'], self.first_run()['audits'])
        self.guest.answer(audits={'db': {'result': 'pass', 'details': 'ok'}})
        result = self.read_run()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertIsNone(result.failure_class)
        # not asked again within its period, and not needed in the answer
        self.assertEqual([], self.asked_again())
        self.guest.answer()
        self.assertIs(base.Outcome.ANSWERED, self.read_run().outcome)

    def test_audit_failed(self):
        self.check = checks.CheckSettings(
            checks.APP, 1.0, 0.5, 3, audits=(('db', 10.0), ('disk', 10.0)))
        self.first_run()
        self.guest.answer(details='12 workers', audits={
            'db': {'result': 'pass'},
            'disk': {'result': 'fail', 'details': '92% full'}})
        result = self.read_run()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertTrue(result.missed)
        self.assertEqual(verdicts.CLASS_AUDIT, result.failure_class)
        self.assertEqual('audit failed: disk (92% full)', result.detail)
        self.assertEqual('healthy', result.status)
        self.assertEqual('12 workers', result.details)
        # the failed audit is asked for again at the next challenge, until
        # it passes; the passed one waits for its period
        self.assertEqual(['disk'], self.asked_again())
        self.guest.answer(audits={'disk': {'result': 'fail'}})
        self.assertIs(base.Outcome.FAILED, self.read_run().outcome)
        self.assertEqual(['disk'], self.asked_again())
        self.guest.answer(audits={'disk': {'result': 'pass'}})
        self.assertIs(base.Outcome.ANSWERED, self.read_run().outcome)
        self.assertEqual([], self.asked_again())

    def test_missing_audit_result(self):
        self.check = checks.CheckSettings(
            checks.APP, 1.0, 0.5, 3, audits=(('db', 10.0), ('disk', 10.0)))
        for audits, missing in (
                ({'db': {'result': 'pass'}}, 'disk'),
                ({'db': {'result': 'pass'}, 'disk': {}}, 'disk'),
                ({'db': {'result': 'pass'}, 'disk': {'result': 'ok'}},
                 'disk'),
                ({'db': {'result': 'pass'}, 'disk': 'pass'}, 'disk'),
                (['db', 'disk'], 'db, disk'),
                (None, 'db, disk')):
            self.memo.clear()
            result = self.answered(audits=audits)
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome, audits)
            self.assertTrue(result.missed)
            self.assertEqual('no result for the requested audit %s' %
                             missing, result.detail)
            # asked for again at the next challenge
            asked = self.asked_again()
            for name in missing.split(', '):
                self.assertIn(name, asked, audits)
            self.guest.answer(audits={'db': {'result': 'pass'},
                                      'disk': {'result': 'pass'}})
            self.assertIs(base.Outcome.ANSWERED, self.read_run().outcome)

    # Every requested audit is judged, not only the first without a
    # result: each one missing or failed is asked for again at the next
    # challenge, not only once its period is over (here 10s).

    def answered_without_db(self, audits):
        self.check = checks.CheckSettings(
            checks.APP, 1.0, 0.5, 3, audits=(('db', 10.0), ('disk', 10.0)))
        result = self.answered(audits=audits)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertTrue(result.detail.startswith(
            'no result for the requested audit db'), result.detail)

    def test_every_audit_without_a_result_is_asked_again(self):
        self.answered_without_db(None)
        self.assertEqual(['db', 'disk'], self.asked_again())

    def test_failed_audit_after_a_missing_one_is_asked_again(self):
        self.answered_without_db({'disk': {'result': 'fail',
                                           'details': '92% full'}})
        self.assertEqual(['db', 'disk'], self.asked_again())

    def test_audit_not_asked_for_is_not_judged(self):
        self.check = checks.CheckSettings(checks.APP, 1.0, 0.5, 3,
                                          audits=(('db', 10.0),))
        self.answered(audits={'db': {'result': 'pass'}})
        self.assertEqual([], self.asked_again())
        self.guest.answer(audits={'db': {'result': 'fail'}})
        self.assertIs(base.Outcome.ANSWERED, self.read_run().outcome)

    # No application, agent errors

    def test_no_mailbox_is_not_connected(self):
        self.guest.dirs.clear()
        for _ in range(3):
            result = self.run_probe()
            self.assertIs(base.Outcome.NOT_CONNECTED, result.outcome)
            self.assertTrue(result.missed)
            self.assertIsNone(result.retry_after)
            self.assertIn('no application answers', result.detail)
            self.assertIn('No such file or directory', result.detail)
            self.assertIn("'/run/vmheartbeat/challenge'", result.detail)
            self.assertNotIn('sent', self.memo)
        self.assertEqual(['guest-file-open'] * 3, self.guest.names())
        # the application makes its mailbox: the next run writes
        self.guest.dirs.add(app_mailbox.MAILBOX)
        self.assertEqual(1, self.write_run()['sequence'])

    def test_no_answer_file_is_not_connected(self):
        first = self.first_run()
        result = self.read_run()
        self.assertIs(base.Outcome.NOT_CONNECTED, result.outcome)
        self.assertTrue(result.missed)
        self.assertIn('no application answers', result.detail)
        self.assertIn("'/run/vmheartbeat/answer'", result.detail)
        self.assertEqual(['guest-file-open', 'guest-file-write',
                          'guest-file-close', 'guest-file-open'],
                         self.guest.names())
        # the challenge counts as read: the next run writes the next one
        self.assertTrue(self.memo['sent'].read)
        self.assertEqual(first['sequence'] + 1, self.write_run()['sequence'])

    def test_write_failure_after_a_read(self):
        self.first_run()
        self.guest.answer(status='degraded')
        self.guest.fail['guest-file-write'] = agent_error(
            'guest-file-write', 'No space left on device')
        result = self.read_run()
        # the read run writes nothing: its verdict is the answer's
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual('degraded', result.status)
        # the next run fails to write: no challenge is pending, and the
        # answer already judged is not read again
        result = self.run_probe()
        self.assertIs(base.Outcome.AGENT_ERROR, result.outcome)
        self.assertTrue(result.missed)
        self.assertIsNone(result.retry_after)
        self.assertIn('No space left on device', result.detail)
        self.assertTrue(self.memo['sent'].read)
        self.assertEqual(1, self.memo['sequence'])
        self.assertEqual(1, self.guest.names().count('guest-file-read'))
        # the disk has room again: a new challenge
        del self.guest.fail['guest-file-write']
        self.assertEqual(2, self.write_run()['sequence'])

    def test_write_errors_are_classified(self):
        for error, outcome in (
                (frozen_error('guest-file-open'), base.Outcome.HELD),
                (blocked_error('guest-file-open'), base.Outcome.BLOCKED),
                (fake_libvirt.agent_timeout_error(), base.Outcome.TIMED_OUT),
                (fake_libvirt.agent_not_connected_error(),
                 base.Outcome.NOT_CONNECTED),
                (fake_libvirt.paused_error(), base.Outcome.NOT_RUNNING),
                (fake_libvirt.connection_closed_error(),
                 base.Outcome.INCONCLUSIVE),
                (agent_error('guest-file-open', 'Permission denied'),
                 base.Outcome.AGENT_ERROR)):
            self.memo.clear()
            self.guest.fail['guest-file-open'] = error
            result = self.run_probe()
            self.assertIs(outcome, result.outcome, error)
            self.assertIsNone(result.retry_after)
            self.assertNotIn('sent', self.memo)
            del self.guest.fail['guest-file-open']

    def test_answer_larger_than_the_bound(self):
        for size in (4097, 100000):
            self.memo.clear()
            self.first_run()
            body = json.dumps({'version': 1, 'status': 'healthy',
                               'challenge': self.memo['sent'].nonce,
                               'details': ''})
            self.guest.answer_raw(
                (body[:-2] + ' ' * (size - len(body)) + '"}\n').encode())
            self.assertEqual(size + 1,
                             len(self.guest.files[app_mailbox.ANSWER]))
            result = self.read_run()
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
            self.assertIn('answer larger than 4096 bytes', result.detail)
        # and read no further than one byte past the bound
        reads = [a for n, a, _ in self.guest.calls if n == 'guest-file-read']
        self.assertEqual({4097}, set(a['count'] for a in reads))

    def test_answer_at_the_bound(self):
        self.first_run()
        body = json.dumps({'version': 1, 'status': 'healthy',
                           'challenge': self.memo['sent'].nonce,
                           'details': ''})
        self.guest.answer_raw((body[:-2] + '\u00e9' * (
            (4096 - len(body)) // 2) + '"}').encode().ljust(4096) + b'\n')
        self.assertEqual(4097, len(self.guest.files[app_mailbox.ANSWER]))
        result = self.read_run()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)

    def test_answer_without_its_newline_is_incomplete(self):
        # the application writes its answer in place: until the newline
        # is written the answer is not complete, and never judged
        for raw in (b'', b'{"version": 1, "chall', None):
            self.memo.clear()
            self.first_run()
            self.guest.answer_raw(raw if raw is not None
                                  else self.right_answer()[:-1])
            result = self.read_run()
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
            self.assertIn('answer incomplete: no newline ends it',
                          result.detail)

    def test_only_the_first_line_is_the_answer(self):
        # a shorter answer written over a longer one leaves its tail
        self.first_run()
        self.guest.answer_raw(self.right_answer() + b'tail": "of an old '
                              b'answer"}\n')
        result = self.read_run()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)

    def right_answer(self):
        return json.dumps({'version': 1, 'status': 'healthy',
                           'challenge': self.memo['sent'].nonce}).encode() + (
            b'\n')

    def test_garbage_is_a_wrong_answer_and_never_raises(self):
        for raw in (b'', b'not json', b'{"challenge": ', b'[1, 2]', b'null',
                    b'"healthy"', b'{"a": NaN}', b'{"a": 1, "a": 2}',
                    b'{"a": 1e999}', b'[' * 100 + b']' * 100, b'[' * 4000,
                    b'\xff\xfe{}', b'{"a": "\xc3"}', b'{"a": "\\ud800"}',
                    b'\x00' * 10, FORGED.encode()):
            self.memo.clear()
            self.first_run()
            self.guest.answer_raw(raw + b'\n')
            result = self.read_run()
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome, raw)
            self.assertTrue(result.missed)
            self.assert_safe(result.detail, 300)
            self.assertTrue(self.memo['sent'].read)
        self.assertNotIn('Traceback', self.logger.output)

    def test_too_deep(self):
        self.first_run()
        self.guest.answer_raw(b'{"a":' * 40 + b'1' + b'}' * 40 + b'\n')
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('too deep', result.detail)

    def test_not_utf8(self):
        self.first_run()
        self.guest.answer_raw(b'{"challenge": "\xff"}\n')
        result = self.read_run()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('answer refused', result.detail)

    def test_garbage_from_the_agent_itself(self):
        for command, answer in (
                ('guest-file-open', '{"return": "1000"}'),
                ('guest-file-open', '{"return": true}'),
                ('guest-file-open', '{"return": 1.5}'),
                ('guest-file-read', '{"return": {"count": 1}}'),
                ('guest-file-read', '{"return": {"buf-b64": "***"}}'),
                ('guest-file-read', '{"return": [1]}'),
                ('guest-file-read', '{"no": "return"}'),
                ('guest-file-read', 'not json' + FORGED),
                ('guest-file-read', '{"return": "%s"}' % ('x' * 100000))):
            self.memo.clear()
            self.first_run()
            self.guest.answer()
            self.guest.garbage[command] = answer
            result = self.read_run()
            self.assertNotIn(command, self.guest.garbage)
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome,
                          (command, answer[:50]))
            self.assert_safe(result.detail, 300)

    def test_garbage_from_the_agent_while_writing(self):
        self.guest.garbage['guest-file-open'] = '{"return": "1000"}'
        result = self.run_probe()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('guest-file-open gave no handle', result.detail)
        self.assertNotIn('sent', self.memo)

    def test_details_are_escaped_and_bounded(self):
        # 2200 characters, 3000 bytes of JSON: within max_answer_bytes
        result = self.answered(details=FORGED * 50)
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assert_safe(result.details, app_mailbox.MAX_DETAILS + 3)
        self.assertTrue(result.details.endswith('...'))
        self.assertTrue(result.details.startswith(
            '\\n2026-01-01 00:00:00.000 1 ERROR forged\\x1b[2J\\u2028\\r'))

    def test_audit_details_are_escaped_and_bounded(self):
        self.check = checks.CheckSettings(checks.APP, 1.0, 0.5, 3,
                                          audits=(('db', 10.0),))
        result = self.answered(audits={'db': {'result': 'fail',
                                              'details': FORGED * 50}})
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assert_safe(result.detail, 200)
        self.assertIn('db (\\n2026-01-01', result.detail)

    def test_echo_and_status_in_detail_are_escaped_and_bounded(self):
        for fields in ({'challenge': FORGED * 100},
                       {'status': FORGED * 100}):
            self.memo.clear()
            result = self.answered(**fields)
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
            self.assert_safe(result.detail, 200)

    def test_frozen_while_reading_holds_the_challenge(self):
        first = self.first_run()
        self.guest.answer()
        self.guest.fail['guest-file-read'] = frozen_error('guest-file-read')
        sent = self.memo['sent']
        del self.guest.calls[:]
        result = self.read_run()
        self.assertIs(base.Outcome.HELD, result.outcome)
        self.assertFalse(result.missed)
        self.assertIn('frozen state', result.detail)
        # no new challenge: the pending one is kept unread, its file
        # unchanged
        self.assertIs(sent, self.memo['sent'])
        self.assertFalse(self.memo['sent'].read)
        self.assertEqual(first, self.guest.challenge())
        self.assertNotIn('guest-file-write', self.guest.names())
        self.assertEqual(self.guest.opens, self.guest.closes)
        # thawed: the answer to that same challenge is read
        del self.guest.fail['guest-file-read']
        del self.guest.calls[:]
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertNotIn('guest-file-write', self.guest.names())
        self.assertEqual(2, self.write_run()['sequence'])

    def test_frozen_while_opening_holds_the_challenge(self):
        self.first_run()
        sent = self.memo['sent']
        self.guest.fail['guest-file-open'] = frozen_error('guest-file-open')
        result = self.read_run()
        self.assertIs(base.Outcome.HELD, result.outcome)
        self.assertIs(sent, self.memo['sent'])

    def test_frozen_on_the_first_challenge(self):
        self.guest.fail['guest-file-open'] = frozen_error('guest-file-open')
        result = self.run_probe()
        self.assertIs(base.Outcome.HELD, result.outcome)
        self.assertNotIn('sent', self.memo)

    def test_blocked(self):
        self.guest.fail['guest-file-write'] = blocked_error(
            'guest-file-write')
        result = self.run_probe()
        self.assertIs(base.Outcome.BLOCKED, result.outcome)
        self.assertFalse(result.missed)
        self.assertNotIn('sent', self.memo)

    def test_agent_timeout_while_reading_keeps_the_challenge(self):
        first = self.first_run()
        self.guest.answer()
        sent = self.memo['sent']
        self.guest.fail['guest-file-read'] = (
            fake_libvirt.agent_timeout_error())
        del self.guest.calls[:]
        result = self.read_run()
        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)
        self.assertTrue(result.missed)
        self.assertIsNone(result.retry_after)
        # kept unread, and no new challenge written
        self.assertIs(sent, self.memo['sent'])
        self.assertFalse(self.memo['sent'].read)
        self.assertEqual(first, self.guest.challenge())
        self.assertEqual(['guest-file-open', 'guest-file-read',
                          'guest-file-close'], self.guest.names())
        # the next run (its answer long due) reads that challenge's answer
        del self.guest.fail['guest-file-read']
        del self.guest.calls[:]
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertEqual(['guest-file-open', 'guest-file-read',
                          'guest-file-close'], self.guest.names())
        self.assertTrue(self.memo['sent'].read)
        # and then the next challenge is written
        self.assertEqual(2, self.write_run()['sequence'])

    def test_killed_agent_and_paused_domain(self):
        for error, outcome in (
                (fake_libvirt.agent_not_connected_error(),
                 base.Outcome.NOT_CONNECTED),
                (fake_libvirt.paused_error(), base.Outcome.NOT_RUNNING),
                (fake_libvirt.connection_closed_error(),
                 base.Outcome.INCONCLUSIVE)):
            self.memo.clear()
            self.first_run()
            self.guest.fail['guest-file-open'] = error
            self.assertIs(outcome, self.read_run().outcome)
            self.assertFalse(self.memo['sent'].read)
            del self.guest.fail['guest-file-open']

    def test_handles_are_closed_when_reading_fails(self):
        for error in (agent_error('guest-file-read', 'Input/output error'),
                      frozen_error('guest-file-read'),
                      fake_libvirt.agent_timeout_error()):
            self.memo.clear()
            self.first_run()
            self.guest.answer()
            self.guest.fail['guest-file-read'] = error
            self.read_run()
            del self.guest.fail['guest-file-read']
            self.assertEqual({}, self.guest.handles)
            self.assertEqual(self.guest.opens, self.guest.closes)
            self.assertEqual('guest-file-close', self.guest.names()[-1])

    def test_handles_are_closed_when_writing_fails(self):
        self.guest.fail['guest-file-write'] = agent_error(
            'guest-file-write', 'No space left on device')
        result = self.run_probe()
        self.assertIs(base.Outcome.AGENT_ERROR, result.outcome)
        self.assertEqual(['guest-file-open', 'guest-file-write',
                          'guest-file-close'], self.guest.names())
        self.assertEqual({}, self.guest.handles)
        self.assertNotIn('sent', self.memo)

    def test_handles_are_closed_over_many_runs(self):
        for i in range(20):
            self.write_run()
            if i % 3:
                self.guest.answer(status=('healthy', 'failed')[i % 2])
            self.read_run()
        self.assertEqual(self.guest.opens, self.guest.closes)
        # 20 challenges written, 19 answers read (none at the first read)
        self.assertEqual(39, self.guest.opens)

    def test_memo_is_optional(self):
        result = self.probe.probe(self.domain, 0.5, check=self.check)
        self.assertIs(base.Outcome.PENDING, result.outcome)
        self.assertEqual(0.5, result.retry_after)
