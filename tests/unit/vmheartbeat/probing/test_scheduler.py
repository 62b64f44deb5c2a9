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

"""The hot path: beats, calls in flight, deadlines and misses.

The scheduler runs with a real ``Prober`` over a driver the test steers
and a fake clock. ``_Driven.run_due`` handles what is due at the fake
clock's time in the test's own thread, so every step is deterministic.
"""

import queue
import threading

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.probing import prober
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.probing import scheduler
from tests.unit import base as test_base
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
#: the agent heartbeats of A and B, as the scheduler keys them
KA = checks.CheckKey(A, checks.HEARTBEAT)
KB = checks.CheckKey(B, checks.HEARTBEAT)
T0 = 1000.0


class _Idle(Exception):
    """Nothing is due: the scheduler thread would wait here."""


class SchedulerTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = test_base.FakeClock(T0)
        self.driver = fakes.ScriptedDriver()
        self.prober = prober.Prober(self.driver, fakes.FakePool(), 8,
                                    clock=self.clock)
        self.addCleanup(self.prober.shutdown)
        self.addCleanup(self.driver.release_all)
        self.results = test_base.SharedDefaultDict(queue.Queue)
        self.scheduler = scheduler.BeatScheduler(self.prober,
                                                 clock=self.clock)
        self.scheduler.listen(self._on_result)
        self.settings = fakes.settings(interval=5.0, timeout=2.0)

    def _on_result(self, instance_uuid, result):
        self.results[instance_uuid].put(result)

    def drive(self):
        """Handle due entries in the test's thread instead of the thread."""
        def idle(timeout=None):
            raise _Idle()
        self.scheduler._cond.wait = idle

    def run_due(self):
        """Handle everything due now; return what was handled."""
        handled = []
        while True:
            try:
                with self.scheduler._cond:
                    due = self.scheduler._next_due()
            except _Idle:
                return handled
            for item in due:
                self.scheduler._handle(*item)
                handled.append(item[:2])

    def at(self, when):
        """Move the clock to T0 + when and handle what is due."""
        self.clock.set(T0 + when)
        return self.run_due()

    @staticmethod
    def beats(handled):
        return [item for item in handled if item[1] == 'beat']

    def next_result(self, instance_uuid):
        try:
            return self.results[instance_uuid].get(timeout=test_base.WAIT)
        except queue.Empty:
            self.fail('no heartbeat result for %s' % (instance_uuid,))

    def no_result(self, instance_uuid):
        self.assertTrue(self.results[instance_uuid].empty(),
                        'unexpected result for %s: %s' % (
                            instance_uuid,
                            list(self.results[instance_uuid].queue)))

    def callbacks_done(self, instance_uuid):
        """An Event set once the scheduler handled the call's completion."""
        event = threading.Event()
        call = self.prober.in_flight(instance_uuid)
        self.assertIsNotNone(call)
        # NOTE: done callbacks run in the order they were added, so this
        # one runs after the scheduler's.
        call.future.add_done_callback(lambda _fut: event.set())
        return event

    def hang(self, instance_uuid):
        """The guest holds its next call until released."""
        self.driver.hold(instance_uuid)


class BeatTestCase(SchedulerTestCase):

    def setUp(self):
        super().setUp()
        self.drive()

    def test_a_pending_result_runs_the_check_again_when_due(self):
        pending = base.ProbeResult(base.Outcome.PENDING, 'written',
                                   retry_after=0.5)
        self.driver.results[A] = pending
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.assertIs(pending, self.next_result(KA))
        self.driver.results[A] = fakes.ANSWERED
        # the follow-up is due 0.5 s later, measured when the call ended
        self.assertEqual([], self.at(0.4))
        self.assertEqual([(KA, 'follow-up')], self.at(0.5))
        self.assertTrue(self.next_result(KA).answered)
        self.assertEqual(2, self.driver.calls[A])
        # the regular beats go on at their own pace
        self.assertEqual([], self.beats(self.at(4.9)))
        self.assertEqual([(KA, 'beat')], self.beats(self.at(5.0)))
        self.assertTrue(self.next_result(KA).answered)
        self.assertEqual(3, self.driver.calls[A])

    def test_a_follow_up_of_an_unwatched_check_never_runs(self):
        self.driver.results[A] = base.ProbeResult(
            base.Outcome.PENDING, 'written', retry_after=0.5)
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.next_result(KA)
        self.scheduler.unwatch(KA)
        self.at(1.0)
        self.assertEqual(1, self.driver.calls[A])

    def test_beats_at_watch_then_every_interval(self):
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.assertTrue(self.next_result(KA).answered)
        self.assertEqual(1, self.driver.calls[A])
        self.at(4.9)
        self.assertEqual(1, self.driver.calls[A])
        self.at(5.0)
        self.assertTrue(self.next_result(KA).answered)
        self.assertEqual(2, self.driver.calls[A])
        self.at(10.0)
        self.next_result(KA)
        self.assertEqual(3, self.driver.calls[A])

    def test_watch_with_delay(self):
        self.scheduler.watch(KA, self.settings, delay=3.0)
        self.assertEqual([], self.at(2.9))
        self.assertEqual([(KA, 'beat')], self.at(3.0))
        self.next_result(KA)
        self.assertEqual(1, self.driver.calls[A])

    def test_answer_is_reported_once(self):
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.next_result(KA)
        self.at(2.0)  # the call's deadline: it answered, nothing to add
        self.at(4.0)
        self.no_result(KA)

    def test_failed_call_is_reported_once(self):
        self.driver.results[A] = fakes.NOT_CONNECTED
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.assertIs(base.Outcome.NOT_CONNECTED,
                      self.next_result(KA).outcome)
        self.at(2.0)
        self.at(4.0)
        self.no_result(KA)

    def test_watching(self):
        self.assertFalse(self.scheduler.watching(KA))
        self.scheduler.watch(KA, self.settings)
        self.assertTrue(self.scheduler.watching(KA))
        self.scheduler.unwatch(KA)
        self.assertFalse(self.scheduler.watching(KA))

    def test_unwatch_stops_beats(self):
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.next_result(KA)
        self.scheduler.unwatch(KA)
        for when in (5, 10, 15, 20):
            self.assertEqual([], self.at(when))
        self.assertEqual(1, self.driver.calls[A])
        self.no_result(KA)

    def test_unwatch_drops_the_deadline_of_a_stuck_call(self):
        self.hang(A)
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.scheduler.unwatch(KA)
        self.at(2.0)
        self.at(7.0)
        self.no_result(KA)
        done = self.callbacks_done(KA)
        self.driver.release(A)
        self.wait_for(done, 'the late answer')
        self.no_result(KA)

    def test_probe_now_beats_at_once_and_moves_the_next_beats(self):
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.next_result(KA)
        self.clock.set(T0 + 1.0)
        self.scheduler.probe_now(KA)
        self.run_due()
        self.assertTrue(self.next_result(KA).answered)
        self.assertEqual(2, self.driver.calls[A])
        # the beat probe_now replaced is dropped
        self.assertEqual([], self.beats(self.at(5.0)))
        self.assertEqual([(KA, 'beat')], self.beats(self.at(6.0)))
        self.next_result(KA)
        self.assertEqual(3, self.driver.calls[A])

    def test_probe_now_at_most_once_per_interval(self):
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.next_result(KA)
        self.clock.set(T0 + 1.0)
        # a guest toggling its agent connection: a flood of events
        asked = [self.scheduler.probe_now(KA) for _ in range(100)]
        self.assertEqual([True] + [False] * 99, asked)
        self.run_due()
        self.next_result(KA)
        self.clock.set(T0 + 5.9)
        self.assertFalse(self.scheduler.probe_now(KA))
        self.clock.set(T0 + 6.0)
        self.assertTrue(self.scheduler.probe_now(KA))
        self.run_due()
        self.next_result(KA)
        self.no_result(KA)
        self.assertEqual(3, self.driver.calls[A])

    def test_probe_now_of_an_unwatched_instance_does_nothing(self):
        self.scheduler.probe_now(KA)
        self.assertEqual([], self.at(0))
        self.assertEqual(0, self.driver.calls[A])

    def test_a_result_is_reported_without_the_scheduler_lock(self):
        # NOTE: the instances table holds its own lock while it calls the
        # scheduler (watch, unwatch, probe_now): the scheduler never calls
        # it back holding its own, so the two are taken in that order only.
        held = queue.Queue()

        def on_result(key, result):
            held.put((result.outcome,
                      test_base.held_by_another(self.scheduler._cond)))

        self.scheduler.listen(on_result)
        self.hang(A)
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.wait_for(self.driver.entered[A], 'the call of A')
        # a beat missed at its deadline, reported by the scheduler
        self.at(2.0)
        self.assertEqual((base.Outcome.TIMED_OUT, False),
                         held.get(timeout=test_base.WAIT))
        # an answer, reported from the call's completion
        done = self.callbacks_done(KA)
        self.driver.release(A)
        self.wait_for(done, 'the hung call to end')
        self.at(5.0)
        self.assertEqual((base.Outcome.ANSWERED, False),
                         held.get(timeout=test_base.WAIT))

    def test_result_handler_error_does_not_stop_the_beats(self):
        calls = []

        def broken(instance_uuid, result):
            calls.append(instance_uuid)
            raise RuntimeError('handler bug')

        self.scheduler.listen(broken)
        self.hang(A)
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.wait_for(self.driver.entered[A], 'the call of A')
        self.at(2.0)  # the miss goes to the broken handler
        self.assertEqual([KA], calls)
        self.assertIn('Handling the heartbeat result of instance %s failed'
                      % (KA,), self.logger.output)
        self.at(5.0)
        self.at(7.0)
        self.assertEqual([KA, KA], calls)


class StuckCallTestCase(SchedulerTestCase):
    """A hung guest holds its call far longer than the timeout."""

    def setUp(self):
        super().setUp()
        self.drive()
        self.hang(A)
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.wait_for(self.driver.entered[A], 'the first call of A')

    def test_missed_at_its_deadline(self):
        self.at(1.9)
        self.no_result(KA)
        self.at(2.0)
        miss = self.next_result(KA)
        self.assertIs(base.Outcome.TIMED_OUT, miss.outcome)
        self.assertTrue(miss.missed)
        self.assertEqual(T0, miss.started)
        self.assertEqual(2.0, miss.duration)
        self.no_result(KA)

    def test_never_a_second_call(self):
        for when in (2, 5, 7, 10, 12, 15, 17, 20):
            self.at(when)
        self.assertEqual(1, self.driver.calls[A])
        self.assertEqual(1, self.driver.calls.total())

    def test_one_miss_per_beat(self):
        # beats at 0, 5, 10, 15; each is missed at its own deadline
        misses = []
        for beat in (0, 5, 10, 15):
            self.at(beat)
            self.no_result(KA)
            self.at(beat + 1.9)
            self.no_result(KA)
            self.at(beat + 2.0)
            misses.append(self.next_result(KA))
            self.no_result(KA)
            self.at(beat + 2.0)  # handling the same time again adds none
            self.no_result(KA)
        self.assertEqual([2.0, 7.0, 12.0, 17.0],
                         [m.duration for m in misses])
        self.assertTrue(all(m.missed for m in misses))
        self.assertEqual(1, self.driver.calls[A])

    def test_late_answer_after_the_miss_is_not_reported(self):
        self.at(2.0)
        self.assertTrue(self.next_result(KA).missed)
        done = self.callbacks_done(KA)
        self.driver.release(A, fakes.ANSWERED)
        self.wait_for(done, 'the late answer')
        self.no_result(KA)
        # the next beat makes a new call, whose answer counts
        self.at(5.0)
        self.assertTrue(self.next_result(KA).answered)
        self.assertEqual(2, self.driver.calls[A])

    def test_late_failure_in_a_later_slot_is_one_miss(self):
        self.at(2.0)
        self.next_result(KA)
        self.at(5.0)  # finds the call still in flight
        done = self.callbacks_done(KA)
        # libvirt gives up on the call at about 6s
        self.clock.set(T0 + 6.0)
        self.driver.release(A, fakes.TIMED_OUT)
        self.wait_for(done, 'the failed call')
        self.no_result(KA)
        self.at(7.0)  # the slot of the beat at 5s
        self.assertTrue(self.next_result(KA).missed)
        self.no_result(KA)
        self.at(10.0)  # a new call, which fails at once this time
        self.assertIs(base.Outcome.TIMED_OUT, self.next_result(KA).outcome)
        self.assertEqual(2, self.driver.calls[A])

    def test_late_answer_in_a_later_slot_saves_that_beat(self):
        self.at(2.0)
        self.next_result(KA)
        self.at(5.0)
        done = self.callbacks_done(KA)
        self.clock.set(T0 + 6.0)
        self.driver.release(A, fakes.ANSWERED)
        self.wait_for(done, 'the late answer')
        self.at(7.0)
        self.no_result(KA)

    def test_watch_again_keeps_the_counted_miss(self):
        self.at(2.0)
        self.next_result(KA)
        self.scheduler.watch(KA, self.settings)  # a restart, say
        self.at(2.5)  # its first beat finds the call in flight
        done = self.callbacks_done(KA)
        self.driver.release(A, fakes.ANSWERED)
        self.wait_for(done, 'the late answer')
        self.no_result(KA)
        self.assertEqual(1, self.driver.calls[A])

    def test_other_instances_keep_their_beats(self):
        self.scheduler.watch(KB, self.settings)
        self.at(0)
        self.assertTrue(self.next_result(KB).answered)
        self.at(2.0)
        self.assertTrue(self.next_result(KA).missed)
        self.no_result(KB)
        for beat in (5, 10, 15):
            self.at(beat)
            self.assertTrue(self.next_result(KB).answered)
            self.at(beat + 2.0)
            self.assertTrue(self.next_result(KA).missed)
        self.assertEqual(4, self.driver.calls[B])
        self.assertEqual(1, self.driver.calls[A])


class WaitingForAConnectionTestCase(SchedulerTestCase):
    """Every libvirt connection is busy: calls wait, and are not missed."""

    def setUp(self):
        super().setUp()
        self.drive()
        self.pool = fakes.FakePool()
        self.pool.gate = threading.Event()
        self.prober._pool = self.pool
        self.addCleanup(self.pool.gate.set)

    def test_waiting_is_not_a_miss(self):
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.wait_for(self.pool.waiting, 'the wait for a connection')
        for when in (2.0, 4.0, 5.0, 7.0, 9.0):
            self.at(when)
        self.no_result(KA)
        self.assertEqual(0, self.driver.calls[A])

    def test_deadline_counts_from_the_connection(self):
        self.hang(A)
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        self.wait_for(self.pool.waiting, 'the wait for a connection')
        self.at(2.0)
        self.clock.set(T0 + 3.0)
        self.pool.gate.set()  # a connection frees at 3s
        self.wait_for(self.driver.entered[A], 'the call of A')
        self.at(4.9)
        self.no_result(KA)
        self.at(5.0)
        miss = self.next_result(KA)
        self.assertTrue(miss.missed)
        self.assertEqual(T0 + 3.0, miss.started)
        self.assertEqual(2.0, miss.duration)

    def test_a_call_given_up_for_want_of_a_connection_is_inconclusive(self):
        self.pool.gate.set()
        self.pool.errors[A] = exception.LibvirtUnavailable(
            'all 3 libvirt connections carry a call')
        self.scheduler.watch(KA, self.settings)
        self.at(0)
        result = self.next_result(KA)
        self.assertIs(base.Outcome.INCONCLUSIVE, result.outcome)
        self.assertFalse(result.missed)
        self.assertEqual([(A, self.settings.interval)], self.pool.waits)


class SchedulerThreadTestCase(SchedulerTestCase):
    """The scheduler's own thread, woken by the test's fake clock."""

    def tick(self, when):
        self.clock.set(T0 + when)
        with self.scheduler._cond:
            self.scheduler._cond.notify()

    def test_hung_instance_does_not_delay_another(self):
        self.hang(A)
        self.scheduler.start(self._on_result)
        self.addCleanup(self.scheduler.stop)
        self.scheduler.watch(KA, self.settings)
        self.scheduler.watch(KB, self.settings)
        self.assertTrue(self.next_result(KB).answered)
        self.wait_for(self.driver.entered[A], 'the call of A')

        self.tick(2.0)
        self.assertTrue(self.next_result(KA).missed)
        for beat in (5.0, 10.0):
            self.tick(beat)
            self.assertTrue(self.next_result(KB).answered)
            self.tick(beat + 2.0)
            self.assertTrue(self.next_result(KA).missed)
        self.assertEqual(3, self.driver.calls[B])
        self.assertEqual(1, self.driver.calls[A])

    def test_stop_ends_the_thread(self):
        self.scheduler.start(self._on_result)
        self.scheduler.watch(KA, self.settings)
        self.next_result(KA)
        self.scheduler.stop()
        self.assertFalse(self.scheduler._thread.is_alive())

    def test_stop_without_start(self):
        self.scheduler.stop()
        self.assertFalse(self.scheduler.watching(KA))
