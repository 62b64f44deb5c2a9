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

"""Escalation tasks that deliver the failure."""

import threading

from oslo_log import log as logging
from taskflow import flow as taskflow_flow
from taskflow import states
from taskflow import task

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)


def delivery_name(notifier_name):
    """The store name of what one notifier's delivery gave."""
    return '%s%s' % (constants.DELIVERY_PREFIX, notifier_name)


def delivered(delivered, answer, required):
    """What a notify or queue task provides: did it deliver, what was said.

    A JSON object, as TaskFlow keeps a task's result in the logbook and
    gives it back to a resumed flow: ``delivered`` (the receiver has it),
    ``answer`` (what it answered, or why not) and ``required`` (a refusal
    leaves the episode not reported). Made only here, and judged only by
    the escalator (``episodes._judge``).
    """
    return {'delivered': delivered, 'answer': answer, 'required': required}


class Deliveries:
    """What each notify task of one episode gave, kept in memory.

    A notify task records its result here as soon as the receiver has
    answered, and the queue task once the outbox has the failure, before
    TaskFlow saves either in the logbook. When the logbook cannot be
    written, the escalator still knows who has the failure, and a flow run
    again for the same episode neither delivers nor queues it twice.
    """

    def __init__(self):
        self._results = {}
        self._lock = threading.Lock()

    def seed(self, flow, flow_detail):
        """Take what the deliveries of a stored flow had given.

        A flow resumed from the logbook knows its finished deliveries from
        there: when the logbook then cannot be written and the flow runs
        again in memory, they are not made again.

        :param flow: the episode's flow, as built for it.
        :param flow_detail: its stored ``FlowDetail``.
        """
        tasks = {atom.name: atom for atom in _atoms(flow)}
        for atom_detail in flow_detail:
            atom = tasks.get(atom_detail.name)
            if atom is None or atom_detail.state != states.SUCCESS:
                continue
            for name, index in atom.save_as.items():
                if not name.startswith(constants.DELIVERY_PREFIX):
                    continue
                result = atom_detail.results
                self.record(name[len(constants.DELIVERY_PREFIX):],
                            result if index is None else result[index])

    def all_recorded(self, notifier_names):
        """True when every one of the notifiers has a result here."""
        with self._lock:
            return all(name in self._results for name in notifier_names)

    def record(self, notifier_name, result):
        with self._lock:
            self._results[notifier_name] = result

    def get(self, notifier_name):
        """What the notifier's delivery gave, None if it has not ended."""
        with self._lock:
            return self._results.get(notifier_name)

    def results(self):
        """{notifier name: what its delivery gave}, a copy."""
        with self._lock:
            return dict(self._results)


def _atoms(flow):
    """Every atom of a flow and of its subflows."""
    for item in flow:
        if isinstance(item, taskflow_flow.Flow):
            yield from _atoms(item)
        else:
            yield item


#: what the escalation requires to make the failure event
_EVENT_INPUTS = (constants.INSTANCE_UUID, constants.HOSTNAME,
                 constants.GENERATED_TIME, constants.EVIDENCE,
                 constants.REPROBE_RESULT, constants.DOMAIN_STATE,
                 constants.LAST_PROBE, constants.CHECK,
                 constants.FAILURE_CLASS, constants.RECOVER)


def failure_event(instance_uuid, hostname, generated_time, evidence,
                  reprobe_result, domain_state, last_probe,
                  check=checks.HEARTBEAT,
                  failure_class=verdicts.CLASS_HEARTBEAT, recover=True):
    """The ``failed`` event of an episode: the same at every try."""
    return events.Event(
        verdicts.EVENT_FAILED, instance_uuid, hostname, check,
        failure_class=failure_class, recover=recover,
        details='%s failed: %s' % (check, failure_class),
        evidence=tuple(evidence) + ('re-probes: %s' % reprobe_result,
                                    'domain: %s' % domain_state,
                                    'last probe: %s' % last_probe),
        generated_time=generated_time,
        event_id=events.failure_id(instance_uuid, generated_time))


class QueueFailureTask(task.Task):
    """Hand the failure to the outbox for the notifiers that do not recover.

    They are retried there, each on its own, as their policy says, in order
    with the instance's other events, so they never hold the episode, nor the
    instance's next one: it is reported as soon as every required notifier that
    recovers has it. The outbox keeps an event once per notifier, so a flow
    resumed after a crash does not queue it twice. A disk that cannot keep it
    has the outbox keep it in memory (lost if the monitor restarts first).

    A failure already queued in this episode (``deliveries`` has a result
    for each of ``names``) is not queued again: the outbox may have
    delivered and dropped it, and would take it as a new one.

    :param names: the notifiers that take failures through the outbox.
    :param outbox: the ``outbox.Outbox``.
    :param deliveries: the episode's :class:`Deliveries` (one of its own
        when None).
    """

    def __init__(self, instance_uuid, names, outbox, deliveries=None,
                 **kwargs):
        super().__init__(
            name=constants.name_for(constants.QUEUE_TASK, instance_uuid),
            requires=_EVENT_INPUTS,
            provides=tuple(delivery_name(name) for name in names),
            **kwargs)
        self._names = tuple(names)
        self._outbox = outbox
        self._deliveries = Deliveries() if deliveries is None else deliveries

    def execute(self, instance_uuid, hostname, generated_time, evidence,
                reprobe_result, domain_state, last_probe,
                check=checks.HEARTBEAT,
                failure_class=verdicts.CLASS_HEARTBEAT, recover=True):
        if self._deliveries.all_recorded(self._names):
            LOG.info('Instance %s: the failure was already queued for %s '
                     'in this episode; not queued again', instance_uuid,
                     ', '.join(self._names))
            return tuple(self._deliveries.get(name) for name in self._names)
        results = self._queue(instance_uuid, hostname, generated_time,
                              evidence, reprobe_result, domain_state,
                              last_probe, check, failure_class, recover)
        for name, result in zip(self._names, results):
            self._deliveries.record(name, result)
        return results

    def _queue(self, instance_uuid, hostname, generated_time, evidence,
               reprobe_result, domain_state, last_probe, check,
               failure_class, recover):
        event = failure_event(instance_uuid, hostname, generated_time,
                              evidence, reprobe_result, domain_state,
                              last_probe, check, failure_class, recover)
        try:
            self._outbox.put(event)
        except Exception as e:
            LOG.error('Instance %s: the failure is lost for the notifiers '
                      '%s: the outbox cannot keep it: %s',
                      instance_uuid, ', '.join(self._names), e)
            kept, answer = False, 'lost: the outbox cannot keep it'
        else:
            kept, answer = True, 'queued'
        return tuple(delivered(kept, answer, False) for _ in self._names)


class NotifyTask(task.Task):
    """Deliver the failure through one notifier.

    Only a required notifier that recovers the instance (masakari) gets a
    task: every other notifier gets the failure through the outbox
    (``QueueFailureTask``). Each has its own task, so a slow or failing
    receiver neither delays nor repeats the others, and after a restart
    only the ones not yet delivered run again. The task never fails the
    flow: a notifier that refuses the failure for good ends with
    ``delivered`` False in what it provides, and the escalator judges the
    episode from every notifier's result. Transient errors are raised for
    its retry controller to try again, for as long as the instance stays
    failed; an unexpected error is logged with its traceback and treated as
    transient.

    A try made late is preceded by a look at the guest
    (``probe_tasks.LookAgainTask``), in the same retried subflow.

    A delivery already ended in this episode (its result is in
    ``deliveries``) is not made again: the flow is run again in memory
    when the logbook cannot be written.

    :param policy: the notifier's ``delivery.Policy``, a required one.
    :param deliveries: the episode's :class:`Deliveries` (one of its own
        when None).
    """

    def __init__(self, instance_uuid, notifier_name, notifier, policy,
                 deliveries=None, **kwargs):
        if not policy.required:
            raise ValueError('notifier %s is best effort: its failures go '
                             'through the outbox' % notifier_name)
        super().__init__(
            name=constants.name_for(
                '%s-%s' % (constants.NOTIFY_TASK, notifier_name),
                instance_uuid),
            requires=_EVENT_INPUTS,
            provides=delivery_name(notifier_name),
            **kwargs)
        # NOTE: taskflow's Task owns the attribute "_notifier".
        self._driver_name = notifier_name
        self._driver = notifier
        self._deliveries = Deliveries() if deliveries is None else deliveries

    def execute(self, instance_uuid, hostname, generated_time, evidence,
                reprobe_result, domain_state, last_probe,
                check=checks.HEARTBEAT,
                failure_class=verdicts.CLASS_HEARTBEAT, recover=True):
        done = self._deliveries.get(self._driver_name)
        if done is not None:
            LOG.info('Instance %s: notifier %s already answered in this '
                     'episode (%s); not sent again', instance_uuid,
                     self._driver_name, done['answer'])
            return done
        result = self._deliver(
            instance_uuid, hostname, generated_time, evidence,
            reprobe_result, domain_state, last_probe, check, failure_class,
            recover)
        self._deliveries.record(self._driver_name, result)
        return result

    def _deliver(self, instance_uuid, hostname, generated_time, evidence,
                 reprobe_result, domain_state, last_probe, check,
                 failure_class, recover):
        event = failure_event(instance_uuid, hostname, generated_time,
                              evidence, reprobe_result, domain_state,
                              last_probe, check, failure_class, recover)
        attempt = delivery.try_once(self._driver_name, self._driver, event)
        if attempt.result == delivery.TRANSIENT:
            raise exception.TransientNotificationError(attempt.answer)
        if attempt.result == delivery.REFUSED:
            LOG.error('Instance %s: notifier %s refused the failure for '
                      'good: %s', instance_uuid, self._driver_name,
                      attempt.answer)
            return delivered(False, 'refused: %s' % attempt.answer, True)
        LOG.info('Instance %s: notification %s: %s', instance_uuid,
                 self._driver_name, attempt.answer)
        return delivered(True, attempt.answer, True)
