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

from tests.functional.fixtures.faults import fault_proxy
from tests.functional.fixtures.services import libvirt_guest
from tests.functional.fixtures.services import masakari_service
from tests.functional.fixtures.services import monitor

HOSTNAME = 'compute-1'
EXTRA_SPEC = 'masakari:vm_heartbeat'
#: the operator's [guest_checks] exec_allowed_commands in every test
#: an exec check's command that writes 8 MiB and exits 0
CHATTY_COMMAND = ("/bin/sh -c 'head -c 8388608 /dev/zero | tr \"\\\\0\" a; "
                  "exit 0'")
#: an exec check's command that takes its time and exits 0
SLOW_COMMAND = '/bin/sleep 3'
EXEC_ALLOWED = ["/bin/sh -c 'test -e /tmp/ok'", '/bin/sleep 600',
                CHATTY_COMMAND, SLOW_COMMAND]

# With interval 1 s, timeout 1 s and threshold 3 a failure is reported in
# about 5 s; a notification is awaited for up to DETECTION_WINDOW, and an
# operation that must not raise an alarm is watched for QUIET_WINDOW, twice
# the detection time.
DETECTION_WINDOW = 20.0
QUIET_WINDOW = 10.0
# masakari-api logs a request once it has answered it: how long a POST
# seen in Masakari's records may take to show in its log.
API_LOG_LAG = 5.0

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
        # Tests run one at a time: whatever the API and the stand-in see
        # from here on is this test's.
        self.api_log_mark = self.masakari.api_log_mark()
        self.started_at = time.time()

    def monitor_sections(self, auth_mode='token', nova_proxy=None,
                         api_proxy=None, sections=None, **vmheartbeat):
        """The monitor's options.

        ``nova_proxy`` / ``api_proxy``: a ``FaultProxy`` the monitor
        reaches Nova / Masakari through (token mode only); Masakari's
        engine keeps using the stand-in directly. ``sections``: more
        options, ``{section: {option: value}}``, merged last.
        """
        sections_ = {
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
            # the exec checks the tests' flavors ask for
            'guest_checks': {'exec_allowed_commands': EXEC_ALLOWED},
            # tests fail several guests at once; the storm guard has
            # tests of its own (test_recovery_guards)
            'recovery': {'storm_failures': 0},
        }
        sections_.update(self.masakari.monitor_config(auth_mode))
        if nova_proxy is not None or api_proxy is not None:
            self.assertEqual('token', auth_mode,
                             'fault proxies work in token mode')
        if nova_proxy is not None:
            sections_['nova']['endpoint_override'] = (
                nova_proxy.url + '/compute/v2.1')
        if api_proxy is not None:
            api_url = api_proxy.url + '/v1'
            sections_['api'].update(endpoint=api_url,
                                    endpoint_override=api_url)
        sections_['vmheartbeat'].update(vmheartbeat)
        for section, options in (sections or {}).items():
            sections_.setdefault(section, {}).update(options)
        return sections_

    def start_monitor(self, auth_mode='token', nova_proxy=None,
                      api_proxy=None, sections=None, **vmheartbeat):
        """Run the monitor as a real process, with a log of its own.

        ``auth_mode`` 'token' reaches Masakari and Nova at fixed endpoints
        (noauth2); 'password' finds them in Keystone's catalog. Other
        arguments as in ``monitor_sections``.
        """
        proc = self._monitor_process(auth_mode, nova_proxy, api_proxy,
                                     sections, vmheartbeat)
        proc.start()
        return proc

    def run_monitor_to_exit(self, timeout=30, sections=None, **vmheartbeat):
        """Run a monitor expected to exit by itself; returns the process.

        Its exit code is ``proc.returncode()``, its console output
        ``proc.stderr()`` / ``proc.stdout()``, its log ``proc.log()``.
        """
        proc = self._monitor_process('token', None, None, sections,
                                     vmheartbeat)
        proc.run_to_exit(timeout)
        return proc

    def _monitor_process(self, auth_mode, nova_proxy, api_proxy, sections,
                         vmheartbeat):
        proc = monitor.MonitorProcess(
            self.workdir, self.monitor_sections(
                auth_mode, nova_proxy, api_proxy, sections, **vmheartbeat))
        self.addCleanup(proc.stop)
        self.addOnException(
            lambda exc_info: self.addDetail(
                proc.name + '-log',
                testtools.content.text_content(proc.tail(200))))
        return proc

    def fault_proxy(self, upstream_url, name='fault-proxy'):
        """A started ``FaultProxy`` to upstream_url, stopped at cleanup."""
        proxy = fault_proxy.FaultProxy(upstream_url, name=name).start()
        self.addCleanup(proxy.stop)
        self.addOnException(
            lambda exc_info: self.addDetail(
                name + '-requests', testtools.content.text_content(
                    '\n'.join(str(r) for r in proxy.requests()[-100:]))))
        return proxy

    def nova_proxy(self):
        """A fault proxy in front of the Nova stand-in."""
        return self.fault_proxy(self.masakari.standin_url, 'nova-proxy')

    def masakari_proxy(self):
        """A fault proxy in front of the real Masakari API."""
        return self.fault_proxy(self.masakari.api_url, 'masakari-proxy')

    def make_guest(self, opted_in=True, extra_specs=None, start=True,
                   wait_agent=True, metadata=None, kernel_args='',
                   disk=False):
        """A Nova server of the stand-in and its libvirt guest.

        ``metadata`` defaults to ``{"HA_Enabled": "True"}``, which makes
        Masakari's engine recover the instance; ``{}`` makes it finish a
        notification with nothing done. ``kernel_args`` are added to the
        guest kernel's command line (``vmhb_qga_block=...``, say).
        ``disk``: the guest gets an ext4 filesystem on /mnt/data, which
        qemu-ga can freeze.
        """
        instance_uuid = str(uuid.uuid4())
        specs = {EXTRA_SPEC: 'true'} if opted_in else {}
        specs.update(extra_specs or {})
        self.masakari.register_server(instance_uuid, extra_specs=specs,
                                      metadata=metadata)
        self.addCleanup(self.masakari.unregister_server, instance_uuid)
        guest = libvirt_guest.Guest('vmhb-ft-%s' % instance_uuid[:8],
                                    uuid=instance_uuid,
                                    kernel_args=kernel_args, disk=disk)
        self.addCleanup(guest.cleanup)
        if start:
            guest.create()
            if wait_agent:
                guest.wait_agent(60)
        return guest

    def wait_watched(self, proc, guest, timeout=60):
        """The monitor watches the guest and its agent answers.

        As ``status --json`` shows it, not as the log words it.
        """
        return proc.wait_for_status(
            guest.uuid, lambda item: item['watched'] and
            item.get('state') == 'healthy', 'watched and answering',
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

    def wait_until(self, predicate, timeout, what):
        """Poll ``predicate`` until it is true; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                self.fail('%s: not within %ss' % (what, timeout))
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
                                           answered_before=0,
                                           posts=(202,)):
        """One notification, which Masakari finishes; the VM answers again.

        ``answered_before`` counts the monitor's "answering heartbeats"
        lines for the guest before the fault. ``posts``: the statuses of
        every ``POST /v1/notifications`` Masakari answered in this test,
        in order (a repeat within Masakari's window is a 409 that stores
        nothing: only the POSTs show it).
        """
        notification = self.wait_notifications(guest, timeout=timeout)[0]
        self.wait_recovered(notification)
        # Masakari stopped and started the domain: the new guest answers.
        guest.wait_agent(60)
        proc.wait_for_log(r'Instance %s: answering heartbeats' % guest.uuid,
                          timeout=60, count=answered_before + 1)
        self.assert_notifications(guest, 1, posts=posts)
        self.assert_recovered_once(guest)

    def assert_notifications(self, guest, count, posts=None):
        """``count`` stored notifications for the guest, with our payload.

        ``posts``: the statuses of every ``POST /v1/notifications`` in
        this test, in order; by default ``count`` times 202. False: not
        checked (several guests reported in one test).
        """
        found = self.masakari.notifications_for(guest.uuid)
        self.assertEqual(count, len(found), found)
        for notification in found:
            self.assertEqual('VM', notification['type'])
            self.assertEqual({'instance_uuid': guest.uuid,
                              'event': 'QEMU_GUEST_AGENT_ERROR',
                              'vir_domain_event': 'STOPPED_FAILED'},
                             notification['payload'])
        if posts is not False:
            self.assert_posts((202,) * count if posts is None else posts)
        return found

    def notification_posts(self):
        """Statuses of this test's POST /v1/notifications, in order.

        As masakari-api logged them.
        """
        return self.masakari.notification_posts(self.api_log_mark)

    def assert_posts(self, expected, lag=API_LOG_LAG):
        """Masakari answered exactly these POST /v1/notifications.

        Waits up to ``lag`` for the log to show as many POSTs (the API
        logs a request after answering it), then compares.
        """
        expected = list(expected)
        deadline = time.monotonic() + lag
        posts = self.notification_posts()
        while len(posts) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.2)
            posts = self.notification_posts()
        self.assertEqual(expected, posts,
                         'POST /v1/notifications statuses logged by '
                         'masakari-api in this test')

    def power_actions(self, guest):
        """Stop and start actions Nova accepted for the guest (in order)."""
        return [r['action'] for r in self.masakari.standin_requests(
                    since=self.started_at)
                if r.get('action') in ('os-stop', 'os-start') and
                guest.uuid in r['path'] and r['status'] and
                r['status'] < 300]

    def assert_recovered_once(self, guest):
        """Masakari stopped and started the instance exactly once."""
        self.assertEqual(['os-stop', 'os-start'], self.power_actions(guest))
