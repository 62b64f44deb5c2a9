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

"""Base class and helpers of the unit tests."""

import os
import threading

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from masakarimonitors_ext import conf

#: seconds a test waits for something another thread does; reaching it
#: means the test failed, it is never part of a passing run.
WAIT = 10.0


class FakeClock:
    """A ``time.monotonic`` stand-in that moves only when told."""

    def __init__(self, now=1000.0):
        self._now = now
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            return self._now

    def advance(self, seconds):
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now):
        with self._lock:
            self._now = now


class TestCase(testtools.TestCase):
    """Base of every unit test: isolated configuration and captured logs."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.conf_fixture = self.useFixture(config_fixture.Config(conf.CONF))
        self.conf = self.conf_fixture.conf
        self.logger = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        # the monitor's main sets a private umask: no test keeps it
        umask = os.umask(0o022)
        os.umask(umask)
        self.addCleanup(os.umask, umask)

    def flags(self, group=None, **kw):
        """Override options for this test only."""
        self.conf_fixture.config(group=group, **kw)

    def assert_safe(self, text, limit):
        """Text from a guest, as logged: printable, bounded, one line."""
        self.assertTrue(text.isprintable(), ascii(text[:200]))
        self.assertLessEqual(len(text), limit)
        for raw in ('\n', '\r', '\x1b', '\x00', '\u2028'):
            self.assertNotIn(raw, text)

    def wait_for(self, event, what):
        """Wait for a ``threading.Event`` another thread sets."""
        if not event.wait(WAIT):
            self.fail('timed out waiting for %s' % what)


def held_by_another(lock):
    """True when another thread than this one cannot take ``lock`` now.

    For a check that a callback runs without its caller's lock: a
    reentrant lock held by this very thread would let it take it again.
    """
    taken = []

    def take():
        got = lock.acquire(timeout=0.2)
        taken.append(got)
        if got:
            lock.release()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(WAIT)
    return not taken[0]


class SharedDefaultDict(dict):
    """A ``defaultdict`` that several threads may fill at once.

    ``collections.defaultdict`` builds a missing value in Python code
    (a ``queue.Queue``, a ``threading.Event``) and may switch threads
    before it stores it: a probe thread and the test could then each get
    a value of their own for one key, and the test wait on the one nobody
    sets. Here one value is made per key.
    """

    def __init__(self, factory):
        super().__init__()
        self._factory = factory
        self._lock = threading.Lock()

    def __missing__(self, key):
        with self._lock:
            if key not in self:
                self[key] = self._factory()
            return dict.__getitem__(self, key)
