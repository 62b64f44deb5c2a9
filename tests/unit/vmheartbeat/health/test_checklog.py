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

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.health import checklog
from tests.unit import base


class SettingsTextTestCase(base.TestCase):

    def test_exec_command_from_the_flavor_is_escaped(self):
        # flavor text must not forge log lines or reach a terminal raw
        check = checks.CheckSettings(
            checks.EXEC, 30.0, 10.0, 2, command=(
                '/usr/lib/health/x', 'a\n2026-01-01 00:00:00.000 1 ERROR '
                'forged\x1b[2J', 'two words'))
        text = checklog.settings_text(check)
        self.assertTrue(text.isprintable(), text)
        self.assertIn("exec check /usr/lib/health/x 'a\\n2026", text)
        self.assertIn("'two words'", text)
