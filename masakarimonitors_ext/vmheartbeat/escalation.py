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
from taskflow.persistence import models
from taskflow import states

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import checks
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat import logbooks
from masakarimonitors_ext.vmheartbeat import stamps

LOG = logging.getLogger(__name__)

_DONE = frozenset([states.SUCCESS, states.REVERTED, states.FAILURE])
_OUTCOMES = (
    (exception.InstanceAnswered, constants.OUTCOME_ANSWERED),
    (exception.InstanceSuppressed, constants.OUTCOME_SUPPRESSED),
    (exception.LibvirtUnavailable, constants.OUTCOME_INCONCLUSIVE),
    (exception.ProbeInconclusive, constants.OUTCOME_INCONCLUSIVE),
    (exception.PermanentNotificationError, constants.OUTCOME_REJECTED),
)
_BOOK_PREFIX = 'vmhb-episode-'
#: store entries an episode persisted before they existed gets
_STORE_DEFAULTS = {constants.CHECK: checks.HEARTBEAT,
                   constants.FAILURE_CLASS: checks.CLASS_HEARTBEAT,
                   constants.RECOVER: True,
                   constants.CHECK_SETTINGS: None}

#: an escalation resumed at start: its instance, check and failure class
Resumed = collections.namedtuple('Resumed',
                                 'instance_uuid check failure_class')
_PROBE_BOOK = 'vmhb-start-check'
_STORE = 'store'


def _outcome_of(error):
    """The outcome an engine error stands for; None when unexpected."""
    if isinstance(error, tf_exc.WrappedFailure):
        for exc_class, outcome in _OUTCOMES:
            if error.check(exc_class):
                return outcome
        return None
    for exc_class, outcome in _OUTCOMES:
        if isinstance(error, exc_class):
            return outcome
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
        if not isinstance(result, dict):
            # NOTE: what an older release's notify task gave: delivered
            result = {'delivered': True, 'answer': str(result),
                      'required': True}
        answers.append((name, result['answer']))
        if result['required'] and not result['delivered']:
            refused = True
    outcome = (constants.OUTCOME_REJECTED if refused
               else constants.OUTCOME_NOTIFIED)
    return outcome, tuple(answers)


def _notify_started(flow_detail):
    """True when the flow has begun to notify, even in part.

    A notify task that failed and waits for its retry is pending again:
    its retry controller, which ran before it, tells that it started.
    """
    prefixes = (constants.NOTIFY_TASK + '-', constants.NOTIFY_RETRY + '-')
    return any(ad.name.startswith(prefixes) and ad.state != states.PENDING
               for ad in flow_detail)


class Escalator:
    """Starts, persists and resumes escalation flows.

    :param flows: an ``EscalationFlows`` factory.
    :param conf: the configuration.
    :param on_closed: called with (instance_uuid, outcome, answers) when
        an episode ends, outcome being one of ``constants.OUTCOME_*`` and
        answers the (notifier, answer) pairs of a flow that ran to its end.
    :param stop: a ``threading.Event`` set when the monitor stops.
    """

    DATABASE = 'escalations.sqlite'

    def __init__(self, flows, conf, on_closed, stop):
        self._flows = flows
        self._conf = conf
        self._on_closed = on_closed
        self._stop = stop
        workers = conf.vmheartbeat.escalation_workers
        self._runner = futurist.ThreadPoolExecutor(max_workers=workers)
        self._task_executor = futurist.ThreadPoolExecutor(
            max_workers=workers * 2)
        self._engines = {}
        self._lock = threading.Lock()
        self._backend = None

    def open(self):
        """Open (or create) the escalation database.

        :raises: ConfigurationError naming ``state_path`` when the
            database cannot be created, read or written.
        """
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
            return instance_uuid in self._engines

    def start(self, instance_uuid, evidence, probe_timeout,
              failure_class=checks.CLASS_HEARTBEAT, check=checks.HEARTBEAT,
              recover=True, check_settings=None):
        """Escalate a failure of an instance, unless one is under way.

        :param evidence: the last check results, oldest first.
        :param probe_timeout: seconds a re-probe of the check may take.
        :param failure_class: what failed (``checks.CLASS_*``).
        :param check: the check that failed, the one re-probed.
        :param recover: Masakari is asked to recover the instance; when
            False the failure is only reported.
        :param check_settings: the failed check's settings as a dict
            (``checks.CheckSettings.to_dict()``), None for the heartbeat.
        :returns: False when an escalation of this instance already runs.
        """
        with self._lock:
            if instance_uuid in self._engines:
                return False
            self._engines[instance_uuid] = None
        self._runner.submit(self._guarded, instance_uuid, self._begin,
                            list(evidence), probe_timeout, {
                                constants.FAILURE_CLASS: failure_class,
                                constants.CHECK: check,
                                constants.RECOVER: bool(recover),
                                constants.CHECK_SETTINGS: check_settings})
        return True

    def _guarded(self, instance_uuid, func, *args):
        try:
            func(instance_uuid, *args)
        except Exception:
            LOG.exception('Instance %s: the escalation could not run; '
                          'nothing was reported', instance_uuid)
            with self._lock:
                self._engines.pop(instance_uuid, None)
            self._on_closed(instance_uuid, constants.OUTCOME_ERROR, ())

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
        # NOTE: the inputs are saved with the logbook, before the engine
        # runs, so a crash at any point resumes with the same notification.
        book, flow_detail = self._new_book(instance_uuid, store)
        with contextlib.closing(self._backend.get_connection()) as conn:
            conn.save_logbook(book)
        if failure[constants.CHECK] == checks.HEARTBEAT:
            what = 'its heartbeats'
        else:
            what = 'its %s check' % failure[constants.CHECK]
        LOG.warning('Instance %s failed %s (%s%s); escalating (flow %s); '
                    'evidence: %s', instance_uuid, what,
                    failure[constants.FAILURE_CLASS],
                    '' if failure[constants.RECOVER] else ', report only',
                    flow_detail.name, ' | '.join(evidence))
        self._load_and_run(instance_uuid, book, flow_detail)

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
                if instance_uuid in self._engines:
                    continue
                self._engines[instance_uuid] = None
            if _notify_started(flow_detail):
                LOG.warning('Instance %s: resuming the escalation a previous '
                            'run left while notifying', instance_uuid)
            else:
                LOG.warning('Instance %s: resuming the escalation a previous '
                            'run left before notifying; looking at the guest '
                            'again first', instance_uuid)
                book, flow_detail = self._rewind(book, flow_detail)
            self._runner.submit(self._guarded, instance_uuid,
                                self._load_and_run, book, flow_detail)
            store = dict(_STORE_DEFAULTS, **flow_detail.meta[_STORE])
            resumed.append(Resumed(instance_uuid, store[constants.CHECK],
                                   store[constants.FAILURE_CLASS]))
        return resumed

    def _rewind(self, book, flow_detail):
        """The same escalation, to run again from its first step.

        :returns: (book, flow_detail) holding only the episode's inputs.
        """
        fresh_book, fresh = self._new_book(instance_uuid=flow_detail.meta[
            constants.INSTANCE_UUID], store=flow_detail.meta[_STORE])
        with contextlib.closing(self._backend.get_connection()) as conn:
            conn.save_logbook(fresh_book)
        self._forget(book)
        return fresh_book, fresh

    def _load_and_run(self, instance_uuid, book, flow_detail):
        flow = self._flows.get_escalation_flow(instance_uuid)
        engine = taskflow.engines.load(
            flow, store=dict(_STORE_DEFAULTS, **flow_detail.meta[_STORE]),
            flow_detail=flow_detail,
            book=book,
            backend=self._backend, engine='parallel',
            executor=self._task_executor)
        with self._lock:
            self._engines[instance_uuid] = engine
        self._run(instance_uuid, engine, book)

    def _run(self, instance_uuid, engine, book):
        outcome = constants.OUTCOME_NOTIFIED
        answers = ()
        try:
            engine.run()
        except Exception as e:
            outcome = _outcome_of(e)
            if outcome is None:
                LOG.exception('Instance %s: the escalation failed; nothing '
                              'was reported', instance_uuid)
                outcome = constants.OUTCOME_ERROR
            else:
                LOG.log(logging.ERROR
                        if outcome == constants.OUTCOME_REJECTED
                        else logging.INFO,
                        'Instance %s: escalation ended, %s: %s',
                        instance_uuid, outcome, e)
        if outcome == constants.OUTCOME_ERROR:
            self._forget_quietly(book)
        elif engine.storage.get_flow_state() not in _DONE:
            if self._stop.is_set():
                outcome = constants.OUTCOME_INTERRUPTED
                LOG.warning('Instance %s: escalation interrupted by the '
                            'stop; it resumes at the next start',
                            instance_uuid)
            else:
                outcome = constants.OUTCOME_ERROR
                LOG.error('Instance %s: the escalation stopped in state %s; '
                          'nothing was reported', instance_uuid,
                          engine.storage.get_flow_state())
                self._forget_quietly(book)
        else:
            if outcome == constants.OUTCOME_NOTIFIED:
                outcome, answers = _judge(engine.storage.fetch_all())
                if outcome == constants.OUTCOME_NOTIFIED:
                    LOG.warning('Instance %s: failure reported (%s)',
                                instance_uuid, '; '.join(
                                    '%s: %s' % a for a in answers))
                else:
                    LOG.error('Instance %s: not reported: a required '
                              'notifier did not take it (%s)',
                              instance_uuid, '; '.join(
                                  '%s: %s' % a for a in answers))
            self._forget(book)
        with self._lock:
            self._engines.pop(instance_uuid, None)
        self._on_closed(instance_uuid, outcome, answers)

    def _forget_quietly(self, book):
        """Drop a flow that failed, if the database lets us."""
        try:
            self._forget(book)
        except Exception as e:
            LOG.warning('Cannot drop escalation %s (%s); it is looked at '
                        'again at the next start', book.name, e)

    def _forget(self, book):
        with contextlib.closing(self._backend.get_connection()) as conn:
            with contextlib.suppress(tf_exc.NotFound):
                conn.destroy_logbook(book.uuid)

    def stop(self, timeout):
        """Suspend running flows; wait up to ``timeout`` for them."""
        with self._lock:
            engines = [e for e in self._engines.values() if e is not None]
        for engine in engines:
            engine.suspend()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._engines:
                    break
            time.sleep(0.05)
        with self._lock:
            left = list(self._engines)
        if left:
            LOG.warning('Stopping with escalations still running for %s; '
                        'they resume at the next start', ', '.join(left))
        self._runner.shutdown(wait=False)
        self._task_executor.shutdown(wait=False)
