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

import configparser
import os
import re

from masakarimonitors_ext.conf import opts
from tests.unit import base

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                      'masakarimonitors_ext',
                      'vmheartbeatmonitor.conf.sample')
# "#name = default", or "#name =" for an empty default
_OPTION = re.compile(r'#(\w+) =( |$)')


class SampleConfigTestCase(base.TestCase):
    """The committed sample lists every option (tox -e genconfig)."""

    def test_every_option_is_in_the_sample(self):
        with open(SAMPLE) as f:
            text = f.read()
        sections = {}
        current = None
        for line in text.splitlines():
            if line.startswith('[') and line.endswith(']'):
                current = sections.setdefault(line[1:-1], set())
            elif current is not None and _OPTION.match(line):
                current.add(_OPTION.match(line).group(1))
        for group, options in opts.list_opts():
            name = group if isinstance(group, str) else group.name
            missing = {o.dest for o in options} - sections.get(name, set())
            self.assertEqual(set(), missing,
                             'run "tox -e genconfig": [%s] lacks %s' % (
                                 name, sorted(missing)))
        # and the sample is a valid configuration file
        configparser.ConfigParser(interpolation=None).read_string(text)
