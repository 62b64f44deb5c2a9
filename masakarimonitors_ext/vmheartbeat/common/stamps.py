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

"""Points in time whose durations no clock step cuts short or stretches.

A duration is measured on the monotonic clock, which the whole host
shares until it reboots, so it holds across a restart of the monitor. A
:func:`stamp` keeps the boot it was taken in: after a reboot only the wall
clock can tell how long ago it was. The wall time is also kept for what is
shown or sent.
"""

import time

BOOT_ID = '/proc/sys/kernel/random/boot_id'

_boot = None


def boot_id():
    """This boot's id ('' where the kernel does not tell)."""
    global _boot
    if _boot is None:
        try:
            with open(BOOT_ID, encoding='ascii') as f:
                _boot = f.read(64).strip()
        except (OSError, ValueError):
            _boot = ''
    return _boot


def stamp(monotonic=None, wall=None):
    """Now, as a JSON-serialisable dict.

    :param monotonic: the monotonic clock (``time.monotonic``).
    :param wall: the wall clock (``time.time``).
    """
    return {'boot': boot_id(), 'monotonic': (monotonic or time.monotonic)(),
            'wall': (wall or time.time)()}


def elapsed(since, monotonic=None, wall=None):
    """Seconds since a :func:`stamp`, never negative.

    :param since: a stamp.
    """
    monotonic = monotonic or time.monotonic
    wall = wall or time.time
    if since.get('boot') and since['boot'] == boot_id():
        return max(0.0, monotonic() - float(since['monotonic']))
    return max(0.0, wall() - float(since['wall']))
