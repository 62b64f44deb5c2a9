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

"""Local flake8 checks for masakari-monitors-ext.

They are registered in the ``[flake8:local-plugins]`` section of tox.ini,
with ``paths = ./tools/hacking``, so flake8 imports this module as
``checks``.

Guidelines for writing new checks:

- Use only for masakari-monitors-ext specific tests; OpenStack general
  tests belong in hacking.
- Pick numbers in the range M3xx; look at the existing checks and HACKING.rst
  for the next free number.
- Keep the test method code in the source file ordered based on the M3xx
  value.
- Document each check in HACKING.rst.
"""

import re

# "import eventlet", "import eventlet.green", "import eventlet as ev",
# "from eventlet import greenthread", "from eventlet.green import os", and
# a multi-module "import os, eventlet" (which H301 forbids anyway).
_EVENTLET_IMPORT_RE = re.compile(
    r'^\s*(?:'
    r'from\s+eventlet(?:\.\w+)*\s+import\b'
    r'|import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*eventlet(?:\.\w+)*'
    r'(?:\s+as\s+\w+)?\s*(?:,|$)'
    r')')


def no_eventlet(logical_line, filename):
    """M301 - eventlet must not be used.

    The monitor runs on native threads (concurrent.futures / futurist pools
    and the libvirt event loop in a thread); eventlet's monkey patching
    would break libvirt's event loop and the guest agent calls, and
    OpenStack is removing eventlet altogether.

    Okay: import threading
    Okay: import eventletfoo
    Okay: from futurist import ThreadPoolExecutor
    M301: import eventlet
    M301: import eventlet.green
    M301: import eventlet as ev
    M301: import os, eventlet
    M301: from eventlet import greenthread
    M301: from eventlet.green import subprocess
    """
    # filename is part of the flake8 plugin signature; the rule applies to
    # every file, tests and tools included.
    if _EVENTLET_IMPORT_RE.match(logical_line):
        yield (0, "M301: eventlet must not be used; use native threads "
                  "(concurrent.futures, futurist) instead")
