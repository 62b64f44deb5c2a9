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

"""Databases that really cannot be written: full, or read-only.

SQLite's own limits, so that the errors are what the libraries raise on a
full or read-only disk. ``PRAGMA max_page_count`` held at the pages in use
makes a database full once filled: sqlite3.OperationalError 'database or
disk is full', wrapped by SQLAlchemy's OperationalError and TaskFlow's
StorageFailure. ``PRAGMA query_only`` makes every write fail with 'attempt
to write a readonly database', as a disk remounted read-only does.
"""

import contextlib
import itertools
import sqlite3

import fixtures
import sqlalchemy
from taskflow import exceptions as tf_exc
from taskflow.persistence import models
from taskflow import storage
import tenacity

#: the largest max_page_count SQLite takes: no limit
_UNLIMITED = 1073741823
FILLER = 'filler'


class LogbookDisk:
    """The disk under an escalator's logbook, made full or read-only.

    Set on every connection SQLAlchemy checks out of its pool, so every
    thread of the escalation sees it at its next step.
    """

    def __init__(self, escalator):
        self._backend = escalator._backend
        self.full = False
        self.read_only = False
        sqlalchemy.event.listen(self._backend.engine, 'checkout',
                                self._apply)

    def _apply(self, dbapi_connection, _record, _proxy):
        dbapi_connection.execute('PRAGMA max_page_count=%d' % (
            1 if self.full else _UNLIMITED))
        dbapi_connection.execute('PRAGMA query_only=%d' % self.read_only)

    def fill(self):
        """Full: no page more, and logbooks saved until SQLite refuses one.

        :returns: the error SQLite gave, as TaskFlow raised it.
        """
        self.full = True
        with contextlib.closing(self._backend.get_connection()) as conn:
            for n in itertools.count():
                book = models.LogBook(FILLER)
                flow_detail = models.FlowDetail(FILLER, 'filler-%d' % n)
                flow_detail.meta = {'filler': 'x' * 500}
                book.add(flow_detail)
                try:
                    conn.save_logbook(book)
                except tf_exc.StorageFailure as e:
                    return e

    def free(self):
        """Room again: the limit lifted, the filling removed."""
        self.full = self.read_only = False
        with contextlib.closing(self._backend.get_connection()) as conn:
            for book in list(conn.get_logbooks()):
                if book.name == FILLER:
                    conn.destroy_logbook(book.uuid)

    def episode_books(self):
        """The logbooks of escalations, filling left out."""
        with contextlib.closing(self._backend.get_connection()) as conn:
            return [book for book in conn.get_logbooks()
                    if book.name != FILLER]


class NoStorageRetryWait(fixtures.Fixture):
    """TaskFlow's storage tries a failed save again without its 5s waits.

    The tries and the errors are TaskFlow's own; only the waits between
    them go, so a test of a storage failure does not take 10s per save.
    """

    def _setUp(self):
        for save in (storage.Storage._save_flow_detail,
                     storage.Storage._save_atom_detail):
            self.useFixture(fixtures.MockPatchObject(
                save.retry, 'wait', tenacity.wait_none()))


def fill(db):
    """Make an sqlite3 database full: no page more, every page filled.

    :param db: an ``sqlite3.Connection``.
    :returns: the error SQLite gave, 'database or disk is full'.
    """
    with db:
        db.execute('CREATE TABLE IF NOT EXISTS filler (b BLOB)')
    db.execute('PRAGMA max_page_count=1')
    while True:
        try:
            with db:
                db.execute('INSERT INTO filler VALUES (randomblob(512))')
        except sqlite3.OperationalError as e:
            return e


def unfill(db):
    """Room again in a database :func:`fill` made full."""
    db.execute('PRAGMA max_page_count=%d' % _UNLIMITED)
    with db:
        db.execute('DELETE FROM filler')
