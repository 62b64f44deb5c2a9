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

"""Lifecycle operations and opted-out instances never raise an alarm.

A test that keeps a guest in a state that would look failed watches for
twice the detection time; most end with a positive control (a real fault
in the same guest is reported), which proves the monitor was watching.
"""

from tests.functional import base


class TestNoFalseAlarms(base.FunctionalTestCase):

    def _positive_control(self, proc, guest):
        guest.kill_agent()
        self.wait_notifications(guest)
        self.assert_notifications(guest, 1)

    def test_paused_and_resumed(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.pause()
        proc.wait_for_log(r'Instance %s: heartbeats suspended \(paused\)'
                          % guest.uuid, 10)
        self.assert_quiet(guest)
        guest.resume()
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          30, count=2)
        self._positive_control(proc, guest)

    def test_clean_shutdown(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.shutdown()
        proc.wait_for_log(r'Instance %s: no longer watched' % guest.uuid, 30)
        self.assert_quiet(guest)

    def test_destroyed(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.destroy()
        proc.wait_for_log(r'Instance %s: no longer watched' % guest.uuid, 30)
        self.assert_quiet(guest)

    def test_guest_reboot(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.reboot()
        guest.wait_agent(60)
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          30, count=2)
        self.assert_quiet(guest)
        self._positive_control(proc, guest)

    def test_booting_guest(self):
        proc = self.start_monitor()
        guest = self.make_guest(wait_agent=False)
        # watched from its first moments, while the kernel still boots
        proc.wait_for_log(r'Instance %s \(.*\): watched' % guest.uuid, 30)
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          60)
        self.assert_quiet(guest)
        self._positive_control(proc, guest)

    def test_instance_without_extra_spec_is_never_probed(self):
        proc = self.start_monitor()
        guest = self.make_guest(opted_in=False)
        proc.wait_for_log(r'Instance %s \(.*\): not watched' % guest.uuid,
                          30)
        guest.kill_agent()
        self.assert_quiet(guest)
        # never watched, so never heartbeated
        self.assertEqual([], proc.lines(r'Instance %s: (answering|missed)'
                                        % guest.uuid))

    def test_libvirtd_restarted(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        base.libvirt_guest.restart_libvirtd()
        proc.wait_for_log(r'Watching the domains of', 60, count=2)
        self.assert_quiet(guest)
        self._positive_control(proc, guest)
