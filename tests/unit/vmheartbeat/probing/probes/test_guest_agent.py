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
from unittest import mock

from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import guest_agent
from tests.unit import base as test_base
from tests.unit import fake_libvirt

A = '11111111-1111-1111-1111-111111111111'
DEEP = '[' * 100000 + ']' * 100000
FORGED = '\n2026-01-01 00:00:00.000 1 ERROR forged\x1b[2J\u2028\r'


class GuestAgentSyncProbeTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.probe = guest_agent.GuestAgentSyncProbe(max_answer_bytes=4096)
        self.domain = fake_libvirt.virDomain(A)
        self.commands = []

    def answer(self, reply):
        """The guest answers ``reply(request_id)``."""
        def agent(command, timeout):
            self.commands.append((json.loads(command), timeout))
            return reply(json.loads(command)['arguments']['id'])
        self.domain.agent = agent

    def assert_safe_detail(self, result):
        self.assertTrue(result.detail.isprintable(), ascii(result.detail))
        self.assertEqual([result.detail], result.detail.splitlines())
        self.assertLess(len(result.detail), 300)

    def fail(self, error):
        def agent(command, timeout):
            raise error
        self.domain.agent = agent

    def test_right_answer(self):
        self.answer(lambda nonce: json.dumps({'return': nonce}))
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.assertTrue(result.answered)
        self.assertFalse(result.missed)
        request, timeout = self.commands[0]
        self.assertEqual('guest-sync', request['execute'])
        self.assertEqual(2, timeout)

    def test_fresh_challenge_each_time(self):
        self.answer(lambda nonce: json.dumps({'return': nonce}))
        for _ in range(5):
            self.probe.probe(self.domain, 1.0)
        ids = [request['arguments']['id'] for request, _ in self.commands]
        self.assertEqual(5, len(set(ids)))
        self.assertTrue(all(0 <= i < 2 ** 53 for i in ids))

    def test_libvirt_timeout_is_whole_seconds(self):
        self.answer(lambda nonce: json.dumps({'return': nonce}))
        for timeout, expected in ((0.05, 1), (1.0, 1), (1.2, 2), (2.0, 2)):
            self.probe.probe(self.domain, timeout)
            self.assertEqual(expected, self.commands[-1][1])

    def test_stale_answer_is_wrong(self):
        self.answer(lambda nonce: json.dumps({'return': nonce + 1}))
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertTrue(result.missed)
        self.assertIn('does not echo the challenge', result.detail)

    def test_boolean_answer_is_wrong(self):
        self.answer(lambda nonce: json.dumps({'return': True}))
        with mock.patch.object(guest_agent.secrets, 'randbits',
                               return_value=1):
            result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)

    def test_garbage_is_wrong(self):
        for garbage in ('\x00\xff not json', '[1, 2]', '{"error": {}}',
                        'null'):
            self.answer(lambda nonce, g=garbage: g)
            result = self.probe.probe(self.domain, 2.0)
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome,
                          garbage)

    def test_not_text_is_wrong(self):
        self.answer(lambda nonce: None)
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)

    def test_too_long_answer_is_never_parsed(self):
        probe = guest_agent.GuestAgentSyncProbe(max_answer_bytes=64)
        long_answer = json.dumps({'return': 1, 'padding': 'x' * 100})
        self.domain.agent = lambda command, timeout: long_answer
        with mock.patch.object(guestdata.json, 'loads') as loads:
            result = probe.probe(self.domain, 2.0)
        loads.assert_not_called()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('over the 64 byte limit', result.detail)

    def test_size_bound_is_in_bytes(self):
        def multibyte(nonce):
            head = '{"return": %d, "x": "' % nonce
            return head + '\u20ac' * (4096 - len(head) - 2) + '"}'
        self.answer(multibyte)
        self.assertEqual(4096, len(multibyte(1)))
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('bytes, over the 4096 byte limit', result.detail)
        self.assert_safe_detail(result)

    def at_the_bound(self, nonce, extra_bytes=0, filler='\u00e9'):
        head = '{"return": %d, "x": "' % nonce
        fill = (4096 + extra_bytes - len(head) - 2) // 2
        answer = head + filler * fill + '"}'
        return answer + ' ' * (4096 + extra_bytes -
                               len(answer.encode('utf-8')))

    def test_answer_at_the_byte_bound_is_accepted(self):
        self.answer(self.at_the_bound)
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.ANSWERED, result.outcome, result.detail)
        self.assertEqual(4096, len(self.at_the_bound(7).encode('utf-8')))

    def test_answer_one_byte_over_the_bound_is_refused(self):
        self.answer(lambda nonce: self.at_the_bound(nonce, extra_bytes=1))
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('4097 bytes, over the 4096 byte limit', result.detail)

    def test_usual_answer_at_the_byte_bound_is_accepted(self):
        def padded(nonce, size=4096):
            answer = '{"return":%d}' % nonce
            return answer + ' ' * (size - len(answer))
        self.answer(padded)
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.ANSWERED, result.outcome)
        self.answer(lambda nonce: padded(nonce, 4097))
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('over the 4096 byte limit', result.detail)

    def test_deeply_nested_answer_is_wrong_without_a_traceback(self):
        for max_answer_bytes in (4096, 1048576):
            probe = guest_agent.GuestAgentSyncProbe(max_answer_bytes)
            for deep in (DEEP, '[' * 100000, '{"return":' * 100000):
                self.answer(lambda nonce, d=deep: d)
                result = probe.probe(self.domain, 2.0)
                self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
                self.assertTrue(result.missed)
                self.assertIn('too large' if max_answer_bytes == 4096
                              else 'too deep', result.detail)
                self.assert_safe_detail(result)
        self.assertNotIn('Traceback', self.logger.output)

    def test_nesting_within_the_bound_is_parsed(self):
        self.answer(lambda nonce: '{"return": %d, "x": %s}' % (
            nonce, '[' * 31 + ']' * 31))
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.ANSWERED, result.outcome)

    def test_guest_text_in_the_answer_is_escaped(self):
        for reply in ('{"return": %d}' + FORGED,
                      FORGED + 'not json %d',
                      '{"return": "%d' + json.dumps(FORGED)[1:] + '}',
                      '[%d, ' + json.dumps(FORGED) + ']',
                      '{"return": %d, "x": "\u202e\ud800"}',
                      '{"return": %d, "x": "' + FORGED + '"}'):
            self.answer(lambda nonce, r=reply: r % nonce)
            result = self.probe.probe(self.domain, 2.0)
            self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome, reply)
            self.assert_safe_detail(result)
            for raw in ('\n', '\r', '\x1b', '\u2028'):
                self.assertNotIn(raw, result.detail)

    def test_agent_error_description_is_escaped(self):
        self.fail(fake_libvirt.libvirtError(
            "internal error: unable to execute QEMU agent command "
            "'guest-sync': bad" + FORGED,
            fake_libvirt.VIR_ERR_INTERNAL_ERROR, fake_libvirt.VIR_FROM_QEMU))
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.AGENT_ERROR, result.outcome)
        self.assert_safe_detail(result)
        self.assertIn("'guest-sync': bad\\n2026-01-01", result.detail)
        self.assertIn('forged\\x1b[2J\\u2028\\r', result.detail)

    def check_both_ways(self, answer, nonce):
        """The fast path and the full check agree on ``answer``."""
        fast = self.probe._check_answer(answer, nonce)
        slow = self.probe._check_any_answer(answer, nonce)
        self.assertEqual(slow, fast, answer)
        return fast

    def test_usual_answers_take_the_fast_path(self):
        with mock.patch.object(guest_agent.guestdata, 'loads') as loads:
            for answer in ('{"return":5}', '{ "return" : 5 }',
                           '\r\n{\t"return":\n5 }\n', '{"return":6}'):
                outcome, _ = self.probe._check_answer(answer, 5)
                self.assertIs(base.Outcome.ANSWERED if '5' in answer
                              else base.Outcome.WRONG_ANSWER, outcome)
        loads.assert_not_called()

    def test_fast_and_full_check_agree(self):
        nonce = 2 ** 52 - 1
        for template, outcome in (
                ('{"return":%d}', base.Outcome.ANSWERED),
                ('{ "return" : %d }', base.Outcome.ANSWERED),
                (' \t\r\n{"return":%d}\n', base.Outcome.ANSWERED),
                ('{"return": %d, "id": 1}', base.Outcome.ANSWERED),
                ('{"id": 1, "return": %d}', base.Outcome.ANSWERED),
                ('{"return": %d.0}', base.Outcome.ANSWERED),
                ('{"\\u0072eturn": %d}', base.Outcome.ANSWERED),
                ('{"return": true}', base.Outcome.WRONG_ANSWER),
                ('{"return": "%d"}', base.Outcome.WRONG_ANSWER),
                ('{"return": [%d]}', base.Outcome.WRONG_ANSWER),
                ('{"return": 0%d}', base.Outcome.WRONG_ANSWER),
                ('{"return": -%d}', base.Outcome.WRONG_ANSWER),
                ('{"return": %d1}', base.Outcome.WRONG_ANSWER),
                ('{"return": %d, "return": 1}', base.Outcome.WRONG_ANSWER),
                ('{"return":%d}}', base.Outcome.WRONG_ANSWER),
                ('\u00a0{"return":%d}', base.Outcome.WRONG_ANSWER),
                ('{"return":%d}\x0b', base.Outcome.WRONG_ANSWER),
                ('{"return":%d}\n', base.Outcome.ANSWERED),
                ('{"Return":%d}', base.Outcome.WRONG_ANSWER),
                ('[%d]', base.Outcome.WRONG_ANSWER),
                ('%d', base.Outcome.WRONG_ANSWER)):
            answer = template.replace('%d', str(nonce))
            got, _ = self.check_both_ways(answer, nonce)
            self.assertIs(outcome, got, answer)
        for answer in ('{"return":\u0665}', '{"return":\uff15}'):
            got, _ = self.check_both_ways(answer, 5)
            self.assertIs(base.Outcome.WRONG_ANSWER, got, answer)

    def test_wrong_nonce_is_refused_both_ways(self):
        for answer in ('{"return":6}', '{ "return" : 6 }',
                       '{"return": 6, "id": 5}', '{"return": 0}',
                       '{"return": 12345678901234567}'):
            outcome, detail = self.check_both_ways(answer, 5)
            self.assertIs(base.Outcome.WRONG_ANSWER, outcome)
            self.assertIn('does not echo the challenge 5', detail)

    def test_detail_of_a_flood_is_bounded(self):
        self.answer(lambda nonce: '{' * 4000)
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertLess(len(result.detail), 300)

    def test_answer_after_the_timeout_is_a_miss(self):
        self.answer(lambda nonce: json.dumps({'return': nonce}))
        clock = iter([100.0, 102.5])
        with mock.patch.object(guest_agent.time, 'monotonic',
                               side_effect=lambda: next(clock)):
            result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)
        self.assertEqual(100.0, result.started)
        self.assertEqual(2.5, result.duration)
        self.assertIn('after the 2.000s timeout', result.detail)

    def test_paused_domain(self):
        self.fail(fake_libvirt.paused_error())
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.NOT_RUNNING, result.outcome)
        self.assertFalse(result.missed)
        self.assertIn('domain is not running', result.detail)

    def test_killed_agent(self):
        self.fail(fake_libvirt.agent_not_connected_error())
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.NOT_CONNECTED, result.outcome)
        self.assertTrue(result.missed)

    def test_panicked_guest(self):
        self.fail(fake_libvirt.agent_timeout_error())
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)
        self.assertTrue(result.missed)

    def test_lost_libvirtd(self):
        self.fail(fake_libvirt.connection_closed_error())
        result = self.probe.probe(self.domain, 2.0)
        self.assertIs(base.Outcome.INCONCLUSIVE, result.outcome)
        self.assertFalse(result.missed)
