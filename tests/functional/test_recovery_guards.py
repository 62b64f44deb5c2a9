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

"""Recovery guards against the real guest, qemu-ga and Masakari.

An application in the tiny guest fails and heals again and again (it
writes ``failed``, then ``healthy``, to the status it answers); Masakari
finishes each notification without restarting the domain (metadata
``{}``). What Masakari's API answered is counted from its own log.
"""

import os
import time

from masakarimonitors_ext.vmheartbeat import status
from tests.functional import base
from tests.functional import test_application_health as app_tests

SPEC = base.EXTRA_SPEC


class TestRecoveryBudget(app_tests.ApplicationTestCase):

    def fail_and_heal(self, proc, guest, reported):
        """The application fails, is reported, and answers healthy again.

        :param reported: how many failures of it were reported before.
        """
        self.guest_shell(guest, 'echo failed >/tmp/app-status')
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=base.DETECTION_WINDOW, count=reported + 1)
        self.guest_shell(guest, 'echo healthy >/tmp/app-status')
        proc.wait_for_status(guest.uuid,
                             lambda item: item['state'] == 'healthy',
                             'healthy again', timeout=30)

    def test_backoff_budget_report_only_across_a_restart_until_reset(self):
        # two recoveries an hour (the flavor's), 8 s between them
        guest = self.app_guest(extra_specs={SPEC + '_max_recoveries': '2'})
        self.start_app(guest)
        proc = self.monitor(sections={'recovery': {'backoff_initial': 8}})
        self.watched_with_app(guest, proc)
        self.fail_and_heal(proc, guest, 0)

        # a second failure within the back-off waits for its end
        self.guest_shell(guest, 'echo failed >/tmp/app-status')
        held = proc.wait_for_status(
            guest.uuid, lambda item: item['state'] == 'on_hold',
            'on hold', timeout=base.DETECTION_WINDOW)
        self.assertEqual('hold', held['recovery']['permission'])
        proc.wait_for_log(r'Instance %s: its app_failed is on hold, not '
                          r'recovered: back-off after 1 recoveries'
                          % guest.uuid, timeout=10)
        self.assert_posts((202,))
        # escalated once the back-off is over, as it still fails
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=8 + base.DETECTION_WINDOW, count=2)
        self.guest_shell(guest, 'echo healthy >/tmp/app-status')
        proc.wait_for_status(guest.uuid,
                             lambda item: item['state'] == 'healthy',
                             'healthy again', timeout=30)
        self.assert_posts((202, 202))

        # the third failure is reported to every notifier, not recovered
        self.guest_shell(guest, 'echo failed >/tmp/app-status')
        proc.wait_for_log(r'Instance %s: its app_failed is reported only, '
                          r'not recovered: recovery budget spent: 2 '
                          r'recoveries within 3600s' % guest.uuid,
                          timeout=base.DETECTION_WINDOW)
        proc.wait_for_log(r'Instance %s failed its app check \(app_failed, '
                          r'report only\)' % guest.uuid, timeout=10)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=base.DETECTION_WINDOW, count=3)
        # the event, through the log notifier, with until when
        proc.wait_for_log(r'Health event recovery_suspended: instance %s .*'
                          r'report_only: recovery budget spent.*; until '
                          r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ' % guest.uuid,
                          timeout=10)
        item = self.status_of(proc, guest)
        self.assertEqual('reported_only', item['state'])
        self.assertEqual((2, 2, 'report_only'), (
            item['recovery']['recoveries'],
            item['recovery']['max_recoveries'],
            item['recovery']['permission']))
        code, text, err = proc.status(guest.uuid)
        self.assertEqual(0, code, err)
        self.assertIn('reported (report only: not recovered)', text)
        self.assertIn('recoveries: 2 of 2 within 3600.0s', text)
        # Masakari got nothing more
        self.assert_posts((202, 202))

        # healed; the budget stays spent across a restart of the monitor
        self.guest_shell(guest, 'echo healthy >/tmp/app-status')
        proc.wait_for_status(guest.uuid,
                             lambda item: item['state'] == 'healthy',
                             'healthy again', timeout=30)
        proc.stop()
        proc = self.monitor(sections={'recovery': {'backoff_initial': 8}})
        proc.wait_for_log(r'Read back the recoveries of 1 instances',
                          timeout=30)
        self.watched_with_app(guest, proc)
        item = self.status_of(proc, guest)
        self.assertEqual((2, 'report_only'), (
            item['recovery']['recoveries'],
            item['recovery']['permission']))

        # the operator resets the budget: recovered again
        code, out, err = proc.command('reset-budget', guest.uuid)
        self.assertEqual((0, ''), (code, err))
        self.assertIn('Recovery budget reset for %s (1 with recoveries '
                      'kept)' % guest.uuid, out)
        proc.wait_for_log(r'Recovery budget reset for %s by the operator'
                          % guest.uuid, timeout=10)
        # (the first failure this monitor's log reports)
        self.fail_and_heal(proc, guest, 0)
        self.assert_notifications(guest, 3, posts=(202, 202, 202))
        # the reset forgot the back-off too
        self.assertEqual([], proc.lines(
            r'Health event recovery_suspended: instance %s' % guest.uuid))


class TestStormGuard(base.FunctionalTestCase):

    def test_five_of_eight_hung_at_once_then_a_single_failure(self):
        # booted together: their agents answer sooner than one by one
        guests = [self.make_guest(metadata={}, wait_agent=False)
                  for _ in range(8)]
        for guest in guests:
            guest.wait_agent(120)
        # at most 3 of 8 instances failing within 20 s are recovered
        proc = self.start_monitor(sections={'recovery': {
            'storm_failures': 3, 'storm_share': 0.5, 'storm_window': 20}})
        for guest in guests:
            self.wait_watched(proc, guest)
        hung, single = guests[:5], guests[5]
        for guest in hung:
            guest.sigstop()
        for guest in hung:
            proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                              timeout=60)
        # Masakari was asked to recover three, no more
        self.assert_posts((202,) * 3)
        self.assertEqual(3, sum(
            len(self.masakari.notifications_for(g.uuid)) for g in hung))
        self.assertEqual(2, len(proc.lines(
            r'Instance [0-9a-f-]+ failed its heartbeats \(heartbeat_lost, '
            r'report only\)')))
        # one host event, to every notifier that takes it (the log here)
        self.assertEqual(1, len(proc.lines(
            r'Mass failure suspected on this host: mass failure suspected: '
            r'4 instances of this host failed within 20s, more than 3')))
        self.assertEqual(1, len(proc.lines(
            r'Health event mass_failure_suspected: host %s' %
            base.HOSTNAME)))
        code, text, err = proc.status()
        self.assertEqual(0, code, err)
        self.assertIn('mass failure suspected since', text)
        # the window over, a single failure is recovered: nothing lost
        self.wait_until(lambda: not proc_host(proc)['mass_failure_suspected'],
                        40, 'the storm window over')
        single.kill_agent()
        self.wait_notifications(single)
        self.assert_posts((202,) * 4)
        proc.wait_for_log(r'Mass failure no longer suspected', timeout=10)


def proc_host(proc):
    """The recovery guards' view of the host, as ``status`` shows it."""
    path = os.path.join(proc.sections['vmheartbeat']['state_path'],
                        status.SOCKET)
    return status.query_recovery(path)[2]


class TestMaintenancePause(base.FunctionalTestCase):

    def test_paused_failures_wait_for_the_end_of_the_pause(self):
        # one paused by its owner (server metadata), one by the operator
        by_owner = self.make_guest(metadata={
            SPEC + '_paused_until': time.strftime(
                '%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 30))})
        by_operator = self.make_guest(metadata={})
        proc = self.start_monitor()
        for guest in (by_owner, by_operator):
            self.wait_watched(proc, guest)
        proc.wait_for_log(r'Instance %s: escalation paused by the server '
                          r'metadata until' % by_owner.uuid, timeout=10)
        # a pause needs an end
        code, _out, err = proc.command('pause', by_operator.uuid)
        self.assertEqual(2, code)
        self.assertIn('a pause needs an end', err)
        code, out, err = proc.command('pause', by_operator.uuid, '--for',
                                      '15s')
        self.assertEqual(0, code, err)
        self.assertIn('Escalation of %s paused until' % by_operator.uuid,
                      out)
        for guest in (by_owner, by_operator):
            guest.kill_agent()
        for guest in (by_owner, by_operator):
            item = proc.wait_for_status(
                guest.uuid, lambda item: item['state'] == 'on_hold',
                'on hold', timeout=base.DETECTION_WINDOW)
            self.assertEqual('heartbeat_lost', item['failure_class'])
        # the checks go on, and are shown; nothing is sent
        code, text, err = proc.status(by_operator.uuid)
        self.assertEqual(0, code, err)
        self.assertIn('failed, on hold (not escalated yet)', text)
        self.assertIn('escalation paused by the operator', text)
        self.assertEqual([], self.notification_posts())
        # each escalated once its pause is over
        for guest in (by_owner, by_operator):
            proc.wait_for_log(r'Instance %s: escalation pause by the .* '
                              r'expired' % guest.uuid, timeout=60)
            self.wait_notifications(guest)
        self.assert_posts((202, 202))
        self.assertEqual(2, len(proc.lines(
            r'Health event pause_started: instance')))
        self.assertEqual(2, len(proc.lines(
            r'Health event pause_ended: instance')))
