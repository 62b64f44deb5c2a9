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

"""The test helpers that other tests lean on."""

import threading
import time

from tests.unit import base


class SharedDefaultDictTestCase(base.TestCase):

    def test_one_value_per_key_when_threads_race(self):
        made = []

        def factory():
            # a factory that lets other threads run before it returns, as
            # queue.Queue() and threading.Event() may
            value = object()
            made.append(value)
            time.sleep(0.01)
            return value

        shared = base.SharedDefaultDict(factory)
        start = threading.Barrier(8)
        got = []

        def take():
            start.wait(base.WAIT)
            got.append(shared['key'])

        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(base.WAIT)
        self.assertEqual(8, len(got))
        self.assertEqual(1, len({id(value) for value in got}))
        self.assertEqual([shared['key']], made)
