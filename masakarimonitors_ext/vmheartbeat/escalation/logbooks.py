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

"""The SQLite database that keeps the escalation flows: TaskFlow's logbooks.

An SQLAlchemy engine on it, TaskFlow's SQLAlchemy backend on one
connection for every thread, and how to tell from an error that the
logbook cannot be written.
"""

import sqlite3
import threading

import sqlalchemy
from taskflow import exceptions as tf_exc
from taskflow.persistence.backends import impl_sqlalchemy

from masakarimonitors_ext.vmheartbeat.common import statedb

#: what a database that cannot be written raises, wrapped or not
_STORAGE_ERRORS = (tf_exc.StorageFailure, sqlalchemy.exc.SQLAlchemyError,
                   sqlite3.Error, OSError)


def cause(error):
    """The innermost reason of a (wrapped) database error, on one line."""
    while getattr(error, 'cause', None) is not None:
        error = error.cause
    orig = getattr(error, 'orig', None)
    return ' '.join(str(orig or error).split())


class SharedConnectionBackend(impl_sqlalchemy.SQLAlchemyBackend):
    """TaskFlow's SQLAlchemy backend, with one connection for every caller.

    TaskFlow's backend builds new MetaData and Table objects for each
    connection it hands out, and its engines ask for one at every step;
    SQLAlchemy then keeps the statements compiled against each new table.
    Measured: about 40,000 objects kept per escalation and garbage
    collector pauses growing past 1 s within 30 escalations. That
    connection keeps no state beyond its tables and its close() does
    nothing, so a single one serves every thread.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shared = None
        self._shared_lock = threading.Lock()

    def get_connection(self):
        with self._shared_lock:
            if self._shared is None:
                self._shared = super().get_connection()
            return self._shared


def sqlite_engine(path):
    """An SQLAlchemy engine on the escalation database.

    Its connections are opened as every state database is
    (``statedb.connect``).
    """
    return sqlalchemy.create_engine('sqlite:///%s' % path,
                                    creator=lambda: statedb.connect(path))


def cannot_write(error):
    """True when an error says the logbook cannot be kept.

    A full disk, a read-only one or an I/O error reaches us as TaskFlow's
    StorageFailure (wrapping SQLAlchemy's OperationalError, wrapping
    sqlite3's), possibly inside an engine's WrappedFailure, or as the
    database error itself.
    """
    if isinstance(error, tf_exc.WrappedFailure):
        return error.check(tf_exc.StorageFailure) is not None
    while error is not None:
        if isinstance(error, _STORAGE_ERRORS):
            return True
        error = getattr(error, 'cause', None) or error.__cause__
    return False
