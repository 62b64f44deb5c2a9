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

"""How often one instance may be recovered: its recovery budget.

The operator sets it in ``[recovery]``; a flavor may override the number
of recoveries and their window (``<key>_max_recoveries``,
``<key>_recovery_window``), each bounded exactly as its option is, and so
is a value read back from the disk. The instance's owner may pause its
escalation with the server metadata ``<key>_paused_until`` (an ISO 8601
time), bounded by ``[recovery] max_pause`` (:func:`pause_from_metadata`).
"""

import dataclasses
import datetime
import math
import time

from oslo_utils import timeutils

from masakarimonitors_ext.conf import recovery as recovery_conf
from masakarimonitors_ext.vmheartbeat.common import checks

_OPTS = {opt.name: opt for opt in recovery_conf.opts}

#: (extra spec suffix, field, the option that bounds it)
OVERRIDES = (('_max_recoveries', 'max_recoveries',
              _OPTS['max_recoveries']),
             ('_recovery_window', 'window', _OPTS['window']))


@dataclasses.dataclass(frozen=True)
class Budget:
    """The recovery budget of one instance.

    :param max_recoveries: recoveries within ``window`` seconds.
    :param window: seconds over which they count.
    :param backoff_initial: least seconds between the first recovery of a
        run of them and the next; doubled at each further one.
    :param backoff_max: the longest back-off.
    :param backoff_reset: seconds without a failure after a recovery that
        end a run of recoveries.
    """

    max_recoveries: int
    window: float
    backoff_initial: float
    backoff_max: float
    backoff_reset: float

    def backoff(self, run):
        """The least gap after the ``run``-th recovery of a run (from 1)."""
        if run < 1 or not self.backoff_initial:
            return 0.0
        return min(self.backoff_initial * 2 ** min(run - 1, 32),
                   self.backoff_max)


def defaults(conf):
    """The operator's budget, ``[recovery]``."""
    group = conf.recovery
    return Budget(group.max_recoveries, group.window, group.backoff_initial,
                  group.backoff_max, group.backoff_reset)


def from_extra_specs(extra_specs, key, problems):
    """What a flavor overrides of the budget, as sorted (field, value) pairs.

    A value out of its option's bounds is left out (the operator's stays)
    and said in ``problems``.
    """
    values = {}
    for suffix, field, opt in OVERRIDES:
        raw = extra_specs.get(key + suffix)
        if raw is None:
            continue
        try:
            values[field] = checks.bounded(opt, raw)
        except (TypeError, ValueError):
            problems.append('%s%s=%r is not %s (as [recovery] %s)' % (
                key, suffix, raw, checks.bounds_text(opt), opt.name))
    return tuple(sorted(values.items()))


def from_stored(body):
    """The overrides a stored opt-in answer keeps, checked as a flavor's.

    :param body: {field: value}, as ``dict(overrides)`` gave.
    :raises ValueError: for anything a flavor could not have given.
    """
    if not isinstance(body, dict):
        raise ValueError('the recovery budget is not an object')
    fields = {field: opt for _suffix, field, opt in OVERRIDES}
    unknown = set(body) - set(fields)
    if unknown:
        raise ValueError('the recovery budget has no %s' % ', '.join(
            sorted(str(u)[:40] for u in unknown)))
    return tuple(sorted((field, checks.bounded(fields[field], value))
                        for field, value in body.items()))


def of(default, overrides):
    """The budget of an instance: the operator's with its flavor's."""
    if not overrides:
        return default
    return dataclasses.replace(default, **dict(overrides))


#: the longest ISO 8601 time read from the server metadata
_MAX_TIME_CHARS = 64


def iso(when):
    """A wall-clock time as ISO 8601 UTC, to the second."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(when)))


def check_pause_end(until, now, max_pause):
    """Refuse a pause end that is not within ``max_pause`` from ``now``.

    :raises ValueError: saying why.
    """
    if (isinstance(until, bool) or not isinstance(until, (int, float)) or
            not math.isfinite(until)):
        raise ValueError('a pause needs an end')
    if until <= now:
        raise ValueError('its end %s is past' % iso(until))
    if until > now + max_pause:
        raise ValueError('its end %s is more than %ds ([recovery] '
                         'max_pause) ahead' % (iso(until), max_pause))


def pause_from_metadata(metadata, key, now, max_pause):
    """The end of a pause the server metadata asks for.

    :param metadata: the server's metadata, a dict (or None).
    :returns: (until, problem): the end (wall clock) or None for no pause
        (none asked, one past, or one refused), and why it was refused or
        None.
    """
    raw = (metadata or {}).get(key + '_paused_until')
    if raw is None or raw == '':
        return None, None
    name = key + '_paused_until'
    if not isinstance(raw, str) or len(raw) > _MAX_TIME_CHARS:
        return None, '%s is not an ISO 8601 time' % name
    try:
        when = timeutils.parse_isotime(raw)
    except ValueError:
        return None, '%s=%r is not an ISO 8601 time' % (name, raw)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    until = when.timestamp()
    if until <= now:
        return None, None
    try:
        check_pause_end(until, now, max_pause)
    except ValueError as e:
        return None, '%s=%r: %s' % (name, raw, e)
    return until, None
