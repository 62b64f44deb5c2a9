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


"""The events of the ``vmheartbeat`` datasource: the monitor's contract.

The monitor's ``vitrage`` notifier posts, and the datasource reads::

    POST /v1/event
    {"time": "2026-12-01T10:00:00.000001",      # UTC, TIME_FORMAT
     "type": "vmheartbeat.alarm.raise",         # or ...clear
     "details": {"instance_id": "<nova instance uuid>",
                 "name": "vmheartbeat.instance",  # or vmheartbeat.app
                 "severity": "critical",          # warning, info
                 "hostname": "compute-1",
                 ...: plain values,
                 "signed_at": "2026-12-01T10:00:05.000002",  # UTC
                 "signature": "<hex HMAC-SHA256>"}}

One alarm per (instance, name): a raise while it is raised updates its
details, a clear removes it. ``details`` must not hold a ``status`` of
``up`` or ``down``: Vitrage's event API would then send the event to its
doctor datasource instead, nor any key Vitrage keeps for itself
(RESERVED).

Vitrage lets anyone who may post events post any: the event says who
sent it. ``sign()`` puts the time of the try (``signed_at``) and an
HMAC-SHA256, with a key both sides are configured with, of the event
(its type, time and details, ``canonical()``) in its details;
``verify()`` checks them.

Only the standard library is used: the monitor imports this module
without Vitrage.
"""

import calendar
import datetime
import hashlib
import hmac
import json
import re
import uuid

#: the datasource's (and its alarms') vitrage_type
DATASOURCE = 'vmheartbeat'
#: event types (what ``type`` the POST gives)
RAISE = 'vmheartbeat.alarm.raise'
CLEAR = 'vmheartbeat.alarm.clear'
EVENT_TYPES = (RAISE, CLEAR)

#: keys of ``details``
INSTANCE_ID = 'instance_id'
NAME = 'name'
SEVERITY = 'severity'
HOSTNAME = 'hostname'

#: alarm names: the instance failed, its application reported a status
INSTANCE_ALARM = 'vmheartbeat.instance'
APP_ALARM = 'vmheartbeat.app'
ALARM_NAMES = (INSTANCE_ALARM, APP_ALARM)

#: severities, as the datasource's values file maps them
CRITICAL = 'critical'
WARNING = 'warning'
INFO = 'info'
SEVERITIES = (CRITICAL, WARNING, INFO)

#: the ``time`` format (Vitrage's EventProperties.TIME_FORMAT)
TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'

#: the keys ``sign()`` adds to ``details``
SIGNED_AT = 'signed_at'
SIGNATURE = 'signature'

#: the most ``details`` may hold: keys, and characters of a value. The
#: notifier cuts every string it sends to MAX_VALUE: the datasource never
#: drops one of its events for its size.
MAX_DETAILS = 64
MAX_VALUE = 8192

#: the shortest signing key either side takes
MIN_KEY_LENGTH = 16

#: keys of ``details`` that Vitrage keeps for itself: the details become
#: the alarm's properties, over those Vitrage set (its graph_utils
#: create_vertex), and over what its API and templates read. Any key
#: starting with ``vitrage_`` as well. ``name`` and ``severity`` are
#: ours, with the values checked.
RESERVED_PREFIX = 'vitrage_'
RESERVED = frozenset((
    # Vitrage's ElementProperties, VertexProperties, EdgeProperties
    'id', 'state', 'project_id', 'is_marked_down', 'info', 'graph_index',
    'rawtext', 'resource_id', 'resource_name', 'resource',
    'is_real_vitrage_id', 'update_timestamp', 'source_id', 'target_id',
    'relationship_type',
    # what its API, persistor and transformers add or read
    'time', 'type', 'details', 'category', 'sample_timestamp',
    'is_deleted', 'is_placeholder', 'start_timestamp', 'end_timestamp',
    'payload', 'event_type', 'update_time',
    'aggregated_state', 'operational_state', 'aggregated_severity',
    'operational_severity',
))

_UUID = re.compile(r'^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$')
_PLAIN = (str, int, float, bool, type(None))


def is_reserved(key):
    """Whether ``details`` may not hold this key (see RESERVED)."""
    return key.lower().startswith(RESERVED_PREFIX) or key.lower() in RESERVED


def instance_uuid(value):
    """The instance uuid as Nova spells it (lower case, hyphens), or None.

    Two spellings of one uuid name one instance, and one alarm.
    """
    if not isinstance(value, str) or not _UUID.match(value):
        return None
    return str(uuid.UUID(value))


def problems(event_type, details):
    """What makes an event unusable, as a list of reasons (empty if none).

    The datasource drops an event with problems and logs them; a valid
    one has a known type, an instance uuid, a known alarm name and
    severity, and at most MAX_DETAILS plain details of at most MAX_VALUE
    characters each (Vitrage keeps them as the alarm's properties, and a
    list or a mapping there breaks its template evaluation), none of them
    reserved (RESERVED). The signature is checked by ``verify()``.
    """
    if event_type not in EVENT_TYPES:
        return ['unknown event type']
    if not isinstance(details, dict):
        return ['details are not a mapping']
    found = []
    if instance_uuid(details.get(INSTANCE_ID)) is None:
        found.append('%s is not a uuid' % INSTANCE_ID)
    if details.get(NAME) not in ALARM_NAMES:
        found.append('%s is not one of %s' % (NAME, ', '.join(ALARM_NAMES)))
    if event_type == RAISE and details.get(SEVERITY) not in SEVERITIES:
        found.append('%s is not one of %s' % (
            SEVERITY, ', '.join(SEVERITIES)))
    if len(details) > MAX_DETAILS:
        found.append('more than %d details' % MAX_DETAILS)
    for key, value in details.items():
        if not isinstance(key, str) or not isinstance(value, _PLAIN):
            found.append('detail %.40r is not a plain value' % (key,))
            break
        if is_reserved(key):
            found.append('detail %.40r is reserved to Vitrage' % (key,))
            break
        if isinstance(value, str) and len(value) > MAX_VALUE:
            found.append('detail %.40r is over %d characters' % (
                key, MAX_VALUE))
            break
    return found


def utc_time(when=None):
    """``when`` (a UTC datetime, default now) in TIME_FORMAT."""
    if when is None:
        when = datetime.datetime.now(datetime.timezone.utc)
    return when.strftime(TIME_FORMAT)


def epoch(value):
    """A TIME_FORMAT (UTC) time in seconds since the epoch, or None."""
    try:
        when = datetime.datetime.strptime(value, TIME_FORMAT)
    except (TypeError, ValueError):
        return None
    return calendar.timegm(when.timetuple()) + when.microsecond / 1e6


def canonical(event_type, event_time, details):
    """The bytes signed: the event without its signature, as JSON.

    Sorted keys, no spaces, ASCII only: the same bytes on both sides
    whatever the JSON in between (Vitrage's API, its message bus) did to
    the spacing, the order of the keys or the escaping.

    :raises: ValueError for what JSON cannot hold (a NaN, a set, ...)
    """
    unsigned = {k: v for k, v in details.items() if k != SIGNATURE}
    return json.dumps(['vmheartbeat-event-v1', event_type, event_time,
                       unsigned], sort_keys=True, separators=(',', ':'),
                      ensure_ascii=True, allow_nan=False).encode('ascii')


def signature(key, event_type, event_time, details):
    """The hex HMAC-SHA256 of the event (``canonical()``) with ``key``."""
    return hmac.new(key.encode('utf-8'),
                    canonical(event_type, event_time, details),
                    hashlib.sha256).hexdigest()


def sign(body, key, now=None):
    """Sign a ``POST /v1/event`` body for this try; a new body.

    :param body: ``{"time", "type", "details"}``
    :param key: the signing key (both sides have the same)
    :param now: the time of the try (a UTC datetime, default now): the
        datasource refuses an event signed too long ago, or twice.
    """
    details = dict(body['details'])
    details.pop(SIGNATURE, None)
    details[SIGNED_AT] = utc_time(now)
    details[SIGNATURE] = signature(key, body['type'], body['time'], details)
    return dict(body, details=details)


def verify(key, event_type, event_time, details):
    """Why the signature of an event is not good, or None when it is.

    :param key: the signing key; None or '' refuses every event
    """
    if not key:
        return 'no signing key configured'
    if not isinstance(details, dict):
        return 'details are not a mapping'
    given = details.get(SIGNATURE)
    if not isinstance(given, str) or not given:
        return 'not signed'
    try:
        expected = signature(key, event_type, event_time, details)
    except (TypeError, ValueError):
        return 'not signable'
    if not hmac.compare_digest(expected.encode('ascii'),
                               given.encode('utf-8', 'replace')):
        return 'bad signature'
    return None
