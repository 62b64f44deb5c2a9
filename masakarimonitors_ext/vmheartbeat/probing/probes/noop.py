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

"""A probe that always answers, for tests and dry runs."""

import time

from masakarimonitors_ext.vmheartbeat.probing.probes import base


class NoopProbe(base.ProbeDriver):
    """Reports every guest as answering without calling it."""

    def __init__(self, max_answer_bytes=None):
        pass

    def probe(self, domain, timeout, check=None, memo=None, idle=None):
        return base.ProbeResult(base.Outcome.ANSWERED, 'noop probe',
                                time.monotonic(), 0.0)
