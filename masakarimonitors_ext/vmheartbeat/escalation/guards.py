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

"""Recovery guards: how often Masakari is asked to recover one instance.

Before a failure is escalated, :meth:`RecoveryGuards.permit` says what
may be done with it (``verdicts.Permission``):

* ``recover``: within the instance's budget (``budgets.Budget``);
* ``report_only``: the budget is spent, ``max_recoveries`` within its
  window: the failure is reported to every notifier, and Masakari is not
  asked to recover it, until the oldest of those recoveries is older than
  the window;
* ``hold``: the back-off after the last recovery has not passed: the
  failure waits, and is escalated when it ends if the instance still
  fails.

First of all, a maintenance pause of the instance (``pauses.Pauses``)
holds its failure until the pause ends. Then, before the instance's own
budget, the storm guard (``storm.StormGuard``) looks at the whole host.

Each recovery (an episode that every required notifier took, with
Masakari asked to recover) is kept, with the wall clock's time, in
``recovery_guards.json`` under ``state_path``, so that a restart of the
monitor does not give a crash-looping instance a new budget. What is read
back is checked: times not in the future, runs and counts within bounds;
a file that cannot be read is moved aside with a WARNING. The file is
locked while the monitor runs; ``masakari-vmheartbeatmonitor
reset-budget`` asks the running monitor, or edits the file when no
monitor holds it.
"""

import collections
import fcntl
import math
import os
import threading
import time

from oslo_log import log as logging
from oslo_utils import uuidutils

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.common import statefile
from masakarimonitors_ext.vmheartbeat.escalation import pauses as pauses_mod
from masakarimonitors_ext.vmheartbeat.escalation import storm as storm_mod
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

FILE = 'recovery_guards.json'
LOCK = 'recovery_guards.lock'
_VERSION = 1
#: recoveries kept per instance: the most ``max_recoveries`` allows
MAX_KEPT = 100
#: seconds a recovery is kept: the longest window allows
MAX_AGE = 7 * 86400.0
#: seconds a stored time may be ahead of this host's clock
_CLOCK_SKEW = 300.0

#: one kept recovery: its wall-clock time and its place in a run
Recovery = collections.namedtuple('Recovery', 'at run')


class Permit(collections.namedtuple('Permit',
                                    'permission reason until run storm')):
    """What may be done with one failure.

    :ivar permission: a ``verdicts.Permission``.
    :ivar reason: why, for the log, the event and the status; '' to
        recover.
    :ivar until: the wall-clock time at which it changes, None for never.
    :ivar run: for ``recover``: this recovery's place in its run (1 for
        the first), which sets the back-off after it.
    :ivar storm: it is the storm guard's, about the whole host.
    """

    __slots__ = ()

    def __new__(cls, permission, reason, until, run, storm=False):
        return super().__new__(cls, permission, reason, until, run, storm)

    @property
    def until_iso(self):
        """``until`` as ISO 8601 UTC, None for never."""
        return None if self.until is None else iso(self.until)


iso = budgets.iso


def _parse(body, now):
    """The recoveries a stored body keeps, each checked.

    :raises ValueError: for a body this monitor could not have written.
    """
    if not isinstance(body, dict):
        raise ValueError('not an object')
    kept = {}
    for instance_uuid, entries in body.items():
        if not uuidutils.is_uuid_like(instance_uuid):
            raise ValueError('%s is not an instance UUID' % (
                guestdata.escape(instance_uuid, 40)))
        if not isinstance(entries, list) or len(entries) > MAX_KEPT:
            raise ValueError('instance %s: not a list of at most %d '
                             'recoveries' % (instance_uuid, MAX_KEPT))
        recoveries = []
        for entry in entries:
            at, run = entry['at'], entry['run']
            if (isinstance(at, bool) or not isinstance(at, (int, float)) or
                    not math.isfinite(at) or at > now + _CLOCK_SKEW):
                raise ValueError('instance %s: a recovery time that is not '
                                 'a time of the past' % instance_uuid)
            if (isinstance(run, bool) or not isinstance(run, int) or
                    not 1 <= run <= MAX_KEPT):
                raise ValueError('instance %s: a run that is not 1 to %d' % (
                    instance_uuid, MAX_KEPT))
            if at > now - MAX_AGE:
                recoveries.append(Recovery(float(at), run))
        if recoveries:
            kept[str(instance_uuid).lower()] = sorted(recoveries)
    return kept


def _body(kept):
    return {uuid: [{'at': r.at, 'run': r.run} for r in recoveries]
            for uuid, recoveries in sorted(kept.items())}


def _permit(recoveries, budget, now):
    """What a failure at ``now`` may have, given the kept recoveries."""
    if budget.max_recoveries == 0:
        return Permit(verdicts.Permission.REPORT_ONLY,
                      'its recovery budget is 0 (max_recoveries)', None, 0)
    recent = [r for r in recoveries if r.at > now - budget.window]
    if len(recent) >= budget.max_recoveries:
        oldest = recent[-budget.max_recoveries]
        return Permit(
            verdicts.Permission.REPORT_ONLY,
            'recovery budget spent: %d recoveries within %ds, the first at '
            '%s' % (len(recent), budget.window, iso(oldest.at)),
            oldest.at + budget.window, 0)
    if not recoveries or now - recoveries[-1].at >= budget.backoff_reset:
        return Permit(verdicts.Permission.RECOVER, '', None, 1)
    last = recoveries[-1]
    ends = last.at + budget.backoff(last.run)
    if now < ends:
        return Permit(
            verdicts.Permission.HOLD,
            'back-off after %d recoveries in a run, the last at %s' % (
                last.run, iso(last.at)), ends, 0)
    return Permit(verdicts.Permission.RECOVER, '', None, last.run + 1)


class RecoveryGuards:
    """The one owner of every instance's kept recoveries.

    Thread safe; :meth:`permit` and :meth:`describe` touch memory only,
    and no method calls anything of another component: the instances
    table asks it under its own lock.

    :param conf: the configuration (``[vmheartbeat] state_path``).
    :param wall: ``time.time`` or a stand-in: budgets are kept across
        restarts, in the wall clock's time.
    :param pauses: the ``pauses.Pauses`` asked first; one of its own
        (without events) when None.
    """

    def __init__(self, conf, wall=time.time, pauses=None):
        self._conf = conf
        self.pauses = pauses or pauses_mod.Pauses(conf, wall=wall)
        self._path = conf.vmheartbeat.state_path
        self._wall = wall
        self._file = statefile.StateFile(
            os.path.join(self._path, FILE), _VERSION, 'recovery budgets',
            advisory=True)
        self._lock = threading.Lock()
        #: {instance_uuid: [Recovery, ...]}, oldest first
        self._kept = {}
        #: {instance_uuid: (permission, until)} last told of
        self._told = {}
        self.storm = storm_mod.StormGuard(conf, wall)
        self._lock_fd = None

    def open(self):
        """Lock the file and read the kept recoveries back.

        :returns: False when another process holds the file.
        :raises: ConfigurationError naming ``state_path`` when the lock
            cannot be made.
        """
        self._lock_fd = hold_lock(self._path)
        if self._lock_fd is None:
            return False
        kept = self._file.load(lambda body: _parse(body, self._wall()))
        with self._lock:
            self._kept = kept or {}
        self.pauses.load()
        if kept:
            LOG.info('Read back the recoveries of %d instances (%s)',
                     len(kept), self._file.path)
        return True

    def close(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def permit(self, instance_uuid, budget, watched=1, recoverable=True):
        """What may be done with a failure of the instance now.

        :param budget: its ``budgets.Budget``.
        :param watched: how many instances this host watches, for the
            storm guard.
        :param recoverable: False for a failure class the flavor reports
            only: only a pause holds it; it spends nothing and counts for
            no storm.
        :returns: (``Permit``, news): news is True the first time this
            permission, with this end, is given to the instance, so that
            it is logged and told once; for the storm guard's, only when
            it trips, so that the host's event is told once.
        """
        paused = self.pauses.paused(instance_uuid)
        if paused is not None:
            until, who = paused
            return Permit(verdicts.Permission.HOLD,
                          'escalation paused by the %s' % who, until, 0), False
        if not recoverable:
            return Permit(verdicts.Permission.REPORT_ONLY,
                          'its flavor reports it only', None, 0), False
        storm, tripped = self.storm.permit(instance_uuid, watched)
        if storm is not None:
            return Permit(verdicts.Permission.REPORT_ONLY, storm.reason,
                          storm.until, 0, storm=True), tripped
        now = self._wall()
        with self._lock:
            granted = _permit(self._kept.get(instance_uuid, ()), budget, now)
            told = (granted.permission, granted.until)
            news = (granted.permission is not verdicts.Permission.RECOVER and
                    self._told.get(instance_uuid) != told)
            if granted.permission is verdicts.Permission.RECOVER:
                self._told.pop(instance_uuid, None)
            else:
                self._told[instance_uuid] = told
        return granted, news

    def host(self, watched=1):
        """The storm guard's view of the host, for the status."""
        return self.storm.host(watched)

    def recovered(self, instance_uuid, run):
        """Masakari took a recovery of the instance: keep it.

        :param run: its place in its run (``Permit.run``).
        :returns: False when it is kept in memory only (the file could not
            be written: logged).
        """
        now = self._wall()
        with self._lock:
            recoveries = self._kept.setdefault(instance_uuid, [])
            recoveries.append(Recovery(now, max(1, min(int(run), MAX_KEPT))))
            del recoveries[:-MAX_KEPT]
            body = _body(self._pruned(now))
        return self._save(body)

    def reset(self, instance_uuid=None):
        """Forget the recoveries of one instance, or of all.

        :returns: how many instances had some.
        """
        with self._lock:
            if instance_uuid is None:
                count = len(self._kept)
                self._kept.clear()
                self._told.clear()
            else:
                count = int(self._kept.pop(instance_uuid, None) is not None)
                self._told.pop(instance_uuid, None)
            body = _body(self._kept)
        self._save(body)
        LOG.warning('Recovery budget reset for %s by the operator',
                    'every instance' if instance_uuid is None
                    else instance_uuid)
        return count

    def describe(self, instance_uuid, budget):
        """The instance's budget, for the status view, as a dict."""
        now = self._wall()
        with self._lock:
            recoveries = list(self._kept.get(instance_uuid, ()))
        granted = _permit(recoveries, budget, now)
        recent = [r for r in recoveries if r.at > now - budget.window]
        paused = self.pauses.paused(instance_uuid)
        if paused is not None:
            granted = Permit(verdicts.Permission.HOLD, 'escalation paused '
                             'by the %s' % paused[1], paused[0], 0)
        return {
            'recoveries': len(recent),
            'max_recoveries': budget.max_recoveries,
            'window': budget.window,
            'last_recovery': iso(recoveries[-1].at) if recoveries else None,
            'permission': granted.permission.value,
            'reason': granted.reason,
            'until': None if granted.until is None else iso(granted.until),
            'paused_until': None if paused is None else iso(paused[0]),
            'paused_by': None if paused is None else paused[1],
        }

    def _pruned(self, now):
        for uuid in list(self._kept):
            self._kept[uuid] = [r for r in self._kept[uuid]
                                if r.at > now - MAX_AGE]
            if not self._kept[uuid]:
                del self._kept[uuid]
        return self._kept

    def _save(self, body):
        return self._file.keep(body)


def hold_lock(path):
    """Take the budgets' lock of ``state_path``, without waiting.

    :returns: the lock's descriptor, None when someone else holds it.
    :raises: ConfigurationError when it cannot be made.
    """
    lock = os.path.join(path, LOCK)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW |
                     os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise exception.ConfigurationError(
            'vmheartbeat.state_path', 'cannot open %s: %s' % (
                lock, e.strerror))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def offline(conf, action):
    """Run ``action(guards)`` on the kept state, when no monitor holds it.

    For the commands (``reset-budget``, ``pause``, ``resume``) when no
    monitor runs: the files are changed directly, under the lock.

    :returns: what ``action`` returned, or None when a monitor holds the
        files (ask it instead).
    """
    guards = RecoveryGuards(conf)
    if not guards.open():
        return None
    try:
        return action(guards)
    finally:
        guards.close()


def reset_offline(conf, instance_uuid=None):
    """Reset budgets in the file, when no monitor holds it.

    :returns: how many instances had some, or None when a monitor holds
        the file (ask it instead).
    """
    return offline(conf, lambda guards: guards.reset(instance_uuid))
