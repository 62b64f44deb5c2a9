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

import json
from unittest import mock

from masakarimonitors_ext.vmheartbeat.common import guestdata
from tests.unit import base as test_base

DEEP = '[' * 100000 + ']' * 100000


class EscapeTestCase(test_base.TestCase):

    def assert_one_safe_line(self, text):
        self.assertIsInstance(text, str)
        self.assertTrue(text.isprintable(), ascii(text))
        self.assertEqual([text], text.splitlines())
        text.encode('utf-8')

    def test_clean_text_is_returned_as_is(self):
        text = "internal error: agent said 'no' (été, 日本, \U0001f600)"
        self.assertIs(text, guestdata.escape(text))

    def test_control_characters_are_escaped(self):
        for raw, shown in (('\n', '\\n'), ('\r', '\\r'), ('\t', '\\t'),
                           ('\x1b', '\\x1b'), ('\x00', '\\x00'),
                           ('\x7f', '\\x7f'), ('\x85', '\\x85'),
                           ('\u2028', '\\u2028'), ('\u2029', '\\u2029'),
                           ('\u202e', '\\u202e'), ('\u2066', '\\u2066'),
                           ('\u200b', '\\u200b'), ('\ud800', '\\ud800'),
                           ('\U000f0000', '\\U000f0000'),
                           ('\\', '\\\\')):
            self.assertEqual('a%sb' % shown,
                             guestdata.escape('a%sb' % raw), ascii(raw))

    def test_forged_log_line(self):
        text = guestdata.escape(
            'bad\n2026-01-01 00:00:00.000 1 ERROR forged\x1b[2J\r')
        self.assertEqual(
            'bad\\n2026-01-01 00:00:00.000 1 ERROR forged\\x1b[2J\\r', text)

    def test_every_character_ends_up_safe(self):
        text = ''.join(chr(c) for c in range(0x3100))
        text += ''.join(chr(c) for c in range(0xd7f0, 0x10000))
        self.assert_one_safe_line(guestdata.escape(text, limit=10 ** 6))

    def test_long_text_is_cut(self):
        self.assertEqual('y' * 200 + '...', guestdata.escape('y' * 500))
        self.assertEqual('y' * 10 + '...',
                         guestdata.escape('y' * 11, limit=10))
        self.assertEqual('y' * 10, guestdata.escape('y' * 10, limit=10))

    def test_escapes_count_in_the_limit_and_are_never_split(self):
        text = guestdata.escape('\x1b' * 500)
        self.assertEqual('\\x1b' * 50 + '...', text)
        text = guestdata.escape('ab' + '\n' * 500, limit=7)
        self.assertEqual('ab\\n\\n...', text)

    def test_cheap_for_a_huge_text(self):
        text = guestdata.escape('\n' * 10 ** 7)
        self.assertEqual('\\n' * 100 + '...', text)

    def test_not_a_string(self):
        self.assertEqual('42', guestdata.escape(42))
        self.assertEqual('None', guestdata.escape(None))
        self.assert_one_safe_line(guestdata.escape(b'a\nb\x1b'))
        self.assert_one_safe_line(guestdata.escape(ValueError('a\nb')))

    def test_never_raises(self):
        class Unprintable:
            def __str__(self):
                raise RuntimeError('no')

        self.assertEqual('<unprintable Unprintable>',
                         guestdata.escape(Unprintable()))


class LoadsTestCase(test_base.TestCase):

    def assert_refused(self, text, reason, max_bytes=4096, **kw):
        error = self.assertRaises(guestdata.GuestDataError, guestdata.loads,
                                  text, max_bytes, **kw)
        message = str(error)
        self.assertIn(reason, message)
        self.assertTrue(message.isprintable(), ascii(message))
        self.assertLess(len(message), 200)
        return message

    def test_json(self):
        self.assertEqual({'return': 5}, guestdata.loads('{"return": 5}', 64))
        self.assertEqual([1, 'a', None, True, 1.5, {}],
                         guestdata.loads('[1, "a", null, true, 1.5, {}]',
                                         64))
        self.assertEqual('\U0001f600',
                         guestdata.loads('"\\ud83d\\ude00"', 64))

    def test_error_is_a_value_error(self):
        self.assertTrue(issubclass(guestdata.GuestDataError, ValueError))

    def test_not_text(self):
        self.assert_refused(None, 'not text')
        self.assert_refused(b'{}', 'not text')

    def test_size_is_counted_in_bytes(self):
        text = '"%s"' % ('\u00e9' * 31)
        self.assertEqual(64, len(text.encode('utf-8')))
        self.assertEqual('\u00e9' * 31, guestdata.loads(text, 64))
        self.assert_refused(text, 'too large: 64 bytes, over the 63 byte '
                                  'limit', max_bytes=63)
        text = '"%s"' % ('\u20ac' * 30)
        self.assertEqual(32, len(text))
        self.assert_refused(text, 'too large: 92 bytes, over the 64 byte '
                                  'limit', max_bytes=64)

    def test_size_bound_is_inclusive(self):
        text = '"%s"' % ('x' * 62)
        self.assertEqual('x' * 62, guestdata.loads(text, 64))
        self.assert_refused(text, 'over the 63 byte limit', max_bytes=63)

    def test_too_many_characters_are_never_encoded(self):
        self.assert_refused(DEEP, 'too large: 200000 characters, over the '
                                  '4096 byte limit')

    def test_too_deep_is_never_parsed(self):
        for text in (DEEP, '[' * 100000, '{"a":' * 100000,
                     '[{"a": ' * 50000, '[ ' * 100000):
            with mock.patch.object(guestdata.json, 'loads') as loads:
                self.assert_refused(text, 'too deep', max_bytes=10 ** 6)
            loads.assert_not_called()

    def test_depth_bound_is_inclusive(self):
        self.assertEqual(
            json.loads('[' * 32 + ']' * 32),
            guestdata.loads('[' * 32 + ']' * 32, 4096))
        self.assert_refused('[' * 33 + ']' * 33,
                            'too deep: 33 levels, over the 32 limit')
        self.assertEqual({'a': [1]},
                         guestdata.loads('{"a": [1]}', 64, max_depth=2))
        self.assert_refused('{"a": [[1]]}', 'too deep', max_depth=2)
        self.assertEqual(5, guestdata.loads('5', 64, max_depth=0))
        self.assert_refused('[]', 'too deep', max_depth=0)

    def test_wide_is_not_deep(self):
        text = '[%s]' % ', '.join(['[{"a": []}]'] * 300)
        self.assertEqual(300, len(guestdata.loads(text, 4096, max_depth=4)))

    def test_brackets_inside_strings_do_not_count(self):
        for inside in ('[' * 100, '{' * 100, '\\"' + '[' * 100,
                       '\\\\' * 3 + '\\"' + '[' * 100 + '\\\\'):
            text = '["%s", {"%s": 1}]' % (inside, inside)
            self.assertEqual(json.loads(text), guestdata.loads(text, 4096))

    def test_brackets_after_an_escaped_backslash_count(self):
        text = '["\\\\", %s]' % ('[' * 40 + ']' * 40)
        self.assert_refused(text, 'too deep: 41 levels')
        text = '["\u00e9\\\\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", %s]' % (
            '[' * 32 + ']' * 32)
        self.assert_refused(text, 'too deep: 33 levels')

    def test_recursion_error_is_refused(self):
        self.assert_refused(DEEP, 'too deep to parse', max_bytes=10 ** 6,
                            max_depth=10 ** 6)
        with mock.patch.object(guestdata.json, 'loads',
                               side_effect=RecursionError):
            self.assert_refused('[]', 'too deep to parse')

    def test_not_json(self):
        for text in ('', '{', 'abc', "{'a': 1}", '[1,]', '\x00', '"a\nb"',
                     '{"a": 1}\n\x1b[2Jforged', '[1] [2]', '"[1,', '01',
                     '"\\x41"', '[1]]]]]', ']' * 40 + '[' * 40):
            self.assert_refused(text, 'not JSON')

    def test_not_a_number_is_refused(self):
        for text in ('NaN', 'Infinity', '-Infinity', '[1, NaN]',
                     '{"return": Infinity}'):
            self.assert_refused(text, 'is not JSON')
        for text in ('1e999', '[-1e400]'):
            self.assert_refused(text, 'number out of range')

    def test_lone_surrogates_are_refused(self):
        for text in ('"\\ud800"', '"\\uDC00x"', '{"\\udfff": 1}',
                     '[["a", {"b": "\\ud83d"}]]'):
            self.assert_refused(text, 'invalid surrogates in a string')
        self.assert_refused('"\ud800"', 'invalid surrogates in the text')

    def test_a_key_twice_is_refused(self):
        self.assert_refused('{"return": 1, "return": 2}', 'a key twice')
        self.assert_refused('[{"a": {"b": 1, "b": 1}}]', 'a key twice')
