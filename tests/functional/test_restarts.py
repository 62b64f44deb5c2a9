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

"""Restarts of the monitor and outages of Masakari lose no notification
and duplicate none."""

import signal

from tests.functional import base

RETRYING = r'Notification not delivered .*trying again'


class TestRestartsAndOutages(base.FunctionalTestCase):

    def _fail_while_api_down(self, proc, guest):
        self.masakari.stop_api()
        self.addCleanup(self._ensure_api)
        guest.kill_agent()
        proc.wait_for_log(RETRYING, base.DETECTION_WINDOW, count=2)

    def _ensure_api(self):
        if not self.masakari.api_running():
            self.masakari.start_api()

    def test_masakari_api_down_for_a_while(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        self._fail_while_api_down(proc, guest)
        self.masakari.start_api()
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid, 60)
        self.assert_reported_once_and_recovered(proc, guest, timeout=60)

    def _restart_mid_escalation(self, sig):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        self._fail_while_api_down(proc, guest)
        proc.stop(sig)
        self.masakari.start_api()
        restarted = self.start_monitor()
        restarted.wait_for_log(r'Instance %s: resuming the escalation'
                               % guest.uuid, 30)
        restarted.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                               60)
        self.assert_reported_once_and_recovered(restarted, guest,
                                                timeout=60)

    def test_monitor_killed_mid_escalation(self):
        self._restart_mid_escalation(signal.SIGKILL)

    def test_monitor_stopped_mid_escalation(self):
        self._restart_mid_escalation(signal.SIGTERM)
