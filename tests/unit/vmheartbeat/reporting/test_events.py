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

"""Health events: the model, the rate limit, the queue and the hand-over."""

import dataclasses
import datetime
import json
import queue
import sqlite3
import uuid

import fixtures
from oslo_utils import timeutils

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base
from tests.unit.vmheartbeat import fakes

#: the event kinds
FAILED = verdicts.EVENT_FAILED
RECOVERED = verdicts.EVENT_RECOVERED
REPORTED = verdicts.EVENT_REPORTED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
INTERVAL = 10.0


def status(instance_uuid=A, value=verdicts.APP_HEALTHY, details=''):
    return events.Event(STATUS_CHANGED, instance_uuid, 'compute-1',
                        checks.APP, status=value, details=details)


def episode(kind, instance_uuid=A):
    return events.Event(kind, instance_uuid, 'compute-1', checks.APP,
                        failure_class=verdicts.CLASS_APP_FAILED,
                        status=verdicts.APP_FAILED, details='db down')


def queued(sink):
    """Drain the events the sink queued for its thread, oldest first.

    What only wakes the thread up is left out.
    """
    found = []
    while True:
        try:
            item = sink._queue.get_nowait()
        except queue.Empty:
            return found
        if isinstance(item, events.Event):
            found.append(item)


class EventTestCase(base.TestCase):

    def test_defaults(self):
        event = events.Event(FAILED, A, 'compute-1', checks.HEARTBEAT)
        self.assertIsNone(event.failure_class)
        self.assertIsNone(event.recover)
        self.assertIsNone(event.status)
        self.assertEqual('', event.details)
        self.assertEqual((), event.evidence)
        self.assertEqual((), event.answers)
        generated = datetime.datetime.fromisoformat(event.generated_time)
        self.assertLess(abs(timeutils.utcnow() - generated),
                        datetime.timedelta(minutes=1))
        # whole seconds: the same text whoever formats it again
        self.assertEqual(0, generated.microsecond)
        self.assertEqual(str(uuid.UUID(event.event_id)), event.event_id)

    def test_each_event_has_its_own_id(self):
        self.assertNotEqual(status().event_id, status().event_id)

    def test_frozen(self):
        event = status()
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, event,
                          'status', verdicts.APP_FAILED)

    def test_kinds(self):
        self.assertEqual(('failed', 'reported', 'recovered',
                          'status_changed', 'recovery_suspended',
                          'mass_failure_suspected', 'pause_started',
                          'pause_ended'),
                         verdicts.EVENT_KINDS)


class SerializationTestCase(base.TestCase):
    """The versioned form of an event: what the outbox keeps."""

    def full(self):
        return events.Event(
            REPORTED, A, 'compute-1', checks.APP,
            failure_class=verdicts.CLASS_APP_FAILED, recover=False,
            status=verdicts.APP_FAILED, details='db down',
            evidence=('app: failed', 'last probe: failed'),
            answers=(('log', 'logged'), ('masakari', 'accepted')),
            generated_time='2026-11-24T19:15:00',
            event_id='33333333-3333-3333-3333-333333333333')

    def test_round_trip(self):
        for event in (self.full(), status(), episode(RECOVERED),
                      events.Event(FAILED, A, 'compute-1',
                                   checks.HEARTBEAT, recover=True)):
            self.assertEqual(event, events.Event.from_dict(event.to_dict()))

    def test_round_trip_through_json(self):
        event = self.full()
        data = json.loads(json.dumps(event.to_dict()))
        self.assertEqual(event, events.Event.from_dict(data))

    def test_plain_types_and_version(self):
        data = self.full().to_dict()
        self.assertEqual(events.VERSION, data['version'])
        self.assertEqual('1', data['version'].split('.')[0])
        self.assertEqual(['app: failed', 'last probe: failed'],
                         data['evidence'])
        self.assertEqual({'log': 'logged', 'masakari': 'accepted'},
                         data['answers'])
        self.assertEqual('33333333-3333-3333-3333-333333333333',
                         data['event_id'])
        self.assertEqual(data, json.loads(json.dumps(data)))

    def test_unknown_fields_of_a_newer_minor_version_are_ignored(self):
        data = dict(self.full().to_dict(), version='1.7',
                    added_later='something')
        self.assertEqual(self.full(), events.Event.from_dict(data))

    def test_fields_missing_from_an_older_version_get_their_defaults(self):
        data = {'kind': RECOVERED, 'instance_uuid': A,
                'hostname': 'compute-1', 'check': checks.HEARTBEAT,
                'generated_time': '2026-11-24T19:15:00',
                'event_id': '33333333-3333-3333-3333-333333333333'}
        event = events.Event.from_dict(data)
        self.assertEqual((), event.evidence)
        self.assertEqual((), event.answers)
        self.assertIsNone(event.recover)
        self.assertEqual('33333333-3333-3333-3333-333333333333',
                         event.event_id)


class FailureIdTestCase(base.TestCase):

    def test_stable(self):
        first = events.failure_id(A, '2026-11-24T19:15:00')
        self.assertEqual(first, events.failure_id(A, '2026-11-24T19:15:00'))
        self.assertEqual(str(uuid.UUID(first)), first)
        # a uuid5: the same in every process and release
        self.assertEqual(5, uuid.UUID(first).version)
        self.assertEqual(str(uuid.uuid5(events._FAILURE_NAMESPACE,
                                        A + '/2026-11-24T19:15:00')), first)

    def test_differs_per_instance_and_time(self):
        ids = {events.failure_id(A, '2026-11-24T19:15:00'),
               events.failure_id(B, '2026-11-24T19:15:00'),
               events.failure_id(A, '2026-11-24T19:15:01')}
        self.assertEqual(3, len(ids))


class RateLimitTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = base.FakeClock(0.0)
        self.sink = events.EventSink(fakes.RecordingOutbox(), INTERVAL,
                                     clock=self.clock)

    def test_first_status_change_is_queued_at_once(self):
        first = status()
        self.sink.emit(first)
        self.assertEqual([first], queued(self.sink))

    def test_only_the_latest_within_the_interval_is_sent_after_it(self):
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.clock.set(2.0)
        self.sink.emit(status(value=verdicts.APP_DEGRADED))
        self.clock.set(4.0)
        latest = status(value=verdicts.APP_FAILED, details='db down')
        self.sink.emit(latest)
        self.assertEqual([verdicts.APP_HEALTHY],
                         [e.status for e in queued(self.sink)])
        # not yet: the interval counts from the one sent at 0
        self.clock.set(9.9)
        self.sink._release_held()
        self.assertEqual([], queued(self.sink))
        self.clock.set(10.0)
        self.sink._release_held()
        self.assertEqual([latest], queued(self.sink))
        # released once only
        self.clock.set(100.0)
        self.sink._release_held()
        self.assertEqual([], queued(self.sink))

    def test_the_interval_counts_again_from_a_released_event(self):
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.clock.set(5.0)
        self.sink.emit(status(value=verdicts.APP_DEGRADED))
        self.clock.set(12.0)
        self.sink._release_held()
        self.assertEqual([verdicts.APP_HEALTHY, verdicts.APP_DEGRADED],
                         [e.status for e in queued(self.sink)])
        # sent at 12: held until 22
        self.clock.set(21.0)
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.assertEqual([], queued(self.sink))
        self.sink._release_held()
        self.assertEqual([], queued(self.sink))
        self.clock.set(22.0)
        self.sink._release_held()
        self.assertEqual([verdicts.APP_HEALTHY],
                         [e.status for e in queued(self.sink)])

    def test_status_changes_after_the_interval_pass_at_once(self):
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.clock.set(INTERVAL)
        self.sink.emit(status(value=verdicts.APP_DEGRADED))
        self.assertEqual([verdicts.APP_HEALTHY, verdicts.APP_DEGRADED],
                         [e.status for e in queued(self.sink)])

    def test_each_instance_has_its_own_interval(self):
        self.sink.emit(status(A))
        self.clock.set(1.0)
        self.sink.emit(status(B))
        self.sink.emit(status(A, verdicts.APP_DEGRADED))
        self.assertEqual([(A, verdicts.APP_HEALTHY),
                          (B, verdicts.APP_HEALTHY)],
                         [(e.instance_uuid, e.status)
                          for e in queued(self.sink)])

    def test_failure_episodes_are_never_held(self):
        self.sink.emit(status(value=verdicts.APP_DEGRADED))
        sent = [episode(kind) for kind in (FAILED, REPORTED,
                                           RECOVERED, FAILED)]
        for event in sent:
            self.clock.advance(0.1)
            self.sink.emit(event)
        found = queued(self.sink)
        self.assertEqual(verdicts.APP_DEGRADED, found[0].status)
        self.assertEqual(sent, found[1:])
        # nor do they count against the status changes' interval
        self.clock.set(INTERVAL)
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.assertEqual([verdicts.APP_HEALTHY],
                         [e.status for e in queued(self.sink)])

    def test_a_newer_status_is_not_followed_by_an_older_one(self):
        # healthy is sent at 0; failed comes within the interval and is
        # held; healthy comes once the interval is over, before the
        # thread released what was held (it was busy with a slow
        # notifier, say)
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.clock.set(5.0)
        self.sink.emit(status(value=verdicts.APP_FAILED))
        self.clock.set(12.0)
        self.sink.emit(status(value=verdicts.APP_HEALTHY, details='back'))
        self.clock.set(100.0)
        self.sink._release_held()
        sent = [e.status for e in queued(self.sink)]
        # the notifiers must end with the application's last status, not
        # with the failed one it reported before
        self.assertEqual(verdicts.APP_HEALTHY, sent[-1], sent)

    def test_forget_drops_what_is_held_and_the_interval(self):
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.clock.set(1.0)
        self.sink.emit(status(value=verdicts.APP_DEGRADED))
        self.assertEqual(1, len(queued(self.sink)))
        self.sink.forget(A)
        self.clock.set(100.0)
        self.sink._release_held()
        self.assertEqual([], queued(self.sink))
        # a new run of the instance starts with no interval to wait
        self.clock.set(100.5)
        self.sink.emit(status(value=verdicts.APP_STARTING))
        self.clock.set(101.0)
        self.sink.forget(A)
        self.sink.emit(status(value=verdicts.APP_HEALTHY))
        self.assertEqual([verdicts.APP_STARTING, verdicts.APP_HEALTHY],
                         [e.status for e in queued(self.sink)])

    def test_forget_keeps_other_instances(self):
        self.sink.emit(status(B))
        self.clock.set(1.0)
        held = status(B, verdicts.APP_DEGRADED)
        self.sink.emit(held)
        queued(self.sink)
        self.sink.forget(A)
        self.clock.set(INTERVAL)
        self.sink._release_held()
        self.assertEqual([held], queued(self.sink))


class BoundedQueueTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(events, '_QUEUE_SIZE', 2))
        self.logger = self.useFixture(fixtures.FakeLogger(
            level='DEBUG', format='%(levelname)s %(message)s'))
        self.clock = base.FakeClock(0.0)
        self.sink = events.EventSink(fakes.RecordingOutbox(), INTERVAL,
                                     clock=self.clock)

    def test_full_queue_drops_the_newest_with_one_warning(self):
        kept = [episode(FAILED, A), episode(FAILED, B)]
        for event in kept:
            self.sink.emit(event)
        # never blocks, never raises
        self.sink.emit(episode(REPORTED, B))
        self.sink.emit(episode(RECOVERED, A))
        self.sink.emit(status(B))
        self.assertEqual(kept, queued(self.sink))
        warnings = [line for line in self.logger.output.splitlines()
                    if line.startswith('WARNING')]
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('does not keep up', warnings[0])
        # it names the first one dropped
        self.assertIn(B, warnings[0])
        self.assertIn(REPORTED, warnings[0])
        self.assertEqual(3, self.sink._dropped)

    def test_room_again_once_the_thread_took_events(self):
        for kind in (FAILED, REPORTED, RECOVERED):
            self.sink.emit(episode(kind))
        self.assertEqual(2, len(queued(self.sink)))
        again = episode(FAILED, B)
        self.sink.emit(again)
        self.assertEqual([again], queued(self.sink))

    def test_released_status_change_dropped_when_full(self):
        self.sink.emit(status(A))
        self.sink.emit(episode(FAILED, B))
        self.clock.set(1.0)
        self.sink.emit(status(A, verdicts.APP_DEGRADED))
        self.assertNotIn('WARNING', self.logger.output)
        self.clock.set(INTERVAL)
        self.sink._release_held()  # the queue is full: dropped
        self.assertEqual([verdicts.APP_HEALTHY, verdicts.APP_FAILED],
                         [e.status for e in queued(self.sink)])
        self.assertEqual({}, dict(self.sink._held))
        self.assertEqual(1, self.logger.output.count('WARNING'))


class DeliverTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level='DEBUG', format='%(levelname)s %(message)s'))

    def test_the_outbox_gets_the_event(self):
        outbox = fakes.RecordingOutbox()
        sink = events.EventSink(outbox, INTERVAL)
        event = episode(REPORTED)
        sink.deliver(event)
        self.assertEqual([event], outbox.events)
        self.assertEqual('', self.logger.output)

    def test_an_outbox_that_cannot_keep_it_is_logged(self):
        outbox = fakes.RecordingOutbox(error=sqlite3.OperationalError(
            'disk I/O error'))
        sink = events.EventSink(outbox, INTERVAL)
        sink.deliver(episode(REPORTED))
        errors = [line for line in self.logger.output.splitlines()
                  if line.startswith('ERROR')]
        self.assertEqual(1, len(errors), errors)
        for word in (REPORTED, A, 'disk I/O error', 'lost'):
            self.assertIn(word, errors[0])
        # and the next event is handed over again
        outbox.error = None
        again = episode(RECOVERED)
        sink.deliver(again)
        self.assertEqual(again, outbox.events[-1])
        self.assertEqual(2, len(outbox.events))


class ThreadTestCase(base.TestCase):

    def start(self, sink):
        sink.start()
        self.addCleanup(sink.stop)

    def test_the_thread_delivers_in_order(self):
        outbox = fakes.RecordingOutbox(until=3)
        sink = events.EventSink(outbox, INTERVAL)
        self.start(sink)
        sent = [episode(FAILED), episode(REPORTED),
                episode(RECOVERED)]
        for event in sent:
            sink.emit(event)
        self.wait_for(outbox.done, 'three events delivered')
        self.assertEqual(sent, outbox.events)

    def test_the_thread_releases_a_held_status_change(self):
        clock = base.FakeClock(0.0)
        outbox = fakes.RecordingOutbox(until=1)
        sink = events.EventSink(outbox, INTERVAL, clock=clock)
        self.start(sink)
        sink.emit(status(value=verdicts.APP_HEALTHY))
        self.wait_for(outbox.done, 'the first status change')
        outbox.done.clear()
        outbox.until = 2
        sink.emit(status(value=verdicts.APP_DEGRADED))
        # held: an event of another instance goes through meanwhile
        sink.emit(episode(REPORTED, B))
        self.wait_for(outbox.done, 'the report of B')
        self.assertEqual([(A, verdicts.APP_HEALTHY), (B, verdicts.APP_FAILED)],
                         [(e.instance_uuid, e.status)
                          for e in outbox.events])
        outbox.done.clear()
        outbox.until = 4
        # once the (fake) interval is over, the next event the thread
        # wakes for lets the held one out too
        clock.set(INTERVAL)
        sink.emit(episode(RECOVERED, B))
        self.wait_for(outbox.done, 'the held status change')
        self.assertEqual([verdicts.APP_HEALTHY, verdicts.APP_DEGRADED],
                         [e.status for e in outbox.events
                          if e.instance_uuid == A])

    def test_a_held_status_change_is_sent_when_its_interval_is_over(self):
        # a short interval, so that the thread looks again soon: the
        # (fake) time decides when the held change is due
        clock = base.FakeClock(0.0)
        outbox = fakes.RecordingOutbox(until=2)
        sink = events.EventSink(outbox, 0.05, clock=clock)
        self.start(sink)
        sink.emit(status(value=verdicts.APP_HEALTHY))
        clock.set(0.01)
        latest = status(value=verdicts.APP_FAILED, details='db down')
        sink.emit(status(value=verdicts.APP_DEGRADED))
        sink.emit(latest)
        self.assertFalse(outbox.done.is_set())
        # nothing else is emitted: the thread sends it on its own
        clock.set(1.0)
        self.wait_for(outbox.done, 'the held status change')
        self.assertEqual([verdicts.APP_HEALTHY, verdicts.APP_FAILED],
                         [e.status for e in outbox.events])
        self.assertEqual(latest, outbox.events[-1])

    def test_an_idle_thread_waits_for_an_event(self):
        """Nothing held: the thread blocks on its queue, no timeout."""
        sink = events.EventSink(fakes.RecordingOutbox(), INTERVAL,
                                clock=base.FakeClock(0.0))
        timeouts = []

        class OneGet(queue.Queue):
            def get(self, block=True, timeout=None):
                timeouts.append(timeout)
                sink._stopping.set()
                raise queue.Empty()

        sink._queue = OneGet()
        sink._run()
        self.assertEqual([None], timeouts)

    def test_stop_ends_the_thread(self):
        sink = events.EventSink(fakes.RecordingOutbox(), INTERVAL)
        sink.start()
        sink.stop(timeout=base.WAIT)
        self.assertFalse(sink._thread.is_alive())

    def test_stop_before_start(self):
        events.EventSink(fakes.RecordingOutbox(), INTERVAL).stop()

    def test_no_interval_does_not_spin(self):
        """With status_event_interval = 0 the thread still waits.

        The option allows 0 (no rate limit); the thread must then block on
        its queue, not poll it with a timeout of 0 in a busy loop.
        """
        sink = events.EventSink(fakes.RecordingOutbox(), 0.0)
        timeouts = []

        class OneGet(queue.Queue):
            def get(self, block=True, timeout=None):
                timeouts.append(timeout)
                sink._stopping.set()
                raise queue.Empty()

        sink._queue = OneGet()
        sink._run()
        self.assertEqual(1, len(timeouts))
        self.assertTrue(timeouts[0] is None or timeouts[0] > 0, timeouts)
