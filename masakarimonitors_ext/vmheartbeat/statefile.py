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

Each document is replaced atomically (a temporary file, fsync, rename), so
a crash leaves either the old or the new document, never a torn one.
"""

import contextlib
import json
import os
import tempfile
import threading

from masakarimonitors_ext import exception


class StateFile:
    """One JSON document: a version and a body.

    :param path: the file.
    :param version: the version written, and the only one read.
    :param what: what the document holds, for error messages.
    """

    def __init__(self, path, version, what):
        self.path = path
        self.version = version
        self.what = what
        self._lock = threading.Lock()

    def load(self, parse):
        """``parse(body)`` of the document; None when there is none.

        :param parse: turns the body into what the caller keeps; raises
            KeyError, TypeError or ValueError for a body it cannot read.
        :raises: ConfigurationError naming ``state_path`` and the file
            when it cannot be read or parsed.
        """
        try:
            with open(self.path, encoding='utf-8') as f:
                document = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise exception.ConfigurationError(
                'vmheartbeat.state_path', 'cannot read %s: %s' % (
                    self.path, e))
        try:
            if document.get('version') != self.version:
                raise ValueError('unknown version %r' % document.get(
                    'version'))
            return parse(document['body'])
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise exception.ConfigurationError(
                'vmheartbeat.state_path', '%s is not a valid %s file (%s); '
                'remove it to start afresh' % (self.path, self.what, e))

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
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
