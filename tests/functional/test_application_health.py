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

"""Application-level health in the real guest, against the real Masakari.

An application in the tiny guest (``fixtures.guest_app``) answers the
application heartbeat with the shipped helper (guest/vmheartbeat-guest,
in the guest image), runs the audits a challenge asks for, and reports its
status; exec health checks run through the real qemu-ga.

Instances have Nova metadata ``{}`` unless said otherwise, so Masakari
finishes a notification without restarting the domain.
"""

import json
import re

from testtools import content

from tests.functional import base
from tests.functional.fixtures.services import guest_app

SPEC = base.EXTRA_SPEC
APP_SPECS = {SPEC + '_app': 'true', SPEC + '_app_interval': '1',
             SPEC + '_app_timeout': '0.5',
             SPEC + '_app_failure_threshold': '3'}

# Answers garbage in turn: a wrong echo, a huge and deep answer, terminal
# escapes and a bell.
HOSTILE_SCRIPT = r'''
i=0
while :; do
    case $((i % 3)) in
    0) printf '{"version":1,"challenge":"%s","status":"healthy"}' \
           0123456789abcdef0123456789abcdef ;;
    1) head -c 20000 /dev/zero | tr '\0' '[' ;;
    2) printf '\033[31m{"version":1,"challenge":"x\007"}' ;;
    esac >/run/vmheartbeat/answer
    i=$((i + 1))
    sleep 0.3
done
'''


class ApplicationTestCase(base.FunctionalTestCase):

    def app_guest(self, extra_specs=None, metadata=None, **kwargs):
        """A running guest whose flavor turns the checks on."""
        specs = dict(APP_SPECS)
        specs.update(extra_specs or {})
        return self.make_guest(extra_specs=specs,
                               metadata={} if metadata is None else metadata,
                               **kwargs)

    @staticmethod
    def start_app(guest):
        """Start the application; it waits for the monitor's challenges."""
        guest_app.start(guest)

    @staticmethod
    def guest_shell(guest, script):
        return guest_app.shell(guest, script)

    def watched_with_app(self, guest, proc):
        self.wait_watched(proc, guest)
        proc.wait_for_log(r'Instance %s: app check answering' % guest.uuid,
                          timeout=30)

    def monitor(self, **vmheartbeat):
        return self.start_monitor(**vmheartbeat)

    def assert_failed_once(self, proc, guest, failure_class, check='app'):
        """One escalation of this class; one Masakari notification.

        The status command shows the failure too.
        """
        proc.wait_for_log(r'Instance %s failed its %s check \(%s\); '
                          r'escalating' % (guest.uuid, check, failure_class),
                          timeout=base.DETECTION_WINDOW)
        self.wait_notifications(guest)
        proc.wait_for_log(r'Instance %s: failure reported' % guest.uuid,
                          timeout=base.DETECTION_WINDOW)
        self.assert_notifications(guest, 1)
        item = self.status_of(proc, guest)
        self.assertEqual((failure_class, check),
                         (item['failure_class'], item['failed_check']))

    def status_of(self, proc, guest):
        """The instance as the status command shows it."""
        code, out, err = proc.status('--json', guest.uuid)
        self.assertEqual(0, code, err)
        item, = json.loads(out)['instances']
        return item


class TestApplicationHeartbeat(ApplicationTestCase):

    def test_application_answering_then_killed(self):
        guest = self.app_guest()
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.assert_quiet(guest, 3)
        self.guest_shell(guest, 'kill -9 $(cat /tmp/app.pid)')
        # the guest OS is fine: the agent heartbeat keeps answering
        self.assert_failed_once(proc, guest, 'app_heartbeat_lost')
        self.assertEqual([], proc.lines(r'Instance %s: missed heartbeat'
                                        % guest.uuid))
        self.assertTrue(proc.lines(r'Instance %s: app check missed 1/3: '
                                   r'wrong_answer .*stale answer'
                                   % guest.uuid))

    def test_application_hung(self):
        guest = self.app_guest()
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.guest_shell(guest, 'kill -STOP $(cat /tmp/app.pid)')
        self.assert_failed_once(proc, guest, 'app_heartbeat_lost')

    def test_wrong_echo_and_hostile_answers_are_misses(self):
        guest = self.app_guest()
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        # the application is replaced by one that answers garbage: a
        # wrong echo, a huge answer, control characters, deep nesting
        self.guest_shell(guest, 'kill -9 $(cat /tmp/app.pid)')
        guest.guest_exec(['/bin/sh', '-c', HOSTILE_SCRIPT], wait=False)
        self.assert_failed_once(proc, guest, 'app_heartbeat_lost')
        log = proc.log()
        self.assertIsNone(re.search('[\x1b\x07]', log),
                          'guest control characters reached the log')
        self.assertTrue(proc.lines(r'Instance %s: app check missed \d/3: '
                                   r'wrong_answer' % guest.uuid))

    def test_degraded_is_reported_not_recovered_then_failed(self):
        guest = self.app_guest()
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.guest_shell(guest, 'echo degraded >/tmp/app-status')
        proc.wait_for_log(r'Instance %s: the application reports degraded '
                          r'\(serving, pid \d+\)' % guest.uuid, timeout=10)
        self.assert_quiet(guest, 5)
        item = self.status_of(proc, guest)
        self.assertEqual(('healthy', 'degraded', None), (
            item['state'], item['app_status'], item['failure_class']))
        self.assertEqual([], self.notification_posts())
        self.guest_shell(guest, 'echo failed >/tmp/app-status')
        self.assert_failed_once(proc, guest, 'app_failed')

    def test_recovery_asked_under_report_only_is_not_recovered(self):
        guest = self.app_guest(
            extra_specs={SPEC + '_report_only': 'app_failed'})
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.guest_shell(guest, 'touch /tmp/app-recover; '
                                'echo failed >/tmp/app-status')
        proc.wait_for_log(r'Instance %s failed its app check \(app_failed, '
                          r'report only\)' % guest.uuid, timeout=15)
        proc.wait_for_log(r'the application asks to be recovered; the '
                          r'flavor sets app_failed to report only',
                          timeout=5)
        proc.wait_for_log(r'Instance %s: notification masakari: not sent: '
                          r'app_failed is report only' % guest.uuid,
                          timeout=15)
        self.assert_quiet(guest, 3)
        self.assertEqual([], self.notification_posts())


class TestAudits(ApplicationTestCase):

    def test_audits_requested_passing_then_failing(self):
        guest = self.app_guest(extra_specs={
            SPEC + '_app_audits': 'db:5,disk:30'})
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.assert_quiet(guest, 6)
        self.guest_shell(guest, 'touch /tmp/audit-db-fail')
        self.assert_failed_once(proc, guest, 'audit_failed')
        self.assertTrue(proc.lines(r'audit failed: db \(db check found a '
                                   r'fault\)'))
        self.assertEqual([], proc.lines(r'audit failed: disk'))


class TestExecCheck(ApplicationTestCase):

    EXEC = {SPEC + '_exec': "/bin/sh -c 'test -e /tmp/ok'",
            SPEC + '_exec_interval': '2', SPEC + '_exec_timeout': '1',
            SPEC + '_exec_failure_threshold': '2'}

    def test_exec_check_passing_then_failing(self):
        guest = self.make_guest(extra_specs=self.EXEC, metadata={})
        self.guest_shell(guest, 'touch /tmp/ok')
        proc = self.monitor()
        self.wait_watched(proc, guest)
        proc.wait_for_log(r'Instance %s: exec check answering' % guest.uuid,
                          timeout=15)
        self.assert_quiet(guest, 5)
        self.guest_shell(guest, 'rm /tmp/ok')
        self.assert_failed_once(proc, guest, 'exec_check_failed', 'exec')
        self.assertTrue(proc.lines(r'exec check missed 1/2: failed .*exit '
                                   r'status 1'))

    def test_exec_check_the_operator_does_not_allow_never_runs(self):
        # the flavor asks for a command the host's operator never allowed
        specs = dict(self.EXEC)
        specs[SPEC + '_exec'] = "/bin/sh -c 'touch /tmp/ran; test -e /tmp/ok'"
        guest = self.make_guest(extra_specs=specs, metadata={})
        self.guest_shell(guest, 'touch /tmp/ok')
        proc = self.monitor()
        self.wait_watched(proc, guest)
        proc.wait_for_log(r'Instance %s: bad heartbeat extra specs, .* is not '
                          r'in \[guest_checks\] exec_allowed_commands; no '
                          r'exec check' % guest.uuid, timeout=15)
        self.assert_quiet(guest, 5)
        self.assertEqual('absent', self.guest_shell(
            guest, 'test -e /tmp/ran && echo ran || echo absent'))
        self.assertEqual([], proc.lines(r'Instance %s: exec check'
                                        % guest.uuid))
        self.assertNotIn('exec check', proc.lines(
            r'Instance %s .*: watched' % guest.uuid)[0])
        self.assertEqual(1, len(proc.lines(
            r'Instance %s: bad heartbeat extra specs' % guest.uuid)))

    def test_exec_check_hanging_is_not_run_twice(self):
        specs = dict(self.EXEC)
        specs[SPEC + '_exec'] = '/bin/sleep 600'
        guest = self.make_guest(extra_specs=specs, metadata={})
        proc = self.monitor()
        self.wait_watched(proc, guest)
        proc.wait_for_log(r'the command started \d+s ago is still running; '
                          r'not started again', timeout=15, count=2)
        # one command at a time: never a second sleep in the guest (the
        # bounded mode's shells carry its words too: count the sleeps)
        self.assertEqual('1', self.guest_shell(
            guest, 'for p in /proc/[0-9]*; do '
                   '[ "$(tr "\\0" " " < $p/cmdline 2>/dev/null)" = '
                   '"/bin/sleep 600 " ] && echo $p; done | wc -l'))
        self.assert_failed_once(proc, guest, 'exec_check_failed', 'exec')
        # the heartbeat of the same guest never missed meanwhile
        self.assertEqual([], proc.lines(r'Instance %s: missed heartbeat'
                                        % guest.uuid))

    def test_chatty_command_fails_its_run_and_the_agent_keeps_working(self):
        # 8 MiB of output: qemu-ga would return it all at once, and an
        # agent reply over about 10 MiB breaks libvirt's agent channel
        specs = dict(self.EXEC)
        specs[SPEC + '_exec'] = base.CHATTY_COMMAND
        guest = self.make_guest(extra_specs=specs, metadata={})
        proc = self.monitor()
        self.wait_watched(proc, guest)
        self.assert_failed_once(proc, guest, 'exec_check_failed', 'exec')
        self.assertTrue(proc.lines(r'Instance %s: exec check missed 1/2: '
                                   r'failed .*the command wrote more than '
                                   r'4096 bytes of output' % guest.uuid))
        # the agent channel still works, and the heartbeat never missed
        self.assertTrue(guest.agent_ping(timeout=5))
        self.assertEqual([], proc.lines(r'Instance %s: missed heartbeat'
                                        % guest.uuid))
        self.assertEqual('answered', self.status_of(
            proc, guest)['checks']['heartbeat']['last']['outcome'])

    def test_agent_blocking_guest_exec_is_told_not_failed(self):
        guest = self.make_guest(
            extra_specs=self.EXEC, metadata={},
            kernel_args='vmhb_qga_block=guest-exec,guest-exec-status')
        proc = self.monitor()
        self.wait_watched(proc, guest)
        proc.wait_for_log(r'Instance %s: the guest agent refuses the '
                          r'commands of the exec check by its own policy '
                          r'.*allow guest-exec, guest-exec-status'
                          % guest.uuid, timeout=15)
        self.assert_quiet(guest, 6)
        self.assertEqual(1, len(proc.lines(r'refuses the commands of the '
                                           r'exec check')))
        self.assertEqual([], proc.lines(r'exec check missed'))
        item = self.status_of(proc, guest)
        self.assertEqual('blocked', item['checks']['exec']['last']['outcome'])
        self.assertEqual('healthy', item['state'])


class TestLifecycleAndIsolation(ApplicationTestCase):

    def test_paused_and_resumed_application_is_not_failed(self):
        guest = self.app_guest(extra_specs=dict(TestExecCheck.EXEC))
        self.guest_shell(guest, 'touch /tmp/ok')
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        guest.pause()
        proc.wait_for_log(r'Instance %s: heartbeats suspended \(paused\)'
                          % guest.uuid, timeout=10)
        self.assert_quiet(guest, 6)
        guest.resume()
        proc.wait_for_log(r'Instance %s: app check answering' % guest.uuid,
                          timeout=20, count=2)
        self.assert_quiet(guest, 4)
        for check in ('app check', 'exec check'):
            self.assertEqual([], proc.lines(r'%s missed' % check))
        self.assertEqual([], self.notification_posts())

    def test_hung_guests_with_application_checks_delay_no_neighbour(self):
        """Hung guests hold libvirt calls of all their checks."""
        specs = dict(TestExecCheck.EXEC)
        hung = [self.app_guest(extra_specs=specs) for _ in range(3)]
        neighbour = self.app_guest(extra_specs=specs)
        for guest in hung + [neighbour]:
            self.guest_shell(guest, 'touch /tmp/ok')
            self.start_app(guest)
        proc = self.monitor(libvirt_connections=3)
        for guest in hung + [neighbour]:
            self.watched_with_app(guest, proc)
        for guest in hung:
            guest.sigstop()
        for guest in hung:
            self.wait_notifications(guest, timeout=60)
        self.assert_quiet(neighbour, 8)
        lines = proc.lines(r'Instance %s: (missed heartbeat|app check '
                           r'missed|exec check missed)' % neighbour.uuid)
        self.assertEqual([], lines, 'the neighbour missed checks while '
                                    'the hung guests held libvirt calls')
        for guest in hung:
            self.assert_notifications(guest, 1, posts=False)
            self.assertEqual('heartbeat_lost',
                             self.status_of(proc, guest)['failure_class'])
        # the neighbour is watched all along: its application killed is
        # reported once
        guest_app.kill(neighbour)
        self.wait_notifications(neighbour)
        self.assert_notifications(neighbour, 1, posts=False)
        self.assert_posts((202,) * 4)

    def test_long_exec_checks_on_more_guests_than_connections(self):
        """Checks that take their time hold a connection only on the wire.

        Two guests' exec commands each run 3 s of every 4, on a pool of
        two libvirt connections: if their calls kept a connection while
        the command runs, every heartbeat would wait for one, and count
        neither as answered nor as missed.
        """
        specs = dict(TestExecCheck.EXEC)
        specs.update({SPEC + '_exec': base.SLOW_COMMAND,
                      SPEC + '_exec_interval': '1',
                      SPEC + '_exec_timeout': '5'})
        slow = [self.make_guest(extra_specs=specs, metadata={})
                for _ in range(2)]
        neighbour = self.make_guest(metadata={})
        proc = self.monitor(libvirt_connections=2, resync_interval=2)
        for guest in slow + [neighbour]:
            self.wait_watched(proc, guest)
        for guest in slow:
            proc.wait_for_log(r'Instance %s: exec check answering'
                              % guest.uuid, timeout=15)
        pattern = r'Heartbeat calls so far'
        seen = len(proc.lines(pattern))
        proc.wait_for_log(pattern, timeout=30, count=seen + 6)
        counts = re.compile(r'Heartbeat calls so far: \d+ \(answered '
                            r'(\d+), missed (\d+), other (\d+)\)')
        first, last = ([int(n) for n in counts.search(line).groups()]
                       for line in (proc.lines(pattern)[seen - 1],
                                    proc.lines(pattern)[-1]))
        answered, missed, other = (b - a for a, b in zip(first, last))
        # three guests beating every second for at least 10 s
        self.assertGreaterEqual(answered, 25)
        self.assertEqual((0, 0), (missed, other),
                         'heartbeats missed or waited for a connection')
        self.assertEqual([], proc.lines(r'missed heartbeat|exec check '
                                        r'missed'))


class TestFrozenFilesystems(ApplicationTestCase):
    """Nova's quiesced snapshot freezes the guest's filesystems."""

    def test_frozen_briefly_is_held_then_too_long_is_its_own_class(self):
        guest = self.app_guest(extra_specs={SPEC + '_app_max_freeze': '8'},
                               disk=True)
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.assertEqual(1, guest.freeze())
        self.addCleanup(self.thaw_quietly, guest)
        proc.wait_for_log(r'Instance %s: app check held while the guest '
                          r'agent refuses it \(.*frozen state\), for up to '
                          r'8\.0s' % guest.uuid, timeout=10)
        self.assert_quiet(guest, 4)
        item = self.status_of(proc, guest)
        self.assertEqual('held', item['checks']['app']['last']['outcome'])
        self.assertEqual('answered',
                         item['checks']['heartbeat']['last']['outcome'])
        guest.thaw()
        proc.wait_for_log(r'Instance %s: app check no longer held'
                          % guest.uuid, timeout=10)
        self.assertEqual([], proc.lines(r'app check missed'))
        self.assertEqual([], proc.lines(r'missed heartbeat'))

        # frozen past the maximum: a failure of its own class
        guest.freeze()
        self.assert_failed_once(proc, guest, 'frozen_too_long')
        # the agent heartbeat answered throughout
        self.assertEqual([], proc.lines(r'missed heartbeat'))

    @staticmethod
    def thaw_quietly(guest):
        try:
            guest.thaw()
        except Exception:
            pass


class TestStatusCommand(ApplicationTestCase):

    def status(self, proc, *args):
        code, out, err = proc.status(*args)
        self.assertEqual(0, code, err)
        return out

    def test_status_shows_each_check_and_the_failure(self):
        guest = self.app_guest(extra_specs=dict(TestExecCheck.EXEC))
        self.guest_shell(guest, 'touch /tmp/ok')
        self.start_app(guest)
        other = self.make_guest(opted_in=False)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        proc.wait_for_log(r'Instance %s: exec check answering' % guest.uuid,
                          timeout=15)
        self.guest_shell(guest, 'echo degraded >/tmp/app-status')
        proc.wait_for_log(r'the application reports degraded', timeout=10)

        item, = json.loads(self.status(proc, '--json', guest.uuid))[
            'instances']
        self.assertEqual(guest.uuid, item['instance_uuid'])
        self.assertTrue(item['watched'])
        self.assertEqual('healthy', item['state'])
        self.assertEqual('degraded', item['app_status'])
        self.assertRegex(item['app_details'], r'serving, pid \d+')
        self.assertEqual({'heartbeat', 'app', 'exec'}, set(item['checks']))
        for kind, check in item['checks'].items():
            self.assertEqual('answered', check['last']['outcome'], kind)
            self.assertLess(check['last']['age'], 10, kind)
        self.assertEqual('degraded', item['checks']['app']['last']['status'])

        everything = json.loads(self.status(proc, '--json'))['instances']
        unwatched, = [i for i in everything
                      if i['instance_uuid'] == other.uuid]
        self.assertFalse(unwatched['watched'])
        self.assertIn('no masakari:vm_heartbeat extra spec',
                      unwatched['reason'])

        text = self.status(proc)
        self.assertIn('%s %s: watched' % (guest.uuid, guest.name), text)
        self.assertIn('application: degraded: serving, pid', text)
        self.assertRegex(text, r'exec: answered [\d.]+s ago')
        self.assertIn('%s %s: not watched' % (other.uuid, other.name), text)

        self.guest_shell(guest, 'rm /tmp/ok')
        self.assert_failed_once(proc, guest, 'exec_check_failed', 'exec')
        item, = json.loads(self.status(proc, '--json', guest.uuid))[
            'instances']
        self.assertEqual('reported', item['state'])
        self.assertEqual('exec_check_failed', item['failure_class'])
        self.assertEqual('exec', item['failed_check'])
        self.assertRegex(self.status(proc, guest.uuid),
                         r'failure exec_check_failed of the exec check')

    def test_status_of_an_unknown_instance_or_a_stopped_monitor(self):
        proc = self.monitor()
        code, out, err = proc.status('00000000-0000-0000-0000-000000000000')
        self.assertEqual(1, code)
        self.assertIn('does not know instance', err)
        proc.stop()
        code, out, err = proc.status()
        self.assertEqual(2, code)
        self.assertRegex(err, r'no status socket at .*status\.sock: is the '
                              r'monitor running')


class TestMailboxBoundary(ApplicationTestCase):
    """The mailbox and the shipped helper in the real guest, real qemu-ga.

    The application runs as the unprivileged user ``app`` (as the user
    guide says), the agent as root.
    """

    # every read the helper takes for a challenge, and every raw read
    # that is not one complete line (what an application that took any
    # read as the challenge would have taken)
    READER = r'''
    : >/tmp/seen; : >/tmp/partial
    while :; do
        vmheartbeat-guest challenge >>/tmp/seen
        IFS= read -r line </run/vmheartbeat/challenge ||
            echo "${#line}" >>/tmp/partial
        usleep 20000
    done
    '''

    def as_app(self, guest, script):
        code, out = guest.guest_exec(['/bin/su', '-s', '/bin/sh', 'app',
                                      '-c', script])
        return code, out.strip()

    def test_verbose_non_ascii_application_stays_healthy(self):
        # 1,000 Greek characters of details: 2,000 bytes of UTF-8 and
        # twelve thousand as \u escapes; the helper cuts them to fit
        guest = self.app_guest()
        self.guest_shell(guest, "printf '%s' '" + 'αβγδεζηθικ' * 100 +
                         "' >/tmp/app-details")
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.assert_quiet(guest, 6)
        self.assertEqual([], proc.lines(r'Instance %s: app check missed'
                                        % guest.uuid))
        item = self.status_of(proc, guest)
        self.assertEqual('healthy', item['app_status'])
        self.assertTrue(item['app_details'].startswith('αβγδεζηθικ' * 50),
                        item['app_details'][:80])

    def test_application_user_cannot_plant_in_the_mailbox(self):
        guest = self.app_guest()
        self.guest_shell(guest, 'echo secret >/tmp/victim; '
                                'chmod 0600 /tmp/victim')
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        self.assertEqual(
            '0 755 0 644 1000 644',
            self.guest_shell(guest, 'cd /run/vmheartbeat && stat -c '
                             '"%u %a" . challenge answer | tr "\\n" " "'))
        # what the old layout let the application's user do to root
        for attack in ('ln -sf /tmp/victim /run/vmheartbeat/challenge',
                       'rm -f /run/vmheartbeat/answer',
                       'mkfifo /run/vmheartbeat/answer.new && '
                       'mv -f /run/vmheartbeat/answer.new '
                       '/run/vmheartbeat/answer',
                       'ln -s /dev/watchdog /run/vmheartbeat/x'):
            code, out = self.as_app(guest, attack + ' 2>&1')
            self.assertNotEqual(0, code, (attack, out))
        # the application still answers; root wrote only its challenge
        self.assert_quiet(guest, 5)
        self.assertEqual([], proc.lines(r'Instance %s: app check missed'
                                        % guest.uuid))
        self.assertEqual('secret', self.guest_shell(guest,
                                                    'cat /tmp/victim'))
        self.assertEqual('answer challenge', self.guest_shell(
            guest, 'ls /run/vmheartbeat | sort | tr "\\n" " "'))

    def test_no_partial_challenge_is_taken(self):
        guest = self.app_guest()
        self.start_app(guest)
        proc = self.monitor()
        self.watched_with_app(guest, proc)
        pid = guest.guest_exec(['/bin/su', '-s', '/bin/sh', 'app', '-c',
                                self.READER], wait=False)
        self.assert_quiet(guest, 10)
        self.guest_shell(guest, 'kill %d' % pid)
        seen = self.guest_shell(guest, 'cat /tmp/seen').splitlines()
        partial = self.guest_shell(guest, 'wc -l </tmp/partial')
        ids = set()
        for line in seen:
            self.assertRegex(line, r'^[0-9a-f]{32}( |$)', line)
            ids.add(line.split(' ')[0])
        # a new challenge each run, each read whole by the helper
        self.assertGreater(len(ids), 5)
        self.assertEqual([], proc.lines(r'Instance %s: app check missed'
                                        % guest.uuid))
        self.addDetail('raw reads that were no complete challenge',
                       content.text_content(partial))
