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

"""Base of the functional tests: real libvirtd, QEMU, qemu-ga, Masakari.

The testbed (libvirtd, the guest image, RabbitMQ, Masakari API and engine
and the Nova/Keystone stand-in) is set up once per test process by
tools/testbed/setup.sh's pieces and stopped at exit. A missing piece fails
the test: these tests never skip.
"""

import atexit
import os
import tempfile
import threading
import time
import uuid

import testtools

from tests.functional.fixtures import libvirt_guest
from tests.functional.fixtures import masakari_service
from tests.functional.fixtures import monitor

HOSTNAME = 'compute-1'
EXTRA_SPEC = 'masakari:vm_heartbeat'

# With interval 1 s, timeout 1 s and threshold 3 a failure is reported in
# about 5 s; a notification is awaited for up to DETECTION_WINDOW, and an
# operation that must not raise an alarm is watched for QUIET_WINDOW, twice
# the detection time.
DETECTION_WINDOW = 20.0
QUIET_WINDOW = 10.0

_testbed_lock = threading.Lock()
_testbed = None


def testbed():
    """The process-wide Masakari service, started on first use."""
    global _testbed
    with _testbed_lock:
        if _testbed is None:
            libvirt_guest.ensure_libvirtd()
            libvirt_guest.ensure_guest_image()
            service = masakari_service.MasakariService(
                hostnames=(HOSTNAME,))
            service.start()
            atexit.register(service.stop)
            service.create_segment_and_host(HOSTNAME)
            _testbed = service
        return _testbed


class FunctionalTestCase(testtools.TestCase):
    """Creates guests and monitors, and reads Masakari's notifications."""

    def setUp(self):
        super().setUp()
        self.masakari = testbed()
        self.workdir = tempfile.mkdtemp(prefix='vmhb-functional-')

    def monitor_sections(self, auth_mode='token', **vmheartbeat):
        sections = {
            'DEFAULT': {'hostname': HOSTNAME, 'debug': 'true',
                        'use_stderr': 'true'},
            'libvirt': {'connection_uri': libvirt_guest.DEFAULT_URI},
            'vmheartbeat': {
                'interval': 1.0, 'timeout': 1.0, 'failure_threshold': 3,
                'startup_grace_period': 30, 'opt_in': 'flavor',
                'notifiers': 'masakari,log',
                'notification_retry_interval': 0.5,
                'state_path': os.path.join(self.workdir, 'state'),
            },
        }
        sections.update(self.masakari.monitor_config(auth_mode))
        sections['vmheartbeat'].update(vmheartbeat)
        return sections

    def start_monitor(self, auth_mode='token', **vmheartbeat):
        """Run the monitor as a real process.

        ``auth_mode`` 'token' reaches Masakari and Nova at fixed endpoints
        (noauth2); 'password' finds them in Keystone's catalog.
        """
        proc = monitor.MonitorProcess(
            self.workdir, self.monitor_sections(auth_mode, **vmheartbeat))
        proc.start()
        self.addCleanup(proc.stop)
        self.addOnException(
            lambda exc_info: self.addDetail(
                'monitor-log', testtools.content.text_content(proc.tail(200))))
        return proc

    def make_guest(self, opted_in=True, extra_specs=None, start=True,
                   wait_agent=True):
        instance_uuid = str(uuid.uuid4())
        specs = {EXTRA_SPEC: 'true'} if opted_in else {}
        specs.update(extra_specs or {})
        self.masakari.register_server(instance_uuid, extra_specs=specs)
        self.addCleanup(self.masakari.unregister_server, instance_uuid)
        guest = libvirt_guest.Guest('vmhb-ft-%s' % instance_uuid[:8],
                                    uuid=instance_uuid)
        self.addCleanup(guest.cleanup)
        if start:
            guest.create()
            if wait_agent:
                guest.wait_agent(60)
        return guest

    def wait_watched(self, proc, guest, timeout=60):
        proc.wait_for_log(r'Instance %s \(.*\): watched' % guest.uuid,
                          timeout)
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          timeout)

    def wait_notifications(self, guest, count=1, timeout=DETECTION_WINDOW):
        deadline = time.monotonic() + timeout
        while True:
            found = self.masakari.notifications_for(guest.uuid)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                self.fail('%d notification(s) for %s within %ss, wanted %d'
                          % (len(found), guest.uuid, timeout, count))
            time.sleep(0.2)

    def assert_quiet(self, guest, seconds=QUIET_WINDOW):
        """No notification for the guest during ``seconds``; fail at once."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertEqual([], self.masakari.notifications_for(guest.uuid))
            time.sleep(0.2)

    def wait_recovered(self, notification):
        """Masakari's recovery finished; returns the final notification."""
        final = self.masakari.wait_notification_status(
            notification['notification_uuid'], timeout=120)
        self.assertEqual('finished', final['status'], final)
        return final

    def assert_reported_once_and_recovered(self, proc, guest,
                                           timeout=DETECTION_WINDOW,
                                           answered_before=0):
        """One notification, which Masakari finishes; the VM answers again.

        ``answered_before`` counts the monitor's "answering heartbeats"
        lines for the guest before the fault.
        """
        notification = self.wait_notifications(guest, timeout=timeout)[0]
        self.wait_recovered(notification)
        # Masakari stopped and started the domain: the new guest answers.
        guest.wait_agent(60)
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          timeout=60, count=answered_before + 1)
        self.assert_notifications(guest, 1)

    def assert_notifications(self, guest, count):
        found = self.masakari.notifications_for(guest.uuid)
        self.assertEqual(count, len(found), found)
        for notification in found:
            self.assertEqual('VM', notification['type'])
            self.assertEqual({'instance_uuid': guest.uuid,
                              'event': 'QEMU_GUEST_AGENT_ERROR',
                              'vir_domain_event': 'STOPPED_FAILED'},
                             notification['payload'])
        return found
