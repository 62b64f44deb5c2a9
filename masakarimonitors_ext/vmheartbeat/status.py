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
instances table takes the snapshot). ``masakari-vmheartbeatmonitor
status`` is that client.
"""

import json
import os
import socket
import threading

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

SOCKET = 'status.sock'
_MAX_REQUEST = 1024
_REQUEST_TIMEOUT = 5.0
_MAX_ANSWER = 16 * 1024 * 1024


class StatusError(Exception):
    """The monitor's status could not be read; the message says why."""


def socket_path(conf):
    return os.path.join(conf.vmheartbeat.state_path, SOCKET)


class StatusServer:
    """Serves ``snapshot(instance_uuid_or_None)`` on the status socket.

    One thread accepts and answers one request at a time, each bounded in
    size and time; it blocks in ``accept()`` and never wakes otherwise.

    :param path: the socket's path.
    :param snapshot: returns a list of JSON-serializable dicts.
    """

    def __init__(self, path, snapshot):
        self.path = path
        self._snapshot = snapshot
        self._sock = None
        self._thread = None

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
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # stopped
            with conn:
                try:
                    self._answer(conn)
                except OSError as e:
                    LOG.debug('Status request dropped: %s', e)

    def _answer(self, conn):
        conn.settimeout(_REQUEST_TIMEOUT)
        with conn.makefile('rb') as reader:
            line = reader.readline(_MAX_REQUEST)
        try:
            request = json.loads(line or b'{}')
            instance = request.get('instance')
            if instance is not None and not isinstance(instance, str):
                raise ValueError('instance is not a string')
            answer = {'instances': self._snapshot(instance)}
        except (ValueError, AttributeError) as e:
            answer = {'error': 'bad request: %s' % e}
        conn.sendall(json.dumps(answer).encode() + b'\n')

    def stop(self):
        if self._sock is None:
            return
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


def query(path, instance=None, timeout=10.0):
    """Ask the running monitor; returns its list of instances.

    :raises: StatusError when it cannot be asked.
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps({'instance': instance}).encode() + b'\n')
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
                          'with this configuration?' % path)
    except OSError as e:
        raise StatusError('cannot ask the monitor at %s: %s' % (path, e))
    try:
        answer = json.loads(data)
    except ValueError as e:
        raise StatusError('unreadable answer from the monitor: %s' % e)
    if not isinstance(answer, dict):
        raise StatusError('unreadable answer from the monitor: not an '
                          'object')
    if 'error' in answer:
        raise StatusError(str(answer['error']))
    instances = answer.get('instances')
    if not isinstance(instances, list):
        raise StatusError('unreadable answer from the monitor: no list of '
                          'instances')
    return instances


def describe(record, now, escalating):
    """One ``instances.Instance`` record as the status shows it.

    :param now: ``time.monotonic()`` the ages are counted from.
    :param escalating: an escalation of the instance runs.
    """
    entry, decision = record.health, record.decision
    if decision is not None:
        reason = decision.reason
    else:
        reason = 'being adopted' if record.adopting else 'not decided'
    item = {'instance_uuid': record.uuid,
            'name': getattr(record.domain, 'name', None),
            'watched': entry is not None, 'reason': reason}
    if entry is None:
        return item
    item.update(
        state=entry.state, suppressed_because=entry.suppress_reason,
        failure_class=entry.failure_class, failed_check=entry.failed_check,
        escalating=escalating, app_status=entry.app_status,
        app_details=entry.app_details,
        report_only=sorted(getattr(decision, 'report_only', ())),
        checks={})
    for kind, state in entry.checks.items():
        last = state.last
        item['checks'][kind] = {
            'interval': state.settings.interval,
            'timeout': state.settings.timeout,
            'failure_threshold': state.settings.failure_threshold,
            'misses': state.misses,
            'last': None if last is None else {
                'outcome': last.outcome.value, 'detail': last.detail,
                'status': last.status, 'details': last.details,
                'age': round(now - state.last_at, 3)}}
    return item


def _age(seconds):
    return '-' if seconds is None else '%.1fs ago' % seconds


def format_text(instances):
    """The instances as lines of text, one block each."""
    lines = []
    for item in instances:
        head = '%s %s: %s' % (
            item['instance_uuid'], item.get('name') or '-',
            'watched' if item['watched'] else 'not watched')
        lines.append('%s (%s)' % (head, item['reason']))
        if not item['watched']:
            continue
        state = 'state %s' % item['state']
        if item.get('suppressed_because'):
            state += ' (%s)' % item['suppressed_because']
        if item.get('failure_class'):
            state += ', failure %s of the %s check%s' % (
                item['failure_class'], item['failed_check'],
                ', escalating' if item.get('escalating') else '')
        lines.append('  ' + state)
        if item.get('app_status'):
            lines.append('  application: %s%s' % (
                item['app_status'], ': %s' % item['app_details']
                if item.get('app_details') else ''))
        if item.get('report_only'):
            lines.append('  report only: %s' % ', '.join(item['report_only']))
        for kind, check in sorted(item['checks'].items()):
            last = check.get('last')
            if last is None:
                result = 'not run yet'
            else:
                result = '%s %s' % (last['outcome'], _age(last['age']))
                if last.get('status'):
                    result += ', status %s' % last['status']
                if last.get('detail'):
                    result += ': %s' % last['detail']
            lines.append('  %s: %s (misses %d/%d, every %ss)' % (
                kind, result, check['misses'], check['failure_threshold'],
                check['interval']))
    return '\n'.join(lines)
