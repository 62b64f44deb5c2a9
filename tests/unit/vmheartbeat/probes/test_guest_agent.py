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

from masakarimonitors_ext.vmheartbeat.probes import base
from masakarimonitors_ext.vmheartbeat.probes import guest_agent
from tests.unit import base as test_base
from tests.unit import fake_libvirt

A = '11111111-1111-1111-1111-111111111111'


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
        with mock.patch.object(guest_agent.json, 'loads') as loads:
            result = probe.probe(self.domain, 2.0)
        loads.assert_not_called()
        self.assertIs(base.Outcome.WRONG_ANSWER, result.outcome)
        self.assertIn('over the 64 limit', result.detail)

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
