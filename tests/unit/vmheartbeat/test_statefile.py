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

"""Versioned JSON documents under state_path, replaced atomically."""

import os

import fixtures

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import statefile
from tests.unit import base


class StateFileTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'thing.json')
        self.file = statefile.StateFile(self.path, 1, 'thing')

    def test_missing_is_none(self):
        self.assertIsNone(self.file.load(dict))

    def test_round_trip_leaves_no_temporary_file(self):
        self.file.save({'a': [1, 2]})
        self.file.save({'b': 3})
        self.assertEqual({'b': 3}, self.file.load(dict))
        self.assertEqual(['thing.json'], os.listdir(self.dir))

    def test_unreadable_or_unparsable_names_the_file(self):
        for content, parse in (('{"version": 1, "body"', dict),
                               ('{"version": 2, "body": {}}', dict),
                               ('{"body": {}}', dict),
                               ('{"version": 1, "body": {}}',
                                lambda body: body['missing'])):
            with open(self.path, 'w') as f:
                f.write(content)
            error = self.assertRaises(exception.ConfigurationError,
                                      self.file.load, parse)
            self.assertEqual('vmheartbeat.state_path', error.option)
            self.assertIn(self.path, str(error))

    def test_unwritable_raises_and_leaves_the_old_document(self):
        self.file.save({'kept': True})
        broken = statefile.StateFile(os.path.join(self.dir, 'no', 'x.json'),
                                     1, 'thing')
        self.assertRaises(OSError, broken.save, {})
        self.assertEqual({'kept': True}, self.file.load(dict))
