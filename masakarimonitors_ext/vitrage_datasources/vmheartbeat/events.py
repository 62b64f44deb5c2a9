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
                 ...: plain values}}

One alarm per (instance, name): a raise while it is raised updates its
details, a clear removes it. ``details`` must not hold a ``status`` of
``up`` or ``down``: Vitrage's event API would then send the event to its
doctor datasource instead.

Only the standard library is used: the monitor imports this module
without Vitrage.
"""

import re

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

#: the most ``details`` may hold: keys, and characters of a value
MAX_DETAILS = 64
MAX_VALUE = 8192

_UUID = re.compile(r'^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$')
_PLAIN = (str, int, float, bool, type(None))


def problems(event_type, details):
    """What makes an event unusable, as a list of reasons (empty if none).

    The datasource drops an event with problems and logs them; a valid
    one has a known type, an instance uuid, a known alarm name and
    severity, and at most MAX_DETAILS plain details of at most MAX_VALUE
    characters each (Vitrage keeps them as the alarm's properties, and a
    list or a mapping there breaks its template evaluation).
    """
    if event_type not in EVENT_TYPES:
        return ['unknown event type']
    if not isinstance(details, dict):
        return ['details are not a mapping']
    found = []
    instance = details.get(INSTANCE_ID)
    if not isinstance(instance, str) or not _UUID.match(instance):
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
        if isinstance(value, str) and len(value) > MAX_VALUE:
            found.append('detail %.40r is over %d characters' % (
                key, MAX_VALUE))
            break
    return found
