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

import base64
import subprocess

import fixtures

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import guest_exec
from tests.unit import base as test_base
from tests.unit import fake_libvirt
from tests.unit.vmheartbeat.probing.probes import fake_agent

A = '11111111-1111-1111-1111-111111111111'
PID = 98
FORGED = '\n2026-01-01 00:00:00.000 1 ERROR forged\x1b[2J\u2028\r'


def b64(data):
    return base64.b64encode(data).decode()


def whole(data):
    """``data`` with newlines added up to whole base64 groups.

    Its base64 has no '=' padding, which a test of its own covers.
    """
    return data + b'\n' * (-len(data) % 3)


def started(pid=PID):
    """What guest-exec answers."""
    return '{"return":{"pid":%d}}' % pid


def exited(exitcode=0, out=b'', err=None):
    """A guest-exec-status answer of a command that exited.

    The fields are in the order qemu-ga 7.2 gives them through libvirt 9.0.
    """
    fields = ['"exitcode":%d' % exitcode,
              '"out-data":"%s"' % b64(out), '"out-truncated":false']
    if err is not None:
        fields += ['"err-data":"%s"' % b64(err), '"err-truncated":false']
    fields.append('"exited":true')
    return '{"return":{%s}}' % ','.join(fields)


RUNNING = '{"return":{"exited":false}}'
KILLED = '{"return":{"exited":true,"signal":9}}'


agent_error = fake_libvirt.agent_error


def unknown_pid_error():
    return agent_error('guest-exec-status', "Invalid parameter 'pid'")


def not_found_error():
    return agent_error(
        'guest-exec', "Guest agent command failed, error was 'Failed to "
        "execute child process \u201c/nonexistent\u201d (No such file or "
        "directory)'")


def blocked_error():
    return agent_error('guest-exec', 'Command guest-exec has been disabled')


def frozen_error(command='guest-exec'):
    return agent_error(command, 'Command %s has been disabled: the agent '
                       'is in frozen state' % command)


ScriptedAgent = fake_agent.ScriptedAgent


class GuestExecProbeTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = test_base.FakeClock(1000.0)
        self.sleeps = []
        self.probe = guest_exec.GuestExecProbe(
            max_output_bytes=4096, sleep=self.sleep, clock=self.clock)
        self.domain = fake_libvirt.virDomain(A)
        self.check = checks.CheckSettings(checks.EXEC, 30.0, 5.0, 2,
                                          command=('/bin/check', '-q'))
        self.memo = {}
        self.agent = None

    def sleep(self, seconds):
        self.assertGreater(seconds, 0)
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def play(self, **script):
        self.agent = ScriptedAgent(**script)
        self.useFixture(fixtures.MockPatchObject(
            guest_exec.libvirt_qemu, 'qemuAgentCommand', self.agent))
        return self.agent

    def run_probe(self, timeout=5.0):
        return self.probe.probe(self.domain, timeout, check=self.check,
                                memo=self.memo)

    def test_exit_zero_is_answered_with_stdout(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[exited(0, b'hi\n')])
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertTrue(result.answered)
        self.assertFalse(result.missed)
        self.assertEqual('', result.detail)
        self.assertEqual('hi', result.details)
        self.assertEqual(1000.0, result.started)
        self.assertEqual({}, self.memo)
        self.assertEqual(['guest-exec', 'guest-exec-status'],
                         self.agent.names())
        status, timeout, flags = self.agent.calls[1]
        self.assertEqual({'execute': 'guest-exec-status',
                          'arguments': {'pid': PID}}, status)
        self.assertEqual(5, timeout)
        self.assertEqual(0, flags)

    def test_output_not_a_multiple_of_three_bytes_is_kept_whole(self):
        # base64 of these ends in '=' padding: "b2s=", "aGVhbHRoeQo="
        for out, expected in ((b'ok', 'ok'), (b'healthy\n', 'healthy'),
                              (b'x', 'x')):
            self.play(guest_exec=[started()],
                      guest_exec_status=[exited(0, out)])
            result = self.run_probe()
            self.assertIs(base.Outcome.ANSWERED, result.outcome)
            self.assertEqual(expected, result.details, out)

    def test_stdout_and_stderr_both_kept(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[exited(1, b'out\n', b'err\n')])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertEqual('out | err', result.details)

    def test_exit_three_is_failed_with_its_output(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[exited(3, b'hi\n')])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertTrue(result.missed)
        self.assertEqual('exit status 3', result.detail)
        self.assertEqual('hi', result.details)
        self.assertEqual({}, self.memo)

    def test_real_status_answer(self):
        self.play(guest_exec=['{"return":{"pid":98}}'],
                  guest_exec_status=[
                      '{"return":{"exitcode":3,"out-data":"aGkK",'
                      '"out-truncated":false,"exited":true}}'])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertEqual('exit status 3', result.detail)
        self.assertEqual('hi', result.details)

    def test_killed_by_signal_is_failed(self):
        self.play(guest_exec=[started()], guest_exec_status=[KILLED])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertEqual('the command was killed by signal 9', result.detail)
        self.assertEqual({}, self.memo)

    def test_no_exit_status_is_a_wrong_answer(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=['{"return":{"exited":true}}'])
        result = self.run_probe()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertEqual('no exit status', result.detail)

    def test_polls_until_the_command_exits(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[RUNNING, RUNNING, RUNNING,
                                     exited(0, whole(b'done\n'))])
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual('done', result.details)
        self.assertEqual(['guest-exec'] + ['guest-exec-status'] * 4,
                         self.agent.names())
        # a growing pause between polls
        self.assertEqual([0.01, 0.02, 0.04], self.sleeps)
        self.assertAlmostEqual(0.07, result.duration)

    def test_still_running_at_the_timeout_is_failed_and_remembered(self):
        self.play(guest_exec=[started()], guest_exec_status=[RUNNING])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertEqual('the command did not exit within 5.0s',
                         result.detail)
        self.assertEqual({'pid': PID, 'since': 1000.0}, self.memo)
        # it waited the check's timeout, no more, with bounded pauses
        self.assertAlmostEqual(5.0, sum(self.sleeps))
        self.assertAlmostEqual(5.0, result.duration)
        self.assertLessEqual(max(self.sleeps), 0.25)
        self.assertEqual(sorted(self.sleeps[:-1]), self.sleeps[:-1])
        self.assertLess(len(self.sleeps), 40)
        self.assertEqual(1, self.agent.names().count('guest-exec'))

    def test_still_running_command_is_not_started_again(self):
        self.play(guest_exec=[started()], guest_exec_status=[RUNNING])
        self.run_probe()
        self.clock.advance(25.0)
        del self.agent.calls[:]
        del self.sleeps[:]
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertTrue(result.missed)
        self.assertIn('still running', result.detail)
        self.assertIn('not started again', result.detail)
        self.assertIn('started 30s ago', result.detail)
        self.assertEqual(['guest-exec-status'], self.agent.names())
        self.assertEqual({'pid': PID}, self.agent.calls[0][0]['arguments'])
        self.assertEqual([], self.sleeps)
        self.assertEqual({'pid': PID, 'since': 1000.0}, self.memo)

    def test_no_pile_up_over_many_runs(self):
        self.play(guest_exec=[started()], guest_exec_status=[RUNNING])
        for _ in range(10):
            self.run_probe()
            self.clock.advance(30.0)
        self.assertEqual(1, self.agent.names().count('guest-exec'))

    def test_a_new_command_once_the_last_one_exited(self):
        self.play(guest_exec=[started(PID), started(99)],
                  guest_exec_status=[RUNNING] * 200)
        self.run_probe()
        self.assertEqual(PID, self.memo['pid'])
        self.clock.advance(25.0)
        status = {PID: exited(0, b'late\n'), 99: exited(0, whole(b'new\n'))}
        self.agent.script['guest-exec-status'] = [
            lambda request: status[request['arguments']['pid']]]
        del self.agent.calls[:]
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual('new', result.details)
        self.assertEqual(['guest-exec-status', 'guest-exec',
                          'guest-exec-status'], self.agent.names())
        self.assertEqual(99, self.agent.calls[2][0]['arguments']['pid'])
        self.assertNotIn('pid', self.memo)

    def test_unknown_pid_in_memo_starts_anew(self):
        self.memo.update(pid=42, since=900.0)
        self.play(guest_exec=[started()],
                  guest_exec_status=[unknown_pid_error(), exited(0)])
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual(['guest-exec-status', 'guest-exec',
                          'guest-exec-status'], self.agent.names())
        self.assertEqual(42, self.agent.calls[0][0]['arguments']['pid'])
        self.assertEqual(PID, self.agent.calls[2][0]['arguments']['pid'])
        self.assertNotIn('pid', self.memo)

    def test_agent_forgetting_the_new_command_is_a_wrong_answer(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[unknown_pid_error()])
        result = self.run_probe()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertEqual('the agent forgot the command (pid 98)',
                         result.detail)

    def test_command_not_found_is_failed(self):
        self.play(guest_exec=[not_found_error()])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertTrue(result.missed)
        self.assertIn('Failed to execute child process', result.detail)
        self.assertIn('/nonexistent', result.detail)
        self.assertEqual('', result.details)
        self.assertEqual({}, self.memo)

    def test_blocked_by_policy(self):
        self.play(guest_exec=[blocked_error()])
        result = self.run_probe()
        self.assertIs(base.Outcome.BLOCKED, result.outcome)
        self.assertFalse(result.missed)
        self.assertIn('has been disabled', result.detail)

    def test_frozen_guest_is_held(self):
        self.play(guest_exec=[frozen_error()])
        result = self.run_probe()
        self.assertIs(base.Outcome.HELD, result.outcome)
        self.assertFalse(result.missed)
        self.assertIn('frozen state', result.detail)

    def test_frozen_while_a_command_runs_keeps_it(self):
        self.memo.update(pid=PID, since=990.0)
        self.play(guest_exec=[started(99)],
                  guest_exec_status=[frozen_error('guest-exec-status')])
        result = self.run_probe()
        self.assertIs(base.Outcome.HELD, result.outcome)
        self.assertEqual(['guest-exec-status'], self.agent.names())
        self.assertEqual({'pid': PID, 'since': 990.0}, self.memo)

    def test_agent_timeout(self):
        self.play(guest_exec=[fake_libvirt.agent_timeout_error()])
        result = self.run_probe()
        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)
        self.assertTrue(result.missed)

    def test_agent_timeout_while_polling(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[RUNNING,
                                     fake_libvirt.agent_timeout_error()])
        result = self.run_probe()
        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)

    def test_killed_agent_and_paused_domain(self):
        for error, outcome in (
                (fake_libvirt.agent_not_connected_error(),
                 base.Outcome.NOT_CONNECTED),
                (fake_libvirt.paused_error(), base.Outcome.NOT_RUNNING),
                (fake_libvirt.connection_closed_error(),
                 base.Outcome.INCONCLUSIVE)):
            self.play(guest_exec=[error])
            self.assertIs(outcome, self.run_probe().outcome)

    def test_guest_exec_without_a_pid_is_a_wrong_answer(self):
        for answer in ('{"return":{}}', None, 'x' * 10000 + FORGED):
            self.play(guest_exec=[answer])
            result = self.run_probe()
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
            self.assertIn('guest-exec gave no pid', result.detail)
            self.assert_safe(result.detail, 200)
            self.assertEqual(['guest-exec'], self.agent.names())

    def test_status_not_text_is_a_wrong_answer(self):
        self.play(guest_exec=[started()], guest_exec_status=[None])
        result = self.run_probe()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertEqual('status is not text', result.detail)

    def test_bounded_mode_runs_the_words_as_the_shells_parameters(self):
        self.check = checks.CheckSettings(
            checks.EXEC, 30.0, 5.0, 2,
            command=('/usr/bin/check', '--url', 'http://x/?a=1&b=2', '; rm',
                     '$(reboot)'))
        self.play(guest_exec=[started()], guest_exec_status=[exited(0)])
        self.run_probe()
        request, timeout, flags = self.agent.calls[0]
        self.assertEqual({'execute': 'guest-exec', 'arguments': {
            'path': '/bin/sh',
            'arg': ['-c', guest_exec._BOUNDED_SCRIPT % 4097,
                    'vmheartbeat-exec', '/usr/bin/check', '--url',
                    'http://x/?a=1&b=2', '; rm', '$(reboot)'],
            'capture-output': True}}, request)
        self.assertIn('head -c 4097', request['arguments']['arg'][1])
        self.assertEqual(5, timeout)
        self.assertEqual(0, flags)

    def test_no_output_mode_runs_the_command_itself_uncaptured(self):
        self.probe = guest_exec.GuestExecProbe(
            max_output_bytes=4096, output=guest_exec.NO_OUTPUT,
            sleep=self.sleep, clock=self.clock)
        for command in (('/usr/bin/check', '; rm', '$(reboot)'),
                        ('/bin/true',)):
            self.check = checks.CheckSettings(checks.EXEC, 30.0, 5.0, 2,
                                              command=command)
            self.play(guest_exec=[started()],
                      guest_exec_status=['{"return":{"exitcode":0,'
                                         '"exited":true}}'])
            result = self.run_probe()
            self.assertIs(base.Outcome.ANSWERED, result.outcome)
            self.assertEqual('', result.details)
            self.assertEqual({'path': command[0], 'arg': list(command[1:]),
                              'capture-output': False},
                             self.agent.calls[0][0]['arguments'])

    def test_an_unknown_output_mode_is_refused(self):
        self.assertRaises(ValueError, guest_exec.GuestExecProbe,
                          output='raw')

    def test_agent_timeout_is_whole_seconds_within_the_check(self):
        self.play(guest_exec=[started()], guest_exec_status=[exited(0)])
        for timeout, check_timeout, expected in ((5.0, 5.0, 5),
                                                 (2.0, 5.0, 2),
                                                 (10.0, 2.5, 3),
                                                 (0.2, 0.1, 1)):
            self.check = checks.CheckSettings(
                checks.EXEC, 30.0, check_timeout, 2, command=('/bin/true',))
            del self.agent.calls[:]
            self.run_probe(timeout)
            self.assertEqual([expected, expected],
                             [t for _, t, _ in self.agent.calls])

    def huge_output(self, exited_first):
        # 786432 bytes, 1 MiB of base64, full of what a log must not get
        chunk = (FORGED.encode('utf-8') + b'\x00\x07\xff')
        raw = (chunk * (786432 // len(chunk) + 1))[:786432]
        encoded = b64(raw)
        self.assertEqual(1 << 20, len(encoded))
        if exited_first:
            return ('{"return":{"exited":true,"exitcode":0,"out-data":"%s",'
                    '"out-truncated":false}}' % encoded)
        return ('{"return":{"exitcode":0,"out-data":"%s",'
                '"out-truncated":false,"exited":true}}' % encoded)

    def test_a_status_answer_larger_than_a_bounded_one_is_not_read(self):
        # what a guest whose agent is not the real qemu-ga may send, or a
        # command run with its output unbounded
        searched = []
        real_search = guest_exec.re.search

        def search(pattern, text, *args):
            searched.append(len(text))
            return real_search(pattern, text, *args)

        self.useFixture(fixtures.MockPatchObject(
            guest_exec.re, 'search', search))
        for exited_first in (True, False):
            self.play(guest_exec=[started()],
                      guest_exec_status=[self.huge_output(exited_first)])
            result = self.run_probe()
            self.assertIs(base.Outcome.FAILED, result.outcome)
            self.assertEqual(
                "the agent's status answer is %d characters, more than the "
                "%d a bounded output takes: not read" % (
                    (1 << 20) + len(self.huge_output(True)) - (1 << 20),
                    2 * 5464 + 4096), result.detail)
            self.assertEqual('', result.details)
            self.assertEqual([], searched)
            self.assertEqual({}, self.memo)
            # the bound is the probe's: two outputs at the bound pass
            self.assertEqual(2 * 5464 + 4096, self.probe.max_status_chars)

    def test_a_reply_larger_than_libvirt_carries_is_a_failed_run(self):
        # libvirt 9.0 refuses to carry an agent reply over 4 MiB
        too_large = fake_libvirt.libvirtError(
            'Unable to encode message payload',
            code=fake_libvirt.VIR_ERR_RPC, domain=fake_libvirt.VIR_FROM_RPC)
        self.play(guest_exec=[started()], guest_exec_status=[too_large])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assertEqual("the agent's status answer is more than libvirt "
                         "carries in one reply (4 MiB): not read",
                         result.detail)

    def test_output_over_the_bound_is_a_failed_run(self):
        # the bounded script lets one byte past the bound through
        for code in (0, 3):
            self.play(guest_exec=[started()],
                      guest_exec_status=[exited(code, b'x' * 4097)])
            result = self.run_probe()
            self.assertIs(base.Outcome.FAILED, result.outcome)
            self.assertEqual('the command wrote more than 4096 bytes of '
                             'output', result.detail)
            self.assertEqual('x' * 4096 + '...', result.details)

    def test_output_at_the_bound_is_the_commands_verdict(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[exited(0, b'x' * 4096)])
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertEqual('x' * 4096, result.details)

    def test_only_a_head_of_the_output_is_decoded(self):
        real = base64.b64decode
        decoded = []

        def b64decode(data, *args, **kwargs):
            decoded.append(len(data))
            return real(data, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            guest_exec.base64, 'b64decode', b64decode))
        self.probe = guest_exec.GuestExecProbe(
            max_output_bytes=4096, output=guest_exec.NO_OUTPUT,
            sleep=self.sleep, clock=self.clock)
        self.play(guest_exec=[started()],
                  guest_exec_status=[exited(0, b'x' * 5000,
                                            b'y' * 5000)])
        result = self.run_probe()
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertEqual(2, len(decoded))
        # 4096 bytes are 5464 characters of base64
        self.assertLessEqual(max(decoded), 5464)
        self.assertEqual('x' * 4096 + '... | ' + 'y' * 4096 + '...',
                         result.details)

    def test_output_bound_is_the_probes(self):
        probe = guest_exec.GuestExecProbe(max_output_bytes=10,
                                          sleep=self.sleep, clock=self.clock)
        self.play(guest_exec=[started()],
                  guest_exec_status=[exited(1, b'0123456789abcdef',
                                            b'\x1b' * 50)])
        result = probe.probe(self.domain, 5.0, check=self.check,
                             memo=self.memo)
        self.assertIs(base.Outcome.FAILED, result.outcome)
        out, err = result.details.split(' | ')
        self.assertEqual('0123456789...', out)
        self.assertTrue(err.endswith('...'), err)
        self.assert_safe(err, 13)
        self.assertNotIn('\x1b', result.details)

    def test_output_at_the_bound(self):
        probe = guest_exec.GuestExecProbe(max_output_bytes=4,
                                          sleep=self.sleep, clock=self.clock)
        # at most 8 characters of base64 are read: 'YWJjZA==' is 'abcd'
        for out, expected in ((b'ab', 'ab'), (b'abcd', 'abcd'),
                              (b'abcde', 'abcd...'), (b'abcdefg', 'abcd...'),
                              (b'abcdefghijklmnop', 'abcd...')):
            self.play(guest_exec=[started()],
                      guest_exec_status=[exited(0, out)])
            result = probe.probe(self.domain, 5.0, check=self.check,
                                 memo=self.memo)
            self.assertIs(base.Outcome.ANSWERED if len(out) <= 4
                          else base.Outcome.FAILED, result.outcome, out)
            self.assertEqual(expected, result.details, out)

    def test_control_characters_from_the_guest_are_escaped(self):
        self.play(guest_exec=[started()],
                  guest_exec_status=[exited(
                      2, whole(('ok' + FORGED + 'tail').encode('utf-8')),
                      whole(b'\xff\xfe bad utf-8 \x00'))])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assert_safe(result.details, 2 * (4096 + 3) + 3)
        self.assertIn('ok\\n2026-01-01 00:00:00.000 1 ERROR forged'
                      '\\x1b[2J\\u2028\\rtail', result.details)
        self.assertIn(' | \ufffd\ufffd bad utf-8 \\x00', result.details)
        self.assertEqual([result.details], result.details.splitlines())

    def test_agent_error_description_is_escaped(self):
        self.play(guest_exec=[agent_error('guest-exec', 'no' + FORGED)])
        result = self.run_probe()
        self.assertIs(base.Outcome.FAILED, result.outcome)
        self.assert_safe(result.detail, 203)
        self.assertIn('no\\n2026-01-01', result.detail)

    def test_memo_is_optional(self):
        self.play(guest_exec=[started()], guest_exec_status=[RUNNING])
        result = self.probe.probe(self.domain, 5.0, check=self.check)
        self.assertIs(base.Outcome.FAILED, result.outcome)


class BoundedScriptTestCase(test_base.TestCase):
    """The bounded mode's script, run by this machine's real /bin/sh."""

    def run_script(self, *argv, bound=16):
        done = subprocess.run(
            [guest_exec.SHELL, '-c', guest_exec._BOUNDED_SCRIPT % (bound + 1),
             'vmheartbeat-exec'] + list(argv),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        return done.returncode, done.stdout, done.stderr

    def test_exit_status_and_output_kept(self):
        self.assertEqual(
            (3, b'out\nerr\n', b''),
            self.run_script('/bin/sh', '-c', 'echo out; echo err >&2; '
                            'exit 3'))

    def test_output_cut_one_byte_past_the_bound(self):
        code, out, _ = self.run_script(
            '/bin/sh', '-c', 'yes | head -c 50000000; exit 0')
        self.assertEqual(b'y\n' * 8 + b'y', out)
        self.assertEqual(0, code)

    def test_a_command_writing_for_ever_is_cut(self):
        code, out, _ = self.run_script('/bin/sh', '-c', 'exec yes')
        self.assertEqual(17, len(out))
        # killed by SIGPIPE once head has its bytes
        self.assertEqual(128 + 13, code)

    def test_words_are_never_parsed_by_the_shell(self):
        code, out, _ = self.run_script(
            '/bin/echo', '$(id)', '; exit 7', '`id`', '"a b"', bound=100)
        self.assertEqual((0, b'$(id) ; exit 7 `id` "a b"\n'), (code, out))

    def test_a_command_not_found_fails(self):
        code, out, _ = self.run_script('/nonexistent/check', bound=200)
        self.assertEqual(127, code)
        self.assertIn(b'/nonexistent/check', out)

    def test_a_command_killed_by_a_signal_fails(self):
        code, _, _ = self.run_script('/bin/sh', '-c', 'kill -9 $$')
        self.assertEqual(128 + 9, code)
