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

"""Raise and clear Vitrage alarms through its event API."""

import datetime

from masakarimonitors_ext.vmheartbeat import checks
from masakarimonitors_ext.vmheartbeat import events
from masakarimonitors_ext.vmheartbeat.notifiers import messaging
from masakarimonitors_ext.vmheartbeat.notifiers import rest

#: Vitrage's doctor datasource takes events whose details say this
DOWN = 'down'
UP = 'up'
#: alarm names: the instance's failure, and its application's status
INSTANCE_ALARM = 'vmheartbeat.instance.%s'
APP_ALARM = 'vmheartbeat.app.%s'
#: the doctor datasource reads exactly this time format
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'
_SEVERITIES = {events.ERROR: 'critical', events.WARNING: 'warning',
               events.INFO: 'info'}
_APP_DOWN = (checks.FAILED, checks.DEGRADED)
#: characters of evidence kept in an alarm
_MAX_EVIDENCE = 4096


def _vitrage_time(generated_time):
    """UTC, in the only format the doctor datasource reads."""
    try:
        when = datetime.datetime.fromisoformat(generated_time)
    except (TypeError, ValueError):
        when = datetime.datetime.now(datetime.timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when.strftime(_TIME_FORMAT)


def vitrage_event(event):
    """The body of ``POST /v1/event`` for a health event.

    An event of Vitrage's doctor datasource: an alarm named after the
    instance (``vmheartbeat.instance.<uuid>``, or ``vmheartbeat.app.<uuid>``
    for the application's status) on the compute host, raised by status
    ``down`` and cleared by ``up``. The details carry the doctor fields
    and the event's fields, flat: Vitrage keeps them as the alarm's
    properties, which must be plain values (a list or a mapping there
    breaks its template evaluation). The event's own ``status`` and
    ``severity`` are ``app_status`` and ``event_severity``; the evidence
    is one bounded string.

    :returns: the body, or None for a status that changes no alarm
        (``starting``).
    """
    if event.kind == events.STATUS_CHANGED:
        if event.status == checks.STARTING:
            return None
        name = APP_ALARM % event.instance_uuid
        status = DOWN if event.status in _APP_DOWN else UP
    else:
        name = INSTANCE_ALARM % event.instance_uuid
        status = UP if event.kind == events.RECOVERED else DOWN
    details = {
        'hostname': event.hostname,
        'status': status,
        'severity': _SEVERITIES[event.severity],
        'source': messaging.PUBLISHER,
        'monitor_id': '%s:%s' % (messaging.PUBLISHER, event.hostname),
        'monitor_event_id': event.event_id,
        'instance_uuid': event.instance_uuid,
        'event_kind': event.kind,
        'event_version': events.VERSION,
        'event_severity': event.severity,
        'check': event.check,
        'failure_class': event.failure_class,
        'recover': event.recover,
        'app_status': event.status,
        'description': event.details,
        'evidence': ' | '.join(event.evidence)[:_MAX_EVIDENCE],
        'answers': '; '.join('%s: %s' % a for a in event.answers),
        'generated_time': event.generated_time,
    }
    return {'time': _vitrage_time(event.generated_time), 'type': name,
            'details': details}


class VitrageNotifier(rest.RestNotifier):
    """Posts each event to Vitrage's event API (``POST /v1/event``).

    Vitrage answers 200 as soon as its API took the event, whatever its
    graph does with it: a 200 is all this notifier can know. A repeated
    event changes nothing in Vitrage (the alarm is already raised, or
    already cleared).
    """

    GROUP = 'vitrage'
    SERVICE = 'Vitrage'

    def __init__(self, conf, adapter=None):
        super().__init__(conf, adapter)
        self.kinds = tuple(conf.vitrage.event_kinds)

    def hint(self, status):
        if status == 403:
            return '; check the [vitrage] credentials and their roles'
        if status == 404:
            return ('; check the Vitrage endpoint ([vitrage] '
                    'endpoint_override or the catalog entry of service '
                    'type rca)')
        return ''

    def notify(self, event):
        body = vitrage_event(event)
        if body is None:
            return 'not sent: %s changes no alarm' % event.status
        self.post('/v1/event', body, 'event %s' % body['type'])
        return 'posted alarm %s %s' % (body['type'], body['details'][
            'status'])
