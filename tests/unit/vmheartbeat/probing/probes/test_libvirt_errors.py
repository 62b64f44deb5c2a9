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

from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import libvirt_errors
from tests.unit import base as test_base
from tests.unit import fake_libvirt


class ClassifyTestCase(test_base.TestCase):

    def assert_outcome(self, outcome, error):
        got, detail = libvirt_errors.classify(error)
        self.assertIs(outcome, got)
        self.assertIn(error.get_error_message(), detail)
        self.assertIn(str(error.get_error_code()), detail)

    def test_paused_domain_is_not_running(self):
        self.assert_outcome(base.Outcome.NOT_RUNNING,
                            fake_libvirt.paused_error())

    def test_gone_domain_is_not_running(self):
        self.assert_outcome(base.Outcome.NOT_RUNNING,
                            fake_libvirt.no_domain_error('x'))

    def test_killed_agent_is_not_connected(self):
        self.assert_outcome(base.Outcome.NOT_CONNECTED,
                            fake_libvirt.agent_not_connected_error())

    def test_panicked_guest_timed_out(self):
        self.assert_outcome(base.Outcome.TIMED_OUT,
                            fake_libvirt.agent_timeout_error())

    def test_operation_timeout(self):
        error = fake_libvirt.libvirtError(
            'Timed out during operation: cannot acquire state change lock',
            fake_libvirt.VIR_ERR_OPERATION_TIMEOUT)
        self.assert_outcome(base.Outcome.TIMED_OUT, error)

    def test_lost_libvirtd_is_inconclusive(self):
        self.assert_outcome(base.Outcome.INCONCLUSIVE,
                            fake_libvirt.connection_closed_error())
        self.assert_outcome(base.Outcome.INCONCLUSIVE,
                            fake_libvirt.cannot_connect_error())
        for code in (fake_libvirt.VIR_ERR_RPC,
                     fake_libvirt.VIR_ERR_NO_CONNECT,
                     fake_libvirt.VIR_ERR_INVALID_CONN,
                     fake_libvirt.VIR_ERR_AUTH_FAILED,
                     fake_libvirt.VIR_ERR_AUTH_UNAVAILABLE):
            self.assert_outcome(base.Outcome.INCONCLUSIVE,
                                fake_libvirt.libvirtError('lost', code))

    def test_any_other_error_is_an_agent_error(self):
        error = fake_libvirt.libvirtError(
            'internal error: unable to execute QEMU agent command '
            "'guest-sync': Command not found",
            fake_libvirt.VIR_ERR_INTERNAL_ERROR, fake_libvirt.VIR_FROM_QEMU)
        self.assert_outcome(base.Outcome.AGENT_ERROR, error)

    def test_message_falls_back_to_the_text(self):
        error = fake_libvirt.libvirtError('something', 1)
        error.err = (1, fake_libvirt.VIR_FROM_QEMU, None)
        outcome, detail = libvirt_errors.classify(error)
        self.assertIs(base.Outcome.AGENT_ERROR, outcome)
        self.assertIn('something', detail)

    def test_detail_is_bounded(self):
        error = fake_libvirt.libvirtError('x' * 10000, 1)
        _, detail = libvirt_errors.classify(error)
        self.assertLessEqual(len(detail), 203)
        self.assertTrue(detail.endswith('...'))

    def test_escaped_detail_is_bounded(self):
        error = fake_libvirt.libvirtError('\x1b' * 10000, 1)
        _, detail = libvirt_errors.classify(error)
        self.assertLessEqual(len(detail), 203)
        self.assertTrue(detail.endswith('\\x1b...'), detail)

    def test_agent_error_description_is_escaped(self):
        # libvirt relays the description qemu-ga (the guest) gave.
        error = fake_libvirt.libvirtError(
            "internal error: unable to execute QEMU agent command "
            "'guest-sync': no\n2026-01-01 00:00:00.000 1 ERROR forged"
            "\x1b[2J\r\u2028\u202e",
            fake_libvirt.VIR_ERR_INTERNAL_ERROR, fake_libvirt.VIR_FROM_QEMU)
        outcome, detail = libvirt_errors.classify(error)
        self.assertIs(base.Outcome.AGENT_ERROR, outcome)
        self.assertTrue(detail.isprintable(), ascii(detail))
        self.assertEqual([detail], detail.splitlines())
        self.assertEqual(
            "libvirt error 1: internal error: unable to execute QEMU agent "
            "command 'guest-sync': no\\n2026-01-01 00:00:00.000 1 ERROR "
            "forged\\x1b[2J\\r\\u2028\\u202e", detail)

    # qemu-ga refusing a command, as libvirt 9.0 relays it from qemu-ga 7.2

    @staticmethod
    def refused(command, reason=''):
        return fake_libvirt.libvirtError(
            "internal error: unable to execute QEMU agent command '%s': "
            "Command %s has been disabled%s" % (command, command, reason),
            fake_libvirt.VIR_ERR_INTERNAL_ERROR, fake_libvirt.VIR_FROM_QEMU)

    def test_command_disabled_by_policy_is_blocked(self):
        for command in ('guest-exec', 'guest-exec-status', 'guest-file-open',
                        'guest-file-read', 'guest-file-write',
                        'guest-file-close', 'guest-sync'):
            self.assert_outcome(base.Outcome.BLOCKED, self.refused(command))

    def test_frozen_agent_is_held(self):
        for command in ('guest-exec', 'guest-file-open', 'guest-file-write'):
            self.assert_outcome(base.Outcome.HELD, self.refused(
                command, ': the agent is in frozen state'))

    def test_held_and_blocked_are_not_misses(self):
        for error in (self.refused('guest-exec'), self.refused(
                'guest-exec', ': the agent is in frozen state')):
            outcome, _ = libvirt_errors.classify(error)
            self.assertFalse(base.ProbeResult(outcome).missed, outcome)
            self.assertFalse(base.ProbeResult(outcome).answered, outcome)

    def test_other_agent_errors_are_neither_held_nor_blocked(self):
        for text in (
                "failed to open file '/run/vmheartbeat/answer' (mode: 'r'): "
                "No such file or directory",
                "Guest agent command failed, error was 'Failed to execute "
                "child process \u201c/nonexistent\u201d (No such file or "
                "directory)'",
                "Invalid parameter 'pid'",
                'The command guest-exec has not been found'):
            error = fake_libvirt.libvirtError(
                "internal error: unable to execute QEMU agent command "
                "'guest-exec': " + text, fake_libvirt.VIR_ERR_INTERNAL_ERROR,
                fake_libvirt.VIR_FROM_QEMU)
            self.assert_outcome(base.Outcome.AGENT_ERROR, error)

    def test_lost_connection_wins_over_a_refusal(self):
        # whatever the message says, a lost libvirtd gives no verdict
        for domain in (fake_libvirt.VIR_FROM_RPC,
                       fake_libvirt.VIR_FROM_REMOTE):
            error = fake_libvirt.libvirtError(
                'Command guest-exec has been disabled: the agent is in '
                'frozen state', fake_libvirt.VIR_ERR_INTERNAL_ERROR, domain)
            self.assert_outcome(base.Outcome.INCONCLUSIVE, error)

    def test_unresponsive_agent_wins_over_a_refusal(self):
        error = fake_libvirt.libvirtError(
            'Guest agent is not responding: Command guest-exec has been '
            'disabled', fake_libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
            fake_libvirt.VIR_FROM_QEMU)
        self.assert_outcome(base.Outcome.TIMED_OUT, error)

    def test_refusal_detail_is_escaped(self):
        error = self.refused('guest-exec', ': the agent is in frozen state'
                             '\n2026-01-01 ERROR forged\x1b[2J')
        outcome, detail = libvirt_errors.classify(error)
        self.assertIs(base.Outcome.HELD, outcome)
        self.assertTrue(detail.isprintable(), ascii(detail))
        self.assertIn('frozen state\\n2026-01-01 ERROR forged\\x1b[2J',
                      detail)


class ShortTestCase(test_base.TestCase):

    def test_short_text_unchanged(self):
        self.assertEqual('abc', libvirt_errors.short('abc'))

    def test_long_text_cut(self):
        text = libvirt_errors.short('y' * 500)
        self.assertEqual('y' * 200 + '...', text)

    def test_not_a_string(self):
        self.assertEqual('42', libvirt_errors.short(42))

    def test_control_characters_are_escaped(self):
        self.assertEqual('a\\nb\\x1b\\x00\\u2029',
                         libvirt_errors.short('a\nb\x1b\x00\u2029'))
