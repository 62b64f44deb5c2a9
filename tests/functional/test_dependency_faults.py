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

"""No notification lost, invented or repeated when a dependency fails.

Nova, Masakari, libvirtd and the disk fail the way they really fail: Nova
and Masakari behind a fault proxy that refuses, hangs, cuts an answer
short, redirects, trickles its answer or floods, Masakari's API stopped,
the state directory read-only or corrupt, libvirt calls held by hung
guests. Each test judges from Masakari's own records: its stored
notifications, their status, and the POSTs its API logged (a repeat
within Masakari's window is a 409 that stores nothing).
"""

import os
import random
import re
import signal
import subprocess
import threading
import time

from tests.functional import base

NOVA_GAVE_UP = (r'Instance %s: Nova did not answer \(.*\); the failure is '
                r'confirmed from libvirt alone')
ANSWERING = r'Instance %s: answering heartbeats'
PAST_DEADLINE = r'past \[vmheartbeat\] notification_deadline'
NOT_DELIVERED = r'Notification not delivered'
# [nova] timeout of the test with a hanging Nova.
NOVA_TIMEOUT = 2
# A monitor that cannot start must say so within this many seconds.
EXIT_AT_START = 10
OPT_IN_UNKNOWN = r'cannot ask Nova about instance %s: '
# [api] timeout of the test with a dripping Masakari.
API_TIMEOUT = 2
# Seconds between two bytes of a dripping answer.
DRIP_INTERVAL = 0.5
# How long after the client's deadline the proxy may see it gone: it
# notices at its next byte.
CUT_SEEN_WITHIN = 2 * DRIP_INTERVAL + 0.5
# A body far longer than the monitor reads (4 MiB).
HUGE_ANSWER = 64 * 1024 * 1024


def cut_by_the_client(proxy, since=None):
    """The proxy's dripped answers that the client gave up on."""
    return [r for r in proxy.requests(since=since)
            if r['mode'] == 'drip' and
            r['error'] == 'client gone while dripping']


class TestNovaFaults(base.FunctionalTestCase):
    """The monitor's Nova fails; Masakari's engine still reaches it."""

    def _watched_behind_nova_proxy(self, **options):
        nova = self.nova_proxy()
        proc = self.start_monitor(nova_proxy=nova, **options)
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        self._assert_asked_nova(nova, guest)
        return nova, proc, guest

    def _assert_asked_nova(self, nova, guest):
        # the opt-in answer came through the proxy: its faults are seen
        asked = nova.requests('GET', re.compile(
            r'.*/servers/%s' % guest.uuid))
        self.assertIn(200, [r['status'] for r in asked], nova.requests())

    def _reported_and_recovered_without_nova(self, nova, proc, guest,
                                             timeout=base.DETECTION_WINDOW,
                                             answered_before=1):
        notification = self.wait_notifications(guest, timeout=timeout)[0]
        proc.wait_for_log(NOVA_GAVE_UP % guest.uuid, 10)
        self.wait_recovered(notification)
        # Nova is still down: the guest Masakari restarted is watched again
        # from the opt-in answer kept from before.
        guest.wait_agent(60)
        proc.wait_for_log(ANSWERING % guest.uuid, 60,
                          count=answered_before + 1)
        self.assert_notifications(guest, 1, posts=(202,))
        self.assert_recovered_once(guest)
        # an unreachable Nova is expected, not a crash
        self.assertEqual([], proc.lines(r'Cannot decide|Traceback'))

    def test_nova_refusing_connections(self):
        nova, proc, guest = self._watched_behind_nova_proxy()
        nova.refuse()
        guest.kill_agent()
        self._reported_and_recovered_without_nova(nova, proc, guest)

    def test_nova_accepting_and_never_answering(self):
        nova, proc, guest = self._watched_behind_nova_proxy(
            sections={'nova': {'timeout': NOVA_TIMEOUT}})
        hung_since = time.time()
        nova.hang()
        guest.kill_agent()
        self._reported_and_recovered_without_nova(
            nova, proc, guest,
            timeout=base.DETECTION_WINDOW + NOVA_TIMEOUT)
        # the monitor did ask the hanging Nova, and got no answer
        self.assertIn('hang', [r['mode'] for r in nova.requests(
            since=hung_since)], nova.requests())

    def test_nova_flooding_or_dripping_leaves_the_opt_in_unknown(self):
        nova = self.nova_proxy()
        nova.huge(HUGE_ANSWER)
        proc = self.start_monitor(nova_proxy=nova, resync_interval=2,
                                  sections={'nova': {'timeout':
                                                     NOVA_TIMEOUT}})
        guest = self.make_guest()
        proc.wait_for_log(OPT_IN_UNKNOWN % guest.uuid + r'.*AnswerTooLarge',
                          30)
        flooded = [r for r in nova.requests() if r['mode'] == 'huge']
        self.assertTrue(flooded)
        # each answer cut after the first MiBs, not read whole
        self.assertLess(max(r['sent'] for r in flooded), HUGE_ANSWER // 4,
                        flooded)
        dripping_since = time.time()
        nova.drip(DRIP_INTERVAL)
        self.wait_until(lambda: cut_by_the_client(nova, dripping_since),
                        30, 'a dripping Nova cut by the monitor')
        proc.wait_for_log(OPT_IN_UNKNOWN % guest.uuid +
                          r'.*(timed out|no answer within)', 10)
        for record in cut_by_the_client(nova, dripping_since):
            self.assertLess(record['duration'],
                            NOVA_TIMEOUT + CUT_SEEN_WITHIN, record)
        # unknown: neither watched nor reported
        self.assertEqual([], proc.lines(r'Instance %s \(.*\): watched'
                                        % guest.uuid))
        self.assertEqual([], self.masakari.notifications_for(guest.uuid))
        # Nova answers again: no worker was left held, the guest is
        # watched at the next resync, and its failure reported
        nova.forward()
        self.wait_watched(proc, guest, timeout=30)
        guest.kill_agent()
        self.assert_reported_once_and_recovered(proc, guest,
                                                answered_before=1)
        self.assertEqual([], proc.lines(r'Traceback'))

    def test_monitor_restarted_while_nova_is_down(self):
        nova = self.nova_proxy()
        first = self.start_monitor(nova_proxy=nova)
        guest = self.make_guest()
        self.wait_watched(first, guest)
        self._assert_asked_nova(nova, guest)
        self.assertEqual(0, first.stop())
        nova.refuse()
        second = self.start_monitor(nova_proxy=nova, resync_interval=2)
        # its own log: watched from the opt-in answer kept from before
        self.wait_watched(second, guest, timeout=30)
        self.assertEqual([], second.lines(r'Cannot decide|Traceback'))
        guest.kill_agent()
        self._reported_and_recovered_without_nova(nova, second, guest)
        # Nova comes back: the kept answer is asked again at a resync
        back = time.time()
        nova.forward()
        self.wait_until(
            lambda: [r for r in nova.requests(
                'GET', re.compile(r'.*/servers/%s' % guest.uuid),
                since=back) if r['status'] == 200],
            30, 'Nova asked again once it is back')


class TestMasakariFaults(base.FunctionalTestCase):

    def _ensure_api(self):
        if not self.masakari.api_running():
            self.masakari.start_api()

    def test_masakari_down_past_the_notification_deadline(self):
        proc = self.start_monitor(notification_deadline=3,
                                  notification_slow_retry_interval=2)
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        self.masakari.stop_api()
        self.addCleanup(self._ensure_api)
        guest.kill_agent()
        line = proc.wait_for_log(PAST_DEADLINE, base.DETECTION_WINDOW + 3)
        self.assertIn(' WARNING ', line)
        # never given up: tried again after the deadline
        proc.wait_for_log(NOT_DELIVERED, 10, after=PAST_DEADLINE)
        self.assertEqual([], self.notification_posts())
        self.masakari.start_api()
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid, 60)
        self.assert_reported_once_and_recovered(proc, guest, timeout=30,
                                                answered_before=1)
        self.assertEqual([], proc.lines(r'Giving up|Traceback'))

    def test_masakari_hanging_then_back(self):
        masakari = self.masakari_proxy()
        proc = self.start_monitor(api_proxy=masakari)
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        masakari.hang()
        guest.kill_agent()
        # the notification is sent, and held by a Masakari that hangs
        self.wait_until(
            lambda: masakari.requests('POST', '/v1/notifications'),
            base.DETECTION_WINDOW, 'the notification sent')
        self.assertEqual([], proc.lines(r'Instance %s: failure reported'
                                        % guest.uuid))
        # Masakari is restarted: the held connection is reset
        masakari.forward()
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid, 60)
        self.assert_reported_once_and_recovered(proc, guest, timeout=30,
                                                answered_before=1)
        self.assertEqual([], proc.lines(r'Traceback'))

    def test_masakari_redirecting_is_not_followed(self):
        masakari = self.masakari_proxy()
        # the real Masakari again: a redirect followed would deliver there
        elsewhere = self.fault_proxy(self.masakari.api_url,
                                     'masakari-elsewhere')
        proc = self.start_monitor(api_proxy=masakari)
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        masakari.redirect(elsewhere.url)
        guest.kill_agent()
        line = proc.wait_for_log(
            r'Instance %s: notifier masakari refused the failure for good: '
            r'.*answered 307, a redirect to %s.*redirects are not followed'
            % (guest.uuid, re.escape(elsewhere.url)),
            base.DETECTION_WINDOW)
        self.assertIn('endpoint_override', line)
        redirected = [r for r in masakari.requests()
                      if r['mode'] == 'redirect']
        self.assertEqual([307], [r['status'] for r in redirected])
        self.assertEqual([], elsewhere.requests())
        self.assert_posts(())
        self.assertEqual([], self.masakari.notifications_for(guest.uuid))
        self.assertEqual([], proc.lines(r'Traceback'))

    def test_masakari_dripping_then_back(self):
        masakari = self.masakari_proxy()
        proc = self.start_monitor(api_proxy=masakari,
                                  sections={'api': {'timeout': API_TIMEOUT}})
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        masakari.drip(DRIP_INTERVAL, relay=False)
        guest.kill_agent()
        # every try is cut at the deadline, and tried again
        self.wait_until(lambda: len(cut_by_the_client(masakari)) >= 2,
                        base.DETECTION_WINDOW + 20,
                        'two notifications cut by the monitor')
        for record in cut_by_the_client(masakari):
            self.assertLess(record['duration'],
                            API_TIMEOUT + CUT_SEEN_WITHIN, record)
        proc.wait_for_log(NOT_DELIVERED + r' to masakari \(Masakari API not '
                          r'reachable: .*timed out', 10)
        self.assert_posts(())
        masakari.forward()
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid, 60)
        self.assert_reported_once_and_recovered(proc, guest, timeout=30,
                                                answered_before=1)
        relayed = [r['status'] for r in masakari.requests(
            'POST', '/v1/notifications') if r['mode'] == 'forward']
        self.assertEqual([202], relayed)
        self.assertEqual([], proc.lines(r'Traceback'))

    def test_monitor_killed_after_masakari_accepted(self):
        masakari = self.masakari_proxy()
        first = self.start_monitor(api_proxy=masakari)
        guest = self.make_guest()
        self.wait_watched(first, guest)
        killed = threading.Event()

        def kill_before_relaying(record):
            # Masakari stored the notification; the monitor never hears.
            if record['status'] == 202 and not killed.is_set():
                first.kill()
                killed.set()

        masakari.on_response('POST', '/v1/notifications',
                             kill_before_relaying)
        guest.kill_agent()
        self.assertTrue(killed.wait(base.DETECTION_WINDOW),
                        'no notification accepted within %ss'
                        % base.DETECTION_WINDOW)
        self.assertEqual([], masakari.hook_errors)
        self.assertEqual(-signal.SIGKILL, first.returncode())
        self.assertEqual([], first.lines(r'failure reported'))
        second = self.start_monitor(api_proxy=masakari)
        second.wait_for_log(r'Instance %s: resuming the escalation'
                            % guest.uuid, 30)
        second.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                            60)
        # sent again with the same payload and time: a 409, nothing stored
        self.assert_reported_once_and_recovered(second, guest, timeout=30,
                                                posts=(202, 409))
        self.assertEqual([], second.lines(r'Traceback'))


class TestStateFaults(base.FunctionalTestCase):
    """A state directory the monitor cannot use stops it at once."""

    def _assert_refused_to_start(self, proc, names):
        detail = ('exit %s\nstderr:\n%s\nlog:\n%s'
                  % (proc.returncode(), proc.stderr(), proc.tail()))
        self.assertEqual(2, proc.returncode(), detail)
        named = [line for line in proc.stderr().splitlines()
                 if re.search(names, line)]
        self.assertEqual(1, len(named), detail)
        for output in (proc.stderr(), proc.stdout(), proc.log()):
            self.assertNotIn('Traceback', output, detail)

    def test_state_path_read_only(self):
        state = os.path.join(self.workdir, 'read-only-state')
        os.mkdir(state)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'none',
                        state], check=True)
        self.addCleanup(subprocess.run, ['umount', '-l', state],
                        check=False)
        proc = self.run_monitor_to_exit(EXIT_AT_START, state_path=state)
        self._assert_refused_to_start(proc, r'\[vmheartbeat\] state_path')

    def test_state_path_others_can_write(self):
        # whoever can write it could forge notifications and commands
        state = os.path.join(self.workdir, 'shared-state')
        os.mkdir(state)
        os.chmod(state, 0o1777)
        proc = self.run_monitor_to_exit(EXIT_AT_START, state_path=state)
        self._assert_refused_to_start(proc, r'\[vmheartbeat\] state_path.*'
                                      r'writable by its group or others')
        self.assertEqual([], os.listdir(state))

    def test_escalation_database_corrupt(self):
        state = os.path.join(self.workdir, 'state')
        os.makedirs(state)
        with open(os.path.join(state, 'escalations.sqlite'), 'wb') as f:
            f.write(random.Random(6).randbytes(64 * 1024))
        proc = self.run_monitor_to_exit(EXIT_AT_START, state_path=state)
        self._assert_refused_to_start(
            proc, r'escalations\.sqlite|\[vmheartbeat\] state_path')

    def test_state_path_full_still_notifies_once(self):
        state = os.path.join(self.workdir, 'full-state')
        os.mkdir(state)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m,mode=0700',
                        'none', state], check=True)
        self.addCleanup(subprocess.run, ['umount', '-l', state],
                        check=False)
        proc = self.start_monitor(state_path=state)
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        # the disk fills while the monitor runs
        filled = subprocess.run(
            ['dd', 'if=/dev/zero', 'of=%s' % os.path.join(state, 'filler'),
             'bs=64k'], capture_output=True, text=True)
        self.assertIn('No space left on device', filled.stderr)
        guest.kill_agent()
        self.wait_notifications(guest)
        proc.wait_for_log(r'CRITICAL .*Instance %s: the escalation cannot be '
                          r'persisted \(.*full.*\): it runs in memory, not '
                          r'persisted; a monitor restart now would lose it'
                          % guest.uuid, timeout=30)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=30)
        self.assert_notifications(guest, 1)
        self.assert_posts([202])


class TestLibvirtFaults(base.FunctionalTestCase):

    HUNG = 5
    HEALTHY = 2
    CONNECTIONS = 3
    QUIET = 20.0

    def _missed(self, proc, guests):
        return [line for guest in guests
                for line in proc.lines(r'Instance %s: missed heartbeat'
                                       % guest.uuid)]

    def test_libvirtd_hanging_then_back(self):
        proc = self.start_monitor()
        guest = self.make_guest()
        self.wait_watched(proc, guest)
        resume = base.libvirt_guest.freeze_libvirtd()
        self.addCleanup(resume)
        # calls to a frozen libvirtd block: longer than interval x
        # threshold, yet nothing in the guest failed
        time.sleep(base.QUIET_WINDOW)
        resume()
        self.assert_quiet(guest)
        self.assertEqual([], proc.lines(r'Instance %s: failure reported'
                                        % guest.uuid))
        self.assert_posts(())
        # positive control: the guest is still watched
        guest.kill_agent()
        self.wait_notifications(guest)
        self.assert_notifications(guest, 1)

    def test_more_hung_guests_than_libvirt_connections(self):
        proc = self.start_monitor(libvirt_connections=self.CONNECTIONS)
        healthy = [self.make_guest(start=False)
                   for _ in range(self.HEALTHY)]
        # without HA_Enabled Masakari's engine leaves them as they are:
        # they stay hung and keep holding libvirt calls
        hung = [self.make_guest(start=False, metadata={})
                for _ in range(self.HUNG)]
        guests = healthy + hung
        for guest in guests:
            guest.create()
        for guest in guests:
            guest.wait_agent(90)
        for guest in guests:
            self.wait_watched(proc, guest, timeout=60)
        missed_before = self._missed(proc, healthy)
        for guest in hung:
            guest.sigstop()
        for guest in hung:
            self.wait_notifications(guest, timeout=60)
        self.assertEqual(missed_before, self._missed(proc, healthy),
                         'healthy guests missed heartbeats while the hung '
                         'ones were detected')
        deadline = time.monotonic() + self.QUIET
        while time.monotonic() < deadline:
            for guest in healthy:
                self.assertEqual([],
                                 self.masakari.notifications_for(guest.uuid))
            self.assertEqual(missed_before, self._missed(proc, healthy),
                             'healthy guests missed heartbeats while the '
                             'hung ones held libvirt calls')
            time.sleep(0.5)
        # positive control: a healthy guest was being watched all along
        healthy[0].kill_agent()
        notification = self.wait_notifications(healthy[0])[0]
        self.wait_recovered(notification)
        self.assert_notifications(healthy[0], 1, posts=False)
        self.assert_notifications(healthy[1], 0, posts=False)
        for guest in hung:
            self.assert_notifications(guest, 1, posts=False)
        self.assert_posts((202,) * (self.HUNG + 1))
