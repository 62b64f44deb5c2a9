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

"""The persisted outbox, on a real SQLite database in a temporary dir."""

import dataclasses
import os
import threading

import fixtures

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting import outbox
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base as test_base
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat import full_disk

#: the event kinds
FAILED = verdicts.EVENT_FAILED
RECOVERED = verdicts.EVENT_RECOVERED
REPORTED = verdicts.EVENT_REPORTED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
#: seconds between two quick tries in these tests: the fake clock decides
#: the deadlines, the real waits between tries are only short
QUICK = 0.01


def event(n, kind=STATUS_CHANGED, instance_uuid=A):
    """The n-th event of a test: its details and its id say which."""
    return events.Event(
        kind, instance_uuid, 'compute-1', checks.APP,
        failure_class=(verdicts.CLASS_APP_FAILED
                       if kind in (REPORTED, RECOVERED)
                       else None),
        status=verdicts.APP_DEGRADED, details='event %d' % n,
        answers=(('log', 'logged'),) if kind == REPORTED else (),
        generated_time='2026-11-24T19:15:%02d' % n,
        event_id='00000000-0000-4000-8000-%012d' % n)


def fails_on(clock, *numbers, advance=None, at_try=None):
    """An ``on_try`` failing transiently on the events ``numbers``.

    With ``advance``, the fake clock moves that many seconds at the try
    ``at_try``, before the error.
    """
    details = {'event %d' % n for n in numbers}

    def on_try(tries, event):
        if advance is not None and tries == at_try:
            clock.advance(advance)
        if event.details in details:
            raise fakes.transient_error()

    return on_try


class OutboxTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.flags(group='vmheartbeat', state_path=self.state_path,
                   notification_deadline=600.0, best_effort_deadline=120.0)
        self.clock = test_base.FakeClock(1000.0)
        real = delivery.policies
        self.useFixture(fixtures.MockPatchObject(
            delivery, 'policies', side_effect=lambda conf: {
                name: dataclasses.replace(policy, interval=QUICK,
                                          slow_interval=QUICK)
                for name, policy in real(conf).items()}))

    def make(self, *notifiers, best_effort=()):
        """An open outbox of ``notifiers``, the configured ones."""
        self.flags(group='vmheartbeat',
                   notifiers=[name for name, _ in notifiers],
                   best_effort_notifiers=list(best_effort))
        box = outbox.Outbox(self.conf, list(notifiers), clock=self.clock)
        box.open()
        self.addCleanup(box.close)
        self.addCleanup(box.stop, test_base.WAIT)
        return box

    def stop(self, box):
        """Stop its threads: what they did is then final."""
        box.stop(test_base.WAIT)
        self.assertNotIn('still being delivered', self.logger.output)


class DeliveryTestCase(OutboxTestCase):

    def test_each_event_once_to_each_notifier_in_order(self):
        first, second = fakes.RecordingNotifier(), fakes.RecordingNotifier()
        box = self.make(('first', first), ('second', second))
        box.start()
        sent = [event(0), event(1, REPORTED),
                event(2, RECOVERED), event(3, instance_uuid=B)]
        for each in sent:
            box.put(each)
        first.wait_delivered(4)
        second.wait_delivered(4)
        self.stop(box)
        # the very events, read back from the database
        self.assertEqual(sent, first.delivered)
        self.assertEqual(sent, second.delivered)
        self.assertEqual(4, first.tries)
        self.assertEqual(4, second.tries)
        self.assertEqual(0, box.pending())

    def test_kept_until_delivered(self):
        box = self.make(('log', fakes.RecordingNotifier()),
                        ('other', fakes.RecordingNotifier()))
        box.put(event(0))
        box.put(event(1))
        self.assertEqual(4, box.pending())
        self.assertEqual(2, box.pending('log'))
        self.assertEqual(2, box.pending('other'))

    def test_only_the_kinds_a_notifier_takes_are_kept_for_it(self):
        reports = fakes.RecordingNotifier(
            kinds=(FAILED, REPORTED))
        everything = fakes.RecordingNotifier()
        failures = fakes.RecordingNotifier(kinds=(FAILED,))
        box = self.make(('reports', reports), ('everything', everything),
                        ('failures', failures))
        box.put(event(0))
        self.assertEqual(0, box.pending('reports'))
        self.assertEqual(1, box.pending('everything'))
        self.assertEqual(0, box.pending('failures'))
        box.put(event(1, REPORTED))
        self.assertEqual(1, box.pending('reports'))
        self.assertEqual(0, box.pending('failures'))
        box.start()
        everything.wait_delivered(2)
        reports.wait_delivered(1)
        self.stop(box)
        self.assertEqual([REPORTED],
                         [e.kind for e in reports.delivered])
        self.assertEqual(1, reports.tries)
        self.assertEqual(0, failures.tries)
        self.assertEqual(0, box.pending())

    def test_an_event_no_notifier_takes_is_not_kept(self):
        box = self.make(('masakari', fakes.RecordingNotifier(
            kinds=(FAILED,))))
        box.put(event(0))
        box.put(event(1, REPORTED))
        self.assertEqual(0, box.pending())

    def test_a_hanging_notifier_does_not_delay_another(self):
        gate = threading.Event()
        hanging = fakes.RecordingNotifier(gate=gate)
        steady = fakes.RecordingNotifier()
        box = self.make(('hanging', hanging), ('steady', steady))
        self.addCleanup(gate.set)
        box.start()
        sent = [event(n) for n in range(3)]
        for each in sent:
            box.put(each)
        self.wait_for(hanging.entered, 'the hanging delivery')
        steady.wait_delivered(3)
        self.assertEqual(sent, steady.delivered)
        self.assertEqual([], hanging.delivered)
        self.assertEqual(1, hanging.tries)
        self.assertEqual(3, box.pending('hanging'))
        gate.set()
        hanging.wait_delivered(3)
        self.stop(box)
        self.assertEqual(sent, hanging.delivered)
        self.assertEqual(0, box.pending())

    def test_a_failing_notifier_does_not_delay_another(self):
        healed = threading.Event()

        def on_try(tries, event):
            if not healed.is_set():
                raise fakes.transient_error()

        failing = fakes.RecordingNotifier(on_try=on_try)
        steady = fakes.RecordingNotifier()
        box = self.make(('failing', failing), ('steady', steady))
        box.start()
        sent = [event(n) for n in range(3)]
        for each in sent:
            box.put(each)
        steady.wait_delivered(3)
        # tried again, and again, meanwhile
        failing.wait_until(lambda n: n.tries >= 2, 'a second try')
        self.assertEqual([], failing.delivered)
        self.assertEqual(sent, steady.delivered)
        healed.set()
        failing.wait_delivered(3)
        self.stop(box)
        # in order, each once
        self.assertEqual(sent, failing.delivered)
        self.assertEqual(3, steady.tries)
        self.assertIn('not delivered to failing', self.logger.output)

    def test_permanent_error_drops_the_delivery(self):
        refusing = fakes.RecordingNotifier([fakes.permanent_error()])
        other = fakes.RecordingNotifier()
        box = self.make(('refusing', refusing), ('other', other))
        box.start()
        box.put(event(0))
        box.put(event(1))
        refusing.wait_delivered(1)
        other.wait_delivered(2)
        self.stop(box)
        # refused for good: not tried again, and the next one goes
        self.assertEqual([event(1)], refusing.delivered)
        self.assertEqual(2, refusing.tries)
        # the other has both
        self.assertEqual([event(0), event(1)], other.delivered)
        self.assertEqual(0, box.pending())
        self.assertIn('refused the status_changed event of instance %s for '
                      'good' % A, self.logger.output)

    def test_unexpected_error_is_retried(self):
        buggy = fakes.RecordingNotifier([RuntimeError('notifier bug')])
        box = self.make(('buggy', buggy))
        box.start()
        box.put(event(0))
        buggy.wait_delivered(1)
        self.stop(box)
        self.assertEqual(2, buggy.tries)
        self.assertEqual([event(0)], buggy.delivered)
        self.assertIn('failed unexpectedly', self.logger.output)
        self.assertIn('RuntimeError: notifier bug', self.logger.output)

    def test_best_effort_gives_up_after_its_deadline(self):
        # the first try fails within the deadline, the second past it
        webhook = fakes.RecordingNotifier()
        webhook.on_try = fails_on(self.clock, 0, advance=121.0, at_try=2)
        box = self.make(('webhook', webhook), best_effort=['webhook'])
        box.start()
        box.put(event(0))
        box.put(event(1))
        webhook.wait_delivered(1)
        self.stop(box)
        self.assertEqual([event(1)], webhook.delivered)
        self.assertEqual(3, webhook.tries)
        self.assertEqual(0, box.pending())
        self.assertIn('Best-effort notifier webhook gave up the '
                      'status_changed event of instance %s 121s after it'
                      % A, self.logger.output)

    def test_best_effort_is_retried_within_its_deadline(self):
        webhook = fakes.RecordingNotifier([fakes.transient_error()] * 3)
        box = self.make(('webhook', webhook), best_effort=['webhook'])
        box.start()
        self.clock.advance(100.0)
        box.put(event(0))
        webhook.wait_delivered(1)
        self.stop(box)
        self.assertEqual(4, webhook.tries)
        self.assertNotIn('gave up', self.logger.output)

    def test_a_wall_clock_step_cuts_no_deadline_short(self):
        # the wall clock jumps a day ahead between two tries: the
        # best-effort deadline counts on the monotonic clock
        wall = [1000.0]
        webhook = fakes.RecordingNotifier([fakes.transient_error()] * 2)
        webhook.on_try = lambda n, e: wall.__setitem__(0, wall[0] + 86400.0)
        self.flags(group='vmheartbeat', notifiers=['webhook'],
                   best_effort_notifiers=['webhook'])
        box = outbox.Outbox(self.conf, [('webhook', webhook)],
                            clock=self.clock, wall=lambda: wall[0])
        box.open()
        self.addCleanup(box.close)
        self.addCleanup(box.stop, test_base.WAIT)
        box.start()
        box.put(event(0))
        webhook.wait_delivered(1)
        self.stop(box)
        self.assertEqual(3, webhook.tries)
        self.assertNotIn('gave up', self.logger.output)

    def test_required_keeps_retrying_after_its_deadline(self):
        log = fakes.RecordingNotifier([fakes.transient_error()] * 4)
        # past every deadline at its second try
        log.on_try = fails_on(self.clock, advance=86400.0, at_try=2)
        box = self.make(('log', log), ('webhook', fakes.RecordingNotifier()),
                        best_effort=['webhook'])
        box.start()
        box.put(event(0))
        log.wait_delivered(1)
        self.stop(box)
        self.assertEqual([event(0)], log.delivered)
        self.assertEqual(5, log.tries)
        self.assertNotIn('gave up', self.logger.output)
        self.assertEqual(0, box.pending())


class RestartTestCase(OutboxTestCase):

    def test_a_kept_event_that_cannot_be_read_is_dropped(self):
        log = fakes.RecordingNotifier()
        box = self.make(('log', log))
        for n in range(3):
            box.put(event(n))
        # a damaged database: one row without its time stamp, one whose
        # event is not JSON
        with box._db:
            box._db.execute("UPDATE deliveries SET stamp = NULL WHERE "
                            "event_id = ?", (event(0).event_id,))
            box._db.execute("UPDATE deliveries SET event = 'x{' WHERE "
                            "event_id = ?", (event(1).event_id,))
        box.start()
        log.wait_delivered(1)
        self.stop(box)
        self.assertEqual([event(2)], log.delivered)
        self.assertEqual(0, box.pending())
        self.assertEqual(2, self.logger.output.count(
            'Dropping a health event kept for notifier log that cannot be '
            'read'))

    def test_events_are_kept_across_a_stop(self):
        # the first run delivers event 0, then cannot deliver event 1
        log = fakes.RecordingNotifier()
        log.on_try = fails_on(self.clock, 1)
        box = self.make(('log', log))
        box.start()
        sent = [event(0), event(1, REPORTED),
                event(2, RECOVERED)]
        for each in sent:
            box.put(each)
        log.wait_until(lambda n: n.tries >= 2, 'a try of event 1')
        self.stop(box)
        box.close()
        self.assertEqual([event(0)], log.delivered)

        # the next run delivers what was left, in order, and only that
        again = fakes.RecordingNotifier()
        box = self.make(('log', again))
        self.assertEqual(2, box.pending('log'))
        self.assertIn('2 health event(s) for notifier log kept from the '
                      'last run', self.logger.output)
        box.start()
        again.wait_delivered(2)
        self.stop(box)
        box.close()
        self.assertEqual(sent[1:], again.delivered)
        # the same events: a receiver can recognize a repeat
        self.assertEqual([e.event_id for e in sent[1:]],
                         [e.event_id for e in again.delivered])
        self.assertEqual(2, again.tries)

        # and the one after that has nothing left to send
        last = fakes.RecordingNotifier()
        box = self.make(('log', last))
        self.assertEqual(0, box.pending())
        box.start()
        box.put(event(3))
        last.wait_delivered(1)
        self.stop(box)
        self.assertEqual([event(3)], last.delivered)

    def test_events_put_before_the_start_are_delivered(self):
        box = self.make(('log', fakes.RecordingNotifier()))
        box.put(event(0))
        self.stop(box)
        box.close()
        log = fakes.RecordingNotifier()
        box = self.make(('log', log))
        box.start()
        log.wait_delivered(1)
        self.assertEqual([event(0)], log.delivered)

    def test_a_best_effort_deadline_counts_from_the_first_run(self):
        box = self.make(('webhook', fakes.RecordingNotifier()),
                        best_effort=['webhook'])
        box.put(event(0))
        box.put(event(1))
        self.stop(box)
        box.close()
        # restarted 200 s later: event 0 fails once and is given up
        self.clock.advance(200.0)
        webhook = fakes.RecordingNotifier()
        webhook.on_try = fails_on(self.clock, 0)
        box = self.make(('webhook', webhook), best_effort=['webhook'])
        box.start()
        webhook.wait_delivered(1)
        self.stop(box)
        self.assertEqual([event(1)], webhook.delivered)
        self.assertEqual(2, webhook.tries)

    def test_kept_failures_of_a_notifier_now_required_are_delivered(self):
        # masakari best effort: its failures went through the outbox
        masakari = fakes.RecordingNotifier(kinds=[FAILED])
        box = self.make(('masakari', masakari), best_effort=['masakari'])
        box.put(event(0, kind=FAILED))
        self.assertEqual(1, box.pending('masakari'))
        self.stop(box)
        box.close()
        # required now: the flow delivers its new failures, the outbox
        # still the one it kept
        masakari = fakes.RecordingNotifier(kinds=[FAILED])
        box = self.make(('masakari', masakari))
        box.put(event(1, kind=FAILED))
        self.assertEqual(1, box.pending('masakari'))
        box.start()
        masakari.wait_delivered(1)
        self.stop(box)
        self.assertEqual([event(0, kind=FAILED)], masakari.delivered)
        self.assertEqual(0, box.pending())
        self.assertIn('1 health event(s) for notifier masakari kept from '
                      'the last run, when the outbox delivered them to it',
                      self.logger.output)
        self.assertNotIn('no longer configured', self.logger.output)

    def test_a_notifier_no_longer_configured_is_dropped(self):
        box = self.make(('log', fakes.RecordingNotifier()),
                        ('webhook', fakes.RecordingNotifier()))
        box.put(event(0))
        box.put(event(1))
        self.assertEqual(2, box.pending('webhook'))
        self.stop(box)
        box.close()

        log = fakes.RecordingNotifier()
        box = self.make(('log', log))
        self.assertEqual(0, box.pending('webhook'))
        self.assertEqual(2, box.pending('log'))
        self.assertIn('Dropping 2 health event(s) kept for notifier '
                      'webhook, which is no longer configured',
                      self.logger.output)
        box.start()
        log.wait_delivered(2)
        self.stop(box)
        self.assertEqual([event(0), event(1)], log.delivered)

        # and it is gone for good
        box.close()
        box = self.make(('log', fakes.RecordingNotifier()),
                        ('webhook', fakes.RecordingNotifier()))
        self.assertEqual(0, box.pending())


class FailuresAndRepeatsTestCase(OutboxTestCase):
    """Failures for the best-effort notifiers; an event kept once."""

    def failure(self, n):
        generated = '2026-11-24T19:15:%02d' % n
        return events.Event(
            FAILED, A, 'compute-1', checks.HEARTBEAT,
            failure_class=verdicts.CLASS_HEARTBEAT, recover=True,
            details='event %d' % n, evidence=('missed 3 heartbeats',),
            generated_time=generated,
            event_id=events.failure_id(A, generated))

    def test_a_failure_is_kept_for_the_best_effort_notifiers_only(self):
        masakari = fakes.RecordingNotifier(kinds=(FAILED,))
        log = fakes.RecordingNotifier()
        webhook = fakes.RecordingNotifier()
        vitrage = fakes.RecordingNotifier(
            kinds=(RECOVERED, STATUS_CHANGED))
        box = self.make(('masakari', masakari), ('log', log),
                        ('webhook', webhook), ('vitrage', vitrage),
                        best_effort=['webhook', 'vitrage'])
        failure = self.failure(0)
        box.put(failure)
        # the required ones get it from the escalation flow
        self.assertEqual({'masakari': 0, 'log': 0, 'webhook': 1,
                          'vitrage': 0},
                         {name: box.pending(name) for name in
                          ('masakari', 'log', 'webhook', 'vitrage')})
        # any other kind for every notifier that takes it
        recovered = event(1, RECOVERED)
        box.put(recovered)
        self.assertEqual({'masakari': 0, 'log': 1, 'webhook': 2,
                          'vitrage': 1},
                         {name: box.pending(name) for name in
                          ('masakari', 'log', 'webhook', 'vitrage')})
        box.start()
        webhook.wait_delivered(2)
        log.wait_delivered(1)
        vitrage.wait_delivered(1)
        self.stop(box)
        self.assertEqual([failure, recovered], webhook.delivered)
        self.assertEqual([recovered], log.delivered)
        self.assertEqual([recovered], vitrage.delivered)
        self.assertEqual(0, masakari.tries)
        self.assertEqual(1, log.tries)
        self.assertEqual(0, box.pending())

    def test_a_failure_is_kept_for_a_required_notifier_that_does_not_recover(
            self):
        masakari = fakes.RecordingNotifier(kinds=(FAILED,))
        messaging = fakes.RecordingNotifier(recovers=False)
        box = self.make(('masakari', masakari), ('messaging', messaging))
        failure = self.failure(0)
        box.put(failure)
        self.assertEqual({'masakari': 0, 'messaging': 1},
                         {name: box.pending(name)
                          for name in ('masakari', 'messaging')})
        box.start()
        messaging.wait_delivered(1)
        self.assertEqual([failure], messaging.delivered)
        self.assertEqual(0, masakari.tries)

    def test_a_failure_no_best_effort_notifier_takes_is_not_kept(self):
        box = self.make(('masakari', fakes.RecordingNotifier(
            kinds=(FAILED,))), ('log', fakes.RecordingNotifier()),
            ('vitrage', fakes.RecordingNotifier(kinds=(RECOVERED,))),
            best_effort=['vitrage'])
        box.put(self.failure(0))
        self.assertEqual(0, box.pending())

    def test_an_event_put_twice_is_kept_once(self):
        log, webhook = fakes.RecordingNotifier(), fakes.RecordingNotifier()
        box = self.make(('log', log), ('webhook', webhook),
                        best_effort=['webhook'])
        failure = self.failure(0)
        for _ in range(2):
            box.put(event(1))
            box.put(failure)
        self.assertEqual(1, box.pending('log'))
        self.assertEqual(2, box.pending('webhook'))
        box.start()
        log.wait_delivered(1)
        webhook.wait_delivered(2)
        self.stop(box)
        self.assertEqual([event(1)], log.delivered)
        self.assertEqual([event(1), failure], webhook.delivered)
        self.assertEqual(1, log.tries)
        self.assertEqual(2, webhook.tries)
        self.assertEqual(0, box.pending())

    def test_an_event_put_again_after_a_restart_is_kept_once(self):
        # a flow resumed after a crash queues its failure again
        box = self.make(('webhook', fakes.RecordingNotifier()),
                        best_effort=['webhook'])
        box.put(self.failure(0))
        self.stop(box)
        box.close()
        webhook = fakes.RecordingNotifier()
        box = self.make(('webhook', webhook), best_effort=['webhook'])
        box.put(self.failure(0))
        self.assertEqual(1, box.pending('webhook'))
        box.start()
        webhook.wait_delivered(1)
        self.stop(box)
        self.assertEqual([self.failure(0)], webhook.delivered)
        self.assertEqual(1, webhook.tries)


class OpenTestCase(OutboxTestCase):

    def assert_names_the_state_path(self, what):
        self.flags(group='vmheartbeat', notifiers=['log'])
        box = outbox.Outbox(self.conf, [('log', fakes.RecordingNotifier())])
        self.addCleanup(box.close)
        error = self.assertRaises(exception.ConfigurationError, box.open)
        self.assertEqual('vmheartbeat.state_path', error.option)
        self.assertIn(what, str(error))
        self.assertNotIn('\n', str(error))

    def test_corrupt_database(self):
        with open(os.path.join(self.state_path, 'outbox.sqlite'),
                  'wb') as f:
            f.write(b'not a database' * 512)
        self.assert_names_the_state_path('outbox.sqlite')

    def test_state_path_that_is_a_file(self):
        path = os.path.join(self.state_path, 'not-a-dir')
        with open(path, 'w'):
            pass
        self.flags(group='vmheartbeat', state_path=path)
        self.assert_names_the_state_path('not-a-dir')

    def test_state_path_is_created(self):
        path = os.path.join(self.state_path, 'a', 'b')
        self.flags(group='vmheartbeat', state_path=path)
        box = self.make(('log', fakes.RecordingNotifier()))
        box.put(event(0))
        self.assertTrue(os.path.isfile(os.path.join(path, 'outbox.sqlite')))
        self.assertEqual(0o700, os.stat(path).st_mode & 0o777)


def big(n, kind=STATUS_CHANGED):
    """The n-th event, larger than a database page: it needs new pages."""
    return dataclasses.replace(event(n, kind), evidence=('x' * 6000,))


class BoundTestCase(OutboxTestCase):
    """The outbox is bounded per notifier, and survives a full disk."""

    def setUp(self):
        super().setUp()
        self.flags(group='vmheartbeat', outbox_max_events_per_notifier=10)
        self.levels = self.useFixture(fixtures.FakeLogger(
            name=outbox.__name__, format='%(levelname)s %(message)s'))

    def lines(self, level, text):
        return [line for line in self.levels.output.splitlines()
                if line.startswith(level + ' ') and text in line]

    def test_each_notifier_keeps_its_newest_events_up_to_the_bound(self):
        log, rest = fakes.RecordingNotifier(), fakes.RecordingNotifier(
            recovers=False)
        box = self.make(('log', log), ('rest', rest), best_effort=['log'])
        for n in range(15):
            box.put(event(n))
        self.assertEqual(10, box.pending('log'))
        self.assertEqual(10, box.pending('rest'))
        self.assertEqual(5, box.dropped('log'))
        self.assertEqual(5, box.dropped('rest'))
        # one line per burst, not one per event
        self.assertEqual(1, len(self.lines(
            'WARNING', 'dropping the oldest events of notifier log')))
        self.assertEqual(1, len(self.lines(
            'ERROR', 'dropping the oldest events of notifier rest')))
        # as the status shows them
        self.assertEqual([
            {'notifier': 'log', 'policy': 'best effort', 'pending': 10,
             'dropped': 5},
            {'notifier': 'rest', 'policy': 'required', 'pending': 10,
             'dropped': 5}], box.counts())

        box.start()
        log.wait_delivered(10)
        rest.wait_delivered(10)
        self.stop(box)
        self.assertEqual(['event %d' % n for n in range(5, 15)],
                         [e.details for e in log.delivered])
        self.assertEqual(['event %d' % n for n in range(5, 15)],
                         [e.details for e in rest.delivered])
        # the burst is over: its count is logged, once
        [line] = self.lines('WARNING', 'of notifier log dropped while it '
                            'was full')
        self.assertIn('5 event(s)', line)

    def test_a_full_disk_drops_best_effort_events_first(self):
        log, rest = fakes.RecordingNotifier(), fakes.RecordingNotifier(
            recovers=False)
        box = self.make(('log', log), ('rest', rest), best_effort=['log'])
        box.put(big(0))
        box.put(big(1))
        self.assertIn('database or disk is full',
                      str(full_disk.fill(box._db)))

        box.put(big(2))
        # room made for the required notifier from the best-effort one
        self.assertEqual(1, box.dropped('log'))
        self.assertEqual(0, box.dropped('rest'))
        self.assertEqual(3, box.pending('rest'))
        self.assertEqual(1, len(self.lines(
            'WARNING', 'dropping the oldest events of notifier log')))
        box.start()
        rest.wait_delivered(3)
        log.wait_delivered(2)
        self.stop(box)
        self.assertEqual(['event 0', 'event 1', 'event 2'],
                         [e.details for e in rest.delivered])
        # event 0 dropped; event 2 kept in memory, delivered from there
        self.assertEqual(['event 1', 'event 2'],
                         [e.details for e in log.delivered])
        self.assertEqual(0, box.pending())

    def test_a_database_that_cannot_be_written_keeps_events_in_memory(self):
        log, rest = fakes.RecordingNotifier(), fakes.RecordingNotifier(
            recovers=False)
        box = self.make(('log', log), ('rest', rest), best_effort=['log'])
        box.put(event(0))
        box._db.execute('PRAGMA query_only=1')
        # never raises to the caller
        for n in range(1, 14):
            box.put(event(n, FAILED if n == 1 else
                          STATUS_CHANGED))
        self.assertEqual(10, box.pending('log'))
        self.assertEqual(10, box.pending('rest'))
        self.assertEqual(4, box.dropped('log'))
        # kept in memory, counted as waiting
        self.assertEqual([10, 10], [c['pending'] for c in box.counts()])
        self.assertEqual(1, len(self.lines(
            'WARNING', 'notifier log are kept in memory')))
        self.assertEqual(1, len(self.lines(
            'ERROR', 'notifier rest are kept in memory')))
        self.assertIn('attempt to write a readonly database',
                      self.levels.output)

        box._db.execute('PRAGMA query_only=0')
        box.start()
        rest.wait_delivered(10)
        log.wait_delivered(10)
        expected = ['event 0'] + ['event %d' % n for n in range(5, 14)]
        self.assertEqual(expected, [e.details for e in rest.delivered])
        self.assertEqual(expected, [e.details for e in log.delivered])
        # memory drained: the next event is written to the database again
        log.gate = rest.gate = threading.Event()
        box.put(event(20))
        self.assertEqual(2, box._db.execute(
            'SELECT COUNT(*) FROM deliveries').fetchone()[0])
        log.gate.set()
