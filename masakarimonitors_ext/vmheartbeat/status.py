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

"""The monitor's status, served on a local socket, and its reader.

The running monitor answers on a Unix socket under ``[vmheartbeat]
state_path`` (mode 0600: root only; no network port). A client sends one
line of JSON, ``{"instance": UUID or null}``, and reads one JSON answer:
``{"instances": [...]}``, each instance as :func:`describe` gives it (the
instances table takes the snapshot), with ``"notifiers": [...]`` (what the
outbox keeps and dropped for each, ``outbox.Outbox.counts``) when the whole
host is asked, with ``"recovery": {...}`` (the storm guard's view), or
``{"error": "..."}``. ``masakari-vmheartbeatmonitor status`` is that
client: it asks only a socket of root or of its own user, and prints the
answer escaped (``status_text``), since it carries what guests said.

A request may name a command instead (``{"command": "reset-budget",
"instance": UUID or null, "arguments": {...}}``): the monitor runs it,
only for a client of root or of its own user, and answers ``{"done":
{...}}``.
"""

import json
import os
import socket
import stat
import struct
import threading
import time
import traceback

from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.common import guestdata

LOG = logging.getLogger(__name__)

SOCKET = 'status.sock'
_MAX_REQUEST = 1024
#: ``{"instance": ...}`` is one level deep
_MAX_REQUEST_DEPTH = 2
_REQUEST_TIMEOUT = 5.0
_MAX_ANSWER = 16 * 1024 * 1024
#: seconds the server waits after accept() failed (out of descriptors)
_ACCEPT_PAUSE = 1.0


class StatusError(Exception):
    """The monitor's status could not be read; the message says why."""


class _BadRequest(Exception):
    """A request refused; ``str()`` of it is escaped, safe to log."""


def socket_path(conf):
    return os.path.join(conf.vmheartbeat.state_path, SOCKET)


def _error_text(error):
    """An unexpected error in one escaped line: its type, where, what."""
    where = traceback.extract_tb(error.__traceback__)[-1:]
    place = ''.join(' at %s:%s in %s' % (
        os.path.basename(frame.filename), frame.lineno,
        guestdata.escape(frame.name, 60)) for frame in where)
    return '%s%s: %s' % (guestdata.escape(type(error).__name__, 60), place,
                         guestdata.escape(error, 300))


class StatusServer:
    """Serves ``snapshot(instance_uuid_or_None)`` on the status socket.

    One thread accepts and answers one request at a time, each bounded in
    size (:data:`_MAX_REQUEST` bytes, :data:`_MAX_REQUEST_DEPTH` levels of
    JSON) and in time (:data:`_REQUEST_TIMEOUT` seconds in all); it blocks
    in ``accept()`` and never wakes otherwise. Whatever one request does,
    or makes the snapshot raise, is answered as an error to that client
    and logged in one escaped WARNING line; the thread goes on serving
    until :meth:`stop`.

    :param path: the socket's path.
    :param snapshot: returns a list of JSON-serializable dicts.
    :param notifiers: returns a list of JSON-serializable dicts, one per
        notifier, for an answer about the whole host; None for none.
    :param commands: {name: callable(instance, arguments) returning a
        JSON-serializable dict}, the commands a client may ask for;
        arguments is the request's ``arguments`` object ({} when none).
    :param host: returns a JSON-serializable dict of the recovery guards'
        view of the host (``Instances.host_view``), for an answer about
        the whole host; None for none.
    """

    def __init__(self, path, snapshot, notifiers=None, commands=None,
                 host=None):
        self.path = path
        self._snapshot = snapshot
        self._notifiers = notifiers
        self._host = host
        self._commands = commands or {}
        self._sock = None
        self._thread = None
        self._stopping = threading.Event()

    def start(self):
        """Listen; a failure is logged, never fatal to the monitor."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if os.path.exists(self.path):
                os.unlink(self.path)
            old = os.umask(0o177)
            try:
                sock.bind(self.path)
            finally:
                os.umask(old)
            sock.listen(8)
        except OSError as e:
            sock.close()
            LOG.warning('Cannot serve the status on %s (%s); "status" will '
                        'not answer', self.path, e)
            return
        self._sock = sock
        self._thread = threading.Thread(target=self._serve,
                                        name='vmhb-status', daemon=True)
        self._thread.start()

    def _serve(self):
        failing = False
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError as e:
                if self._stopping.is_set() or self._sock.fileno() < 0:
                    return
                # NOTE: out of descriptors, say: said once, until an
                # accept() works again.
                if not failing:
                    LOG.warning('Status socket %s: cannot accept a '
                                'request (%s); trying again', self.path,
                                guestdata.escape(e))
                failing = True
                self._stopping.wait(_ACCEPT_PAUSE)
                continue
            failing = False
            with conn:
                try:
                    self._answer(conn)
                except OSError as e:
                    LOG.debug('Status request dropped: %s',
                              guestdata.escape(e))
                except Exception as e:
                    LOG.warning('Status request not answered: %s',
                                _error_text(e))

    def _answer(self, conn):
        try:
            instance, command, arguments = self._parse(self._read(conn))
            if command is not None:
                command = self._command(conn, command)
        except _BadRequest as e:
            LOG.warning('Status request refused: %s', e)
            data = json.dumps({'error': 'bad request: %s' % e})
        else:
            try:
                if command is not None:
                    answer = {'done': command(instance, arguments)}
                else:
                    answer = {'instances': self._snapshot(instance)}
                if command is None and instance is None:
                    if self._notifiers is not None:
                        answer['notifiers'] = self._notifiers()
                    if self._host is not None:
                        answer['recovery'] = self._host()
                data = json.dumps(answer, allow_nan=False)
            except Exception as e:
                text = _error_text(e)
                LOG.warning('Status request failed, answered as an error: '
                            '%s', text)
                data = json.dumps({'error': 'the monitor could not answer: '
                                   '%s' % text})
        # NOTE: sending has a time of its own, whatever reading took
        conn.settimeout(_REQUEST_TIMEOUT)
        conn.sendall(data.encode() + b'\n')

    @staticmethod
    def _read(conn):
        """The request line, read within its deadline and its size."""
        deadline = time.monotonic() + _REQUEST_TIMEOUT
        data = b''
        while b'\n' not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout('no request within %ss' %
                                     _REQUEST_TIMEOUT)
            conn.settimeout(remaining)
            chunk = conn.recv(_MAX_REQUEST + 1 - len(data))
            if not chunk:
                break
            data += chunk
            if len(data) > _MAX_REQUEST and b'\n' not in data[:_MAX_REQUEST]:
                raise _BadRequest('larger than %d bytes' % _MAX_REQUEST)
        return data.partition(b'\n')[0]

    def _command(self, conn, name):
        """The command asked for, for a client of root or of this user."""
        func = self._commands.get(name)
        if func is None:
            raise _BadRequest('no command %s' % guestdata.escape(name, 40))
        peer, trusted = _peer_uid(conn), _trusted_uids()
        if peer is None or peer not in trusted:
            raise _BadRequest('command %s refused to uid %s: only %s may '
                              'ask it' % (name, peer, _who(trusted)))
        return func

    @staticmethod
    def _parse(line):
        """What a request asks.

        :returns: (the instance or None for all, the command or None, the
            command's arguments).
        """
        try:
            request = guestdata.loads(line.decode('utf-8') or '{}',
                                      _MAX_REQUEST, _MAX_REQUEST_DEPTH)
        except UnicodeDecodeError:
            raise _BadRequest('not UTF-8') from None
        except guestdata.GuestDataError as e:
            raise _BadRequest(str(e)) from None
        if not isinstance(request, dict):
            raise _BadRequest('not a JSON object')
        instance = request.get('instance')
        if instance is not None and not isinstance(instance, str):
            raise _BadRequest('instance is not a string')
        command = request.get('command')
        if command is not None and not isinstance(command, str):
            raise _BadRequest('command is not a string')
        arguments = request.get('arguments', {})
        if not isinstance(arguments, dict):
            raise _BadRequest('arguments are not an object')
        return instance, command, arguments

    def stop(self):
        if self._sock is None:
            return
        self._stopping.set()
        try:
            # NOTE: wakes the accept() of the serving thread
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(2.0)
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _trusted_uids():
    """Who may serve the status: root, or the user asking."""
    return {0, os.geteuid()}


def _who(uids):
    return ' or '.join('root' if uid == 0 else 'uid %d' % uid
                       for uid in sorted(uids))


_KINDS = ((stat.S_ISLNK, 'a symbolic link'), (stat.S_ISREG, 'a file'),
          (stat.S_ISDIR, 'a directory'))


def _check_socket(path, shown):
    """Refuse a path that is not a socket of a trusted user."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise StatusError('no status socket at %s: is the monitor running '
                          'with this configuration?' % shown) from None
    except OSError as e:
        raise StatusError('cannot ask the monitor at %s: %s' % (
            shown, guestdata.escape(e))) from None
    if not stat.S_ISSOCK(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)),
                    'another kind of file')
        raise StatusError('%s is not a socket but %s: refusing to ask it' %
                          (shown, kind))
    trusted = _trusted_uids()
    if st.st_uid not in trusted:
        raise StatusError('%s is owned by uid %d, not by %s: refusing to '
                          'ask it' % (shown, st.st_uid, _who(trusted)))


def _peer_uid(sock):
    """The user the process at the other end of ``sock`` runs as.

    None where the system does not tell (no ``SO_PEERCRED``).
    """
    option = getattr(socket, 'SO_PEERCRED', None)
    if option is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, option,
                            struct.calcsize('3i'))
    return struct.unpack('3i', creds)[1]


def query(path, instance=None, timeout=10.0):
    """Ask the running monitor; returns its list of instances.

    Only a socket (not a link to one) owned by root or by the user asking
    is asked, and only when the process serving it runs as one of them:
    anyone else could have put it there and would be believed.

    :raises: StatusError when it cannot be asked, or its answer is not
        one; its message is one escaped line.
    """
    return _ask(path, instance, timeout)[0]


def query_host(path, timeout=10.0):
    """Ask the running monitor about the whole host, as :func:`query`.

    :returns: (instances, notifiers): two lists of dicts, notifiers empty
        when the monitor gave none.
    """
    return _ask(path, None, timeout)[:2]


def query_recovery(path, timeout=10.0):
    """The recovery guards' view of the whole host, as :func:`query`.

    :returns: (instances, notifiers, recovery): recovery a dict, empty
        when the monitor gave none.
    """
    return _ask(path, None, timeout)


def _ask(path, instance, timeout):
    """The answer's instances, notifiers and recovery, as :func:`query`."""
    answer = _exchange(path, {'instance': instance}, timeout)
    instances = answer.get('instances')
    if not isinstance(instances, list) or not all(
            isinstance(item, dict) for item in instances):
        raise StatusError('unreadable answer from the monitor: no list of '
                          'instances')
    notifiers = answer.get('notifiers', [])
    if not isinstance(notifiers, list) or not all(
            isinstance(item, dict) for item in notifiers):
        raise StatusError('unreadable answer from the monitor: a list of '
                          'notifiers that is not one')
    recovery = answer.get('recovery') or {}
    if not isinstance(recovery, dict):
        raise StatusError('unreadable answer from the monitor: a recovery '
                          'view that is not an object')
    return instances, notifiers, recovery


def command(path, name, instance=None, arguments=None, timeout=10.0):
    """Have the running monitor run a command, checked as :func:`query`.

    :param arguments: the command's arguments, a dict, or None.
    :returns: what it answered it did, a dict.
    :raises: StatusError as :func:`query`; also when the monitor refused.
    """
    done = _exchange(path, {'command': name, 'instance': instance,
                            'arguments': arguments or {}},
                     timeout).get('done')
    if not isinstance(done, dict):
        raise StatusError('unreadable answer from the monitor: it does not '
                          'say what it did')
    return done


def _exchange(path, request, timeout):
    """One request to the monitor and its answer, an object."""
    shown = guestdata.escape(path, 500)
    _check_socket(path, shown)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            # NOTE: the path may have been swapped since it was checked
            peer, trusted = _peer_uid(sock), _trusted_uids()
            if peer is not None and peer not in trusted:
                raise StatusError('the process serving %s runs as uid %d, '
                                  'not as %s: refusing to ask it' % (
                                      shown, peer, _who(trusted)))
            sock.sendall(json.dumps(request).encode() + b'\n')
            data = b''
            while not data.endswith(b'\n'):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > _MAX_ANSWER:
                    raise StatusError('answer larger than %d bytes' %
                                      _MAX_ANSWER)
    except FileNotFoundError:
        raise StatusError('no status socket at %s: is the monitor running '
                          'with this configuration?' % shown)
    except OSError as e:
        raise StatusError('cannot ask the monitor at %s: %s' % (
            shown, guestdata.escape(e)))
    try:
        answer = guestdata.loads(data.decode('utf-8'), _MAX_ANSWER)
    except UnicodeDecodeError:
        raise StatusError('unreadable answer from the monitor: not UTF-8')
    except guestdata.GuestDataError as e:
        raise StatusError('unreadable answer from the monitor: %s' % e)
    if not isinstance(answer, dict):
        raise StatusError('unreadable answer from the monitor: not an '
                          'object')
    if 'error' in answer:
        raise StatusError(guestdata.escape(answer['error'], 500))
    return answer
