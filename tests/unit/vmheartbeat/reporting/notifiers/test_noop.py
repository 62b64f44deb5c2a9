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

from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import noop
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base

#: the event kinds
FAILED = verdicts.EVENT_FAILED


class NoopNotifierTestCase(base.TestCase):

    def test_drops_the_failure(self):
        failure = events.Event(FAILED, 'x', 'compute-1', 'heartbeat',
                               failure_class='heartbeat_lost', recover=True,
                               generated_time='2026-11-24T19:15:00')
        self.assertEqual('dropped',
                         noop.NoopNotifier(self.conf).notify(failure))
        self.assertEqual('', self.logger.output)

    def test_takes_failures_only(self):
        # so the outbox keeps nothing for it
        self.assertEqual((FAILED,), noop.NoopNotifier.kinds)
