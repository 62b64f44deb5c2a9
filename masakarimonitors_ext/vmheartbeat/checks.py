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

"""The checks an instance can have, their settings and failure classes.

Every instance that is watched has the agent heartbeat. Its flavor may add:

* an application heartbeat (``<key>_app``): an application inside the
  guest answers each challenge itself, with its health status, and runs
  the audits the challenge asks for (``<key>_app_audits``);
* an exec health check (``<key>_exec``): a command run in the guest
  through the agent on its own period, healthy when it exits 0.

Each check is keyed by (instance, check) and has its own interval,
timeout, failure threshold and startup grace. A failure has a class, which
the operator may set to report only (``[guest_checks] report_only`` and the
flavor's ``<key>_report_only``).
"""

import collections
import dataclasses
import re
import shlex

from oslo_utils import strutils

HEARTBEAT = 'heartbeat'
APP = 'app'
EXEC = 'exec'
KINDS = (HEARTBEAT, APP, EXEC)

# Failure classes
CLASS_HEARTBEAT = 'heartbeat_lost'
CLASS_APP_HEARTBEAT = 'app_heartbeat_lost'
CLASS_APP_FAILED = 'app_failed'
CLASS_AUDIT = 'audit_failed'
CLASS_EXEC = 'exec_check_failed'
CLASS_FROZEN = 'frozen_too_long'
FAILURE_CLASSES = (CLASS_HEARTBEAT, CLASS_APP_HEARTBEAT, CLASS_APP_FAILED,
                   CLASS_AUDIT, CLASS_EXEC, CLASS_FROZEN)

# Health states an application reports
STARTING = 'starting'
HEALTHY = 'healthy'
DEGRADED = 'degraded'
FAILED = 'failed'
APP_STATES = (STARTING, HEALTHY, DEGRADED, FAILED)

#: what a lost check is a failure of
LOST_CLASS = {HEARTBEAT: CLASS_HEARTBEAT, APP: CLASS_APP_HEARTBEAT,
              EXEC: CLASS_EXEC}

#: the guest agent commands each check needs
AGENT_COMMANDS = {
    HEARTBEAT: ('guest-sync',),
    APP: ('guest-file-open', 'guest-file-read', 'guest-file-write',
          'guest-file-close'),
    EXEC: ('guest-exec', 'guest-exec-status'),
}

AUDIT_NAME = re.compile(r'[a-z0-9][a-z0-9_.-]{0,31}')
MAX_AUDITS = 16
MAX_COMMAND_CHARS = 1024
MAX_COMMAND_ARGS = 32
_MAX_SECONDS = 86400.0


class CheckKey(collections.namedtuple('CheckKey', 'instance_uuid check')):
    """One check of one instance: what the scheduler and prober key by."""

    __slots__ = ()

    def __str__(self):
        return '%s/%s' % self


@dataclasses.dataclass(frozen=True)
class CheckSettings:
    """How one application-level check of an instance runs.

    :param kind: ``APP`` or ``EXEC``.
    :param interval: seconds between two runs.
    :param timeout: seconds each run may take (for ``APP``, each agent call
        and the least time the application has to answer).
    :param failure_threshold: failed runs in a row before a failure.
    :param startup_grace: seconds after a (re)start during which failed
        runs are not counted.
    :param command: ``EXEC``: the argv run in the guest.
    :param audits: ``APP``: ((name, period), ...) asked for in challenges.
    :param max_freeze: seconds the checks are held while the guest's
        filesystems are frozen before that is a failure.
    """

    kind: str
    interval: float
    timeout: float
    failure_threshold: int
    startup_grace: float = 0.0
    command: tuple = ()
    audits: tuple = ()
    max_freeze: float = 600.0

    @property
    def call_timeout(self):
        """Seconds one run may take before the scheduler counts it missed.

        An exec check polls the command's status up to ``timeout``; one
        more agent call's worth of time lets it say so itself. An
        application heartbeat makes six agent calls (read the answer,
        write the next challenge), each within ``timeout``: the run gets
        three times that, never more than its interval.
        """
        if self.kind == EXEC:
            return self.timeout + 1.0
        return min(self.interval, 3 * self.timeout)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, body):
        return cls(kind=str(body['kind']), interval=float(body['interval']),
                   timeout=float(body['timeout']),
                   failure_threshold=int(body['failure_threshold']),
                   startup_grace=float(body.get('startup_grace', 0.0)),
                   command=tuple(str(a) for a in body.get('command', ())),
                   audits=tuple((str(n), float(p))
                                for n, p in body.get('audits', ())),
                   max_freeze=float(body.get('max_freeze', 600.0)))


def defaults(conf):
    """The [guest_checks] defaults, as {kind: CheckSettings}."""
    group = conf.guest_checks
    return {
        APP: CheckSettings(APP, group.app_interval, group.app_timeout,
                           group.app_failure_threshold,
                           group.app_startup_grace,
                           max_freeze=group.max_freeze_time),
        EXEC: CheckSettings(EXEC, group.exec_interval, group.exec_timeout,
                            group.exec_failure_threshold,
                            group.exec_startup_grace,
                            max_freeze=group.max_freeze_time),
    }


def _number(extra_specs, spec, cast, low, high, problems):
    raw = extra_specs.get(spec)
    if raw is None:
        return None
    try:
        value = cast(raw)
        if value != value or not low <= value <= high:
            raise ValueError()
    except (TypeError, ValueError):
        problems.append('%s=%r is not a number from %s to %s' % (
            spec, raw, low, high))
        return None
    return value


def _command(raw):
    if len(raw) > MAX_COMMAND_CHARS:
        raise ValueError('longer than %d characters' % MAX_COMMAND_CHARS)
    argv = shlex.split(raw)
    if not argv:
        raise ValueError('empty')
    if len(argv) > MAX_COMMAND_ARGS:
        raise ValueError('more than %d arguments' % MAX_COMMAND_ARGS)
    if not argv[0].startswith('/'):
        raise ValueError('%r is not an absolute path' % argv[0])
    return tuple(argv)


def _audits(raw, min_period):
    audits = []
    for item in (part.strip() for part in raw.split(',')):
        if not item:
            continue
        name, sep, period = item.partition(':')
        if not sep or not AUDIT_NAME.fullmatch(name):
            raise ValueError('%r is not name:period (names are lower case '
                             'letters, digits, "_", "-" and ".", at most '
                             '32)' % item)
        period = float(period)
        if period != period or not min_period <= period <= _MAX_SECONDS:
            raise ValueError('period of %s is not from %s to %s' % (
                name, min_period, _MAX_SECONDS))
        if name in (n for n, _ in audits):
            raise ValueError('%s named twice' % name)
        audits.append((name, period))
    if len(audits) > MAX_AUDITS:
        raise ValueError('more than %d audits' % MAX_AUDITS)
    return tuple(audits)


def _overridden(base, extra_specs, prefix, problems):
    values = {}
    for suffix, field, cast, high in (
            ('_interval', 'interval', float, _MAX_SECONDS),
            ('_timeout', 'timeout', float, 3600.0),
            ('_failure_threshold', 'failure_threshold', int, 100),
            ('_startup_grace', 'startup_grace', float, _MAX_SECONDS),
            ('_max_freeze', 'max_freeze', float, _MAX_SECONDS)):
        low = 0 if field == 'startup_grace' else (1 if cast is int else 0.05)
        value = _number(extra_specs, prefix + suffix, cast, low, high,
                        problems)
        if value is not None:
            values[field] = value
    settings = dataclasses.replace(base, **values)
    if settings.timeout > settings.interval:
        problems.append('%s: timeout %s is longer than interval %s' % (
            prefix, settings.timeout, settings.interval))
        settings = dataclasses.replace(settings, timeout=base.timeout,
                                       interval=max(base.interval,
                                                    base.timeout))
    return settings


def from_extra_specs(extra_specs, key, check_defaults, audit_min_period,
                     report_only=()):
    """Read the application-level checks from a flavor's extra specs.

    A bad value never stops the monitor: a bad override is reported in
    ``problems`` and the default used instead; a check whose own spec is
    bad (an exec command that is not an absolute path, say) is left out.

    :param key: the opt-in extra spec key, the prefix of every check's.
    :param check_defaults: {kind: CheckSettings} (:func:`defaults`).
    :param report_only: failure classes the configuration sets to report
        only.
    :returns: (checks, report_only, problems): a tuple of CheckSettings,
        a frozenset of failure classes, a tuple of strings.
    """
    problems = []
    found = []
    raw = extra_specs.get(key + '_app')
    if raw is not None:
        try:
            enabled = strutils.bool_from_string(raw, strict=True)
        except ValueError:
            problems.append('%s_app=%r is not true or false' % (key, raw))
            enabled = False
        if enabled:
            settings = _overridden(check_defaults[APP], extra_specs,
                                   key + '_app', problems)
            audits = extra_specs.get(key + '_app_audits')
            if audits:
                try:
                    settings = dataclasses.replace(
                        settings, audits=_audits(audits, audit_min_period))
                except ValueError as e:
                    problems.append('%s_app_audits=%r: %s; no audits' % (
                        key, audits, e))
            found.append(settings)
    raw = extra_specs.get(key + '_exec')
    if raw is not None:
        try:
            command = _command(raw)
        except ValueError as e:
            problems.append('%s_exec=%r: %s; no exec check' % (key, raw, e))
        else:
            found.append(dataclasses.replace(
                _overridden(check_defaults[EXEC], extra_specs, key + '_exec',
                            problems), command=command))
    classes = set(report_only)
    raw = extra_specs.get(key + '_report_only')
    if raw:
        for name in (part.strip() for part in raw.split(',')):
            if name in FAILURE_CLASSES:
                classes.add(name)
            elif name:
                problems.append('%s_report_only: %r is not a failure class '
                                '(%s)' % (key, name,
                                          ', '.join(FAILURE_CLASSES)))
    return tuple(found), frozenset(classes), tuple(problems)
