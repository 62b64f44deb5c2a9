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

"""Runs escalation flows, persisted so that a restart resumes them.

Each failure episode is one flow run, in its own TaskFlow logbook in a
local SQLite database. A flow that a stop or a crash interrupted is found
there at the next start and resumed. A flow stopped before it began to
notify is run again from its first step, so a guest that answers by then is
not reported; one stopped while notifying resumes there: deliveries that had
finished are not made again, and one that was cut short is sent again with
the same time and payload, which Masakari recognizes as a duplicate. So a
notification is neither lost nor sent twice.

An episode is ``notified`` only when every required notifier delivered.
One that could not report (a required notifier refused it for good, an
escalation that could not run) is ``rejected`` or ``error``: never counted
as reported. A notifier that refuses never reverts what the others
delivered.
"""

import collections
import contextlib
import os
import threading
import time

import futurist
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy
import taskflow.engines
from taskflow import exceptions as tf_exc
from taskflow.persistence.backends import impl_memory
from taskflow.persistence import models
from taskflow import states

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.common import stamps
from masakarimonitors_ext.vmheartbeat.escalation.flows import listeners
from masakarimonitors_ext.vmheartbeat.escalation import logbooks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import notify_tasks
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

_DONE = frozenset([states.SUCCESS, states.REVERTED, states.FAILURE])
_BOOK_PREFIX = 'vmhb-episode-'
#: an escalation resumed at start: its instance, check and failure class
Resumed = collections.namedtuple('Resumed',
                                 'instance_uuid check failure_class')
_PROBE_BOOK = 'vmhb-start-check'
_STORE = 'store'


def _outcome_of(error):
    """The outcome an engine error stands for; None when unexpected.

    A failure TaskFlow read back from the logbook has its exception's type
    names only: it is matched by its type, as the engine's own are.
    """
    for exc_class in exception.ENDS_EPISODE:
        if (error.check(exc_class) if isinstance(error, tf_exc.WrappedFailure)
                else isinstance(error, exc_class)):
            return exc_class.outcome
    return None


def _judge(stored):
    """The outcome of a finished flow, from what each notifier gave.

    :param stored: everything the flow's tasks provided.
    :returns: (outcome, answers), answers being (notifier, answer) pairs.
        ``notified`` when every required notifier delivered, else
        ``rejected``; a best-effort notifier that did not deliver is in the
        answers only.
    """
    answers, refused = [], False
    for key, result in sorted(stored.items()):
        if not key.startswith(constants.DELIVERY_PREFIX):
            continue
        name = key[len(constants.DELIVERY_PREFIX):]
        answers.append((name, result['answer']))
        if result['required'] and not result['delivered']:
            refused = True
    outcome = (verdicts.EpisodeOutcome.REJECTED if refused
               else verdicts.EpisodeOutcome.NOTIFIED)
    return outcome, tuple(answers)


def _notify_started(flow_detail):
    """True when the flow has begun to notify, even in part.

    A notify task that failed and waits for its retry is pending again:
    its retry controller, which ran before it, tells that it started.
    """
    prefixes = (constants.NOTIFY_TASK + '-', constants.NOTIFY_RETRY + '-')
    return any(ad.name.startswith(prefixes) and ad.state != states.PENDING
               for ad in flow_detail)


class _Episode:
    """What the escalator knows, in memory, of one running escalation.

    :ivar engine: its TaskFlow engine, None until loaded.
    :ivar deliveries: what each notify task gave, recorded before
        TaskFlow saves it (``notify_tasks.Deliveries``).
    :ivar persisted: its flow is kept in the logbook; False once it runs
        in memory only.
    """

    def __init__(self):
        self.engine = None
        self.deliveries = notify_tasks.Deliveries()
        self.persisted = True


class Escalator:
    """Starts, persists and resumes escalation flows.

    A flow whose logbook cannot be written (a full or read-only disk, an
    I/O error) runs in TaskFlow's memory backend instead: the failure is
    still reported, with a CRITICAL line, and only a restart of the
    monitor during that episode loses it. The next episode tries the
    logbook again.

    :param flows: an ``EscalationFlows`` factory.
    :param conf: the configuration.
    :param stop: a ``threading.Event`` set when the monitor stops.
    :param sink: an ``events.EventSink``: an episode whose every required
        notifier took the failure is a ``reported`` event, with what each
        receiver answered; None for none.
    :param guards: the ``guards.RecoveryGuards`` that keep each recovery
        Masakari was asked for (an episode reported with ``recover``);
        None to keep none.
    """

    DATABASE = 'escalations.sqlite'

    def __init__(self, flows, conf, stop, sink=None, guards=None):
        self._flows = flows
        self._guards = guards
        self._conf = conf
        self._on_closed = None
        self._stop = stop
        self._sink = sink
        workers = conf.vmheartbeat.escalation_workers
        self._runner = futurist.ThreadPoolExecutor(max_workers=workers)
        self._task_executor = futurist.ThreadPoolExecutor(
            max_workers=workers * 2)
        #: {instance_uuid: its running escalation's _Episode}
        self._episodes = {}
        self._lock = threading.Lock()
        self._backend = None
        self._memory = impl_memory.MemoryBackend()

    def open(self, on_closed):
        """Open (or create) the escalation database.

        :param on_closed: called with (instance_uuid, outcome, answers,
            failure) when an episode ends, outcome being a
            ``verdicts.EpisodeOutcome``, answers the (notifier, answer)
            pairs of a flow that ran to its end and failure the episode's
            (check, failure_class), None when it could not run.
        :raises: ConfigurationError naming ``state_path`` when the
            database cannot be created, read or written.
        """
        self._on_closed = on_closed
        path = self._conf.vmheartbeat.state_path
        db = os.path.join(path, self.DATABASE)
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            self._backend = logbooks.SharedConnectionBackend(
                {}, engine=logbooks.sqlite_engine(db))
            with contextlib.closing(self._backend.get_connection()) as conn:
                conn.upgrade()
                # NOTE: a write proves the database is usable now, not at
                # the first failure: a read-only or full disk, or a file
                # that is not a database, fails here.
                conn.validate()
                book = models.LogBook(_PROBE_BOOK)
                conn.save_logbook(book)
                conn.destroy_logbook(book.uuid)
        except (OSError, sqlalchemy.exc.SQLAlchemyError,
                tf_exc.TaskFlowException) as e:
            raise exception.ConfigurationError(
                'vmheartbeat.state_path', 'cannot use the escalation '
                'database %s: %s' % (db, logbooks.cause(e)))

    def escalating(self, instance_uuid):
        with self._lock:
            return instance_uuid in self._episodes

    def start(self, instance_uuid, evidence, probe_timeout,
              failure_class=verdicts.CLASS_HEARTBEAT, check=checks.HEARTBEAT,
              recover=True, check_settings=None, status=None,
              recovery_run=1):
        """Escalate a failure of an instance, unless one is under way.

        :param evidence: the last check results, oldest first.
        :param probe_timeout: seconds a re-probe of the check may take.
        :param failure_class: what failed (``verdicts.CLASS_*``).
        :param check: the check that failed, the one re-probed.
        :param recover: Masakari is asked to recover the instance; when
            False the failure is only reported.
        :param check_settings: the failed check's settings as a dict
            (``checks.CheckSettings.to_dict()``), None for the heartbeat.
        :param status: the application's status when the failure was found
            (``verdicts.APP_STATES``), None when unknown.
        :param recovery_run: for a failure to recover, its place in its
            run of recoveries (``guards.Permit.run``), kept by the guards
            once it is reported.
        :returns: False when an escalation of this instance already runs.
        """
        with self._lock:
            if instance_uuid in self._episodes:
                return False
            self._episodes[instance_uuid] = _Episode()
        self._runner.submit(self._guarded, instance_uuid, self._begin,
                            list(evidence), probe_timeout, {
                                constants.FAILURE_CLASS: failure_class,
                                constants.CHECK: check,
                                constants.RECOVER: bool(recover),
                                constants.CHECK_SETTINGS: check_settings,
                                constants.APP_STATUS: status,
                                constants.RECOVERY_RUN: recovery_run})
        return True

    def _guarded(self, instance_uuid, func, *args):
        try:
            func(instance_uuid, *args)
        except Exception:
            LOG.exception('Instance %s: the escalation could not run; '
                          'nothing was reported', instance_uuid)
            self._close(instance_uuid, verdicts.EpisodeOutcome.ERROR, ())

    def _close(self, instance_uuid, outcome, answers, store=None):
        """End an episode; a reported one is a ``reported`` event first.

        :param store: the episode's inputs, for the event.
        """
        with self._lock:
            self._episodes.pop(instance_uuid, None)
        if (outcome is verdicts.EpisodeOutcome.NOTIFIED and
                self._guards is not None and store[constants.RECOVER]):
            # NOTE: an episode a previous version began has no run: the
            # first of one is the least back-off after it.
            self._guards.recovered(instance_uuid,
                                   store.get(constants.RECOVERY_RUN) or 1)
        if (outcome is verdicts.EpisodeOutcome.NOTIFIED and
                self._sink is not None):
            # NOTE: before the table hears of it: the instance's next
            # answer is its ``recovered`` event, which comes after.
            self._sink.emit(events.Event(
                verdicts.EVENT_REPORTED, instance_uuid,
                store[constants.HOSTNAME], store[constants.CHECK],
                failure_class=store[constants.FAILURE_CLASS],
                status=store.get(constants.APP_STATUS),
                details='every required notifier has it',
                answers=tuple(answers)))
        failure = (None if store is None else
                   (store[constants.CHECK], store[constants.FAILURE_CLASS]))
        self._on_closed(instance_uuid, outcome, answers, failure)

    def _episode(self, instance_uuid):
        with self._lock:
            return self._episodes[instance_uuid]

    @staticmethod
    def _new_book(instance_uuid, store):
        """A logbook for one episode, its inputs saved with the flow."""
        book = models.LogBook(_BOOK_PREFIX + instance_uuid)
        flow_detail = models.FlowDetail(
            constants.name_for(constants.ESCALATION_FLOW, instance_uuid),
            uuidutils.generate_uuid())
        flow_detail.meta = {constants.INSTANCE_UUID: instance_uuid,
                            _STORE: store}
        book.add(flow_detail)
        return book, flow_detail

    def _keep(self, instance_uuid, store):
        """Save a new logbook for an episode, in memory if it must be.

        :returns: (book, flow_detail, backend).
        """
        book, flow_detail = self._new_book(instance_uuid, store)
        try:
            with contextlib.closing(self._backend.get_connection()) as conn:
                conn.save_logbook(book)
            return book, flow_detail, self._backend
        except Exception as e:
            if not logbooks.cannot_write(e):
                raise
            return self._keep_in_memory(instance_uuid, store, e)

    def _keep_in_memory(self, instance_uuid, store, error):
        """Save a new logbook for an episode in TaskFlow's memory backend.

        :param error: why the logbook cannot be written.
        :returns: (book, flow_detail, backend).
        """
        self._episode(instance_uuid).persisted = False
        LOG.critical('Instance %s: the escalation cannot be persisted '
                     '(%s): it runs in memory, not persisted; a monitor '
                     'restart now would lose it',
                     guestdata.escape(instance_uuid, 64),
                     guestdata.escape(logbooks.cause(error), 200))
        book, flow_detail = self._new_book(instance_uuid, store)
        with contextlib.closing(self._memory.get_connection()) as conn:
            conn.save_logbook(book)
        return book, flow_detail, self._memory

    def _begin(self, instance_uuid, evidence, probe_timeout, failure):
        store = {
            constants.INSTANCE_UUID: instance_uuid,
            constants.HOSTNAME: self._conf.hostname,
            constants.GENERATED_TIME: timeutils.utcnow().replace(
                microsecond=0).isoformat(),
            constants.EPISODE_STARTED: stamps.stamp(),
            constants.EVIDENCE: evidence,
            constants.PROBE_TIMEOUT: probe_timeout,
        }
        store.update(failure)
        if failure[constants.CHECK] == checks.HEARTBEAT:
            what = 'its heartbeats'
        else:
            what = 'its %s check' % failure[constants.CHECK]
        LOG.warning('Instance %s failed %s (%s%s); escalating (flow %s); '
                    'evidence: %s', instance_uuid, what,
                    failure[constants.FAILURE_CLASS],
                    '' if failure[constants.RECOVER] else ', report only',
                    constants.name_for(constants.ESCALATION_FLOW,
                                       instance_uuid),
                    ' | '.join(evidence))
        # NOTE: the inputs are saved with the logbook, before the engine
        # runs, so a crash at any point resumes with the same notification.
        self._load_and_run(instance_uuid, *self._keep(instance_uuid, store))

    def resume_pending(self):
        """Resume the flows a previous run left unfinished.

        A flow that had not begun to notify is run again from its first
        step: the guest is looked at again before anything is sent.

        :returns: a :class:`Resumed` for each escalation resumed.
        """
        resumed = []
        with contextlib.closing(self._backend.get_connection()) as conn:
            books = list(conn.get_logbooks())
        for book in books:
            pending = [fd for fd in book if fd.state not in _DONE]
            if not pending or not book.name.startswith(_BOOK_PREFIX):
                self._forget(book)
                continue
            flow_detail = pending[0]
            instance_uuid = flow_detail.meta[constants.INSTANCE_UUID]
            with self._lock:
                if instance_uuid in self._episodes:
                    continue
                self._episodes[instance_uuid] = _Episode()
            backend = self._backend
            if _notify_started(flow_detail):
                LOG.warning('Instance %s: resuming the escalation a previous '
                            'run left while notifying', instance_uuid)
            else:
                LOG.warning('Instance %s: resuming the escalation a previous '
                            'run left before notifying; looking at the guest '
                            'again first', instance_uuid)
                book, flow_detail, backend = self._rewind(book, flow_detail)
            self._runner.submit(self._guarded, instance_uuid,
                                self._load_and_run, book, flow_detail,
                                backend)
            store = flow_detail.meta[_STORE]
            resumed.append(Resumed(instance_uuid, store[constants.CHECK],
                                   store[constants.FAILURE_CLASS]))
        return resumed

    def _rewind(self, book, flow_detail):
        """The same escalation, to run again from its first step.

        :returns: (book, flow_detail, backend) holding only the episode's
            inputs.
        """
        kept = self._keep(flow_detail.meta[constants.INSTANCE_UUID],
                          flow_detail.meta[_STORE])
        self._forget_quietly(book)
        return kept

    def _load_and_run(self, instance_uuid, book, flow_detail, backend=None):
        episode = self._episode(instance_uuid)
        flow = self._flows.get_escalation_flow(
            instance_uuid, deliveries=episode.deliveries)
        episode.deliveries.seed(flow, flow_detail)
        try:
            # NOTE: loading saves the inputs in the logbook: a disk that
            # is full or read-only fails here, before anything runs.
            engine = taskflow.engines.load(
                flow, store=dict(flow_detail.meta[_STORE]),
                flow_detail=flow_detail,
                book=book,
                backend=backend or self._backend, engine='parallel',
                executor=self._task_executor)
        except Exception as e:
            if not self._lost(instance_uuid, episode, book, flow_detail, e):
                raise
            return
        with self._lock:
            episode.engine = engine
        self._run(instance_uuid, engine, book, flow_detail)

    def _run(self, instance_uuid, engine, book, flow_detail):
        episode = self._episode(instance_uuid)
        outcome = verdicts.EpisodeOutcome.NOTIFIED
        answers = ()
        try:
            with listeners.EscalationLogListener(engine):
                engine.run()
        except Exception as e:
            if self._lost(instance_uuid, episode, book, flow_detail, e):
                return
            outcome = _outcome_of(e)
            if outcome is None:
                LOG.exception('Instance %s: the escalation failed; nothing '
                              'was reported', instance_uuid)
                outcome = verdicts.EpisodeOutcome.ERROR
            else:
                LOG.log(logging.ERROR
                        if outcome is verdicts.EpisodeOutcome.REJECTED
                        else logging.INFO,
                        'Instance %s: escalation ended, %s: %s',
                        instance_uuid, outcome, e)
        if outcome is verdicts.EpisodeOutcome.ERROR:
            self._forget_quietly(book)
        elif engine.storage.get_flow_state() not in _DONE:
            if self._stop.is_set():
                outcome = verdicts.EpisodeOutcome.INTERRUPTED
                if episode.persisted:
                    LOG.warning('Instance %s: escalation interrupted by the '
                                'stop; it resumes at the next start',
                                instance_uuid)
                else:
                    LOG.error('Instance %s: escalation interrupted by the '
                              'stop; it was not persisted: it is lost',
                              instance_uuid)
            else:
                outcome = verdicts.EpisodeOutcome.ERROR
                LOG.error('Instance %s: the escalation stopped in state %s; '
                          'nothing was reported', instance_uuid,
                          engine.storage.get_flow_state())
                self._forget_quietly(book)
        else:
            if outcome is verdicts.EpisodeOutcome.NOTIFIED:
                outcome, answers = self._judged(
                    instance_uuid, engine.storage.fetch_all())
            self._forget_quietly(book)
        self._close(instance_uuid, outcome, answers, flow_detail.meta[_STORE])

    def _judged(self, instance_uuid, stored):
        """The outcome of a flow that ran to its end, logged."""
        outcome, answers = _judge(stored)
        if outcome is verdicts.EpisodeOutcome.NOTIFIED:
            LOG.warning('Instance %s: failure reported (%s)',
                        instance_uuid, '; '.join(
                            '%s: %s' % a for a in answers))
        else:
            LOG.error('Instance %s: not reported: a required '
                      'notifier did not take it (%s)',
                      instance_uuid, '; '.join(
                          '%s: %s' % a for a in answers))
        return outcome, answers

    def _lost(self, instance_uuid, episode, book, flow_detail, error):
        """Handle ``error`` if the episode's logbook cannot be written.

        :returns: True when it was that (see :meth:`_logbook_lost`).
        """
        if not (episode.persisted and logbooks.cannot_write(error)):
            return False
        self._logbook_lost(instance_uuid, episode, book, flow_detail, error)
        return True

    def _logbook_lost(self, instance_uuid, episode, book, flow_detail,
                      error):
        """The logbook of a running escalation could not be written.

        When every notify task and the queue task have ended, the episode
        is judged from what they recorded in memory: a failure Masakari
        took is reported, never sent again with a new time. Otherwise the
        same flow, with the same inputs, runs again in memory; a delivery
        that ended, or a failure the outbox already has, is not made again.
        """
        self._forget_quietly(book)
        if episode.deliveries.all_recorded(self._flows.takes_failures()):
            results = episode.deliveries.results()
            LOG.error('Instance %s: the escalation logbook cannot be '
                      'written (%s); every notifier has answered, judged '
                      'from what they answered', instance_uuid,
                      guestdata.escape(logbooks.cause(error), 200))
            outcome, answers = self._judged(instance_uuid, {
                notify_tasks.delivery_name(name): result
                for name, result in results.items()})
            self._close(instance_uuid, outcome, answers,
                        flow_detail.meta[_STORE])
            return
        store = flow_detail.meta[_STORE]
        self._load_and_run(instance_uuid, *self._keep_in_memory(
            instance_uuid, store, error))

    def _forget_quietly(self, book):
        """Drop a flow that ended, if the database lets us."""
        try:
            self._forget(book)
        except Exception as e:
            LOG.warning('Cannot drop escalation %s (%s); it is looked at '
                        'again at the next start', book.name,
                        logbooks.cause(e))

    def _forget(self, book):
        """Drop a logbook, from memory or else from the database."""
        with contextlib.closing(self._memory.get_connection()) as conn:
            try:
                conn.destroy_logbook(book.uuid)
                return
            except tf_exc.NotFound:
                pass
        with contextlib.closing(self._backend.get_connection()) as conn:
            with contextlib.suppress(tf_exc.NotFound):
                conn.destroy_logbook(book.uuid)

    def stop(self, timeout):
        """Suspend running flows; wait up to ``timeout`` for them."""
        with self._lock:
            engines = [e.engine for e in self._episodes.values()
                       if e.engine is not None]
        for engine in engines:
            engine.suspend()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._episodes:
                    break
            time.sleep(0.05)
        with self._lock:
            left = list(self._episodes)
        if left:
            LOG.warning('Stopping with escalations still running for %s; '
                        'they resume at the next start', ', '.join(left))
        self._runner.shutdown(wait=False)
        self._task_executor.shutdown(wait=False)
