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
opt-in policy decides whether and how it is watched; the beat scheduler
probes it through the prober; each result moves its health state machine;
a failed instance is handed to the escalator, whose flow confirms the
failure and notifies.
"""

import threading
import time
import types

import futurist
from oslo_log import log as logging
import stevedore

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import connections
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat import escalation
from masakarimonitors_ext.vmheartbeat.flows import escalation_flows
from masakarimonitors_ext.vmheartbeat import health
from masakarimonitors_ext.vmheartbeat import inventory
from masakarimonitors_ext.vmheartbeat import optin
from masakarimonitors_ext.vmheartbeat import prober
from masakarimonitors_ext.vmheartbeat.probes import base
from masakarimonitors_ext.vmheartbeat import scheduler

LOG = logging.getLogger(__name__)

PROBES_NAMESPACE = 'masakarimonitors_ext.vmheartbeat.probes'
NOTIFIERS_NAMESPACE = 'masakarimonitors_ext.vmheartbeat.notifiers'


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


def load_notifiers(conf):
    """The configured notifiers, as a list of (name, driver)."""
    names = conf.vmheartbeat.notifiers

    def missing(names):
        raise exception.ConfigurationError(
            'vmheartbeat.notifiers', 'no notifier named %s' % (
                ', '.join(sorted(names))))

    manager = stevedore.NamedExtensionManager(
        NOTIFIERS_NAMESPACE, names, invoke_on_load=True,
        invoke_args=(conf,), name_order=True,
        on_missing_entrypoints_callback=missing)
    return [(ext.name, ext.obj) for ext in manager]


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
        self._lock = threading.Lock()
        self._health = {}
        self._domains = {}
        self._unwatched = set()
        self._adopting = set()
        #: time.monotonic() of the last event about each instance
        self._touched = {}
        self._grace = group.startup_grace_period
        self._cooloff = group.failure_cooloff
        self.optin = optin_policy or optin.make_policy(conf)
        uri = conf.libvirt.connection_uri
        pool = connections.ConnectionPool(uri, group.libvirt_connections)
        self.prober = prober.Prober(load_probe_driver(conf), pool,
                                    group.probe_workers)
        self.scheduler = scheduler.BeatScheduler(self.prober,
                                                 self._on_result)
        self.inventory = inventory.Inventory(uri, self,
                                             group.resync_interval)
        self.notifiers = load_notifiers(conf)
        services = types.SimpleNamespace(
            prober=self.prober, inventory=self.inventory, optin=self.optin,
            notifiers=self.notifiers, stop=self._stop)
        self.escalator = escalation.Escalator(
            escalation_flows.EscalationFlows(services, conf), conf,
            self._on_episode_closed, self._stop)
        self._adopter = futurist.ThreadPoolExecutor(max_workers=4)

    # Lifecycle

    def run(self):
        """Start everything and block until :meth:`stop` is called."""
        connections.start_event_loop()
        connections.check_uri(self.conf.libvirt.connection_uri)
        self.escalator.open()
        self.optin.open()
        for instance_uuid in self.escalator.resume_pending():
            with self._lock:
                self._mark_escalating(instance_uuid)
        self.scheduler.start()
        self.inventory.start()
        self._adopter.submit(self.check_services)
        LOG.info('VM heartbeat monitor started on %s (opt-in: %s)',
                 self.conf.hostname, self.conf.vmheartbeat.opt_in)
        self._stop.wait()
        LOG.info('VM heartbeat monitor stopping')
        self.log_counts()
        self.inventory.stop()
        self.scheduler.stop()
        self.escalator.stop(self.conf.vmheartbeat.shutdown_timeout)
        self._adopter.shutdown(wait=False)
        self.prober.shutdown()
        LOG.info('VM heartbeat monitor stopped')

    def stop(self):
        self._stop.set()

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

    def _mark_escalating(self, instance_uuid):
        entry = self._health.get(instance_uuid)
        if entry is None:
            entry = health.InstanceHealth(
                instance_uuid, optin.default_settings(self.conf),
                time.monotonic(), self._grace)
            self._health[instance_uuid] = entry
        entry.force_failed()

    # Inventory listener

    def log_counts(self):
        counts = self.prober.counts()
        LOG.info('Heartbeat calls so far: %d (answered %d, missed %d, '
                 'other %d)', counts.total, counts.answered, counts.missed,
                 counts.other)

    def domains_listed(self, domains, listed_at=None):
        """The inventory listed the running domains.

        :param listed_at: ``time.monotonic()`` when the listing began: an
            instance an event told of since then is newer than the listing
            and left as the event made it.
        """
        self.log_counts()
        with self._lock:
            newer = {uuid for uuid, when in self._touched.items()
                     if listed_at is not None and when >= listed_at}
            gone = set(self._domains) - set(domains) - newer
            kept = {uuid: self._domains[uuid] for uuid in newer
                    if uuid in self._domains}
            self._domains = dict(domains)
            self._domains.update(kept)
        for instance_uuid in gone:
            self._forget(instance_uuid, 'no longer running')
        for instance_uuid, domain in domains.items():
            if instance_uuid not in newer:
                self._reconcile(instance_uuid, domain)

    def _reconcile(self, instance_uuid, domain):
        with self._lock:
            entry = self._health.get(instance_uuid)
            known = entry is not None or instance_uuid in self._unwatched
            if entry is not None:
                if domain.running and entry.suppressed:
                    self._restart(entry, self._grace)
                elif not domain.running and not entry.suppressed:
                    self._suppress(entry, 'domain not running')
                elif (domain.running and
                        not self.scheduler.watching(instance_uuid)):
                    # NOTE: an escalation resumed at start made this entry
                    # with default settings and no beats: adopt it.
                    known = False
        refresh = known and self.optin.needs_refresh(instance_uuid)
        if not known or refresh:
            self._submit_adoption(instance_uuid, domain, refresh)

    def _submit_adoption(self, instance_uuid, domain, refresh):
        """Adopt off the event path, once at a time per instance.

        Nova may take up to its timeout to answer: adoptions of the same
        instance must not pile up behind a slow Nova.
        """
        with self._lock:
            if instance_uuid in self._adopting:
                return
            self._adopting.add(instance_uuid)
        self._adopter.submit(self._adopt, instance_uuid, domain, refresh)

    def domain_event(self, instance_uuid, event, detail):
        LOG.debug('Instance %s: domain event %s (detail %s)', instance_uuid,
                  event, detail)
        with self._lock:
            self._touched[instance_uuid] = time.monotonic()
        if event == constants.EVENT_UNDEFINED:
            self._forget(instance_uuid, 'undefined')
            self.optin.forget(instance_uuid)
            return
        if event == constants.EVENT_STOPPED:
            self._forget(instance_uuid, 'stopped')
            return
        if event in (constants.EVENT_STARTED, constants.EVENT_REDEFINED):
            self._submit_adoption(instance_uuid, None,
                                  event == constants.EVENT_REDEFINED)
        with self._lock:
            entry = self._health.get(instance_uuid)
            if entry is None:
                return
            if event in (constants.EVENT_STARTED, constants.EVENT_REBOOTED):
                self._restart(entry, self._grace)
            elif event == constants.EVENT_RESUMED:
                self._restart(entry, self._short_grace(entry.settings))
            elif event == constants.EVENT_SUSPENDED:
                self._suppress(entry, 'paused')
            elif event in (constants.EVENT_AGENT_DISCONNECTED,
                           constants.EVENT_AGENT_CONNECTED):
                self.scheduler.probe_now(instance_uuid)

    @staticmethod
    def _short_grace(settings):
        """Grace for a guest past its boot: resumed, or found running.

        Its agent answers at once; one beat of slack covers the agent
        channel reopening after an incoming migration.
        """
        return settings.interval * 2 + settings.timeout

    def _restart(self, entry, grace):
        entry.restart(time.monotonic(), grace)
        self.scheduler.watch(entry.instance_uuid, entry.settings)

    def _suppress(self, entry, reason):
        if not entry.suppressed:
            LOG.info('Instance %s: heartbeats suspended (%s)',
                     entry.instance_uuid, reason)
        entry.suppress(reason)
        self.scheduler.unwatch(entry.instance_uuid)

    def _forget(self, instance_uuid, reason):
        with self._lock:
            entry = self._health.pop(instance_uuid, None)
            self._unwatched.discard(instance_uuid)
            self._domains.pop(instance_uuid, None)
            if reason == 'undefined':
                self._touched.pop(instance_uuid, None)
        self.scheduler.unwatch(instance_uuid)
        self.prober.forget(instance_uuid)
        if entry is not None:
            LOG.info('Instance %s: no longer watched (%s)', instance_uuid,
                     reason)

    def _adopt(self, instance_uuid, domain, refresh):
        """Decide whether a domain is watched (off the heartbeat path)."""
        try:
            self._decide_and_watch(instance_uuid, domain, refresh)
        finally:
            with self._lock:
                self._adopting.discard(instance_uuid)

    def _decide_and_watch(self, instance_uuid, domain, refresh):
        try:
            if domain is None:
                domain = self.inventory.describe(instance_uuid)
                if domain is None:
                    return
            decision = self.optin.decide(instance_uuid, refresh=refresh)
        except optin.OptInUnknown as e:
            LOG.warning('%s; asking again at the next resync', e)
            return
        except Exception:
            LOG.exception('Cannot decide whether instance %s is watched',
                          instance_uuid)
            return
        if decision.watched and not domain.has_agent_channel:
            decision = optin.Decision(False, reason='opted in (%s) but the '
                                      'domain has no %s channel' % (
                                          decision.reason,
                                          constants.GUEST_AGENT_CHANNEL))
        with self._lock:
            self._domains[instance_uuid] = domain
            entry = self._health.get(instance_uuid)
            if not decision.watched:
                was_unwatched = instance_uuid in self._unwatched
                self._unwatched.add(instance_uuid)
                self._health.pop(instance_uuid, None)
            elif entry is None:
                # NOTE: an agent already connected (say, the monitor was
                # restarted) means no boot to wait for.
                grace = (self._short_grace(decision.settings)
                         if domain.agent_connected else self._grace)
                entry = health.InstanceHealth(
                    instance_uuid, decision.settings, time.monotonic(),
                    grace)
                self._health[instance_uuid] = entry
                self._unwatched.discard(instance_uuid)
            elif (entry.settings == decision.settings and
                    self.scheduler.watching(instance_uuid)):
                return
            else:
                entry.settings = decision.settings
        if not decision.watched:
            self.scheduler.unwatch(instance_uuid)
            if not was_unwatched:
                LOG.info('Instance %s (%s): not watched: %s', instance_uuid,
                         domain.name, decision.reason)
            return
        if entry.suppressed or not domain.running:
            return
        self.scheduler.watch(instance_uuid, decision.settings)
        LOG.info('Instance %s (%s): watched (%s): heartbeat every %ss, '
                 'timeout %ss, failed after %d misses', instance_uuid,
                 domain.name, decision.reason, decision.settings.interval,
                 decision.settings.timeout,
                 decision.settings.failure_threshold)

    # Heartbeats and escalation

    def _on_result(self, instance_uuid, result):
        with self._lock:
            entry = self._health.get(instance_uuid)
            if entry is None:
                return
            if result.outcome is base.Outcome.NOT_RUNNING:
                self._suppress(entry, result.detail)
                return
            before, misses = entry.state, entry.misses
            failed = entry.record(result, time.monotonic())
            if entry.misses > misses:
                LOG.info('Instance %s: missed heartbeat %d/%d: %s',
                         instance_uuid, entry.misses,
                         entry.settings.failure_threshold, result)
            elif result.answered and before != entry.state:
                LOG.info('Instance %s: answering heartbeats (%s)',
                         instance_uuid, entry.state)
            evidence = list(entry.evidence)
            timeout = entry.settings.timeout
        if failed:
            self.escalator.start(instance_uuid, evidence, timeout,
                                 result.outcome.value)

    def _on_episode_closed(self, instance_uuid, outcome):
        if outcome == constants.OUTCOME_INTERRUPTED:
            return
        with self._lock:
            entry = self._health.get(instance_uuid)
            if entry is None:
                return
            if outcome == constants.OUTCOME_SUPPRESSED:
                self._suppress(entry, 'found not running during the '
                               'escalation')
            elif outcome in constants.OUTCOMES_DEFERRED:
                entry.episode_deferred(time.monotonic(), self._cooloff)
                LOG.warning('Instance %s: not reported (%s); escalated '
                            'again in %.0fs if it still fails',
                            instance_uuid, outcome, self._cooloff)
            else:
                entry.episode_closed(
                    outcome == constants.OUTCOME_NOTIFIED)
