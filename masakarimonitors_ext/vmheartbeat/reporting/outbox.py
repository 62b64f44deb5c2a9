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

"""The persisted outbox of health events.

Failures are delivered to the required notifiers that recover (Masakari) by
their escalation flow. Every other event (reported, recovered, status changed),
and the failures for every other notifier, is kept here, in a small SQLite
database under ``state_path``, as one delivery per notifier that takes its
kind; an event put twice (a flow resumed after a crash) is kept once. Each
notifier has a thread of its own that delivers its events in order, oldest
first, and retries as its ``delivery.Policy`` says, so a notifier that is down,
slow or refusing holds only its own deliveries. A delivery is removed once the
receiver has it (or refused it for good, or a best-effort notifier gave it up):
a monitor that stops or crashes sends at its next start only what was not
delivered. A crash between a receiver's answer and the removal sends that one
event again, with the same ``event_id``.

Each notifier keeps at most ``outbox_max_events_per_notifier`` events: a new
one past it drops that notifier's oldest, counted and logged once per burst
(WARNING for a best-effort notifier, ERROR for a required one). When the
database cannot be written (a full or read-only disk), the oldest best-effort
deliveries are dropped to make room for a required one; what still cannot be
written is kept in memory, in order, within the same bound, and delivered from
there: it is lost only if the monitor stops first. Once a notifier's events in
memory are delivered, its new ones are written to the database again.
"""

import collections
import contextlib
import json
import os
import sqlite3
import threading
import time

from oslo_log import log as logging

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import stamps
from masakarimonitors_ext.vmheartbeat.common import statedb
from masakarimonitors_ext.vmheartbeat.reporting import delivery
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

_SCHEMA = '''
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    notifier TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created REAL NOT NULL,
    event TEXT NOT NULL,
    stamp TEXT,
    UNIQUE (notifier, event_id)
);
CREATE INDEX IF NOT EXISTS deliveries_notifier ON deliveries (notifier, seq);
'''

#: seconds a worker waits before reading the database again after an error
_DATABASE_RETRY = 5.0


class Outbox:
    """Keeps events until each notifier has them, and delivers them.

    :param conf: the configuration (``[vmheartbeat]``).
    :param notifiers: a list of (name, ``notifiers.base.Notifier``).
    :param clock: the monotonic clock, for deadlines (``stamps``).
    :param wall: the wall clock, kept with each event.
    """

    DATABASE = 'outbox.sqlite'

    def __init__(self, conf, notifiers, clock=time.monotonic,
                 wall=time.time):
        self._conf = conf
        self._policies = delivery.policies(conf)
        self._configured = dict(notifiers)
        self._notifiers = [
            (name, notifier) for name, notifier in notifiers
            if self._takes(name, notifier, set(notifier.kinds))]
        self._clock = clock
        self._wall = wall
        self._db = None
        self._lock = threading.Lock()
        self._wake = {name: threading.Event() for name, _ in self._notifiers}
        self._stopping = threading.Event()
        self._threads = []
        self._max = conf.vmheartbeat.outbox_max_events_per_notifier
        #: {notifier: deliveries the database could not keep, oldest first}
        self._memory = collections.defaultdict(collections.deque)
        #: {notifier: the seq of the delivery its thread is making}
        self._delivering = {}
        #: {notifier: events dropped since the start}
        self._dropped = collections.Counter()
        #: {notifier: events dropped since it last had room}
        self._burst = collections.Counter()

    def open(self):
        """Open (or create) the outbox database.

        :raises: ConfigurationError naming ``state_path`` when it cannot be
            created, read or written.
        """
        path = self._conf.vmheartbeat.state_path
        db = os.path.join(path, self.DATABASE)
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            self._db = statedb.connect(db)
            self._db.executescript(_SCHEMA)
            # NOTE: a write proves the database is usable now, not at the
            # first event: a read-only or full disk fails here.
            with self._db:
                self._db.execute('DELETE FROM deliveries WHERE seq < 0')
        except (OSError, sqlite3.Error) as e:
            raise exception.ConfigurationError(
                'vmheartbeat.state_path', 'cannot use the outbox %s: %s' % (
                    db, e))
        names = [name for name, _ in self._notifiers]
        for name, count in self._db.execute(
                'SELECT notifier, COUNT(*) FROM deliveries GROUP BY '
                'notifier').fetchall():
            if name in names:
                LOG.warning('%d health event(s) for notifier %s kept from '
                            'the last run; delivering them', count, name)
            elif name in self._configured:
                # NOTE: it took these events here in the last run (masakari
                # was best effort, say); what it takes now comes another
                # way, but what was kept is still owed to it.
                LOG.warning('%d health event(s) for notifier %s kept from '
                            'the last run, when the outbox delivered them '
                            'to it; delivering them', count, name)
                self._notifiers.append((name, self._configured[name]))
                self._wake[name] = threading.Event()
            else:
                LOG.warning('Dropping %d health event(s) kept for notifier '
                            '%s, which is no longer configured', count, name)
                with self._db:
                    self._db.execute('DELETE FROM deliveries WHERE '
                                     'notifier = ?', (name,))

    def _takes(self, name, notifier, kinds):
        """Whether the outbox keeps events of these kinds for a notifier.

        Failures are kept for every notifier but the required ones that
        recover (Masakari): the escalation flow delivers to those.
        """
        if delivery.by_escalation(notifier, self._policies[name]):
            kinds = kinds - {verdicts.EVENT_FAILED}
        return bool(kinds & set(notifier.kinds))

    def start(self):
        for name, notifier in self._notifiers:
            thread = threading.Thread(
                target=self._deliver_all, name='vmhb-outbox-%s' % name,
                args=(name, notifier, self._policies[name]), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout=2.0):
        """Stop delivering; what is not delivered waits for the next start.

        A delivery under way is given up to ``timeout`` seconds to end.
        """
        self._stopping.set()
        for wake in self._wake.values():
            wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [t.name for t in self._threads if t.is_alive()]
        if left:
            LOG.warning('Stopping with health events still being delivered '
                        '(%s); they are sent again at the next start',
                        ', '.join(left))

    def put(self, event):
        """Keep one event for every notifier that takes it here.

        A failure is kept for every notifier that takes failures but the
        required ones that recover; another event for every notifier that
        takes its kind. An event already
        kept for a notifier (same ``event_id``) is not kept again. Never
        raises: what the database cannot keep is kept in memory.
        """
        names = [name for name, notifier in self._notifiers
                 if self._takes(name, notifier, {event.kind})]
        if not names:
            return
        data = json.dumps(event.to_dict(), sort_keys=True)
        now = stamps.stamp(self._clock, self._wall)
        stamp = json.dumps(now)
        with self._lock:
            # NOTE: a notifier with events in memory takes its new ones
            # there too, so that it still gets them in order.
            written = [name for name in names if not self._memory[name]]
            unwritten, error = self._write(written, event.event_id,
                                           now['wall'], data, stamp)
            for name in names:
                if name in unwritten or name not in written:
                    self._keep_in_memory(name, event, now['wall'], data,
                                         stamp, error)
        for name in names:
            self._wake[name].set()

    def _write(self, names, event_id, created, data, stamp):
        """Write one delivery per notifier, each bounded; lock held.

        When the database cannot take them, the oldest best-effort
        deliveries are dropped to make room for the required ones.

        :returns: (the names not written, the error), ([], None) when all.
        """
        if not names:
            return [], None
        rows = [(name, event_id, created, data, stamp) for name in names]
        try:
            self._insert(rows)
            return [], None
        except sqlite3.Error as e:
            error = e
        required = [row for row in rows if self._policies[row[0]].required]
        while required and self._drop_best_effort(len(required), error):
            try:
                self._insert(required)
                return [row[0] for row in rows if row not in required], error
            except sqlite3.Error as e:
                error = e
        return names, error

    def _insert(self, rows):
        with self._db:
            self._db.executemany(
                'INSERT OR IGNORE INTO deliveries (notifier, event_id, '
                'created, event, stamp) VALUES (?, ?, ?, ?, ?)', rows)
            for row in rows:
                self._bound(row[0])

    def _bound(self, name):
        """Drop a notifier's oldest deliveries past the bound; lock held."""
        count = self._db.execute(
            'SELECT COUNT(*) FROM deliveries WHERE notifier = ?',
            (name,)).fetchone()[0]
        if count <= self._max:
            return
        dropped = self._db.execute(
            'DELETE FROM deliveries WHERE seq IN (SELECT seq FROM '
            'deliveries WHERE notifier = ? AND seq != ? ORDER BY seq '
            'LIMIT ?)', (name, self._delivering.get(name, -1),
                         count - self._max)).rowcount
        self._note_dropped(name, dropped, 'it holds %d events ([vmheartbeat] '
                           'outbox_max_events_per_notifier)' % self._max)

    def _drop_best_effort(self, count, error):
        """Drop the oldest best-effort deliveries to make room; lock held.

        :returns: True when some were dropped.
        """
        best_effort = [name for name, _ in self._notifiers
                       if not self._policies[name].required]
        if not best_effort:
            return False
        marks = ', '.join('?' * len(best_effort))
        try:
            with self._db:
                rows = self._db.execute(
                    'SELECT seq, notifier FROM deliveries WHERE notifier IN '
                    '(%s) ORDER BY seq LIMIT ?' % marks,
                    best_effort + [count]).fetchall()
                self._db.executemany('DELETE FROM deliveries WHERE seq = ?',
                                     [(seq,) for seq, _ in rows])
        except sqlite3.Error:
            return False
        for name, dropped in collections.Counter(
                name for _, name in rows).items():
            self._note_dropped(name, dropped, 'making room for a required '
                               'notifier: the outbox cannot be written: %s'
                               % error)
        return bool(rows)

    def _keep_in_memory(self, name, event, created, data, stamp, error):
        """Keep a delivery the database could not; lock held."""
        memory = self._memory[name]
        if not memory and error is not None:
            LOG.log(logging.ERROR if self._policies[name].required
                    else logging.WARNING,
                    'The outbox cannot be written (%s): the events for '
                    'notifier %s are kept in memory from the %s event of '
                    'instance %s on; a restart before they are delivered '
                    'loses them', error, name, event.kind,
                    event.instance_uuid)
        try:
            kept = self._pending_locked(name)
        except sqlite3.Error:
            kept = len(memory)
        delivering = int(self._delivering.get(name, -1) is None)
        if kept >= self._max and len(memory) > delivering:
            # NOTE: not the one its thread is delivering (seq None)
            del memory[delivering]
            self._note_dropped(name, 1, 'it holds %d events in memory '
                               '([vmheartbeat] outbox_max_events_per_'
                               'notifier)' % self._max)
        memory.append((None, created, data, stamp))

    def _note_dropped(self, name, count, why):
        """Count dropped deliveries; log the first of a burst; lock held."""
        if count <= 0:
            return
        self._dropped[name] += count
        first = not self._burst[name]
        self._burst[name] += count
        if first:
            LOG.log(logging.ERROR if self._policies[name].required
                    else logging.WARNING,
                    'Outbox: dropping the oldest events of notifier %s (%s '
                    'notifier): %s; counted, the count logged when it has '
                    'room again', name, self._policies[name].name, why)

    def _end_burst(self, name):
        """The notifier has room again: log what its burst dropped."""
        with self._lock:
            burst, self._burst[name] = self._burst[name], 0
            total = self._dropped[name]
        if burst:
            LOG.log(logging.ERROR if self._policies[name].required
                    else logging.WARNING,
                    'Outbox: %d event(s) of notifier %s dropped while it was '
                    'full (%d since the start)', burst, name, total)

    def dropped(self, name=None):
        """Events dropped since the start, for one notifier or for all."""
        with self._lock:
            if name is None:
                return sum(self._dropped.values())
            return self._dropped[name]

    def pending(self, name=None):
        """How many deliveries are kept, for one notifier or for all.

        Those kept in memory, the database being full, are counted.
        """
        with self._lock:
            kept = self._kept()
        if name is None:
            return sum(kept.values())
        return kept.get(name, 0)

    def counts(self):
        """Each notifier's events waiting and dropped, as the status shows.

        :returns: a list, in the notifiers' order, of dicts with
            ``notifier``, ``policy`` (``required`` or ``best effort``),
            ``pending`` (kept, in the database or in memory) and
            ``dropped`` (since the start).
        """
        with self._lock:
            kept = self._kept()
            return [{'notifier': name,
                     'policy': self._policies[name].name,
                     'pending': kept.get(name, 0),
                     'dropped': self._dropped[name]}
                    for name, _ in self._notifiers]

    def _kept(self):
        """{notifier: deliveries kept, in the database or in memory}.

        Called under the lock.
        """
        kept = dict(self._db.execute(
            'SELECT notifier, COUNT(*) FROM deliveries GROUP BY '
            'notifier').fetchall())
        for name, memory in self._memory.items():
            kept[name] = kept.get(name, 0) + len(memory)
        return kept

    def _head(self, name):
        """The oldest delivery of a notifier: the database's, then memory's.

        A delivery kept in memory has None for its seq.
        """
        with self._lock:
            head = self._db.execute(
                'SELECT seq, created, event, stamp FROM deliveries WHERE '
                'notifier = ? ORDER BY seq LIMIT 1', (name,)).fetchone()
            if head is None and self._memory[name]:
                head = self._memory[name][0]
            self._delivering[name] = -1 if head is None else head[0]
            return head

    def _remove(self, name, seq):
        with self._lock:
            self._delivering[name] = -1
            if seq is None:
                self._memory[name].popleft()
            else:
                with self._db:
                    self._db.execute('DELETE FROM deliveries WHERE seq = ?',
                                     (seq,))
            room = self._burst[name] and (
                self._pending_locked(name) < self._max)
        if room:
            self._end_burst(name)

    def _pending_locked(self, name):
        row = self._db.execute(
            'SELECT COUNT(*) FROM deliveries WHERE notifier = ?',
            (name,)).fetchone()
        return row[0] + len(self._memory[name])

    def _deliver_all(self, name, notifier, policy):
        wake = self._wake[name]
        while not self._stopping.is_set():
            wake.clear()
            try:
                head = self._head(name)
            except sqlite3.Error as e:
                LOG.error('Cannot read the outbox for notifier %s: %s; '
                          'trying again in %.0fs', name, e, _DATABASE_RETRY)
                self._stopping.wait(_DATABASE_RETRY)
                continue
            if head is None:
                wake.wait()
                continue
            try:
                self._deliver_one(name, notifier, policy, *head)
            except Exception:
                LOG.exception('Notifier %s: delivering a health event '
                              'failed unexpectedly; trying again in %.0fs',
                              name, _DATABASE_RETRY)
                self._stopping.wait(_DATABASE_RETRY)

    def _deliver_one(self, name, notifier, policy, seq, created, data,
                     stamp):
        """Deliver one kept event, retrying until it is done with."""
        try:
            event = events.Event.from_dict(json.loads(data))
            since = json.loads(stamp)
            if not isinstance(since, dict):
                raise ValueError('no time stamp')
        except (TypeError, ValueError) as e:
            LOG.error('Dropping a health event kept for notifier %s that '
                      'cannot be read: %s', name, e)
            self._done(name, seq)
            return
        tries = 0
        while not self._stopping.is_set():
            tries += 1
            attempt = delivery.try_once(name, notifier, event)
            if attempt.result == delivery.REFUSED:
                LOG.error('Notifier %s refused the %s event of instance %s '
                          'for good; dropped: %s', name, event.kind,
                          event.instance_uuid, attempt.answer)
                break
            if attempt.result == delivery.DELIVERED:
                LOG.info('Health event %s of instance %s delivered to %s: '
                         '%s', event.kind, event.instance_uuid, name,
                         attempt.answer)
                break
            error = attempt.answer
            elapsed = stamps.elapsed(since, self._clock, self._wall)
            wait = policy.next_try(tries, elapsed)
            if wait is None:
                LOG.warning('Best-effort notifier %s gave up the %s event of '
                            'instance %s %.0fs after it ([vmheartbeat] '
                            'best_effort_deadline): %s', name, event.kind,
                            event.instance_uuid, elapsed, error)
                break
            LOG.warning('Health event %s of instance %s not delivered to %s '
                        '(%s); trying again in %.1fs', event.kind,
                        event.instance_uuid, name, error, wait)
            self._stopping.wait(wait)
        else:
            return
        self._done(name, seq)

    def _done(self, name, seq):
        while True:
            try:
                self._remove(name, seq)
                return
            except sqlite3.Error as e:
                LOG.error('Cannot remove a delivered health event from the '
                          'outbox: %s; trying again in %.0fs', e,
                          _DATABASE_RETRY)
                if self._stopping.wait(_DATABASE_RETRY):
                    return

    def close(self):
        """Close the database, unless a delivery still uses it."""
        if any(thread.is_alive() for thread in self._threads):
            return
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
