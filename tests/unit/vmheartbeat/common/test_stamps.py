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

import json

import fixtures

from masakarimonitors_ext.vmheartbeat.common import stamps
from tests.unit import base


class StampsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.mono = base.FakeClock(500.0)
        self.wall = base.FakeClock(1_800_000_000.0)

    def elapsed(self, since):
        return stamps.elapsed(since, self.mono, self.wall)

    def test_wall_clock_steps_change_no_duration(self):
        since = json.loads(json.dumps(stamps.stamp(self.mono, self.wall)))
        self.mono.advance(30.0)
        for step in (3600.0, -7200.0, 86400.0 * 365):
            self.wall.advance(step)
            self.assertEqual(30.0, self.elapsed(since))

    def test_after_a_reboot_the_wall_clock_tells(self):
        since = stamps.stamp(self.mono, self.wall)
        since['boot'] = 'another-boot'
        self.wall.advance(90.0)
        self.assertEqual(90.0, self.elapsed(since))

    def test_unknown_boot_uses_the_wall_clock(self):
        self.useFixture(fixtures.MockPatch(
            'masakarimonitors_ext.vmheartbeat.common.stamps._boot', ''))
        since = stamps.stamp(self.mono, self.wall)
        self.mono.advance(5.0)
        self.wall.advance(7.0)
        self.assertEqual(7.0, self.elapsed(since))

    def test_never_negative(self):
        since = stamps.stamp(self.mono, self.wall)
        since['boot'] = 'another-boot'
        self.wall.advance(-60.0)
        self.assertEqual(0.0, self.elapsed(since))

    def test_boot_id_is_read_from_the_kernel(self):
        with open(stamps.BOOT_ID) as f:
            self.assertEqual(f.read().strip(), stamps.boot_id())
