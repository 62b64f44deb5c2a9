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
from masakarimonitors_ext.vmheartbeat.common import statefile
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

    def test_the_rename_is_made_durable(self):
        synced = []
        real = statefile.fsync_directory
        self.useFixture(fixtures.MockPatchObject(
            statefile, 'fsync_directory',
            side_effect=lambda path: synced.append(path) or real(path)))
        self.file.save({'a': 1})
        self.assertEqual([self.dir], synced)


class PrepareStatePathTestCase(base.TestCase):
    """Whoever can write state_path could forge the monitor's state."""

    def setUp(self):
        super().setUp()
        self.parent = self.useFixture(fixtures.TempDir()).path

    def test_made_private_when_missing(self):
        path = os.path.join(self.parent, 'state')
        statefile.prepare_state_path(path)
        info = os.lstat(path)
        self.assertEqual((os.geteuid(), 0o700),
                         (info.st_uid, info.st_mode & 0o7777))

    def test_an_existing_private_directory(self):
        statefile.prepare_state_path(self.parent)

    def assertRefused(self, path, why):
        error = self.assertRaises(exception.ConfigurationError,
                                  statefile.prepare_state_path, path)
        self.assertEqual('vmheartbeat.state_path', error.option)
        self.assertIn(why, str(error))
        self.assertIn('mode 0700', str(error))

    def test_writable_by_others_or_its_group(self):
        for mode in (0o777, 0o770, 0o702, 0o1777):
            os.chmod(self.parent, mode)
            self.assertRefused(self.parent, 'writable by its group or '
                               'others (mode %04o)' % mode)
        os.chmod(self.parent, 0o755)
        statefile.prepare_state_path(self.parent)

    def test_a_symlink_or_a_file(self):
        target = os.path.join(self.parent, 'real')
        os.mkdir(target, 0o700)
        link = os.path.join(self.parent, 'link')
        os.symlink(target, link)
        self.assertRefused(link, 'is a symlink')
        afile = os.path.join(self.parent, 'file')
        open(afile, 'w').close()
        self.assertRefused(afile, 'is not a directory')

    def test_owned_by_another_user(self):
        if os.geteuid() != 0:
            self.skipTest('needs root to give a directory away')
        os.chown(self.parent, 65534, 65534)
        self.assertRefused(self.parent, 'belongs to uid 65534')
