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

"""What the monitor knows about each instance, and what it does about it.

One :class:`Instance` record per domain of this host: its libvirt domain,
whether it is watched and why, its health state machine with its checks
(the agent heartbeat and what the flavor adds), when an event last told of
it, and whether its adoption is under way. The
:class:`Instances` table owns every record under one lock and turns what
it is told into actions:

* what the adoption (``adoption.py``) made of the inventory's listings,
  domain events and opt-in answers: which instances are watched,
  restarted, suppressed or forgotten, and so which are beaten by the
  scheduler;
* each check's result moves the instance's health, and a failure starts
  its escalation, with the failed check and its failure class;
* each escalation's outcome moves it on again.
"""

import dataclasses
import threading
import time

from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.health import checklog
from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat.health import views
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Instance:
    """What is known about one instance.

    :param uuid: the instance (its libvirt domain UUID).
    :param domain: its last ``inventory.Domain``, or None.
    :param decision: the ``optin.Decision`` applied to this run of the
        domain, None until decided; it goes with the run. The opt-in
        policy keeps what Nova answered, across runs and restarts, and is
        asked again when it says the answer is due for a refresh.
    :param health: its ``machine.InstanceHealth`` while watched.
    :param touched: the table's clock at the last event about it.
    :param adopting: an adoption (an opt-in decision) is under way.
    :param blocked: the checks whose commands the guest agent refuses by
        its policy, already logged.
    :param unrecovered: (check, failure_class) of a reported failure
        whose check has not answered since; kept while the domain is
        stopped and started again (Masakari's recovery), so that its
        answer is the ``recovered`` event.
    :param permit: the recovery guards' ``guards.Permit`` for its current
        failure, None when they were not asked.
    """

    uuid: str
    domain: object = None
    decision: object = None
    health: object = None
    touched: float = None
    adopting: bool = False
    blocked: frozenset = frozenset()
    unrecovered: tuple = None
    permit: object = None

    @property
    def decided(self):
        """Watched, or known not to be watched."""
        return self.health is not None or (
            self.decision is not None and not self.decision.watched)

    def forget_run(self):
        """The domain stopped: nothing of its run is kept."""
        self.domain = self.decision = self.health = None
        self.blocked = frozenset()

    def recovers(self, failure_class):
        """Masakari is asked to recover this failure class."""
        report_only = getattr(self.decision, 'report_only', ())
        return failure_class not in report_only

    def budget(self, default):
        """Its ``budgets.Budget``: the operator's, with its flavor's."""
        return budgets.of(default, getattr(self.decision, 'recovery', ()))


def short_grace(settings):
    """Grace for a guest past its boot: resumed, or found running.

    Its agent answers at once; one beat of slack covers the agent channel
    reopening after an incoming migration.
    """
    return settings.interval * 2 + settings.timeout


class Instances:
    """The instances of this host, the one owner of their state.

    :param conf: the configuration.
    :param scheduler: the ``scheduler.BeatScheduler`` that runs the checks
        of the watched instances.
    :param prober: the ``prober.Prober``, told of forgotten instances.
    :param escalator: the ``episodes.Escalator`` failures go to.
    :param sink: an ``events.EventSink`` for health events, or None.
    :param clock: ``time.monotonic`` or a stand-in.
    :param guards: the ``guards.RecoveryGuards`` asked before a failure is
        escalated to be recovered; None to recover every failure.

    What the inventory tells (listings, domain events) reaches the table
    through ``adoption.Adoption``, which decides what it means; the
    scheduler's results and the escalator's closed episodes come back to
    :meth:`on_result` and :meth:`episode_closed`.

    Lock order: the table's lock comes first. While it holds it, the table
    calls only the scheduler (``watch``, ``unwatch``, ``watching``,
    ``probe_now``), the escalator (``escalating``), the recovery guards
    (``permit``, ``describe``, and their pauses' ``from_metadata``) and
    the event sink (``emit``); each takes its own lock briefly and never
    calls the table back while holding it (the scheduler reports results,
    the escalator closes episodes, outside their locks: their tests check
    it). The
    prober and the escalator's ``start`` are called without the table's
    lock.
    """

    def __init__(self, conf, scheduler, prober, escalator, sink=None,
                 clock=time.monotonic, guards=None):
        self._conf = conf
        self._guards = guards
        self._budget = budgets.defaults(conf)
        self._scheduler = scheduler
        self._prober = prober
        self._escalator = escalator
        self._events = sink
        self._clock = clock
        self._grace = conf.vmheartbeat.startup_grace_period
        self._cooloff = conf.vmheartbeat.failure_cooloff
        self._records = {}
        self._lock = threading.Lock()

    def _emit(self, kind, instance_uuid, check, **fields):
        if self._events is not None:
            self._events.emit(events.Event(kind, instance_uuid,
                                           self._conf.hostname, check,
                                           **fields))

    # Reading

    def health_of(self, instance_uuid):
        """The instance's ``machine.InstanceHealth``, None when unwatched."""
        with self._lock:
            record = self._records.get(instance_uuid)
            return None if record is None else record.health

    def snapshot(self, instance_uuid=None):
        """What is known of one instance, or of all, as JSON-ready dicts.

        For the ``status`` command: watched or not and why, the health
        state and failure, the application's status, and each check with
        its last result.
        """
        now = self._clock()
        with self._lock:
            if instance_uuid is None:
                records = sorted(self._records.values(),
                                 key=lambda r: r.uuid)
            else:
                records = [r for r in (self._records.get(instance_uuid),)
                           if r is not None]
            return [views.describe(record, now,
                                   self._escalator.escalating(record.uuid),
                                   self._guard_view(record))
                    for record in records
                    if record.domain is not None or record.health is not None]

    def host_view(self):
        """The recovery guards' view of the host, for the status."""
        if self._guards is None:
            return None
        with self._lock:
            watched = sum(1 for r in self._records.values()
                          if r.health is not None)
        return self._guards.host(watched)

    def _guard_view(self, record):
        if self._guards is None or record.health is None:
            return None
        return self._guards.describe(record.uuid,
                                     record.budget(self._budget))

    def _record(self, instance_uuid):
        record = self._records.get(instance_uuid)
        if record is None:
            record = self._records[instance_uuid] = Instance(instance_uuid)
        return record

    def _entry(self, instance_uuid):
        record = self._records.get(instance_uuid)
        return None if record is None else record.health

    # Escalations resumed at start

    def mark_escalating(self, instance_uuid, check=checks.HEARTBEAT,
                        failure_class=None):
        """An escalation resumed after a restart: the instance is failed."""
        with self._lock:
            record = self._record(instance_uuid)
            if record.health is None:
                record.health = machine.InstanceHealth(
                    instance_uuid, checks.heartbeat_defaults(self._conf),
                    self._clock(), self._grace)
            record.health.force_failed(check, failure_class)

    # What the adoption found

    def touch(self, instance_uuid):
        """An event told of the instance now: newer than a listing begun."""
        with self._lock:
            self._record(instance_uuid).touched = self._clock()

    def listed(self, domains, listed_at=None):
        """The inventory listed the running domains.

        :param listed_at: the clock when the listing began: an
            instance an event told of since then is newer than the listing
            and left as the event made it.
        :returns: (gone, listed): the instances whose domain is no longer
            listed, and {uuid: domain} of those the listing is news of.
        """
        with self._lock:
            newer = {uuid for uuid, record in self._records.items()
                     if listed_at is not None and record.touched is not None
                     and record.touched >= listed_at}
            gone = [uuid for uuid, record in self._records.items()
                    if record.domain is not None and uuid not in domains
                    and uuid not in newer]
            listed = {uuid: domain for uuid, domain in domains.items()
                      if uuid not in newer}
            for uuid, domain in listed.items():
                self._record(uuid).domain = domain
        return gone, listed

    def reconcile(self, instance_uuid, domain):
        """Bring a listed instance's checks in line with its domain.

        :returns: True when it is decided (watched with its beats, or
            known not to be watched); False when it is to be adopted.
        """
        with self._lock:
            record = self._record(instance_uuid)
            entry = record.health
            known = record.decided
            if entry is not None:
                if domain.running and entry.suppressed:
                    self._restart(entry, self._grace)
                elif not domain.running and not entry.suppressed:
                    self._suppress(entry, 'domain not running')
                elif domain.running and not self._watching(instance_uuid):
                    # NOTE: an escalation resumed at start made this entry
                    # with default settings and no beats: adopt it.
                    known = False
        return known

    def begin_adoption(self, instance_uuid):
        """Mark an adoption under way.

        :returns: False when one already is: adoptions of one instance
            must not pile up behind a slow Nova.
        """
        with self._lock:
            record = self._record(instance_uuid)
            if record.adopting:
                return False
            record.adopting = True
            return True

    def end_adoption(self, instance_uuid):
        with self._lock:
            record = self._records.get(instance_uuid)
            if record is not None:
                record.adopting = False

    def lifecycle(self, instance_uuid, event):
        """A domain event of a watched instance moves its checks."""
        with self._lock:
            entry = self._entry(instance_uuid)
            if entry is None:
                return
            if event in (constants.EVENT_STARTED, constants.EVENT_REBOOTED):
                self._restart(entry, self._grace)
            elif event == constants.EVENT_RESUMED:
                self._restart(entry, short_grace(entry.settings),
                              booted=False)
            elif event == constants.EVENT_SUSPENDED:
                self._suppress(entry, 'paused')
            elif event in (constants.EVENT_AGENT_DISCONNECTED,
                           constants.EVENT_AGENT_CONNECTED):
                self._scheduler.probe_now(checks.CheckKey(instance_uuid,
                                                          checks.HEARTBEAT))

    def _restart(self, entry, grace, booted=True):
        entry.restart(self._clock(), grace, booted)
        self._watch(entry)

    def _watch(self, entry):
        for kind, state in entry.checks.items():
            self._scheduler.watch(checks.CheckKey(entry.instance_uuid, kind),
                                  state.settings)

    def _unwatch(self, instance_uuid, kinds=checks.KINDS):
        for kind in kinds:
            self._scheduler.unwatch(checks.CheckKey(instance_uuid, kind))

    def _watching(self, instance_uuid):
        return self._scheduler.watching(checks.CheckKey(instance_uuid,
                                                        checks.HEARTBEAT))

    def _suppress(self, entry, reason):
        was_suppressed = entry.suppressed
        entry.suppress(reason)
        self._suspended(entry, was_suppressed)

    def _suspended(self, entry, was_suppressed):
        """The entry is suppressed now: its checks stop."""
        if not was_suppressed:
            LOG.info('Instance %s: heartbeats suspended (%s)',
                     entry.instance_uuid, entry.suppress_reason)
        self._unwatch(entry.instance_uuid)

    def forget(self, instance_uuid, reason, undefined=False):
        """The one way an instance's run is forgotten, by every holder.

        Its checks stop (scheduler), its calls' state and its domain go
        (prober, connection pool), its pending events are dropped (sink).

        :param reason: why, for the log.
        :param undefined: the domain is gone for good: its record goes too.
        """
        with self._lock:
            record = self._records.get(instance_uuid)
            entry = None if record is None else record.health
            if undefined:
                self._records.pop(instance_uuid, None)
            elif record is not None:
                record.forget_run()
        self._unwatch(instance_uuid)
        self._prober.forget(instance_uuid)
        if self._events is not None:
            self._events.forget(instance_uuid)
        if entry is not None:
            LOG.info('Instance %s: no longer watched (%s)', instance_uuid,
                     reason)

    def apply(self, instance_uuid, domain, decision):
        """Watch an instance as its opt-in ``decision`` says, or stop."""
        with self._lock:
            record = self._record(instance_uuid)
            record.domain = domain
            was_unwatched = record.decided and record.health is None
            record.decision = decision
            if self._guards is not None:
                self._guards.pauses.from_metadata(
                    instance_uuid, decision.paused_until,
                    decision.pause_problem)
            entry = record.health
            removed = ()
            if not decision.watched:
                record.health = None
            elif entry is None:
                # NOTE: an agent already connected (say, the monitor was
                # restarted) means no boot to wait for.
                booted = not domain.agent_connected
                grace = (self._grace if booted
                         else short_grace(decision.settings))
                entry = record.health = machine.InstanceHealth(
                    instance_uuid, decision.settings, self._clock(),
                    grace, booted)
                entry.set_checks(decision.checks)
            else:
                same = entry.settings == decision.settings
                entry.settings = decision.settings
                changed, removed = entry.set_checks(decision.checks)
                if same and not changed and not removed and self._watching(
                        instance_uuid):
                    return
        if not decision.watched:
            self._unwatch(instance_uuid)
            if not was_unwatched:
                LOG.info('Instance %s (%s): not watched: %s', instance_uuid,
                         domain.name, decision.reason)
            return
        self._unwatch(instance_uuid, removed)
        if entry.suppressed or not domain.running:
            return
        with self._lock:
            self._watch(entry)
        LOG.info('Instance %s (%s): watched (%s): heartbeat every %ss, '
                 'timeout %ss, failed after %d misses%s', instance_uuid,
                 domain.name, decision.reason, decision.settings.interval,
                 decision.settings.timeout,
                 decision.settings.failure_threshold,
                 ''.join('; %s' % checklog.settings_text(c)
                         for c in decision.checks))

    # Heartbeats and escalation

    def on_result(self, key, result):
        """A check's result, from the scheduler.

        :param key: the ``checks.CheckKey`` of the check.
        """
        instance_uuid, check = key
        with self._lock:
            record = self._records.get(instance_uuid)
            entry = None if record is None else record.health
            if entry is None or check not in entry.checks:
                return
            if result.outcome is base.Outcome.NOT_RUNNING:
                self._suppress(entry, result.detail)
                return
            record.blocked = checklog.blocked_after(
                instance_uuid, check, result, record.blocked)
            state = entry.checks[check]
            before = checklog.Before.of(entry, state)
            now = self._clock()
            failed = entry.record(result, now, check)
            checklog.log_result(entry, check, state, result, before)
            if result.status is not None and result.status != before.status:
                self._emit(verdicts.EVENT_STATUS_CHANGED, instance_uuid, check,
                           status=result.status, details=result.details)
            if (record.unrecovered is not None and
                    record.unrecovered[0] == check and
                    result.outcome is base.Outcome.ANSWERED and
                    entry.state == machine.HEALTHY):
                self._emit(verdicts.EVENT_RECOVERED, instance_uuid, check,
                           failure_class=record.unrecovered[1],
                           status=entry.app_status_now(now)[0],
                           details='answering again: %s' % result)
                record.unrecovered = None
            if failed or entry.still_failing(check, result):
                failed = self._guarded(record, entry)
            if failed:
                recover = record.recovers(entry.failure_class) and (
                    record.permit is None or record.permit.permission is
                    verdicts.Permission.RECOVER)
                escalation = dict(
                    evidence=list(entry.evidence),
                    probe_timeout=state.settings.call_timeout,
                    failure_class=entry.failure_class, check=check,
                    recover=recover,
                    check_settings=(None if check == checks.HEARTBEAT
                                    else state.settings.to_dict()),
                    status=entry.app_status_now(now)[0],
                    recovery_run=(record.permit.run if recover and
                                  record.permit is not None else 0))
        if failed:
            if result.recover and not record.recovers(
                    escalation['failure_class']):
                LOG.warning('Instance %s: the application asks to be '
                            'recovered; the flavor sets %s to report only: '
                            'it is reported, not recovered', instance_uuid,
                            escalation['failure_class'])
            self._escalator.start(instance_uuid, **escalation)

    def _guarded(self, record, entry):
        """Ask the recovery guards about a failure, failed or on hold.

        :returns: True when it is to be escalated now (recovered or
            reported only), False when it is on hold.
        """
        record.permit = None
        if self._guards is None:
            entry.release()
            return True
        watched = sum(1 for r in self._records.values()
                      if r.health is not None)
        permit, news = self._guards.permit(
            record.uuid, record.budget(self._budget), watched,
            record.recovers(entry.failure_class))
        record.permit = permit
        if news and permit.storm:
            LOG.warning('Mass failure suspected on this host: %s; every '
                        'failure is reported only, not recovered, until %s',
                        permit.reason, permit.until_iso)
            self._emit(verdicts.EVENT_MASS_FAILURE, None, None,
                       recover=False, until=permit.until_iso,
                       details=permit.reason)
        elif news:
            LOG.warning('Instance %s: its %s is %s, not recovered: %s; '
                        'until %s', record.uuid, entry.failure_class,
                        'on hold' if permit.permission is
                        verdicts.Permission.HOLD else 'reported only',
                        permit.reason, permit.until_iso or 'its budget '
                        'is raised')
            self._emit(verdicts.EVENT_RECOVERY_SUSPENDED, record.uuid,
                       entry.failed_check, failure_class=entry.failure_class,
                       recover=False, until=permit.until_iso,
                       details='%s: %s' % (permit.permission, permit.reason))
        if permit.permission is verdicts.Permission.HOLD:
            entry.hold()
            return False
        entry.release()
        return True

    def episode_closed(self, instance_uuid, outcome, answers=(),
                       failure=None):
        """An escalation ended with ``outcome`` (``verdicts.EpisodeOutcome``).

        The escalator has sent the ``reported`` event of a notified one:
        the failure's next answer is its ``recovered`` event.

        :param answers: (notifier, answer) pairs, what each receiver of
            the failure answered.
        :param failure: the episode's (check, failure_class), as the
            escalator has it; None when it could not run.
        """
        if outcome is verdicts.EpisodeOutcome.INTERRUPTED:
            return
        with self._lock:
            record = self._records.get(instance_uuid)
            if record is None:
                return
            entry = record.health
            if (outcome is verdicts.EpisodeOutcome.NOTIFIED and
                    failure is not None):
                # NOTE: reported even when the domain stopped meanwhile
                # (Masakari's recovery may already have begun)
                record.unrecovered = tuple(failure)
            if entry is None:
                return
            was_suppressed = entry.suppressed
            entry.episode_ended(outcome, self._clock(), self._cooloff)
            if entry.suppressed:
                self._suspended(entry, was_suppressed)
            elif outcome.deferred:
                LOG.warning('Instance %s: not reported (%s); escalated '
                            'again in %.0fs if it still fails',
                            instance_uuid, outcome, self._cooloff)
