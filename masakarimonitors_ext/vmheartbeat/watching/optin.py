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

"""Which instances are watched, and with which settings.

With ``[vmheartbeat] opt_in = flavor`` an instance is watched when its
flavor's extra spec ``masakari:vm_heartbeat`` (the key is configurable) is
true; the flavor may also override the interval, timeout and failure
threshold. Nova is asked through openstacksdk, and never for longer than
``[nova] timeout``: it is advisory. Its answers are cached per instance and
kept under ``state_path``, so that a monitor (re)started while Nova cannot
answer keeps watching what it watched; when Nova cannot be reached the last
known answer is used.
"""

import abc
import dataclasses
import math
import os
import threading
import time

from openstack import exceptions as sdk_exc
from oslo_log import log as logging
from oslo_utils import strutils
from oslo_utils import uuidutils

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.common import nova as nova_client
from masakarimonitors_ext.vmheartbeat.common import statefile
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

#: seconds a stored pause end may be past what max_pause allows
_CLOCK_SKEW = 300.0


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether an instance is watched.

    :param watched: True to heartbeat it.
    :param settings: its agent heartbeat's ``checks.CheckSettings`` when
        watched.
    :param reason: why, for the logs.
    :param problems: bad extra-spec values that were replaced by defaults.
    :param checks: its application-level ``checks.CheckSettings``.
    :param report_only: failure classes not recovered, only reported.
    :param recovery: what the flavor overrides of the recovery budget,
        sorted (field, value) pairs (``budgets.from_extra_specs``).
    :param paused_until: the end (wall clock) of a maintenance pause the
        server metadata asks for, None for none
        (``budgets.pause_from_metadata``).
    :param pause_problem: why a pause the server metadata asks for is
        refused, or None.
    """

    watched: bool
    settings: checks.CheckSettings = None
    reason: str = ''
    problems: tuple = ()
    checks: tuple = ()
    report_only: frozenset = frozenset()
    recovery: tuple = ()
    paused_until: float = None
    pause_problem: str = None


class OptInUnknown(exception.VMHeartbeatError):
    """Nova could not say whether an instance is watched; ask again later."""


def decide_from_extra_specs(extra_specs, key, defaults, check_defaults=None,
                            audit_min_period=5.0, report_only=(),
                            exec_allowed_commands=()):
    """Read the opt-in and the overrides from a flavor's extra specs.

    Bad values never stop the monitor: each is reported in ``problems``
    and the default is used instead.

    :param check_defaults: {kind: ``checks.CheckSettings``}, the defaults
        of the application-level checks; None for none.
    :param audit_min_period: the shortest audit period allowed.
    :param report_only: failure classes the configuration reports only.
    :param exec_allowed_commands: ``[guest_checks] exec_allowed_commands``.
    """
    extra_specs = extra_specs or {}
    problems = []
    raw = extra_specs.get(key)
    if raw is None:
        return Decision(False, reason='flavor has no %s extra spec' % key)
    try:
        watched = strutils.bool_from_string(raw, strict=True)
    except ValueError:
        return Decision(False, reason='flavor extra spec %s=%r is not '
                        'true or false' % (key, raw),
                        problems=('%s=%r is not true or false' % (key, raw),))
    if not watched:
        return Decision(False, reason='flavor extra spec %s=%s' % (key, raw))

    settings = dataclasses.replace(defaults, **checks.overrides(
        extra_specs, key, checks.HEARTBEAT, problems))
    if settings.timeout > settings.interval:
        problems.append('timeout %s is longer than interval %s' % (
            settings.timeout, settings.interval))
        settings = defaults
    found, classes = (), frozenset(report_only)
    if check_defaults is not None:
        found, classes, more = checks.from_extra_specs(
            extra_specs, key, check_defaults, audit_min_period, report_only,
            exec_allowed_commands)
        problems.extend(more)
    recovery = budgets.from_extra_specs(extra_specs, key, problems)
    return Decision(True, settings, 'flavor extra spec %s=%s' % (key, raw),
                    tuple(problems), found, classes, recovery)


def _decisions_from(body, conf):
    """The stored decisions, each checked as a flavor's extra specs are.

    An entry that a flavor could not have given (a value out of its
    option's bounds, an exec command the operator does not allow, ...) is
    left out, with one WARNING: Nova is asked again about it.
    """
    if not isinstance(body, dict):
        raise ValueError('not an object')
    decisions = {}
    refused = []
    for instance_uuid, entry in body.items():
        try:
            if not uuidutils.is_uuid_like(instance_uuid):
                raise ValueError('not an instance UUID')
            decisions[str(instance_uuid).lower()] = _decision_from(
                entry, conf)
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            refused.append('%s (%s)' % (guestdata.escape(instance_uuid, 40),
                                        guestdata.escape(e, 100)))
    if refused:
        LOG.warning('Left out %d stored opt-in answers that no flavor could '
                    'give; Nova is asked again about them: %s', len(refused),
                    '; '.join(refused[:10]))
    return decisions


def _decision_from(entry, conf):
    if not isinstance(entry['watched'], bool):
        raise ValueError('watched is not true or false')
    settings = entry.get('settings')
    if settings is not None:
        settings = checks.heartbeat(**{
            field: checks.bounded(opt, settings[field])
            for _suffix, field, opt in checks.BOUNDED[checks.HEARTBEAT]})
        if settings.timeout > settings.interval:
            raise ValueError('timeout longer than interval')
    elif entry['watched']:
        raise ValueError('watched without settings')
    found = tuple(checks.CheckSettings.from_dict(c)
                  for c in entry.get('checks', ()))
    for check in found:
        checks.validate(check, conf.guest_checks.exec_allowed_commands,
                        conf.guest_checks.audit_min_period)
    report_only = frozenset(entry.get('report_only', ()))
    if not report_only <= set(verdicts.FAILURE_CLASSES):
        raise ValueError('unknown failure class')
    reason = entry['reason']
    if not isinstance(reason, str):
        raise ValueError('reason is not text')
    paused_until = entry.get('paused_until')
    if paused_until is not None:
        if (isinstance(paused_until, bool) or
                not isinstance(paused_until, (int, float)) or
                not math.isfinite(paused_until) or
                paused_until > time.time() + conf.recovery.max_pause +
                _CLOCK_SKEW):
            raise ValueError('a pause end that no server could give')
        if paused_until <= time.time():
            paused_until = None
    return Decision(entry['watched'], settings,
                    guestdata.escape(reason, 500), checks=found,
                    report_only=report_only,
                    recovery=budgets.from_stored(entry.get('recovery', {})),
                    paused_until=paused_until)


def _body_of(decisions):
    return {uuid: {'watched': d.watched, 'reason': d.reason,
                   'settings': ({field: getattr(d.settings, field)
                                 for _suffix, field, _opt
                                 in checks.BOUNDED[checks.HEARTBEAT]}
                                if d.settings else None),
                   'checks': [c.to_dict() for c in d.checks],
                   'report_only': sorted(d.report_only),
                   'recovery': dict(d.recovery),
                   'paused_until': d.paused_until}
            for uuid, d in decisions.items()}


@dataclasses.dataclass
class _Cached:
    decision: Decision
    asked_at: float
    #: read from the store at start, not yet confirmed by Nova
    from_store: bool = False


class OptInPolicy(metaclass=abc.ABCMeta):
    """Decides which domains are heartbeated."""

    @abc.abstractmethod
    def decide(self, instance_uuid, refresh=False):
        """Return the :class:`Decision` for one instance.

        May block on a remote API; never called on the heartbeat path.

        :param refresh: ignore any cached answer (the domain was redefined).
        :raises: OptInUnknown when no answer can be had now.
        """

    def open(self):
        """Read what was kept from the last run (called once, at start).

        :raises: ConfigurationError when the kept state cannot be read.
        """

    def check(self):
        """Check once that the source of the answers can be reached.

        :returns: None when it can, else a short reason.
        """
        return None

    def needs_refresh(self, instance_uuid):
        """True when a cached answer about the instance must be asked again.

        The caller then calls :meth:`decide` with ``refresh=True``.
        """
        return False

    def forget(self, instance_uuid):
        """Drop what is known about an instance no longer on this host."""


class AllOptIn(OptInPolicy):
    """Every running domain with a guest agent channel, default settings."""

    def __init__(self, conf):
        self._decision = Decision(
            True, checks.heartbeat_defaults(conf), 'opt_in = all',
            report_only=frozenset(conf.guest_checks.report_only))

    def decide(self, instance_uuid, refresh=False):
        return self._decision


class FlavorOptIn(OptInPolicy):
    """Instances whose flavor carries the opt-in extra spec.

    :param conf: the configuration.
    :param nova: the ``nova.Nova`` client it asks.
    :param store: a ``statefile.StateFile`` (``optin.json`` under
        ``state_path`` when None) that keeps the last known answers.
    """

    STORE_FILE = 'optin.json'

    def __init__(self, conf, nova, clock=time.monotonic, store=None):
        self._key = conf.vmheartbeat.extra_spec_key
        self._defaults = checks.heartbeat_defaults(conf)
        self._check_defaults = checks.defaults(conf)
        self._max_age = conf.vmheartbeat.optin_refresh_interval
        self._conf = conf
        self._nova = nova
        self._clock = clock
        self._store = store or statefile.StateFile(
            os.path.join(conf.vmheartbeat.state_path, self.STORE_FILE),
            version=1, what='opt-in answers', advisory=True)
        self._cache = {}
        self._warned = set()
        self._lock = threading.Lock()

    def open(self):
        saved = self._store.load(
            lambda body: _decisions_from(body, self._conf)) or {}
        now = self._clock()
        with self._lock:
            for instance_uuid, decision in saved.items():
                self._cache.setdefault(
                    instance_uuid, _Cached(decision, now, from_store=True))
        if saved:
            LOG.info('Read the last known opt-in answers of %d instances '
                     'from %s; Nova is asked again at the next resync',
                     len(saved), self._store.path)

    def check(self):
        return self._nova.check()

    def decide(self, instance_uuid, refresh=False):
        now = self._clock()
        with self._lock:
            cached = self._cache.get(instance_uuid)
        if cached and not refresh and (cached.from_store or
                                       now - cached.asked_at < self._max_age):
            return self._kept(cached)
        try:
            decision = self._ask_nova(instance_uuid)
        except nova_client.NovaUnavailable as e:
            if cached:
                LOG.warning('Nova did not answer about instance %s (%s); '
                            'keeping the last known answer: %s',
                            instance_uuid, e, cached.decision.reason)
                return self._kept(cached)
            raise OptInUnknown('cannot ask Nova about instance %s: %s' % (
                instance_uuid, e))
        if decision.problems and instance_uuid not in self._warned:
            self._warned.add(instance_uuid)
            LOG.warning('Instance %s: bad heartbeat extra specs, defaults '
                        'used instead: %s', instance_uuid,
                        '; '.join(decision.problems))
        with self._lock:
            self._cache[instance_uuid] = _Cached(decision, now)
            changed = cached is None or cached.decision != decision
        if changed:
            self._save()
        return decision

    @staticmethod
    def _kept(cached):
        if not cached.from_store:
            return cached.decision
        return dataclasses.replace(
            cached.decision,
            reason='%s (last known answer)' % cached.decision.reason)

    def _ask_nova(self, instance_uuid):
        try:
            server = self._nova.get_server(instance_uuid)
        except sdk_exc.NotFoundException:
            return Decision(False, reason='not a Nova instance')
        flavor = server.flavor or {}
        extra_specs = flavor.get('extra_specs')
        if extra_specs is None:
            raise nova_client.NovaUnavailable(
                'Nova returned no flavor extra specs (needs compute '
                'microversion 2.47 or later)')
        decision = decide_from_extra_specs(
            extra_specs, self._key, self._defaults, self._check_defaults,
            self._conf.guest_checks.audit_min_period,
            self._conf.guest_checks.report_only,
            self._conf.guest_checks.exec_allowed_commands)
        if not decision.watched:
            return decision
        until, problem = budgets.pause_from_metadata(
            getattr(server, 'metadata', None), self._key, time.time(),
            self._conf.recovery.max_pause)
        return dataclasses.replace(decision, paused_until=until,
                                   pause_problem=problem)

    def _save(self):
        with self._lock:
            decisions = {uuid: c.decision for uuid, c in self._cache.items()}
        try:
            self._store.save(_body_of(decisions))
        except OSError as e:
            LOG.warning('Cannot keep the opt-in answers in %s (%s): a '
                        'restart while Nova is down would not know them',
                        self._store.path, e)

    def needs_refresh(self, instance_uuid):
        with self._lock:
            cached = self._cache.get(instance_uuid)
        return cached is not None and (
            cached.from_store or
            self._clock() - cached.asked_at >= self._max_age)

    def forget(self, instance_uuid):
        with self._lock:
            known = self._cache.pop(instance_uuid, None) is not None
        self._warned.discard(instance_uuid)
        if known:
            self._save()


def make_policy(conf, nova):
    """The opt-in policy ``[vmheartbeat] opt_in`` names.

    :param nova: the ``nova.Nova`` client, None with ``opt_in = all``.
    """
    from masakarimonitors_ext.conf import vmheartbeat as vmhb_conf
    if conf.vmheartbeat.opt_in == vmhb_conf.OPT_IN_ALL:
        return AllOptIn(conf)
    return FlavorOptIn(conf, nova)
