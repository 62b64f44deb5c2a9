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

"""The escalation flow of one failed instance."""

from taskflow.patterns import linear_flow
from taskflow.patterns import unordered_flow

from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.escalation.tasks import domain_tasks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import notify_tasks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import probe_tasks
from masakarimonitors_ext.vmheartbeat.escalation.tasks import retry_tasks
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat import verdicts


class EscalationFlows:
    """Builds escalation flows.

    :param conf: the configuration.
    :param prober: the ``prober.Prober`` the re-probes go through.
    :param inventory: the ``inventory.Inventory``, for the domain's state.
    :param notifiers: the configured notifiers, a list of (name, driver).
    :param outbox: the ``outbox.Outbox`` that delivers the failure to the
        notifiers the flow does not deliver to.
    :param stop: a ``threading.Event`` set when the monitor stops.
    :param nova: a ``nova.Nova`` for the instance's task state, or None.
    """

    def __init__(self, conf, prober, inventory, notifiers, outbox, stop,
                 nova=None):
        self._conf = conf.vmheartbeat
        self._prober = prober
        self._inventory = inventory
        self._notifiers = notifiers
        self._outbox = outbox
        self._stop = stop
        self._nova = nova
        self._policies = delivery.policies(conf)

    def takes_failures(self):
        """The notifiers that get the failure, by a task or the outbox."""
        return [name for name, notifier in self._notifiers
                if verdicts.EVENT_FAILED in notifier.kinds]

    def get_escalation_flow(self, instance_uuid, deliveries=None):
        """The flow that confirms a failure and reports it.

        Steps, in order:

        1. re-probe: quick re-probes with a short backoff
           (``retry_attempts``, ``retry_backoff``); an answer ends it;
        2. confirm the domain: it exists, runs, and no lifecycle
           operation (libvirt job, Nova task state) is under way;
        3. confirm with one last probe;
        4. notify every required notifier that recovers (Masakari), in
           parallel, each retried on transient errors as its
           ``delivery.Policy`` says: quickly until
           ``notification_deadline``, then every
           ``notification_slow_retry_interval`` seconds, probing the guest
           before each late try, for as long as it stays failed; and hand
           the failure to the outbox for every other notifier that takes
           failures, which delivers it there, as its policy says, in order
           with the instance's other events: these never hold the episode,
           nor the instance's next one.

        Requires in the store: ``instance_uuid``, ``hostname``,
        ``generated_time``, ``episode_started``, ``evidence`` and
        ``probe_timeout``.

        :param deliveries: the episode's ``notify_tasks.Deliveries``,
            where each notify task records what its delivery gave.
        """
        flow = linear_flow.Flow(
            constants.name_for(constants.ESCALATION_FLOW, instance_uuid))

        reprobe = linear_flow.Flow(
            constants.name_for(constants.REPROBE_SUBFLOW, instance_uuid),
            retry=retry_tasks.ReprobeRetry(
                instance_uuid, self._conf.retry_attempts,
                self._conf.retry_backoff, self._stop))
        reprobe.add(probe_tasks.ReprobeInstanceTask(
            instance_uuid, self._prober, self._conf.retry_attempts))
        flow.add(reprobe)

        flow.add(domain_tasks.ConfirmDomainRunningTask(
            instance_uuid, self._inventory, self._nova))
        flow.add(probe_tasks.ConfirmLastProbeTask(instance_uuid,
                                                  self._prober))

        notify = unordered_flow.Flow(
            constants.name_for(constants.NOTIFY_SUBFLOW, instance_uuid))
        queued = []
        for name, notifier in self._notifiers:
            if verdicts.EVENT_FAILED not in notifier.kinds:
                continue
            policy = self._policies[name]
            if not delivery.by_escalation(notifier, policy):
                queued.append(name)
                continue
            one = linear_flow.Flow(
                constants.name_for('%s-%s' % (constants.NOTIFY_SUBFLOW, name),
                                   instance_uuid),
                retry=retry_tasks.DeliveryRetry(instance_uuid, name, policy,
                                                self._stop))
            one.add(probe_tasks.LookAgainTask(
                instance_uuid, name, self._prober, policy, deliveries),
                notify_tasks.NotifyTask(
                    instance_uuid, name, notifier, policy, deliveries))
            notify.add(one)
        if queued:
            notify.add(notify_tasks.QueueFailureTask(
                instance_uuid, queued, self._outbox, deliveries))
        flow.add(notify)
        return flow
