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

"""The long-running monitor: wires the parts and owns their lifecycle.

One heartbeat, end to end: the inventory reports a running domain; the
instances table has the opt-in policy decide whether and how it is
watched; the beat scheduler probes it through the prober; each result
moves its health state machine in the table; a failed instance is handed
to the escalator, whose flow confirms the failure and notifies.
"""

import threading
import time

import futurist
from oslo_log import log as logging
from oslo_utils import uuidutils
import stevedore

from masakarimonitors_ext.conf import vmheartbeat as vmhb_conf
from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import nova
from masakarimonitors_ext.vmheartbeat.common import statefile
from masakarimonitors_ext.vmheartbeat.escalation import episodes
from masakarimonitors_ext.vmheartbeat.escalation.flows import escalation_flows
from masakarimonitors_ext.vmheartbeat.escalation import guards
from masakarimonitors_ext.vmheartbeat.escalation import pauses
from masakarimonitors_ext.vmheartbeat.health import instances
from masakarimonitors_ext.vmheartbeat.probing import connections
from masakarimonitors_ext.vmheartbeat.probing import prober
from masakarimonitors_ext.vmheartbeat.probing import scheduler
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting import outbox
from masakarimonitors_ext.vmheartbeat import status
from masakarimonitors_ext.vmheartbeat import verdicts
from masakarimonitors_ext.vmheartbeat.watching import adoption
from masakarimonitors_ext.vmheartbeat.watching import inventory
from masakarimonitors_ext.vmheartbeat.watching import optin

LOG = logging.getLogger(__name__)

PROBES_NAMESPACE = 'masakarimonitors_ext.vmheartbeat.probes'
NOTIFIERS_NAMESPACE = 'masakarimonitors_ext.vmheartbeat.notifiers'
#: the status socket's commands: reset recovery budgets, pause and resume
#: the escalation of one instance
RESET_BUDGET = 'reset-budget'
PAUSE = 'pause'
RESUME = 'resume'


def _instance(instance_uuid):
    """The instance a command names, as the monitor spells it.

    :raises ValueError: when it names none.
    """
    if not isinstance(instance_uuid, str) or not uuidutils.is_uuid_like(
            instance_uuid):
        raise ValueError('not an instance UUID')
    return instance_uuid.lower()


def load_probe_driver(conf):
    try:
        return stevedore.DriverManager(
            PROBES_NAMESPACE, conf.vmheartbeat.probe_driver,
            invoke_on_load=True,
            invoke_kwds={'max_answer_bytes':
                         conf.vmheartbeat.max_answer_bytes}).driver
    except stevedore.exception.NoMatches:
        raise exception.ConfigurationError(
            'vmheartbeat.probe_driver', 'no probe named %r' % (
                conf.vmheartbeat.probe_driver))


#: the probe driver of each application-level check kind
CHECK_DRIVERS = {checks.APP: 'app_mailbox', checks.EXEC: 'guest_exec'}


def load_check_drivers(conf):
    """{check kind: ProbeDriver} for the application-level checks."""
    limit = conf.guest_checks.max_output_bytes
    kwargs = {checks.APP: {'max_answer_bytes': limit},
              checks.EXEC: {'max_output_bytes': limit,
                            'output': conf.guest_checks.exec_output}}
    return {kind: stevedore.DriverManager(
        PROBES_NAMESPACE, name, invoke_on_load=True,
        invoke_kwds=kwargs[kind]).driver
        for kind, name in CHECK_DRIVERS.items()}


def load_notifiers(conf):
    """The configured notifiers, as a list of (name, driver)."""
    names = conf.vmheartbeat.notifiers

    def missing(names):
        raise exception.ConfigurationError(
            'vmheartbeat.notifiers', 'no notifier named %s' % (
                ', '.join(sorted(names))))

    def not_loaded(_manager, entrypoint, error):
        if isinstance(error, exception.ConfigurationError):
            raise error
        raise exception.ConfigurationError(
            'vmheartbeat.notifiers', 'notifier %s cannot be loaded: %s: %s'
            % (entrypoint.name, type(error).__name__, error))

    manager = stevedore.NamedExtensionManager(
        NOTIFIERS_NAMESPACE, names, invoke_on_load=True,
        invoke_args=(conf,), name_order=True,
        on_missing_entrypoints_callback=missing,
        on_load_failure_callback=not_loaded)
    loaded = [(ext.name, ext.obj) for ext in manager]
    if not any(verdicts.EVENT_FAILED in notifier.kinds
               for _, notifier in loaded):
        raise exception.ConfigurationError(
            'vmheartbeat.notifiers', 'none of %s takes failures (add '
            '"noop" to send them nowhere on purpose)' % ', '.join(names))
    return loaded


#: seconds between two looks at the signals while the main thread waits
SIGNAL_POLL = 1.0


def wait_until_set(event, every=None, period=None, poll=SIGNAL_POLL,
                   clock=time.monotonic):
    """Wait in the main thread for ``event``, its signal handlers running.

    A signal the kernel hands to another thread (any of the monitor's)
    does not wake a main thread blocked on a lock for ever: its Python
    handler would only run once something else woke it. Waiting ``poll``
    seconds at a time, the main thread runs a SIGTERM handler within that
    time, whichever thread took the signal.

    :param every: called at once, then every ``period`` seconds while it
        waits (within ``poll``), or None.
    """
    due = clock()
    while True:
        if every is not None and clock() >= due:
            every()
            due += period
        if event.wait(poll):
            return


class VMHeartbeatManager:
    """Runs the monitor until :meth:`stop`.

    :param conf: the configuration.
    :param optin_policy: an ``optin.OptInPolicy`` (made from the
        configuration when None).
    """

    def __init__(self, conf, optin_policy=None):
        self.conf = conf
        group = conf.vmheartbeat
        self._stop = threading.Event()
        uri = conf.libvirt.connection_uri
        # NOTE: made in the order of the data flow, each given the parts
        # it calls; the parts that report back up (the scheduler's
        # results, the escalator's closed episodes, the inventory's
        # listings and events) are given their listener when they start.
        self.inventory = inventory.Inventory(uri, group.resync_interval)
        self.nova = (nova.Nova(conf)
                     if group.opt_in == vmhb_conf.OPT_IN_FLAVOR else None)
        self.optin = optin_policy or optin.make_policy(conf, self.nova)
        pool = connections.ConnectionPool(uri, group.libvirt_connections)
        self.prober = prober.Prober(load_probe_driver(conf), pool,
                                    group.probe_workers,
                                    drivers=load_check_drivers(conf))
        self.scheduler = scheduler.BeatScheduler(self.prober)
        self.notifiers = load_notifiers(conf)
        self.outbox = outbox.Outbox(conf, self.notifiers)
        self.events = events.EventSink(
            self.outbox, conf.guest_checks.status_event_interval)
        self.guards = guards.RecoveryGuards(
            conf, pauses=pauses.Pauses(conf, self.events))
        self.escalator = episodes.Escalator(
            escalation_flows.EscalationFlows(
                conf, self.prober, self.inventory, self.notifiers,
                self.outbox, self._stop, nova=self.nova),
            conf, self._stop, self.events, self.guards)
        self.instances = instances.Instances(
            conf, self.scheduler, self.prober, self.escalator, self.events,
            guards=self.guards)
        self._adopter = futurist.ThreadPoolExecutor(max_workers=4)
        self.adoption = adoption.Adoption(self.instances, self.optin,
                                          self.inventory, self._adopter)
        self.status = status.StatusServer(
            status.socket_path(conf), self.instances.snapshot,
            self.outbox.counts, {RESET_BUDGET: self.reset_budget,
                                 PAUSE: self.pause, RESUME: self.resume},
            self.instances.host_view)
        self._counts_due = None

    # Lifecycle

    def run(self):
        """Start everything and block until :meth:`stop` is called."""
        statefile.prepare_state_path(self.conf.vmheartbeat.state_path)
        connections.start_event_loop()
        connections.check_uri(self.conf.libvirt.connection_uri)
        if not self.guards.open():
            raise exception.ConfigurationError(
                'vmheartbeat.state_path', 'another monitor runs with this '
                'state_path (it holds %s)' % guards.LOCK)
        self.escalator.open(self.instances.episode_closed)
        self.outbox.open()
        self.optin.open()
        for resumed in self.escalator.resume_pending():
            self.instances.mark_escalating(*resumed)
        self.outbox.start()
        self.events.start()
        self.scheduler.start(self.instances.on_result)
        self.inventory.start(self.adoption)
        self.status.start()
        self._adopter.submit(self.check_services)
        LOG.info('VM heartbeat monitor started on %s (opt-in: %s)',
                 self.conf.hostname, self.conf.vmheartbeat.opt_in)
        wait_until_set(self._stop, self.tick, SIGNAL_POLL)
        LOG.info('VM heartbeat monitor stopping')
        self.log_counts()
        self.status.stop()
        self.inventory.stop()
        self.scheduler.stop()
        self.escalator.stop(self.conf.vmheartbeat.shutdown_timeout)
        self.events.stop()
        self.outbox.stop()
        self.outbox.close()
        for _name, notifier in self.notifiers:
            notifier.close()
        self._adopter.shutdown(wait=False)
        self.prober.shutdown()
        self.guards.close()
        LOG.info('VM heartbeat monitor stopped')

    def stop(self):
        self._stop.set()

    def tick(self):
        """About every second: end the pauses due; log the counts."""
        self.guards.pauses.expire()
        now = time.monotonic()
        if self._counts_due is None or now >= self._counts_due:
            self._counts_due = now + self.conf.vmheartbeat.resync_interval
            self.log_counts()

    def reset_budget(self, instance_uuid, arguments=None):
        """The ``reset-budget`` command: forget recoveries, of one or all.

        :param instance_uuid: the instance, None for every instance.
        """
        if instance_uuid is not None:
            instance_uuid = _instance(instance_uuid)
        return {'instances_reset': self.guards.reset(instance_uuid)}

    def pause(self, instance_uuid, arguments=None):
        """The ``pause`` command: no escalation of one instance for a while.

        :param arguments: ``{"seconds": how long}``.
        """
        seconds = (arguments or {}).get('seconds')
        if (isinstance(seconds, bool) or
                not isinstance(seconds, (int, float))):
            raise ValueError('a pause needs an end: how many seconds')
        return {'paused_until': self.guards.pauses.pause(
            _instance(instance_uuid), float(seconds))}

    def resume(self, instance_uuid, arguments=None):
        """The ``resume`` command: end the operator's pause of one instance."""
        return {'resumed': self.guards.pauses.resume(
            _instance(instance_uuid))}

    def check_services(self):
        """Check Nova and the notifiers once: one WARNING line each.

        Services start in any order, so nothing here stops the monitor.
        """
        problem = self.optin.check()
        if problem:
            LOG.warning('Nova cannot be asked which instances are watched '
                        '([nova] options, or [api] when [nova] has no '
                        'auth_type): %s; the answers kept from the last run '
                        'are used until it answers', problem)
        for name, notifier in self.notifiers:
            problem = notifier.check()
            if problem:
                LOG.warning('Notifier %s cannot deliver now: %s; failures '
                            'are kept and delivered when it can', name,
                            problem)

    def log_counts(self):
        """One INFO line: the probe calls of each kind since the start."""
        counts = self.prober.counts()
        app = self.prober.counts(checks.APP)
        run = self.prober.counts(checks.EXEC)
        LOG.info('Heartbeat calls so far: %d (answered %d, missed %d, '
                 'other %d); application heartbeat calls: %d (answered %d); '
                 'exec check runs: %d (answered %d)', counts.total,
                 counts.answered, counts.missed, counts.other, app.total,
                 app.answered, run.total, run.answered)
