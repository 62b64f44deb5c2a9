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

"""Everything read from a guest, made safe to parse and to log.

The guest is untrusted: whatever its agent answers, and whatever libvirt
relays from it (the agent's error description ends up in libvirt's error
message), may be crafted to hurt the monitor.

:func:`escape` turns such a text into one bounded, printable log line.

:func:`loads` parses a guest's JSON answer within these bounds, checked
before the parser runs:

* size: at most ``max_bytes`` bytes of UTF-8;
* nesting: at most ``max_depth`` arrays and objects inside one another
  (:data:`MAX_DEPTH` by default);

and accepts strict JSON only: no ``NaN`` or ``Infinity`` (nor a number too
large for a float), no control characters inside strings, no lone
surrogates, no key twice in one object. Every refusal is a
:class:`GuestDataError`.
"""

import itertools
import json
import math
import operator
import re

#: default for the nesting depth :func:`loads` accepts
MAX_DEPTH = 32

_ESCAPES = {'\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\'}

_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_STEPS = bytes.maketrans(b'[{]}', b'\x02\x02\x00\x00')
_SURROGATE = re.compile('[\ud800-\udfff]')


class GuestDataError(ValueError):
    """Data from a guest was refused.

    ``str()`` of it is a short reason, already escaped, safe to log.
    """


def escape(text, limit=200):
    """Make a text that comes from a guest safe for one log line.

    Characters that are not printable (newline, carriage return, ESC, NUL,
    the Unicode line and paragraph separators, bidi overrides, lone
    surrogates, ...) and the backslash are shown as backslash escapes,
    so the result is unambiguous, printable and encodable. Never raises.

    :param text: a ``str``; anything else is passed through ``str()``.
    :param limit: characters kept; a longer result is cut there and ends
        with ``'...'``.
    :returns: a ``str`` of at most ``limit + 3`` characters.
    """
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:
            return '<unprintable %s>' % type(text).__name__
    cut = len(text) > limit
    head = text[:limit] if cut else text
    if head.isprintable() and '\\' not in head:
        return head + '...' if cut else head
    pieces = []
    size = 0
    for char in head:
        if char.isprintable() and char != '\\':
            piece = char
        else:
            piece = _ESCAPES.get(char) or _escape_code(char)
        size += len(piece)
        if size > limit:
            cut = True
            break
        pieces.append(piece)
    escaped = ''.join(pieces)
    return escaped + '...' if cut else escaped


def _escape_code(char):
    code = ord(char)
    if code < 0x100:
        return '\\x%02x' % code
    if code < 0x10000:
        return '\\u%04x' % code
    return '\\U%08x' % code


def loads(text, max_bytes, max_depth=MAX_DEPTH):
    """Parse a JSON text that comes from a guest.

    :param text: the text, a ``str``.
    :param max_bytes: largest size accepted, in bytes of UTF-8.
    :param max_depth: most arrays and objects accepted inside one another;
        a scalar has depth 0, ``[1]`` and ``{"a": 1}`` depth 1.
    :returns: the parsed value.
    :raises GuestDataError: for text that is too large, too deep or not
        strict JSON.
    """
    if not isinstance(text, str):
        raise GuestDataError('not text but %s' % escape(
            type(text).__name__, 40))
    if len(text) > max_bytes:
        raise GuestDataError('too large: %d characters, over the %d byte '
                             'limit' % (len(text), max_bytes))
    if text.isascii():
        data = None
    else:
        try:
            data = text.encode('utf-8')
        except UnicodeEncodeError:
            raise GuestDataError('invalid surrogates in the text') from None
        if len(data) > max_bytes:
            raise GuestDataError('too large: %d bytes, over the %d byte '
                                 'limit' % (len(data), max_bytes))
    if text.count('[') + text.count('{') > max_depth:
        depth = _depth(text.encode('ascii') if data is None else data)
        if depth > max_depth:
            raise GuestDataError('too deep: %d levels, over the %d limit' % (
                depth, max_depth))
    try:
        value = json.loads(text, parse_constant=_refuse_constant,
                           parse_float=_finite_float,
                           object_pairs_hook=_object)
    except GuestDataError:
        raise
    except RecursionError:
        raise GuestDataError('too deep to parse') from None
    except ValueError as e:
        raise GuestDataError('not JSON: %s' % escape(e, 100)) from None
    # NOTE: the text holds no surrogate itself (checked above), so a lone
    # one in the value can only come from a \u escape.
    if '\\u' in text and _has_surrogate(value):
        raise GuestDataError('invalid surrogates in a string')
    return value


def _depth(data):
    """Deepest nesting of arrays and objects in a JSON text, in bytes.

    Linear and in C: brackets inside strings are left out, and the
    depth after the i-th bracket is 2 * (opening brackets so far) - i.
    """
    # Escaped backslashes first, then escaped quotes: every quote left
    # opens or closes a string. Outside strings a backslash is not JSON,
    # and the parser stops there.
    data = data.replace(b'\\\\', b'').replace(b'\\"', b'')
    data = data.translate(None, _NOT_STRUCTURE)
    brackets = b''.join(data.split(b'"')[::2])
    return max(map(operator.sub,
                   itertools.accumulate(brackets.translate(_STEPS)),
                   itertools.count(1)), default=0)


def _refuse_constant(name):
    raise GuestDataError('%s is not JSON' % escape(name, 20))


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise GuestDataError('number out of range: %s' % escape(text, 40))
    return value


def _object(pairs):
    value = dict(pairs)
    if len(value) != len(pairs):
        raise GuestDataError('a key twice in one object')
    return value


def _has_surrogate(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
