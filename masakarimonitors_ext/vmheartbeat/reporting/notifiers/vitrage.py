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

from masakarimonitors_ext import exception
from masakarimonitors_ext.vitrage_datasources.vmheartbeat import (
    events as vitrage_events)
from masakarimonitors_ext.vmheartbeat.reporting import events
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import messaging
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import rest
from masakarimonitors_ext.vmheartbeat import verdicts

_SEVERITIES = {events.ERROR: vitrage_events.CRITICAL,
               events.WARNING: vitrage_events.WARNING,
               events.INFO: vitrage_events.INFO}
_APP_DOWN = (verdicts.APP_FAILED, verdicts.APP_DEGRADED)
#: characters of evidence kept in an alarm
_MAX_EVIDENCE = 4096


def _vitrage_time(generated_time):
    """UTC, in the only format Vitrage's event datasources read."""
    try:
        when = datetime.datetime.fromisoformat(generated_time)
    except (TypeError, ValueError):
        when = datetime.datetime.now(datetime.timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when.strftime(vitrage_events.TIME_FORMAT)


def _bounded(value):
    if isinstance(value, str) and len(value) > vitrage_events.MAX_VALUE:
        return value[:vitrage_events.MAX_VALUE]
    return value


#: the recovery guards' events: they change no alarm
_NO_ALARM = frozenset([verdicts.EVENT_RECOVERY_SUSPENDED,
                       verdicts.EVENT_MASS_FAILURE,
                       verdicts.EVENT_PAUSE_STARTED,
                       verdicts.EVENT_PAUSE_ENDED])


def vitrage_event(event):
    """The body of ``POST /v1/event`` for a health event.

    An event of the ``vmheartbeat`` Vitrage datasource
    (``masakarimonitors_ext.vitrage_datasources``): it raises, or clears,
    the alarm ``vmheartbeat.instance`` (the instance failed) or
    ``vmheartbeat.app`` (its application's status is failed or degraded)
    on the instance. The details carry the event's fields, flat: Vitrage
    keeps them as the alarm's properties, which must be plain values. The
    event's own ``status`` is ``app_status`` (a ``status`` of up or down
    would send the event to Vitrage's doctor datasource), its
    ``severity`` is ``event_severity``, and the evidence is one bounded
    string. Every string is cut to the datasource's
    ``vitrage_events.MAX_VALUE`` characters (the answers of the other
    notifiers, and the evidence, are unbounded lists): the datasource
    drops no event for its size. The instance uuid is spelled as Nova
    does. Unsigned: ``VitrageNotifier`` signs each try
    (``vitrage_events.sign``).

    :returns: the body, or None for an event that changes no alarm (a
        status ``starting``, the recovery guards' events).
    """
    if event.kind in _NO_ALARM:
        return None
    if event.kind == verdicts.EVENT_STATUS_CHANGED:
        if event.status == verdicts.APP_STARTING:
            return None
        name = vitrage_events.APP_ALARM
        raised = event.status in _APP_DOWN
    else:
        name = vitrage_events.INSTANCE_ALARM
        raised = event.kind != verdicts.EVENT_RECOVERED
    details = {
        vitrage_events.INSTANCE_ID: (
            vitrage_events.instance_uuid(event.instance_uuid) or
            event.instance_uuid),
        vitrage_events.NAME: name,
        vitrage_events.SEVERITY: _SEVERITIES[event.severity],
        vitrage_events.HOSTNAME: event.hostname,
        'source': '%s:%s' % (messaging.PUBLISHER, event.hostname),
        'event_id': event.event_id,
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
    details = {key: _bounded(value) for key, value in details.items()}
    return {'time': _vitrage_time(event.generated_time),
            'type': vitrage_events.RAISE if raised else vitrage_events.CLEAR,
            'details': details}


class VitrageNotifier(rest.RestNotifier):
    """Posts each event to Vitrage's event API (``POST /v1/event``).

    The events are for the ``vmheartbeat`` datasource, which Vitrage must
    load (see ``masakarimonitors_ext.vitrage_datasources``). Vitrage
    answers 200 as soon as its API took the event, whatever its graph
    does with it, even when no datasource takes it: a 200 is all this
    notifier can know. A repeated event changes nothing in Vitrage (the
    alarm is already raised with those details, or already cleared).

    Each try is signed with ``[vitrage] event_signing_key``
    (``vitrage_events.sign``): the datasource, with the same key,
    refuses every event that is not, or was signed too long ago.

    :raises: ConfigurationError when ``[vitrage] event_signing_key`` is
        not set or too short.
    """

    GROUP = 'vitrage'
    SERVICE = 'Vitrage'

    def __init__(self, conf, adapter=None):
        super().__init__(conf, adapter)
        self.key = conf.vitrage.event_signing_key
        if not self.key or len(self.key) < vitrage_events.MIN_KEY_LENGTH:
            raise exception.ConfigurationError(
                'vitrage.event_signing_key',
                'the vitrage notifier signs its events with it, and the '
                'vmheartbeat datasource refuses those that are not: set it '
                '(at least %d characters) to the [vmheartbeat] '
                'event_signing_key of vitrage.conf'
                % vitrage_events.MIN_KEY_LENGTH)
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
        self.post('/v1/event', vitrage_events.sign(body, self.key),
                  'event %s' % body['type'])
        return 'posted %s %s' % (body['type'], body['details'][
            vitrage_events.NAME])
