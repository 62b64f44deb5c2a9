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

"""The monitor's status as ``masakari-vmheartbeatmonitor status`` prints it.

Every field is escaped: the answer carries what guests and libvirt said,
and whoever serves the socket chose all of it. No function here raises for
an answer of an unexpected shape: what is missing is shown as ``-``.
"""

from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.health import views

_STATE_TEXT = {views.REPORTED_ONLY: 'reported (report only: not recovered)',
               views.ON_HOLD: 'failed, on hold (not escalated yet)'}

#: characters of one field of the answer the text shows
_SHOWN = 2048


def _text(value, limit=_SHOWN):
    """A field of the answer as text: escaped, never raw on a terminal.

    The answer carries what guests and libvirt said (details, names),
    and whoever serves the socket chose all of it.
    """
    return '-' if value is None else guestdata.escape(value, limit)


def _number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _text(value, 40)


def _age(seconds):
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return '%.1fs ago' % seconds
    return _text(seconds, 40)


def _dict(value):
    return value if isinstance(value, dict) else {}


def format_text(instances):
    """The instances as lines of text, one block each, every field escaped.

    Never raises for an answer of an unexpected shape: what is missing is
    shown as ``-``.
    """
    lines = []
    for item in instances:
        lines.extend(_block(_dict(item)))
    return '\n'.join(lines)


def format_notifiers(notifiers):
    """What the outbox keeps for each notifier, as lines of text.

    Never raises for an answer of an unexpected shape, as
    :func:`format_text`.
    """
    if not notifiers:
        return ''
    lines = ['notifiers (events waiting in the outbox, dropped since the '
             'start):']
    for item in notifiers:
        item = _dict(item)
        lines.append('  %s (%s): %s waiting, %s dropped' % (
            _text(item.get('notifier')), _text(item.get('policy')),
            _number(item.get('pending')), _number(item.get('dropped'))))
    return '\n'.join(lines)


def _block(item):
    lines = ['%s %s: %s (%s)' % (
        _text(item.get('instance_uuid')), _text(item.get('name') or None),
        'watched' if item.get('watched') else 'not watched',
        _text(item.get('reason')))]
    if not item.get('watched'):
        return lines
    state = item.get('state')
    # NOTE: an unhashable state (a list) is no key of _STATE_TEXT
    shown = _STATE_TEXT.get(state) if isinstance(state, str) else None
    state = 'state %s' % (shown or _text(state))
    if item.get('suppressed_because'):
        state += ' (%s)' % _text(item['suppressed_because'])
    if item.get('failure_class'):
        state += ', failure %s of the %s check%s' % (
            _text(item['failure_class']), _text(item.get('failed_check')),
            ', escalating' if item.get('escalating') else '')
    lines.append('  ' + state)
    if item.get('app_status') == views.APP_UNKNOWN:
        age = item.get('app_status_age')
        lines.append('  application: unknown (%s)' % (
            'no answer yet' if age is None else 'last answer %s' % _age(
                age)))
    elif item.get('app_status'):
        lines.append('  application: %s%s' % (
            _text(item['app_status']), ': %s' % _text(item['app_details'])
            if item.get('app_details') else ''))
    report_only = item.get('report_only')
    if report_only:
        lines.append('  report only: %s' % (
            ', '.join(_text(c) for c in report_only)
            if isinstance(report_only, list) else _text(report_only)))
    lines.extend(_recovery_lines(_dict(item.get('recovery'))))
    for kind, check in sorted(_dict(item.get('checks')).items()):
        check = _dict(check)
        last = check.get('last')
        if not isinstance(last, dict):
            result = 'not run yet'
        else:
            result = '%s %s' % (_text(last.get('outcome')),
                                _age(last.get('age')))
            if last.get('status'):
                result += ', status %s' % _text(last['status'])
            if last.get('detail'):
                result += ': %s' % _text(last['detail'])
        lines.append('  %s: %s (misses %s/%s, every %ss)' % (
            _text(kind), result, _number(check.get('misses')),
            _number(check.get('failure_threshold')),
            _number(check.get('interval'))))
    return lines


def _recovery_lines(recovery):
    """The instance's recovery budget, as the guards describe it."""
    if not recovery:
        return []
    line = '  recoveries: %s of %s within %ss (last %s)' % (
        _number(recovery.get('recoveries')),
        _number(recovery.get('max_recoveries')),
        _number(recovery.get('window')),
        _text(recovery.get('last_recovery')))
    if recovery.get('permission') not in (None, 'recover'):
        line += '; next failure %s until %s: %s' % (
            'on hold' if recovery.get('permission') == 'hold'
            else 'reported only', _text(recovery.get('until') or 'raised'),
            _text(recovery.get('reason')))
    return [line]


def format_recovery(recovery):
    """The recovery guards' view of the host, as lines of text.

    Never raises for an answer of an unexpected shape, as
    :func:`format_text`.
    """
    recovery = _dict(recovery)
    if not recovery:
        return ''
    if recovery.get('mass_failure_suspected'):
        return ('mass failure suspected since %s: %s instances failed '
                'within %ss, more than %s; failures are reported only, '
                'not recovered, until %s' % (
                    _text(recovery.get('since')),
                    _number(recovery.get('failed_within_window')),
                    _number(recovery.get('window')),
                    _number(recovery.get('threshold')),
                    _text(recovery.get('until'))))
    if recovery.get('threshold') is None:
        return 'storm guard: off'
    return ('storm guard: %s instances failed within %ss (more than %s: '
            'mass failure suspected)' % (
                _number(recovery.get('failed_within_window')),
                _number(recovery.get('window')),
                _number(recovery.get('threshold'))))
