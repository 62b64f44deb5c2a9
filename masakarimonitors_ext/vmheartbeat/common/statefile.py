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

"""Small versioned JSON documents under ``[vmheartbeat] state_path``.

Each document is replaced atomically (a temporary file, fsync, rename,
fsync of the directory), so a crash leaves either the old or the new
document, never a torn one. A document is never read through a symlink,
nor past :data:`MAX_BYTES`.
"""

import contextlib
import json
import os
import stat
import tempfile
import threading
import time

from oslo_log import log as logging

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import guestdata

LOG = logging.getLogger(__name__)

#: the largest document read
MAX_BYTES = 64 * 1024 * 1024


class StateFile:
    """One JSON document: a version and a body.

    :param path: the file.
    :param version: the version written, and the only one read.
    :param what: what the document holds, for error messages.
    :param advisory: the document is a cache that can be done without:
        one that cannot be read or parsed is moved aside (to
        ``<path>.corrupt-<time>``) with one WARNING and taken as none,
        instead of stopping the monitor.
    """

    def __init__(self, path, version, what, advisory=False):
        self.path = path
        self.version = version
        self.what = what
        self.advisory = advisory
        self._lock = threading.Lock()

    def load(self, parse):
        """``parse(body)`` of the document; None when there is none.

        :param parse: turns the body into what the caller keeps; raises
            KeyError, TypeError or ValueError for a body it cannot read.
        :raises: ConfigurationError naming ``state_path`` and the file
            when it cannot be read or parsed (unless ``advisory``).
        """
        try:
            document = self._read()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            return self._refuse('cannot read %s: %s' % (
                self.path, guestdata.escape(e, 200)))
        try:
            if document.get('version') != self.version:
                raise ValueError('unknown version %r' % document.get(
                    'version'))
            return parse(document['body'])
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            return self._refuse('%s is not a valid %s file (%s)' % (
                self.path, self.what, guestdata.escape(e, 200)))

    def _read(self):
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC |
                     os.O_NONBLOCK)
        with os.fdopen(fd, 'rb') as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError('not a regular file')
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError('larger than %d bytes' % MAX_BYTES)
        return guestdata.loads(data.decode('utf-8'), MAX_BYTES)

    def _refuse(self, problem):
        if not self.advisory:
            raise exception.ConfigurationError(
                'vmheartbeat.state_path', problem + '; remove it to start '
                'afresh')
        aside = '%s.corrupt-%d' % (self.path, time.time())
        try:
            os.replace(self.path, aside)
        except OSError as e:
            aside = 'nowhere (%s)' % e.strerror
        LOG.warning('%s; moved aside to %s, starting without the %s',
                    problem, aside, self.what)
        return None

    def keep(self, body):
        """:meth:`save`, or one ERROR line saying what is kept in memory.

        For a document the monitor keeps in memory too: one that cannot be
        written is lost only if the monitor restarts.

        :returns: False when it could not be written.
        """
        try:
            self.save(body)
        except OSError as e:
            LOG.error('Cannot keep the %s in %s (%s): they are kept in '
                      'memory, and lost if the monitor restarts', self.what,
                      self.path, e)
            return False
        return True

    def save(self, body):
        """Replace the document with this body (JSON-serializable).

        :raises: OSError when the file cannot be written.
        """
        document = {'version': self.version, 'body': body}
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path),
                                       prefix='.%s-' % os.path.basename(
                                           self.path))
            try:
                with os.fdopen(fd, 'w', encoding='utf-8') as f:
                    json.dump(document, f, sort_keys=True)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
                fsync_directory(os.path.dirname(self.path))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise


def fsync_directory(path):
    """Make a rename in ``path`` durable."""
    fd = os.open(path or '.', os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare_state_path(path):
    """Make ``path`` the monitor's private state directory, or refuse it.

    Whoever can write it could forge the monitor's state (the opt-in
    answers, the escalation logbook, the outbox, SQLite's ``-wal`` files),
    so it must be a real directory (no symlink) owned by the monitor's
    user, with no write bit for group or others. It is made with mode
    0700 when missing.

    :raises: ConfigurationError naming ``state_path``, saying what to fix.
    """
    try:
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except FileExistsError:
            pass
        info = os.lstat(path)
    except OSError as e:
        raise exception.ConfigurationError(
            'vmheartbeat.state_path', 'cannot make %s: %s' % (
                path, e.strerror))
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = 'is a symlink'
    elif not stat.S_ISDIR(info.st_mode):
        problem = 'is not a directory'
    elif info.st_uid != os.geteuid():
        problem = 'belongs to uid %d, not to the monitor\'s user (uid %d)' % (
            info.st_uid, os.geteuid())
    elif info.st_mode & 0o022:
        problem = 'is writable by its group or others (mode %04o)' % (
            info.st_mode & 0o7777)
    if problem:
        raise exception.ConfigurationError(
            'vmheartbeat.state_path', '%s %s: whoever can write it can '
            'forge the monitor\'s state; give it to the monitor\'s user '
            'with mode 0700' % (path, problem))
