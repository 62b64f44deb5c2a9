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

from masakarimonitors_ext.vmheartbeat.probing.probes import base
from tests.unit import base as test_base


class ProbeResultTestCase(test_base.TestCase):

    def test_str(self):
        result = base.ProbeResult(base.Outcome.TIMED_OUT, 'stuck', 1.0, 2.5)
        self.assertEqual('timed_out after 2.500s (stuck)', str(result))
        self.assertEqual('answered after 0.001s', str(base.ProbeResult(
            base.Outcome.ANSWERED, '', 1.0, 0.001)))

    def test_misses(self):
        self.assertEqual({base.Outcome.NOT_CONNECTED, base.Outcome.TIMED_OUT,
                          base.Outcome.WRONG_ANSWER, base.Outcome.AGENT_ERROR,
                          base.Outcome.FAILED},
                         set(o for o in base.Outcome
                             if base.ProbeResult(o).missed))
