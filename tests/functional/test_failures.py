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

"""Real failures are reported exactly once, and Masakari recovers the VM."""

from tests.functional import base


class TestFailuresAreReported(base.FunctionalTestCase):

    def _check_reported_once(self, proc, guest):
        notification = self.wait_notifications(guest)[0]
        final = self.wait_recovered(notification)
        # Masakari stopped and started the domain: the new guest answers.
        guest.wait_agent(60)
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          timeout=60, count=2)
        self.assert_notifications(guest, 1)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid, 5)
        return final

    def test_agent_killed(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.kill_agent()
        self._check_reported_once(proc, guest)

    def test_agent_killed_apis_found_in_the_keystone_catalog(self):
        proc = self.start_monitor(auth_mode='password')
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.kill_agent()
        self._check_reported_once(proc, guest)

    def test_guest_kernel_panic(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        guest.panic()
        self._check_reported_once(proc, guest)

    def test_qemu_process_stopped(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        stopped_pid = guest.qemu_pid()
        guest.sigstop()
        notification = self.wait_notifications(guest)[0]
        # Masakari's stop destroys the stopped QEMU (SIGKILL works on it)
        # and its start runs a new one.
        self.wait_recovered(notification)
        self.assertTrue(guest.is_active())
        self.assertNotEqual(stopped_pid, guest.qemu_pid())
        self.assert_notifications(guest, 1)
        # NOTE: libvirt 9.0 may keep the restarted guest's agent in an
        # error state after an agent call timed out on the stopped QEMU
        # ("QEMU guest agent is not available due to an error"), so the
        # agent's answer is not awaited here.
