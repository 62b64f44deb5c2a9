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

    def _watched_guest(self, auth_mode='token'):
        proc = self.start_monitor(auth_mode)
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        return proc, guest

    def _reported_once_and_recovered(self, fault, auth_mode='token'):
        proc, guest = self._watched_guest(auth_mode)
        getattr(guest, fault)()
        self.assert_reported_once_and_recovered(proc, guest,
                                                answered_before=1)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid, 5)

    def test_agent_killed(self):
        self._reported_once_and_recovered('kill_agent')

    def test_agent_killed_apis_found_in_the_keystone_catalog(self):
        self._reported_once_and_recovered('kill_agent', auth_mode='password')

    def test_guest_kernel_panic(self):
        self._reported_once_and_recovered('panic')

    def test_guest_hung_before_the_monitor_starts(self):
        # the monitor (re)starts while a guest, booted long ago, is hung:
        # its agent channel is still connected, so no startup grace period
        # (30 s here) is waited for
        guest = self.make_guest()
        guest.panic()
        proc = self.start_monitor()
        self.assert_reported_once_and_recovered(proc, guest)

    def test_qemu_process_stopped(self):
        _proc, guest = self._watched_guest()
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
