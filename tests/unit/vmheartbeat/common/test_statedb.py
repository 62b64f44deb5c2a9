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


"""Both state databases are opened the one way statedb gives."""

import os
import threading
from unittest import mock

import fixtures
import sqlalchemy

from masakarimonitors_ext.vmheartbeat.common import statedb
from masakarimonitors_ext.vmheartbeat.escalation import episodes
from masakarimonitors_ext.vmheartbeat.reporting import outbox
from tests.unit import base
from tests.unit.vmheartbeat import fakes


class StateDatabasesTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.flags(group='vmheartbeat', state_path=self.state_path,
                   notifiers=['log'])

    @staticmethod
    def pragmas(execute):
        return (execute('PRAGMA journal_mode').fetchone()[0],
                execute('PRAGMA synchronous').fetchone()[0],
                execute('PRAGMA busy_timeout').fetchone()[0])

    def test_connect(self):
        db = statedb.connect(os.path.join(self.state_path, 'x.sqlite'))
        self.addCleanup(db.close)
        # WAL, NORMAL (1), and the busy timeout in milliseconds
        self.assertEqual(('wal', 1, statedb.BUSY_TIMEOUT * 1000),
                         self.pragmas(db.execute))
        # usable from another thread
        result = []
        worker = threading.Thread(target=lambda: result.append(
            db.execute('SELECT 1').fetchone()[0]))
        worker.start()
        worker.join(base.WAIT)
        self.assertEqual([1], result)

    def test_the_escalation_logbook_and_the_outbox(self):
        escalator = episodes.Escalator(mock.Mock(), self.conf,
                                       threading.Event())
        escalator.open(mock.Mock())
        with escalator._backend.engine.connect() as conn:
            logbook = self.pragmas(
                lambda sql: conn.execute(sqlalchemy.text(sql)))
        box = outbox.Outbox(self.conf, [('log', fakes.RecordingNotifier())])
        box.open()
        self.addCleanup(box.close)
        self.assertEqual(('wal', 1, statedb.BUSY_TIMEOUT * 1000), logbook)
        self.assertEqual(logbook, self.pragmas(box._db.execute))
