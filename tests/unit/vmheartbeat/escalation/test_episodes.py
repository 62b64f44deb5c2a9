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

"""Escalation flows on a real TaskFlow engine and a real SQLite database."""

import contextlib
import gc
import os
import queue
import threading
import types
from unittest import mock

import fixtures
import sqlalchemy
from taskflow import exceptions as tf_exc
from taskflow.persistence import models
from taskflow import states
from taskflow.types import failure

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.escalation import episodes
from masakarimonitors_ext.vmheartbeat.escalation.flows import escalation_flows
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting import outbox
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base as test_base
from tests.unit import fake_libvirt
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat import full_disk

#: the event kinds
FAILED = verdicts.EVENT_FAILED

Outcome = verdicts.EpisodeOutcome
A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
RUNNING = (fake_libvirt.VIR_DOMAIN_RUNNING,
           fake_libvirt.VIR_DOMAIN_RUNNING_BOOTED,
           fake_libvirt.VIR_DOMAIN_JOB_NONE)


class EscalationProber:
    """The prober as the escalation uses it: blocking re-probes.

    Answers from ``script`` in order, then ``default``; ``on_call(n)``
    runs at the n-th call (from 1), inside the task.
    """

    def __init__(self, script=(), default=fakes.TIMED_OUT, on_call=None):
        self.script = list(script)
        self.default = default
        self.on_call = on_call
        self.calls = 0
        self._lock = threading.Lock()

    def probe(self, key, timeout, check=None):
        with self._lock:
            self.calls += 1
            n = self.calls
            result = self.script.pop(0) if self.script else self.default
        if self.on_call is not None:
            self.on_call(n)
        return result


class BlockingNotifier(fakes.RecordingNotifier):
    """Holds its first delivery until released, then fails transiently.

    Like a Masakari API that hangs until the monitor stops; while the
    monitor is stopping every later try fails transiently too.
    """

    def __init__(self, stop):
        super().__init__()
        self.stop = stop
        self.entered = threading.Event()
        self.release = threading.Event()

    def notify(self, failure):
        self.tries += 1
        if self.tries == 1:
            self.entered.set()
            self.release.wait(test_base.WAIT)
            raise fakes.transient_error()
        if self.stop.is_set():
            raise fakes.transient_error()
        return super().notify(failure)


class EscalatorTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.flags(hostname='compute-1')
        self.flags(group='vmheartbeat', state_path=self.state_path,
                   retry_attempts=2, retry_backoff=0.0,
                   notification_retry_interval=0.1,
                   notification_deadline=60.0, escalation_workers=2)
        self.closed = queue.Queue()
        #: {instance: the answers of its last closed episode}
        self.answers = {}
        #: {instance: the (check, failure_class) its last episode closed}
        self.failures = {}
        #: called as an episode is closed, before it is recorded
        self.closing = None

    def on_closed(self, instance_uuid, outcome, answers, failure):
        if self.closing is not None:
            self.closing()
        self.answers[instance_uuid] = answers
        self.failures[instance_uuid] = failure
        self.closed.put((instance_uuid, outcome))

    def make_escalator(self, prober=None, notifiers=None, states_=None,
                       task_states=None, guards=None):
        stop = threading.Event()
        if notifiers is None:
            notifiers = [('recorder', fakes.RecordingNotifier())]
        # the notifiers are the configured ones, as the manager loads them
        self.flags(group='vmheartbeat',
                   notifiers=[name for name, _ in notifiers])
        services = types.SimpleNamespace(
            prober=prober or EscalationProber(),
            inventory=fakes.FakeInventory(
                {A: RUNNING, B: RUNNING} if states_ is None else states_),
            nova=fakes.FakeNova(task_states),
            notifiers=notifiers,
            stop=stop)
        services.outbox = outbox.Outbox(self.conf, notifiers)
        services.outbox.open()
        services.outbox.start()
        self.addCleanup(services.outbox.close)
        self.addCleanup(services.outbox.stop, 0)
        sink = fakes.RecordingSink()
        escalator = episodes.Escalator(
            escalation_flows.EscalationFlows(self.conf, **vars(services)),
            self.conf, stop, sink, guards)
        services.sink = sink
        escalator.open(self.on_closed)
        self.addCleanup(escalator.stop, 0)
        return escalator, services

    def assert_resumes_a(self, escalator):
        """The next start resumes A's heartbeat escalation."""
        self.assertEqual([episodes.Resumed(A, checks.HEARTBEAT,
                                           verdicts.CLASS_HEARTBEAT)],
                         escalator.resume_pending())

    def outcome(self):
        try:
            return self.closed.get(timeout=test_base.WAIT)
        except queue.Empty:
            self.fail('the escalation did not end')

    def books(self):
        escalator, _ = self.make_escalator()
        with contextlib.closing(
                escalator._backend.get_connection()) as conn:
            return list(conn.get_logbooks())


class EscalationOutcomeTestCase(EscalatorTestCase):

    def test_failure_notifies_once(self):
        escalator, services = self.make_escalator()
        self.assertTrue(escalator.start(A, ['starting: timed_out'], 2.0))
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())

        notifier = services.notifiers[0][1]
        self.assertEqual(1, len(notifier.delivered))
        failure = notifier.delivered[0]
        self.assertEqual(A, failure.instance_uuid)
        self.assertEqual('compute-1', failure.hostname)
        self.assertRegex(failure.generated_time,
                         r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$')
        self.assertEqual('starting: timed_out', failure.evidence[0])
        self.assertEqual(['re-probes: ', 'domain: running (reason 1)',
                          'last probe: '],
                         [e[:len(p)] for e, p in zip(
                             failure.evidence[1:],
                             ('re-probes: ', 'domain: running (reason 1)',
                              'last probe: '))])
        # two re-probes, then the last probe
        self.assertEqual(3, services.prober.calls)
        self.assertFalse(escalator.escalating(A))
        # a finished episode leaves nothing behind to resume
        self.assertEqual([], self.books())

    def test_answer_ends_without_notification(self):
        escalator, services = self.make_escalator(
            prober=EscalationProber([fakes.TIMED_OUT, fakes.ANSWERED]))
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.ANSWERED), self.outcome())
        self.assertEqual(2, services.prober.calls)
        self.assertEqual(0, services.notifiers[0][1].tries)
        self.assertEqual([], self.books())

    def test_answer_to_the_last_probe_ends_without_notification(self):
        escalator, services = self.make_escalator(
            prober=EscalationProber(
                [fakes.TIMED_OUT, fakes.TIMED_OUT, fakes.ANSWERED]))
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.ANSWERED), self.outcome())
        self.assertEqual(0, services.notifiers[0][1].tries)

    def test_paused_domain_is_suppressed(self):
        paused = (fake_libvirt.VIR_DOMAIN_PAUSED,
                  fake_libvirt.VIR_DOMAIN_PAUSED_USER,
                  fake_libvirt.VIR_DOMAIN_JOB_NONE)
        escalator, services = self.make_escalator(states_={A: paused})
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.SUPPRESSED), self.outcome())
        self.assertEqual(0, services.notifiers[0][1].tries)

    def test_not_running_probe_is_suppressed(self):
        escalator, services = self.make_escalator(
            prober=EscalationProber([fakes.NOT_RUNNING]))
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.SUPPRESSED), self.outcome())
        self.assertEqual(1, services.prober.calls)

    def test_nova_task_state_is_suppressed(self):
        escalator, services = self.make_escalator(
            task_states={A: 'migrating'})
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.SUPPRESSED), self.outcome())
        self.assertEqual(0, services.notifiers[0][1].tries)

    def test_libvirt_unavailable_is_inconclusive(self):
        escalator, services = self.make_escalator(
            prober=EscalationProber(default=fakes.INCONCLUSIVE))
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.INCONCLUSIVE),
                         self.outcome())
        self.assertEqual(0, services.notifiers[0][1].tries)

    def test_every_notifier_gets_it_once(self):
        first = fakes.RecordingNotifier()
        second = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(
            notifiers=[('first', first), ('second', second)])
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(1, len(first.delivered))
        self.assertEqual(1, len(second.delivered))

    def test_transient_error_is_retried(self):
        notifier = fakes.RecordingNotifier([fakes.transient_error()])
        escalator, _ = self.make_escalator(
            notifiers=[('recorder', notifier)])
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(2, notifier.tries)
        self.assertEqual(1, len(notifier.delivered))

    def test_notifier_bug_is_retried_as_a_transient_error(self):
        # a notifier's unexpected error (a bug, an error it did not wrap)
        # is tried again: a failure is never lost to it
        notifier = fakes.RecordingNotifier([RuntimeError('notifier bug')])
        escalator, _ = self.make_escalator(
            notifiers=[('recorder', notifier)])
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(2, notifier.tries)
        self.assertEqual(1, len(notifier.delivered))
        self.assertIn('failed unexpectedly', self.logger.output)
        self.assertIn('RuntimeError: notifier bug', self.logger.output)
        self.assertEqual([], self.books())

    def test_escalation_that_fails_is_an_error_never_reported(self):
        escalator, services = self.make_escalator()
        # a bug of the escalation itself, not of a notifier
        services.inventory.error = RuntimeError('escalation bug')
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.ERROR), self.outcome())
        self.assertEqual((), self.answers[A])
        self.assertIn('nothing was reported', self.logger.output)
        self.assertNotIn('failure reported', self.logger.output)
        self.assertEqual(0, services.notifiers[0][1].tries)
        self.assertEqual([], self.books())

    def test_permanent_error_is_rejected(self):
        notifier = fakes.RecordingNotifier([fakes.permanent_error()])
        escalator, services = self.make_escalator(
            notifiers=[('recorder', notifier)])
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.REJECTED),
                         self.outcome())
        self.assertEqual(1, notifier.tries)
        self.assertEqual([], notifier.delivered)
        [(name, answer)] = self.answers[A]
        self.assertEqual('recorder', name)
        self.assertIn('Masakari answered 400', answer)
        self.assertIn('not reported: a required notifier did not take it',
                      self.logger.output)
        self.assertEqual([], self.books())

    def test_answers_are_passed_on(self):
        escalator, _ = self.make_escalator(notifiers=[
            ('first', fakes.RecordingNotifier()),
            ('second', fakes.RecordingNotifier())])
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual((('first', 'delivered'), ('second', 'delivered')),
                         self.answers[A])
        self.assertIn('failure reported (first: delivered; second: '
                      'delivered)', self.logger.output)

    def test_a_reported_episode_is_one_reported_event(self):
        escalator, services = self.make_escalator(notifiers=[
            ('first', fakes.RecordingNotifier()),
            ('second', fakes.RecordingNotifier())])
        closed_before = []
        emit = services.sink.emit
        services.sink.emit = lambda event: (
            closed_before.append(not self.closed.empty()), emit(event))
        escalator.start(A, ['missed'], 2.0, status=verdicts.APP_DEGRADED)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        [reported] = services.sink.events
        self.assertEqual(
            (verdicts.EVENT_REPORTED, A, 'compute-1', checks.HEARTBEAT,
             verdicts.CLASS_HEARTBEAT, verdicts.APP_DEGRADED,
             'every required notifier has it'),
            (reported.kind, reported.instance_uuid, reported.hostname,
             reported.check, reported.failure_class, reported.status,
             reported.details))
        self.assertEqual((('first', 'delivered'), ('second', 'delivered')),
                         reported.answers)
        # sent before the table hears of the end: the instance's next
        # answer, its ``recovered`` event, comes after it
        self.assertEqual([False], closed_before)
        # the table hears which failure it was
        self.assertEqual((checks.HEARTBEAT, verdicts.CLASS_HEARTBEAT),
                         self.failures[A])

    def test_a_reported_recovery_is_kept_by_the_guards(self):
        kept = mock.Mock(spec=['recovered'])
        escalator, _ = self.make_escalator(guards=kept)
        escalator.start(A, [], 2.0, recovery_run=2)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        kept.recovered.assert_called_once_with(A, 2)

    def test_what_is_not_a_reported_recovery_is_not_kept(self):
        kept = mock.Mock(spec=['recovered'])
        # reported only
        escalator, _ = self.make_escalator(guards=kept)
        escalator.start(A, [], 2.0, recover=False)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        # answered at a re-probe
        escalator, _ = self.make_escalator(
            prober=EscalationProber([fakes.TIMED_OUT, fakes.ANSWERED]),
            guards=kept)
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.ANSWERED), self.outcome())
        # refused
        escalator, _ = self.make_escalator(notifiers=[
            ('recorder', fakes.RecordingNotifier([fakes.permanent_error()]))],
            guards=kept)
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.REJECTED), self.outcome())
        kept.recovered.assert_not_called()

    def test_the_status_is_unknown_unless_given(self):
        escalator, services = self.make_escalator()
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        [reported] = services.sink.events
        self.assertIsNone(reported.status)

    def test_episodes_that_report_nothing_are_no_reported_event(self):
        # answered at a re-probe
        escalator, services = self.make_escalator(
            prober=EscalationProber([fakes.TIMED_OUT, fakes.ANSWERED]))
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.ANSWERED), self.outcome())
        self.assertEqual([], services.sink.events)
        # refused by the required notifier
        escalator, services = self.make_escalator(notifiers=[
            ('recorder', fakes.RecordingNotifier([fakes.permanent_error()]))])
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.REJECTED), self.outcome())
        self.assertEqual([], services.sink.events)

    def one_refuses_one_delivers(self):
        refusing = fakes.RecordingNotifier([fakes.permanent_error()])
        delivering = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(notifiers=[
            ('refusing', refusing), ('delivering', delivering)])
        escalator.start(A, ['missed'], 2.0)
        outcome = self.outcome()
        # the refusal reverts nothing: the other has it, once
        self.assertEqual(1, len(delivering.delivered))
        self.assertEqual(1, delivering.tries)
        refusing.wait_until(lambda n: n.tries == 1, 'the refusal')
        self.assertEqual([], refusing.delivered)
        self.assertEqual('delivered', dict(self.answers[A])['delivering'])
        self.assertEqual([], self.books())
        return outcome

    def test_a_required_notifier_refusing_is_rejected(self):
        self.assertEqual((A, Outcome.REJECTED),
                         self.one_refuses_one_delivers())
        self.assertIn('refused', dict(self.answers[A])['refusing'])

    def test_a_best_effort_notifier_refusing_is_still_notified(self):
        self.flags(group='vmheartbeat', best_effort_notifiers=['refusing'])
        self.assertEqual((A, Outcome.NOTIFIED),
                         self.one_refuses_one_delivers())
        # the outbox has it, and tried once: a refusal is not retried
        self.assertEqual('queued',
                         dict(self.answers[A])['refusing'])
        self.assertIn('Notifier refusing refused the failed event of '
                      'instance %s for good' % A, self.logger.output)

    def test_a_best_effort_notifier_hanging_does_not_hold_the_report(self):
        self.flags(group='vmheartbeat', best_effort_notifiers=['hanging'])
        gate = threading.Event()
        self.addCleanup(gate.set)
        hanging = fakes.RecordingNotifier(gate=gate)
        escalator, services = self.make_escalator(notifiers=[
            ('hanging', hanging), ('masakari', fakes.RecordingNotifier())])
        escalator.start(A, ['missed'], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(0, len(hanging.delivered))
        gate.set()
        hanging.wait_delivered(1)
        event, = hanging.delivered
        self.assertEqual(('failed', A), (event.kind, event.instance_uuid))

    def test_a_best_effort_failure_put_twice_is_kept_once(self):
        self.flags(group='vmheartbeat', best_effort_notifiers=['later'])
        later = fakes.RecordingNotifier(kinds=(FAILED,))
        _escalator, services = self.make_escalator(notifiers=[
            ('later', later), ('masakari', fakes.RecordingNotifier())])
        services.outbox.stop(0)
        event = events.Event(FAILED, A, 'compute-1', 'heartbeat',
                             event_id='e1')
        services.outbox.put(event)
        services.outbox.put(event)
        self.assertEqual(1, services.outbox.pending('later'))

    def test_a_failing_notifier_does_not_delay_another(self):
        gate = threading.Event()
        self.addCleanup(gate.set)
        # hangs on its first try, then fails twice more
        failing = fakes.RecordingNotifier(
            [fakes.transient_error()] * 3, gate=gate)
        steady = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(notifiers=[
            ('failing', failing), ('steady', steady)])
        escalator.start(A, ['missed'], 2.0)
        self.wait_for(failing.entered, 'the first try of the failing one')
        steady.wait_delivered(1)
        # delivered while the other is still on its first try
        self.assertEqual(1, failing.tries)
        self.assertEqual([], failing.delivered)
        self.assertTrue(self.closed.empty())
        gate.set()
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(4, failing.tries)
        self.assertEqual(1, len(failing.delivered))
        # and the steady one was not tried again by the other's retries
        self.assertEqual(1, steady.tries)
        self.assertEqual(1, len(steady.delivered))
        self.assertEqual(steady.delivered[0].event_id,
                         failing.delivered[0].event_id)

    def test_an_episode_is_closed_without_the_escalator_lock(self):
        # NOTE: the instances table holds its own lock while it asks the
        # escalator (escalating): the escalator never calls it back
        # holding its own, so the two are taken in that order only.
        escalator, _ = self.make_escalator()
        held = []
        self.closing = lambda: held.append(
            test_base.held_by_another(escalator._lock))
        escalator.start(A, ['missed'], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual([False], held)

    def test_one_escalation_per_instance(self):
        gate = threading.Event()
        entered = threading.Event()

        def hold(n):
            entered.set()
            gate.wait(test_base.WAIT)

        escalator, services = self.make_escalator(
            prober=EscalationProber(on_call=hold))
        self.addCleanup(gate.set)
        self.assertTrue(escalator.start(A, [], 2.0))
        self.wait_for(entered, 'the first re-probe')
        self.assertTrue(escalator.escalating(A))
        self.assertFalse(escalator.start(A, [], 2.0))
        self.assertFalse(escalator.escalating(B))
        gate.set()
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(1, len(services.notifiers[0][1].delivered))
        self.assertTrue(self.closed.empty())


class ResumeTestCase(EscalatorTestCase):
    """A stop or a crash in the middle; the next start resumes."""

    def assert_resumed_and_notified_once(self):
        prober = EscalationProber(default=fakes.ANSWERED)
        notifier = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(
            prober=prober, notifiers=[('recorder', notifier)])
        self.assert_resumes_a(escalator)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(1, len(notifier.delivered))
        self.assertEqual(A, notifier.delivered[0].instance_uuid)
        # the probes that had finished are not run again
        self.assertEqual(0, prober.calls)

        # finished: never resumed again
        again = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(notifiers=[('recorder', again)])
        self.assertEqual([], escalator.resume_pending())
        self.assertEqual(0, again.tries)
        self.assertEqual([], self.books())

    def stop_before_notifying(self):
        holder = {}

        def stop_at_last_probe(n):
            if n == 3:
                services.stop.set()
                holder['escalator'].stop(0)

        prober = EscalationProber(on_call=stop_at_last_probe)
        escalator, services = self.make_escalator(prober=prober)
        holder['escalator'] = escalator
        escalator.start(A, ['missed'], 2.0)
        self.assertEqual((A, Outcome.INTERRUPTED), self.outcome())
        self.assertEqual(0, services.notifiers[0][1].tries)

    def test_stop_before_notifying_looks_again(self):
        self.stop_before_notifying()
        # still failed: the flow runs again from its re-probes, then
        # notifies once
        prober = EscalationProber()
        notifier = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(
            prober=prober, notifiers=[('recorder', notifier)])
        self.assert_resumes_a(escalator)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(3, prober.calls)
        self.assertEqual(1, len(notifier.delivered))
        self.assertIn('looking at the guest again first',
                      self.logger.output)
        self.assertEqual([], self.books())

    def test_stop_before_notifying_then_answering_is_not_reported(self):
        self.stop_before_notifying()
        prober = EscalationProber(default=fakes.ANSWERED)
        notifier = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(
            prober=prober, notifiers=[('recorder', notifier)])
        self.assert_resumes_a(escalator)
        self.assertEqual((A, Outcome.ANSWERED), self.outcome())
        self.assertEqual(0, notifier.tries)
        self.assertEqual([], self.books())

    def test_stop_during_a_delivery(self):
        escalator, services = self.make_escalator()
        notifier = BlockingNotifier(services.stop)
        services.notifiers[:] = [('recorder', notifier)]
        escalator.start(A, ['missed'], 2.0)
        self.wait_for(notifier.entered, 'the delivery')
        services.stop.set()
        stopper = threading.Thread(target=escalator.stop,
                                   args=(test_base.WAIT,))
        stopper.start()
        notifier.release.set()
        self.assertEqual((A, Outcome.INTERRUPTED), self.outcome())
        stopper.join(test_base.WAIT)
        self.assertEqual([], notifier.delivered)

        self.assert_resumed_and_notified_once()

    def test_escalations_do_not_pile_up_database_objects(self):
        escalator, _ = self.make_escalator()
        self.assertIs(escalator._backend.get_connection(),
                      escalator._backend.get_connection())

        def tables_after(uuids):
            for uuid in uuids:
                escalator.start(uuid, ['missed'], 2.0)
                self.assertEqual((uuid, Outcome.NOTIFIED),
                                 self.outcome())
            gc.collect()
            return sum(isinstance(o, sqlalchemy.Table)
                       for o in gc.get_objects())

        before = tables_after([A])
        self.assertEqual(before, tables_after([B, A, B]))

    def test_crash_before_the_engine_ran(self):
        escalator, _ = self.make_escalator()
        # the monitor died right after saving the logbook: the engine
        # never ran, so the flow detail holds nothing but its inputs
        with mock.patch.object(escalator, '_load_and_run'):
            escalator.start(A, ['missed'], 2.0)
            escalator._runner.shutdown(wait=True)
        pending = self.books()
        self.assertEqual(1, len(pending))
        inputs = list(pending[0])[0].meta['store']

        notifier = fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(
            notifiers=[('recorder', notifier)])
        self.assert_resumes_a(escalator)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(1, len(notifier.delivered))
        self.assertEqual(inputs[constants.GENERATED_TIME],
                         notifier.delivered[0].generated_time)
        self.assertEqual([], self.books())

    def test_flow_that_cannot_load_is_closed(self):
        escalator, _ = self.make_escalator()
        with mock.patch.object(escalator._flows, 'get_escalation_flow',
                               side_effect=RuntimeError('broken')):
            self.assertTrue(escalator.start(A, ['missed'], 2.0))
            self.assertEqual((A, Outcome.ERROR), self.outcome())
        self.assertFalse(escalator.escalating(A))

    def test_finished_flow_is_never_resumed(self):
        escalator, _ = self.make_escalator()
        book = models.LogBook(episodes._BOOK_PREFIX + A)
        detail = models.FlowDetail(
            constants.name_for(constants.ESCALATION_FLOW, A),
            '33333333-3333-3333-3333-333333333333')
        detail.meta = {constants.INSTANCE_UUID: A}
        detail.state = states.SUCCESS
        book.add(detail)
        with contextlib.closing(
                escalator._backend.get_connection()) as conn:
            conn.save_logbook(book)

        self.assertEqual([], escalator.resume_pending())
        self.assertTrue(self.closed.empty())
        self.assertEqual([], self.books())


class OutcomeOfTestCase(test_base.TestCase):

    def test_expected_errors(self):
        for error, outcome in (
                (exception.InstanceAnswered(A), Outcome.ANSWERED),
                (exception.InstanceSuppressed(A, 'paused'),
                 Outcome.SUPPRESSED),
                (exception.LibvirtUnavailable('down'),
                 Outcome.INCONCLUSIVE),
                (exception.ProbeInconclusive('held'), Outcome.INCONCLUSIVE),
                (fakes.permanent_error(), Outcome.REJECTED)):
            self.assertEqual(outcome, episodes._outcome_of(error))
            # as the parallel engine raises it, and as it is read back
            # from the logbook (its type names only)
            stored = failure.Failure.from_exception(error)
            for failed in (stored, failure.Failure.from_dict(
                    stored.to_dict())):
                self.assertEqual(outcome, episodes._outcome_of(
                    tf_exc.WrappedFailure([failed, failure.Failure(
                        exc_info=None, exception_str='other',
                        exc_type_names=['RuntimeError'])])))

    def test_unexpected_error(self):
        self.assertIsNone(episodes._outcome_of(RuntimeError('bug')))
        # a transient error that ends an escalation is not a delivery
        self.assertIsNone(episodes._outcome_of(fakes.transient_error()))


class OpenTestCase(EscalatorTestCase):

    def assert_names_the_state_path(self, what):
        escalator = episodes.Escalator(mock.Mock(), self.conf,
                                       threading.Event())
        error = self.assertRaises(exception.ConfigurationError,
                                  escalator.open, mock.Mock())
        self.assertEqual('vmheartbeat.state_path', error.option)
        self.assertIn(what, str(error))
        self.assertNotIn('\n', str(error))
        return error

    def test_corrupt_database(self):
        with open(os.path.join(self.state_path, 'escalations.sqlite'),
                  'wb') as f:
            f.write(os.urandom(4096))
        self.assert_names_the_state_path('escalations.sqlite')

    def test_state_path_that_is_a_file(self):
        path = os.path.join(self.state_path, 'not-a-dir')
        with open(path, 'w'):
            pass
        self.flags(group='vmheartbeat', state_path=path)
        self.assert_names_the_state_path('not-a-dir')


class FullDiskTestCase(EscalatorTestCase):
    """The logbook cannot be written: the failure still reaches Masakari."""

    def setUp(self):
        super().setUp()
        self.useFixture(full_disk.NoStorageRetryWait())
        self.levels = self.useFixture(fixtures.FakeLogger(
            name=episodes.__name__, format='%(levelname)s %(message)s'))

    def make_full(self, notifier, prober=None):
        escalator, services = self.make_escalator(
            prober=prober, notifiers=[('masakari', notifier)])
        return escalator, services, full_disk.LogbookDisk(escalator)

    def critical_lines(self):
        return [line for line in self.levels.output.splitlines()
                if line.startswith('CRITICAL ')]

    def test_full_disk_notifies_once_with_one_critical_line(self):
        notifier = fakes.RecordingNotifier(
            [fakes.transient_error(), fakes.transient_error()])
        escalator, _, disk = self.make_full(notifier)
        self.assertIn('database or disk is full', str(disk.fill().cause))

        escalator.start(A, ['missed'], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual((('masakari', 'delivered'),), self.answers[A])
        self.assertEqual(3, notifier.tries)
        self.assertEqual([A], [f.instance_uuid for f in notifier.delivered])
        # one line for the episode, whatever its retries
        [line] = self.critical_lines()
        self.assertIn('Instance %s: the escalation cannot be persisted '
                      '(database or disk is full)' % A, line)
        self.assertIn('not persisted; a monitor restart now would lose it',
                      line)
        self.assertEqual([], disk.episode_books())

    def test_next_episode_is_persisted_again_once_the_disk_allows(self):
        gate = threading.Event()
        notifier = fakes.RecordingNotifier()
        escalator, _, disk = self.make_full(notifier)
        disk.fill()
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())

        disk.free()
        notifier.gate = gate
        escalator.start(A, [], 2.0)
        self.wait_for(notifier.entered, 'the second notification')
        # while it notifies, the episode is in the logbook
        [book] = disk.episode_books()
        self.assertEqual('vmhb-episode-' + A, book.name)
        gate.set()
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(2, len(notifier.delivered))
        self.assertEqual(1, len(self.critical_lines()))
        self.assertEqual([], disk.episode_books())

    def test_disk_read_only_during_the_escalation(self):
        holder = {}

        def read_only_at_last_probe(n):
            if n == 3:
                holder['disk'].read_only = True

        notifier = fakes.RecordingNotifier()
        escalator, services, disk = self.make_full(
            notifier, EscalationProber(on_call=read_only_at_last_probe))
        holder['disk'] = disk
        escalator.start(A, [], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(1, len(notifier.delivered))
        # run again in memory from its first step: the guest is looked at
        # again before anything is sent
        self.assertEqual(6, services.prober.calls)
        [line] = self.critical_lines()
        self.assertIn('attempt to write a readonly database', line)

    def test_storage_error_after_masakari_accepted_notifies_once(self):
        holder = {}

        def accepted_then_read_only(n, event):
            # Masakari takes it; TaskFlow's save of the answer fails
            holder['disk'].read_only = n == 1

        notifier = fakes.RecordingNotifier(on_try=accepted_then_read_only)
        escalator, services, disk = self.make_full(notifier)
        holder['disk'] = disk
        escalator.start(A, ['missed'], 2.0)
        instance_uuid, outcome = self.outcome()
        for _ in range(2):
            if not outcome.deferred:
                break
            # as the instance table does after the cool-off, the disk
            # writable again: a failure not reported is escalated again
            disk.free()
            escalator.start(A, ['missed'], 2.0)
            instance_uuid, outcome = self.outcome()
        self.assertEqual(Outcome.NOTIFIED, outcome)
        self.assertEqual((('masakari', 'delivered'),), self.answers[A])
        self.assertEqual(1, notifier.tries)
        self.assertEqual(1, len(notifier.delivered))
        self.assertEqual([], self.critical_lines())
        self.assertIn('every notifier has answered', self.logger.output)
        # judged from memory, reported once
        self.assertEqual([(verdicts.EVENT_REPORTED, checks.HEARTBEAT)],
                         services.sink.kinds())

    def make_full_with_best_effort(self, masakari, other):
        self.flags(group='vmheartbeat', best_effort_notifiers=['other'])
        escalator, services = self.make_escalator(notifiers=[
            ('masakari', masakari), ('other', other)])
        return escalator, services, full_disk.LogbookDisk(escalator)

    def test_run_again_in_memory_does_not_queue_the_failure_twice(self):
        holder = {}
        other = fakes.RecordingNotifier(kinds=(FAILED,))

        def read_only_once_the_outbox_delivered(n, event):
            if n == 1:
                # the outbox delivered what the queue task handed it,
                # then the logbook cannot take Masakari's first answer
                other.wait_delivered(1)
                holder['disk'].read_only = True

        masakari = fakes.RecordingNotifier(
            [fakes.transient_error()],
            on_try=read_only_once_the_outbox_delivered)
        escalator, services, disk = self.make_full_with_best_effort(
            masakari, other)
        holder['disk'] = disk
        escalator.start(A, ['missed'], 2.0)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        self.assertEqual(1, len(masakari.delivered))
        self.assertEqual(dict(masakari='delivered', other='queued'),
                         dict(self.answers[A]))
        services.outbox.stop(test_base.WAIT)
        self.assertEqual(1, len(other.delivered))
        self.assertEqual(0, services.outbox.pending('other'))

    def test_resumed_flow_on_a_read_only_disk_sends_nothing_twice(self):
        # a stop while one required notifier hangs: the other has it
        first, services = self.make_escalator(notifiers=[
            ('steady', fakes.RecordingNotifier()),
            ('hanging', fakes.RecordingNotifier())])
        hanging = BlockingNotifier(services.stop)
        services.notifiers[1] = ('hanging', hanging)
        first.start(A, ['missed'], 2.0)
        self.wait_for(hanging.entered, 'the hanging delivery')
        services.notifiers[0][1].wait_delivered(1)
        services.stop.set()
        stopper = threading.Thread(target=first.stop, args=(test_base.WAIT,))
        stopper.start()
        hanging.release.set()
        self.assertEqual((A, Outcome.INTERRUPTED), self.outcome())
        stopper.join(test_base.WAIT)

        # the next start finds the disk read-only: the flow resumed from
        # the logbook runs again in memory
        steady, late = fakes.RecordingNotifier(), fakes.RecordingNotifier()
        escalator, _ = self.make_escalator(notifiers=[
            ('steady', steady), ('hanging', late)])
        full_disk.LogbookDisk(escalator).read_only = True
        self.assert_resumes_a(escalator)
        self.assertEqual((A, Outcome.NOTIFIED), self.outcome())
        # what had been delivered before the stop is not sent again
        self.assertEqual(0, steady.tries)
        self.assertEqual(1, len(late.delivered))
        self.assertEqual(dict(steady='delivered', hanging='delivered'),
                         dict(self.answers[A]))
        [line] = self.critical_lines()
        self.assertIn('attempt to write a readonly database', line)
