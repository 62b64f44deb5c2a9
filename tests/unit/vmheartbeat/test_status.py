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

"""The status socket, its client and the text it prints."""

import json
import os
import socket
import stat
import threading
import time
from unittest import mock

import fixtures

from masakarimonitors_ext.vmheartbeat import status
from tests.unit import base

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
C = '33333333-3333-3333-3333-333333333333'


def check(interval, failure_threshold, misses=0, last=None):
    return {'interval': interval, 'timeout': 2.0,
            'failure_threshold': failure_threshold, 'misses': misses,
            'last': last}


WATCHED = {
    'instance_uuid': A, 'name': 'instance-1111', 'watched': True,
    'reason': 'flavor extra spec masakari:vm_heartbeat=true',
    'state': 'healthy', 'suppressed_because': None, 'failure_class': None,
    'failed_check': None, 'escalating': False, 'app_status': 'degraded',
    'app_details': 'cache cold', 'report_only': ['app_failed'],
    'checks': {
        'heartbeat': check(5.0, 3, last={
            'outcome': 'answered', 'detail': '', 'status': None,
            'details': '', 'age': 1.3}),
        'app': check(10.0, 2, misses=1, last={
            'outcome': 'timed_out', 'detail': 'no answer',
            'status': 'degraded', 'details': 'cache cold', 'age': 0.5}),
        'exec': check(30.0, 2),
    },
}
NOT_WATCHED = {
    'instance_uuid': B, 'name': None, 'watched': False,
    'reason': 'flavor has no masakari:vm_heartbeat extra spec',
}
FAILED = {
    'instance_uuid': C, 'name': 'instance-3333', 'watched': True,
    'reason': 'opt_in = all', 'state': 'failed',
    'suppressed_because': None, 'failure_class': 'app_failed',
    'failed_check': 'app', 'escalating': True, 'app_status': 'failed',
    'app_details': '', 'report_only': [], 'checks': {},
}
SNAPSHOT = [WATCHED, NOT_WATCHED, FAILED]
#: the storm guard's view of a host in a storm
RECOVERY = {'mass_failure_suspected': True, 'since': '2026-12-03T17:00:00Z',
            'until': '2026-12-03T17:01:00Z', 'failed_within_window': 5,
            'window': 60.0, 'threshold': 3}
NOTIFIERS = [
    {'notifier': 'masakari', 'policy': 'required', 'pending': 0,
     'dropped': 0},
    {'notifier': 'rest', 'policy': 'best effort', 'pending': 1000,
     'dropped': 37},
]


class FakeSnapshot:
    """``Instances.snapshot``: fixed data, and the questions asked."""

    def __init__(self, items=SNAPSHOT):
        self.items = items
        self.asked = []

    def __call__(self, instance_uuid=None):
        self.asked.append(instance_uuid)
        if instance_uuid is None:
            return self.items
        return [i for i in self.items if i['instance_uuid'] == instance_uuid]


class OneAnswer:
    """A listener that answers one connection with ``data``, then closes."""

    def __init__(self, path, data):
        self.data = data
        self.request = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(1)
        self._thread = threading.Thread(target=self._answer, daemon=True)
        self._thread.start()

    def _answer(self):
        conn, _ = self._listener.accept()
        with conn:
            conn.settimeout(base.WAIT)
            self.request = conn.makefile('rb').readline()
            conn.sendall(self.data)
        self._listener.close()

    def join(self):
        self._thread.join(base.WAIT)


class StatusTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tempdir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.tempdir, status.SOCKET)
        self.snapshot = FakeSnapshot()

    def serve(self, path=None):
        server = status.StatusServer(path or self.path, self.snapshot)
        server.start()
        self.addCleanup(server.stop)
        return server

    def ask_raw(self, line):
        """Send one raw request line; the decoded answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(base.WAIT)
            sock.connect(self.path)
            if line:
                sock.sendall(line)
            else:
                sock.shutdown(socket.SHUT_WR)
            reader = sock.makefile('rb')
            return json.loads(reader.readline())


class StatusServerTestCase(StatusTestCase):

    def test_socket_path_is_under_state_path(self):
        self.flags(group='vmheartbeat', state_path=self.tempdir)
        self.assertEqual(self.path, status.socket_path(self.conf))

    def test_socket_is_for_root_only(self):
        self.serve()
        mode = os.stat(self.path).st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(0o600, stat.S_IMODE(mode))

    def test_umask_is_restored(self):
        old = os.umask(0o022)
        self.addCleanup(os.umask, old)
        self.serve()
        self.assertEqual(0o022, os.umask(0o022))

    def test_query_all(self):
        self.serve()
        self.assertEqual(SNAPSHOT, status.query(self.path))
        self.assertEqual([None], self.snapshot.asked)

    def test_query_host_gives_the_notifiers(self):
        server = status.StatusServer(self.path, self.snapshot,
                                     lambda: NOTIFIERS)
        server.start()
        self.addCleanup(server.stop)
        self.assertEqual((SNAPSHOT, NOTIFIERS), status.query_host(self.path))
        # one instance asked: its record only
        self.assertEqual({'instances': [FAILED]}, self.ask_raw(
            b'{"instance": "%s"}\n' % C.encode()))
        self.assertEqual(SNAPSHOT, status.query(self.path))

    def test_query_host_of_a_monitor_without_notifiers(self):
        self.serve()
        self.assertEqual((SNAPSHOT, []), status.query_host(self.path))

    def test_notifiers_that_are_not_a_list_are_refused(self):
        for notifiers in (b'5', b'{"a": 1}', b'[1]'):
            os.makedirs(self.tempdir, exist_ok=True)
            path = os.path.join(self.tempdir, 'odd.sock')
            if os.path.exists(path):
                os.unlink(path)
            peer = OneAnswer(path, b'{"instances": [], "notifiers": %s}\n'
                             % notifiers)
            error = self.assertRaises(status.StatusError, status.query_host,
                                      path, base.WAIT)
            peer.join()
            self.assertIn('a list of notifiers that is not one', str(error))

    def test_query_one(self):
        self.serve()
        self.assertEqual([FAILED], status.query(self.path, C))
        self.assertEqual([], status.query(self.path, 'no-such-instance'))
        self.assertEqual([C, 'no-such-instance'], self.snapshot.asked)

    def test_answers_many_clients(self):
        self.serve()
        for _ in range(3):
            self.assertEqual([WATCHED], status.query(self.path, A))
        self.assertEqual([A, A, A], self.snapshot.asked)

    def test_no_request_asks_for_all(self):
        self.serve()
        self.assertEqual({'instances': SNAPSHOT}, self.ask_raw(b''))
        self.assertEqual([None], self.snapshot.asked)

    def test_bad_requests_get_an_error(self):
        self.serve()
        for line in (b'not json\n', b'{"instance": 5}\n', b'[1, 2]\n',
                     b'"a string"\n', b'\xff\xfe\n'):
            answer = self.ask_raw(line)
            self.assertEqual(['error'], list(answer), line)
            self.assertTrue(answer['error'].startswith('bad request: '),
                            answer)
        self.assertEqual([], self.snapshot.asked)
        # the server still answers
        self.assertEqual(SNAPSHOT, status.query(self.path))

    def assert_refused_and_still_serving(self, line, *words):
        answer = self.ask_raw(line)
        self.assertEqual(['error'], list(answer), answer)
        for word in words:
            self.assertIn(word, answer['error'])
        self.assertEqual(SNAPSHOT, status.query(self.path,
                                                timeout=base.WAIT))
        return answer['error']

    def warnings(self):
        return [line for line in self.logger.output.splitlines()
                if 'Status request' in line]

    def test_deeply_nested_request(self):
        self.serve()
        nested = b'{"instance": ' + b'[' * 1000 + b'\n'
        self.assertLessEqual(len(nested), status._MAX_REQUEST)
        self.assert_refused_and_still_serving(nested, 'bad request: ',
                                              'too deep')
        self.assertEqual([None], self.snapshot.asked)
        self.assertEqual(1, len(self.warnings()), self.logger.output)

    def test_huge_request(self):
        self.serve()
        error = self.assert_refused_and_still_serving(
            b'{"instance": "%s"}\n' % (b'x' * 65536), 'bad request: ',
            'larger than %d bytes' % status._MAX_REQUEST)
        self.assertLess(len(error), 200)
        self.assertEqual(1, len(self.warnings()), self.logger.output)

    def test_huge_request_without_newline(self):
        self.serve()
        self.assert_refused_and_still_serving(b'[' * 65536, 'larger than')

    def test_a_trickling_request_is_cut_at_its_deadline(self):
        self.useFixture(fixtures.MockPatchObject(status, '_REQUEST_TIMEOUT',
                                                 0.3))
        self.serve()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(base.WAIT)
            sock.connect(self.path)
            started = time.monotonic()
            try:
                for _ in range(100):
                    sock.sendall(b' ')
                    time.sleep(0.02)
                answer = sock.recv(100)
            except OSError:
                answer = b''  # closed by the server: EPIPE, ECONNRESET
            self.assertEqual(b'', answer)
            self.assertLess(time.monotonic() - started, 1.5)
        self.assertEqual(SNAPSHOT, status.query(self.path,
                                                timeout=base.WAIT))
        self.assertEqual([None], self.snapshot.asked)

    def test_unexpected_error_is_answered_and_logged_escaped(self):
        def snapshot(instance_uuid=None):
            if instance_uuid == A:
                raise ValueError('\x1b[2J\nboom')
            if instance_uuid == B:
                raise RecursionError('maximum recursion depth exceeded')
            return SNAPSHOT

        self.snapshot = snapshot
        self.serve()
        for uuid in (A, B):
            error = self.assertRaises(status.StatusError, status.query,
                                      self.path, uuid, base.WAIT)
            self.assertIn('the monitor could not answer', str(error))
        self.assertEqual(SNAPSHOT, status.query(self.path,
                                                timeout=base.WAIT))
        warnings = self.warnings()
        self.assertEqual(2, len(warnings), self.logger.output)
        self.assertIn('ValueError', warnings[0])
        self.assertIn('\\x1b[2J\\nboom', warnings[0])
        self.assertNotIn('\x1b', self.logger.output)
        self.assertIn('RecursionError', warnings[1])

    def test_unserializable_answer_is_an_error(self):
        self.snapshot = FakeSnapshot([{'x': float('nan')}])
        self.serve()
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path, None, base.WAIT)
        self.assertIn('the monitor could not answer', str(error))
        self.assertEqual(1, len(self.warnings()), self.logger.output)

    def test_accept_errors_do_not_stop_the_server(self):
        server = self.serve()
        real = server._sock
        calls = []

        class Flaky:
            def accept(self):
                calls.append(1)
                if len(calls) <= 3:
                    raise OSError(24, 'Too many open files')
                return real.accept()

            def __getattr__(self, name):
                return getattr(real, name)

        self.useFixture(fixtures.MockPatchObject(status, '_ACCEPT_PAUSE',
                                                 0.01))
        # NOTE: the thread is in accept() on the real socket: answer one
        # request there first, so that the next accept is the flaky one.
        server._sock = Flaky()
        status.query(self.path, timeout=base.WAIT)
        self.assertEqual(SNAPSHOT, status.query(self.path,
                                                timeout=base.WAIT))
        # three refused, then the one that answered
        self.assertGreaterEqual(len(calls), 4)
        self.assertEqual(1, self.logger.output.count('Too many open files'))

    def test_stop_removes_the_socket(self):
        server = self.serve()
        status.query(self.path)
        server.stop()
        self.assertFalse(os.path.exists(self.path))
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        self.assertIn(self.path, str(error))

    def test_a_stale_socket_is_replaced(self):
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.path)
        stale.close()
        self.serve()
        self.assertEqual(SNAPSHOT, status.query(self.path))

    def test_cannot_listen_is_logged_not_raised(self):
        path = os.path.join(self.tempdir, 'missing', status.SOCKET)
        server = self.serve(path)
        self.assertIn('Cannot serve the status on %s' % path,
                      self.logger.output)
        server.stop()  # nothing to stop
        self.assertFalse(os.path.exists(path))

    def test_stop_before_start(self):
        status.StatusServer(self.path, self.snapshot).stop()


class QueryTestCase(StatusTestCase):

    def test_no_monitor_names_the_path(self):
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        self.assertIn('no status socket at %s' % self.path, str(error))

    def test_refused(self):
        # a socket left behind by a monitor that is gone
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.path)
        stale.close()
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        self.assertIn('cannot ask the monitor at %s' % self.path,
                      str(error))

    def test_sends_one_json_line(self):
        listener = OneAnswer(self.path, b'{"instances": []}\n')
        self.assertEqual([], status.query(self.path, A))
        listener.join()
        self.assertEqual({'instance': A}, json.loads(listener.request))
        self.assertTrue(listener.request.endswith(b'\n'))

    def test_answer_without_newline_before_close(self):
        listener = OneAnswer(self.path, b'{"instances": [{"x": 1}]}')
        self.assertEqual([{'x': 1}], status.query(self.path))
        listener.join()

    def test_garbage(self):
        listener = OneAnswer(self.path, b'HTTP/1.0 400 Bad Request\n')
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        listener.join()
        self.assertIn('unreadable answer', str(error))

    def test_nothing_answered(self):
        listener = OneAnswer(self.path, b'')
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        listener.join()
        self.assertIn('unreadable answer', str(error))

    def test_error_answer(self):
        listener = OneAnswer(self.path,
                             b'{"error": "bad request: not json"}\n')
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        listener.join()
        self.assertEqual('bad request: not json', str(error))

    def test_json_of_another_shape_is_a_status_error(self):
        # something else listens there: JSON, but no answer of the monitor
        listener = OneAnswer(self.path, b'{"status": "ok"}\n')
        self.assertRaises(status.StatusError, status.query, self.path)
        listener.join()

    def test_answer_too_large(self):
        self.useFixture(fixtures.MockPatchObject(status, '_MAX_ANSWER', 10))
        listener = OneAnswer(self.path, b'{"instances": ["%s"]}\n' % (
            b'x' * 100))
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        listener.join()
        self.assertIn('larger than 10 bytes', str(error))


class TrustTestCase(StatusTestCase):
    """The client asks only a socket of root's or its own user's."""

    OTHER = 4242

    def not_ours(self, path):
        """Make ``path`` owned by neither root nor the (pretend) euid."""
        if os.geteuid() == 0:
            os.chown(path, self.OTHER + 1, -1, follow_symlinks=False)
        self.useFixture(fixtures.MockPatch('os.geteuid',
                                           return_value=self.OTHER))

    def test_socket_of_another_user_is_refused(self):
        self.serve()
        self.not_ours(self.path)
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        self.assertIn('%s is owned by uid' % self.path, str(error))
        self.assertIn('refusing to ask it', str(error))
        self.assertEqual([], self.snapshot.asked)

    def test_socket_of_the_current_user_is_asked(self):
        if os.geteuid() != 0:
            self.skipTest('needs root to give the socket away')
        self.serve()
        os.chown(self.path, self.OTHER, -1)
        self.useFixture(fixtures.MockPatch('os.geteuid',
                                           return_value=self.OTHER))
        self.assertEqual(SNAPSHOT, status.query(self.path))

    def test_not_a_socket_is_refused(self):
        with open(self.path, 'w') as f:
            f.write('{"instances": []}\n')
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        self.assertIn('%s is not a socket' % self.path, str(error))

    def test_a_symlink_is_refused(self):
        real = os.path.join(self.tempdir, 'real.sock')
        self.serve(real)
        os.symlink(real, self.path)
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        self.assertIn('%s is not a socket' % self.path, str(error))
        self.assertEqual([], self.snapshot.asked)

    def test_peer_of_another_user_is_refused(self):
        # the socket was swapped between the check and the connect
        self.serve()
        self.useFixture(fixtures.MockPatchObject(
            status, '_peer_uid', return_value=self.OTHER))
        self.useFixture(fixtures.MockPatch('os.geteuid',
                                           return_value=self.OTHER + 1))
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        self.assertIn('runs as uid %d' % self.OTHER, str(error))

    def test_peer_uid_is_the_server_s(self):
        self.serve()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.path)
            self.assertEqual(os.geteuid(), status._peer_uid(sock))

    def test_error_of_the_monitor_is_escaped(self):
        listener = OneAnswer(self.path,
                             b'{"error": "\\u001b[2Jgone\\nroot# "}\n')
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        listener.join()
        self.assertEqual('\\x1b[2Jgone\\nroot# ', str(error))

    def test_deep_answer_is_refused(self):
        listener = OneAnswer(self.path, b'{"instances": %s}\n' % (
            b'[' * 100000 + b']' * 100000))
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        listener.join()
        self.assertIn('unreadable answer', str(error))
        self.assertIn('too deep', str(error))

    def test_instances_that_are_not_objects_are_refused(self):
        listener = OneAnswer(self.path, b'{"instances": ["x"]}\n')
        error = self.assertRaises(status.StatusError, status.query,
                                  self.path)
        listener.join()
        self.assertIn('unreadable answer', str(error))


class CommandTestCase(StatusTestCase):
    """Commands on the status socket: only for root or the monitor's user."""

    def serve_commands(self):
        self.done = []

        def reset(instance, arguments):
            self.done.append(instance)
            return {'instances_reset': 1}

        server = status.StatusServer(self.path, self.snapshot,
                                     commands={'reset-budget': reset})
        server.start()
        self.addCleanup(server.stop)

    def test_a_command_is_run_and_answered(self):
        self.serve_commands()
        self.assertEqual({'instances_reset': 1},
                         status.command(self.path, 'reset-budget', 'x'))
        self.assertEqual(['x'], self.done)
        self.assertEqual({'instances_reset': 1},
                         status.command(self.path, 'reset-budget'))
        self.assertEqual(['x', None], self.done)
        # the snapshot was not asked
        self.assertEqual([], self.snapshot.asked)

    def test_an_unknown_command_is_refused(self):
        self.serve_commands()
        error = self.assertRaises(status.StatusError, status.command,
                                  self.path, 'rm -rf /\x1b[2J')
        self.assertIn('bad request: no command rm -rf /', str(error))
        self.assertNotIn('\x1b', str(error))
        self.assertEqual([], self.done)

    def test_a_command_that_is_not_text_is_refused(self):
        self.serve_commands()
        answer = self.ask_raw(b'{"command": ["reset-budget"]}\n')
        self.assertEqual({'error': 'bad request: command is not a string'},
                         answer)

    def test_a_client_of_another_user_is_refused(self):
        self.serve_commands()
        with mock.patch.object(status, '_peer_uid', return_value=12345):
            answer = self.ask_raw(b'{"command": "reset-budget"}\n')
        self.assertIn('command reset-budget refused to uid 12345', answer[
            'error'])
        self.assertEqual([], self.done)

    def test_a_failing_command_is_an_error(self):
        def broken(instance, arguments):
            raise ValueError('not an instance UUID')

        server = status.StatusServer(self.path, self.snapshot,
                                     commands={'reset-budget': broken})
        server.start()
        self.addCleanup(server.stop)
        error = self.assertRaises(status.StatusError, status.command,
                                  self.path, 'reset-budget', 'x')
        self.assertIn('not an instance UUID', str(error))

    def test_an_answer_that_says_nothing_done_is_refused(self):
        self.serve()
        # a monitor without the command answers with the instances
        with mock.patch.object(status.StatusServer, '_command',
                               lambda self, conn, name: None):
            error = self.assertRaises(status.StatusError, status.command,
                                      self.path, 'reset-budget')
        self.assertIn('it does not say what it did', str(error))


class RecoveryViewTestCase(StatusTestCase):

    SHOWN = RECOVERY

    def test_the_whole_host_has_the_recovery_view(self):
        server = status.StatusServer(self.path, self.snapshot,
                                     host=lambda: self.SHOWN)
        server.start()
        self.addCleanup(server.stop)
        self.assertEqual((SNAPSHOT, [], self.SHOWN),
                         status.query_recovery(self.path))
        # not with one instance
        self.assertEqual(SNAPSHOT[:1], status.query(
            self.path, SNAPSHOT[0]['instance_uuid']))

    def test_a_view_that_is_not_an_object_is_refused(self):
        server = status.StatusServer(self.path, self.snapshot,
                                     host=lambda: ['x'])
        server.start()
        self.addCleanup(server.stop)
        error = self.assertRaises(status.StatusError, status.query_recovery,
                                  self.path)
        self.assertIn('a recovery view that is not an object', str(error))
