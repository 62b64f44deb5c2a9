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

import queue
import threading

import fixtures

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.probing import connections
from masakarimonitors_ext.vmheartbeat.probing import prober
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing.probes import guest_agent
from tests.unit import base as test_base
from tests.unit import fake_libvirt
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
#: the agent heartbeats of A and B, as the prober keys them
KA = checks.CheckKey(A, checks.HEARTBEAT)
KB = checks.CheckKey(B, checks.HEARTBEAT)


class RecordingCheckDriver(base.ProbeDriver):
    """A check's driver: one outcome; records the settings and memos."""

    def __init__(self, outcome):
        self.outcome = outcome
        self.checks = []
        self.memos = []

    def probe(self, domain, timeout, check=None, memo=None, idle=None):
        self.checks.append(check)
        self.memos.append(memo)
        memo['calls'] = memo.get('calls', 0) + 1
        return base.ProbeResult(self.outcome)


class ProberTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = test_base.FakeClock()
        self.driver = fakes.ScriptedDriver()
        self.pool = fakes.FakePool()
        self.prober = prober.Prober(self.driver, self.pool, workers=4,
                                    clock=self.clock)
        self.addCleanup(self.prober.shutdown)
        # runs before the shutdown: no pool thread stays blocked
        self.addCleanup(self.driver.release_all)

    def test_submit_runs_the_driver_and_calls_back(self):
        done = queue.Queue()
        call, started = self.prober.submit(
            KA, 2.0, on_done=lambda *args: done.put(args))
        self.assertTrue(started)
        self.assertEqual(1000.0, call.submitted)
        key, done_call, result = done.get(timeout=test_base.WAIT)
        self.assertEqual(1000.0, call.started)
        self.assertEqual(1002.0, call.deadline)
        self.assertEqual(KA, key)
        self.assertIs(call, done_call)
        self.assertTrue(result.answered)
        self.assertEqual(1, self.driver.calls[A])
        self.assertIsNone(self.prober.in_flight(KA))

    def test_one_call_in_flight_per_instance(self):
        self.driver.hold(A)
        first, started = self.prober.submit(KA, 2.0)
        self.assertTrue(started)
        self.wait_for(self.driver.entered[A], "the call of A")
        self.clock.advance(30)
        again, started = self.prober.submit(KA, 2.0)
        self.assertFalse(started)
        self.assertIs(first, again)
        self.assertIs(first, self.prober.in_flight(KA))
        self.assertEqual(1, self.driver.calls[A])

        self.driver.release(A)
        first.future.result(timeout=test_base.WAIT)
        third, started = self.prober.submit(KA, 2.0)
        self.assertTrue(started)
        self.assertIsNot(first, third)
        third.future.result(timeout=test_base.WAIT)
        self.assertEqual(2, self.driver.calls[A])

    def test_hung_instance_does_not_hold_back_another(self):
        self.driver.hold(A)
        self.prober.submit(KA, 2.0)
        call_b, started = self.prober.submit(KB, 2.0)
        self.assertTrue(started)
        self.assertTrue(call_b.future.result(timeout=test_base.WAIT).answered)
        self.assertFalse(self.prober.in_flight(KA).future.done())

    def test_probe_returns_the_result(self):
        self.driver.results[A] = fakes.NOT_CONNECTED
        self.assertEqual(fakes.NOT_CONNECTED, self.prober.probe(KA, 2.0))

    def test_probe_joins_a_stuck_call_past_its_deadline(self):
        self.driver.hold(A)
        call, _ = self.prober.submit(KA, 2.0)
        self.wait_for(self.driver.entered[A], "the call of A")
        self.clock.advance(3.5)

        result = self.prober.probe(KA, 2.0)

        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)
        self.assertTrue(result.missed)
        self.assertEqual(1000.0, result.started)
        self.assertEqual(3.5, result.duration)
        self.assertIn('no answer 3.500s after the call started',
                      result.detail)
        self.assertEqual(1, self.driver.calls[A])
        self.assertIs(call, self.prober.in_flight(KA))

    def test_probe_gives_up_at_the_deadline(self):
        self.driver.hold(A)
        # NOTE: the fake clock stands still, so this waits the 10ms
        # timeout in real time; the held driver cannot answer meanwhile.
        result = self.prober.probe(KA, 0.01)
        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)
        self.assertEqual(1, self.driver.calls[A])

    def test_probe_after_a_call_returned_sends_a_fresh_challenge(self):
        self.driver.results[A] = fakes.NOT_CONNECTED
        self.prober.probe(KA, 2.0)
        self.prober.probe(KA, 2.0)
        self.assertEqual(2, self.driver.calls[A])

    def test_waiting_for_a_connection_is_not_started(self):
        self.pool.gate = threading.Event()
        call, _ = self.prober.submit(KA, 2.0)
        self.wait_for(self.pool.waiting, 'the wait for a connection')
        self.clock.advance(30)
        self.assertIsNone(call.started)
        self.assertFalse(call.overdue(self.clock()))
        self.pool.gate.set()
        self.assertTrue(call.future.result(timeout=test_base.WAIT).answered)
        # its time counts from the connection, not the submission
        self.assertEqual(1030.0, call.started)

    def test_probe_of_a_call_waiting_for_a_connection_is_no_miss(self):
        self.pool.gate = threading.Event()
        self.pool.errors[A] = exception.LibvirtUnavailable(
            'all 16 libvirt connections carry a call')
        self.pool.gate.set()
        result = self.prober.probe(KA, 2.0)
        self.assertIs(base.Outcome.INCONCLUSIVE, result.outcome)
        self.assertFalse(result.missed)
        self.assertEqual(0, self.driver.calls[A])

    def test_tier_follows_the_calls_a_guest_held(self):
        answering, holding, hung = (connections.TIER_ANSWERING,
                                    connections.TIER_HOLDING,
                                    connections.TIER_HUNG)
        # a guest whose agent died fails at once: it holds nothing
        self.driver.results[A] = fakes.NOT_CONNECTED
        self.prober.probe(KA, 2.0)
        self.prober.probe(KA, 2.0)
        # a hung guest's calls time out
        self.driver.results[B] = fakes.TIMED_OUT
        for _ in range(4):
            self.prober.probe(KB, 2.0)
        self.driver.results[B] = fakes.ANSWERED
        self.prober.probe(KB, 2.0)
        self.prober.probe(KB, 2.0)
        self.assertEqual([(A, answering), (A, answering),
                          (B, answering), (B, holding), (B, holding),
                          (B, hung), (B, hung), (B, answering)],
                         self.pool.tiers)

    def test_a_call_held_past_its_timeout_counts_as_held(self):
        self.driver.hold(A)
        call, _ = self.prober.submit(KA, 2.0)
        self.wait_for(self.driver.entered[A], 'the call of A')
        self.clock.advance(5.0)
        self.driver.release(A, fakes.NOT_CONNECTED)
        call.future.result(timeout=test_base.WAIT)
        self.prober.probe(KA, 2.0)
        self.assertEqual((A, connections.TIER_HOLDING), self.pool.tiers[-1])
        self.prober.forget(A)
        # the connection pool forgets its domain too
        self.assertEqual([A], self.pool.forgotten)
        self.prober.probe(KA, 2.0)
        self.assertEqual((A, connections.TIER_ANSWERING),
                         self.pool.tiers[-1])

    def test_a_guest_answering_late_but_in_time_counts_as_holding(self):
        # answers at 0.9 x its timeout hold a connection nearly as long as
        # a hung guest does; answers in a fraction of it hold none
        for share, tier in ((0.9, connections.TIER_HOLDING),
                            (0.6, connections.TIER_HOLDING),
                            (0.4, connections.TIER_ANSWERING)):
            self.prober.forget(A)
            self.driver.entered[A].clear()
            self.driver.hold(A)
            call, _ = self.prober.submit(KA, 2.0)
            self.wait_for(self.driver.entered[A], 'the call of A')
            self.clock.advance(share * 2.0)
            self.driver.release(A, fakes.ANSWERED)
            self.assertTrue(call.future.result(timeout=test_base.WAIT)
                            .answered)
            self.prober.probe(KA, 2.0)
            self.assertEqual((A, tier), self.pool.tiers[-1], share)

    def exec_prober(self, driver):
        """A prober whose exec checks ``driver`` runs; a 2 s exec check."""
        probe = prober.Prober(self.driver, self.pool, workers=2,
                              clock=self.clock,
                              drivers={checks.EXEC: driver})
        self.addCleanup(probe.shutdown)
        return probe, checks.CheckSettings(checks.EXEC, 30.0, 2.0, 2,
                                           command=('/bin/true',))

    def test_a_check_idle_between_agent_calls_holds_nothing_meanwhile(self):
        clock = self.clock

        class Waiting(base.ProbeDriver):
            def probe(self, domain, timeout, check=None, memo=None,
                      idle=None):
                # an exec check: a command runs for 1.9 s of its 2 s
                for _ in range(19):
                    clock.advance(0.1)
                    idle(0.1)
                return base.ProbeResult(base.Outcome.ANSWERED)

        probe, settings = self.exec_prober(Waiting())
        key = checks.CheckKey(A, checks.EXEC)
        self.assertTrue(probe.probe(key, 2.0, settings).answered)
        probe.probe(key, 2.0, settings)
        self.assertEqual((A, connections.TIER_ANSWERING),
                         self.pool.tiers[-1])

    def test_a_check_idle_or_waiting_for_a_connection_is_not_overdue(self):
        clock = self.clock
        seen = []
        key = checks.CheckKey(A, checks.EXEC)

        class Waiting(base.ProbeDriver):
            def probe(self, domain, timeout, check=None, memo=None,
                      idle=None):
                call = probe.in_flight(key)
                # a long wait for a connection again, past the deadline
                clock.advance(1.5)
                idle(1.5)
                seen.append(call.overdue(clock()))
                clock.advance(1.5)
                seen.append(call.overdue(clock()))
                clock.advance(1.0)
                seen.append(call.overdue(clock()))
                return base.ProbeResult(base.Outcome.ANSWERED)

        probe, settings = self.exec_prober(Waiting())
        self.assertTrue(probe.probe(key, 2.0, settings).answered)
        # its time runs again only once it has a connection again
        self.assertEqual([False, False, True], seen)

    def test_overdue_result_of_a_call_gone_idle(self):
        call = prober.Call(None, 10.0, 2.0)
        call.begin(11.0)
        call.idle()
        result = call.overdue_result(14.0)
        self.assertIs(base.Outcome.TIMED_OUT, result.outcome)
        self.assertEqual((11.0, 3.0), (result.started, result.duration))

    def test_counts_completed_calls(self):
        self.driver.results[B] = fakes.TIMED_OUT
        self.pool.errors['C'] = exception.LibvirtUnavailable('down')
        for uuid in (A, A, B, 'C'):
            self.prober.probe(checks.CheckKey(uuid, checks.HEARTBEAT), 2.0)
        self.assertEqual(prober.Counts(4, 2, 1, 1), self.prober.counts())

    def test_checks_are_keyed_apart_and_run_by_their_kind_of_driver(self):
        app_driver = RecordingCheckDriver(base.Outcome.FAILED)
        probe = prober.Prober(self.driver, self.pool, workers=4,
                              clock=self.clock,
                              drivers={checks.APP: app_driver})
        self.addCleanup(probe.shutdown)
        settings = checks.CheckSettings(checks.APP, 1.0, 0.5, 3)
        app = checks.CheckKey(A, checks.APP)
        heartbeat = checks.CheckKey(A, checks.HEARTBEAT)
        self.assertIs(base.Outcome.FAILED,
                      probe.probe(app, 0.5, settings).outcome)
        self.assertTrue(probe.probe(heartbeat, 2.0).answered)
        self.assertIs(base.Outcome.FAILED,
                      probe.probe(app, 0.5, settings).outcome)
        # the app driver got its settings and one memo kept across calls
        self.assertEqual([settings, settings], app_driver.checks)
        self.assertIs(app_driver.memos[0], app_driver.memos[1])
        self.assertEqual(2, app_driver.memos[0]['calls'])
        self.assertEqual(prober.Counts(1, 1, 0, 0), probe.counts())
        self.assertEqual(prober.Counts(2, 0, 2, 0),
                         probe.counts(checks.APP))
        # forgetting the instance drops its checks' memos
        probe.forget(A)
        probe.probe(app, 0.5, settings)
        self.assertIsNot(app_driver.memos[0], app_driver.memos[2])

    def test_domain_gone_is_not_running(self):
        self.pool.errors[A] = fake_libvirt.no_domain_error(A)
        result = self.prober.probe(KA, 2.0)
        self.assertIs(base.Outcome.NOT_RUNNING, result.outcome)
        self.assertIn('42', result.detail)
        self.assertEqual(0, self.driver.calls[A])

    def test_libvirt_unavailable_is_inconclusive(self):
        self.pool.errors[A] = exception.LibvirtUnavailable(
            'every libvirt connection carries its maximum of calls')
        result = self.prober.probe(KA, 2.0)
        self.assertIs(base.Outcome.INCONCLUSIVE, result.outcome)
        self.assertFalse(result.missed)
        self.assertIn('maximum of calls', result.detail)

    def test_inconclusive_result_resets_broken_connections(self):
        self.driver.results[A] = fakes.INCONCLUSIVE
        self.prober.probe(KA, 2.0)
        self.assertEqual(1, self.pool.resets)

    def test_driver_bug_is_inconclusive_and_frees_the_instance(self):
        def broken(domain, timeout):
            raise RuntimeError('driver bug')
        self.driver.probe = broken
        result = self.prober.probe(KA, 2.0)
        self.assertIs(base.Outcome.INCONCLUSIVE, result.outcome)
        self.assertIn('driver bug', result.detail)
        self.assertIsNone(self.prober.in_flight(KA))

    def test_escalation_waits_for_a_connection_beyond_a_stuck_call(self):
        self.prober.probe(KA, 2.0)
        self.assertEqual([(A, 2 * prober.LIBVIRT_AGENT_HOLD)],
                         self.pool.waits)

    def test_beat_waits_as_long_as_it_is_told(self):
        call, _ = self.prober.submit(KA, 2.0, wait=5.0)
        call.future.result(timeout=test_base.WAIT)
        self.assertEqual([(A, 5.0)], self.pool.waits)


class ProberWithLibvirtTestCase(test_base.TestCase):
    """The prober, the connection pool and the guest agent probe together.

    Only libvirt is fake.
    """

    def setUp(self):
        super().setUp()
        self.domains = {A: fake_libvirt.virDomain(A)}
        self.opened = []

        def open_(uri):
            conn = fake_libvirt.virConnect(uri, self.domains)
            self.opened.append(conn)
            return conn

        self.useFixture(fixtures.MockPatchObject(
            fake_libvirt, 'open', side_effect=open_))
        pool = connections.ConnectionPool('qemu:///system', 2)
        self.prober = prober.Prober(guest_agent.GuestAgentSyncProbe(),
                                    pool, workers=2)
        self.addCleanup(self.prober.shutdown)

    def test_live_guest_answers(self):
        self.assertTrue(self.prober.probe(KA, 1.0).answered)

    def test_paused_guest_is_not_running(self):
        def paused(command, timeout):
            raise fake_libvirt.paused_error()
        self.domains[A].agent = paused
        result = self.prober.probe(KA, 1.0)
        self.assertIs(base.Outcome.NOT_RUNNING, result.outcome)

    def test_killed_agent_is_a_miss(self):
        def killed(command, timeout):
            raise fake_libvirt.agent_not_connected_error()
        self.domains[A].agent = killed
        result = self.prober.probe(KA, 1.0)
        self.assertIs(base.Outcome.NOT_CONNECTED, result.outcome)

    def test_unknown_domain_is_not_running(self):
        result = self.prober.probe(KB, 1.0)
        self.assertIs(base.Outcome.NOT_RUNNING, result.outcome)

    def test_dead_libvirtd_is_inconclusive(self):
        def lost(command, timeout):
            self.opened[0].alive = False
            raise fake_libvirt.connection_closed_error()
        self.domains[A].agent = lost
        result = self.prober.probe(KA, 1.0)
        self.assertIs(base.Outcome.INCONCLUSIVE, result.outcome)
        self.assertTrue(self.opened[0].closed)
        # the next call opens a new connection
        self.domains[A].agent = fake_libvirt.echo_agent
        self.assertTrue(self.prober.probe(KA, 1.0).answered)
        self.assertEqual(2, len(self.opened))
