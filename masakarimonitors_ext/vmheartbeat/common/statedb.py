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

"""The SQLite databases under ``state_path``, opened one way.

The escalations' logbook (TaskFlow, through SQLAlchemy) and the outbox
(sqlite3) are both opened by :func:`connect`: WAL with
``synchronous=NORMAL`` keeps every committed write across a crash of the
monitor, at a fraction of the default journal's fsync cost, and a writer
waits up to :data:`BUSY_TIMEOUT` seconds for another.
"""

import sqlite3

#: seconds a statement waits for another connection's lock
BUSY_TIMEOUT = 30


def connect(path):
    """An sqlite3 connection to ``path``, usable from any thread."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
    db.execute('PRAGMA journal_mode=WAL')
    db.execute('PRAGMA synchronous=NORMAL')
    return db
