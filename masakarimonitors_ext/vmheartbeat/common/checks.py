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
import math
import posixpath
import re
import shlex

from oslo_utils import strutils

from masakarimonitors_ext.conf import guest_checks as guest_checks_conf
from masakarimonitors_ext.conf import vmheartbeat as vmheartbeat_conf
from masakarimonitors_ext.vmheartbeat import verdicts

HEARTBEAT = 'heartbeat'
APP = 'app'
EXEC = 'exec'
KINDS = (HEARTBEAT, APP, EXEC)

#: what a lost check is a failure of
LOST_CLASS = {HEARTBEAT: verdicts.CLASS_HEARTBEAT,
              APP: verdicts.CLASS_APP_HEARTBEAT,
              EXEC: verdicts.CLASS_EXEC}

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

_HEARTBEAT_OPTS = {opt.name: opt for opt in vmheartbeat_conf.opts}
_CHECK_OPTS = {opt.name: opt for opt in guest_checks_conf.opts}

#: {kind: ((extra spec suffix, settings field, the option that bounds
#: it), ...)}: a flavor's override, or a stored value, is bounded exactly
#: as the operator's option is
BOUNDED = {
    HEARTBEAT: tuple(
        (suffix, field, _HEARTBEAT_OPTS[field]) for suffix, field in (
            ('_interval', 'interval'), ('_timeout', 'timeout'),
            ('_failure_threshold', 'failure_threshold'))),
}
for _kind in (APP, EXEC):
    BOUNDED[_kind] = tuple(
        (suffix, field, _CHECK_OPTS[name]) for suffix, field, name in (
            ('_interval', 'interval', _kind + '_interval'),
            ('_timeout', 'timeout', _kind + '_timeout'),
            ('_failure_threshold', 'failure_threshold',
             _kind + '_failure_threshold'),
            ('_startup_grace', 'startup_grace', _kind + '_startup_grace'),
            ('_max_freeze', 'max_freeze', 'max_freeze_time')))
del _kind


def bounded(opt, raw):
    """``raw`` as a value of ``opt``: its type, within its bounds.

    :raises ValueError: for anything else (NaN included).
    """
    if isinstance(raw, bool) or not str(raw).strip():
        raise ValueError('not a number')
    value = opt.type(raw)
    if value is None:
        raise ValueError('not a number')
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError('not a finite number')
    return value


def bounds_text(opt):
    """What ``opt`` accepts, for a problem's text."""
    kind = 'an integer' if isinstance(opt.type.min, int) else 'a number'
    return '%s from %s to %s' % (kind, opt.type.min, opt.type.max)


def overrides(extra_specs, prefix, kind, problems):
    """{field: value} of the extra specs ``<prefix><suffix>`` of a kind.

    A value that is not within its option's bounds is left out (the
    default stays) and said in ``problems``.
    """
    values = {}
    for suffix, field, opt in BOUNDED[kind]:
        raw = extra_specs.get(prefix + suffix)
        if raw is None:
            continue
        try:
            values[field] = bounded(opt, raw)
        except (TypeError, ValueError):
            problems.append('%s=%r is not %s (as [%s] %s)' % (
                prefix + suffix, raw, bounds_text(opt),
                'vmheartbeat' if kind == HEARTBEAT else 'guest_checks',
                opt.name))
    return values


def exec_allowed(command, allowed):
    """Whether the operator allows the exec check ``command`` (an argv).

    :param allowed: ``[guest_checks] exec_allowed_commands``: each entry
        either a whole command line (the argv must be exactly it), or an
        absolute directory ending with ``/`` (any program directly in it,
        with any arguments).
    """
    for entry in allowed:
        if entry.endswith('/'):
            program = command[0]
            if (posixpath.normpath(program) == program and
                    posixpath.dirname(program) + '/' == entry):
                return True
        else:
            try:
                if tuple(shlex.split(entry)) == tuple(command):
                    return True
            except ValueError:
                continue
    return False


class CheckKey(collections.namedtuple('CheckKey', 'instance_uuid check')):
    """One check of one instance: what the scheduler and prober key by."""

    __slots__ = ()

    def __str__(self):
        return '%s/%s' % self


@dataclasses.dataclass(frozen=True)
class CheckSettings:
    """How one check of an instance runs.

    :param kind: ``HEARTBEAT`` (the agent heartbeat: its interval, timeout
        and threshold only), ``APP`` or ``EXEC``.
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
        if self.kind == HEARTBEAT:
            return self.timeout
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


def heartbeat(interval, timeout, failure_threshold):
    """The agent heartbeat's settings."""
    return CheckSettings(HEARTBEAT, interval, timeout, failure_threshold)


def heartbeat_defaults(conf):
    """The agent heartbeat's settings from [vmheartbeat]."""
    group = conf.vmheartbeat
    return heartbeat(group.interval, group.timeout, group.failure_threshold)


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
    settings = dataclasses.replace(base, **overrides(
        extra_specs, prefix, base.kind, problems))
    if settings.timeout > settings.interval:
        problems.append('%s: timeout %s is longer than interval %s' % (
            prefix, settings.timeout, settings.interval))
        settings = dataclasses.replace(settings, timeout=base.timeout,
                                       interval=max(base.interval,
                                                    base.timeout))
    return settings


def validate(settings, exec_allowed_commands, audit_min_period):
    """Check settings read back from disk as a flavor's are checked.

    :raises ValueError: for a kind, a value, an audit or a command that
        a flavor could not have set.
    """
    if settings.kind not in (APP, EXEC):
        raise ValueError('unknown check %r' % (settings.kind,))
    for _suffix, field, opt in BOUNDED[settings.kind]:
        bounded(opt, getattr(settings, field))
    if settings.timeout > settings.interval:
        raise ValueError('timeout longer than interval')
    if settings.kind == EXEC:
        if tuple(_command(shlex.join(settings.command))) != settings.command:
            raise ValueError('bad command')
        if not exec_allowed(settings.command, exec_allowed_commands):
            raise ValueError('command not in [guest_checks] '
                             'exec_allowed_commands')
    elif settings.command:
        raise ValueError('a command for an application heartbeat')
    if settings.audits:
        _audits(','.join('%s:%r' % audit for audit in settings.audits),
                audit_min_period)


def from_extra_specs(extra_specs, key, check_defaults, audit_min_period,
                     report_only=(), exec_allowed_commands=()):
    """Read the application-level checks from a flavor's extra specs.

    A bad value never stops the monitor: a bad override is reported in
    ``problems`` and the default used instead; a check whose own spec is
    bad (an exec command that is not an absolute path, say) is left out.

    :param key: the opt-in extra spec key, the prefix of every check's.
    :param check_defaults: {kind: CheckSettings} (:func:`defaults`).
    :param report_only: failure classes the configuration sets to report
        only.
    :param exec_allowed_commands: the commands the operator allows an
        exec check to run (:func:`exec_allowed`); none by default, which
        leaves every exec check out.
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
            command = None
        else:
            if not exec_allowed(command, exec_allowed_commands):
                problems.append(
                    '%s_exec=%r is not in [guest_checks] '
                    'exec_allowed_commands; no exec check' % (key, raw))
                command = None
        if command is not None:
            found.append(dataclasses.replace(
                _overridden(check_defaults[EXEC], extra_specs, key + '_exec',
                            problems), command=command))
    classes = set(report_only)
    raw = extra_specs.get(key + '_report_only')
    if raw:
        for name in (part.strip() for part in raw.split(',')):
            if name in verdicts.FAILURE_CLASSES:
                classes.add(name)
            elif name:
                problems.append('%s_report_only: %r is not a failure class '
                                '(%s)' % (key, name,
                                          ', '.join(verdicts.FAILURE_CLASSES)))
    return tuple(found), frozenset(classes), tuple(problems)
