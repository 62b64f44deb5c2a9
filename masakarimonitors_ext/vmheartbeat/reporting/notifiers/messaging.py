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

"""Health events as oslo.messaging notifications.

What Vitrage, Aodh, Ceilometer and operators' own tools listen to: one
notification per event on each of ``[oslo_messaging_notifications]
topics``, with event type ``vmheartbeat.instance.<kind>`` (or
``vmheartbeat.host.<kind>`` for an event about the whole host), the
priority of the event's severity and a versioned payload.
"""

import threading

from oslo_log import log as logging
import oslo_messaging
from oslo_utils import timeutils

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import base

LOG = logging.getLogger(__name__)

#: every event type about an instance starts with this
EVENT_TYPE_PREFIX = 'vmheartbeat.instance.'
#: and every one about the whole host with this
HOST_EVENT_TYPE_PREFIX = 'vmheartbeat.host.'
PAYLOAD_NAME = 'InstanceHealthEventPayload'
PAYLOAD_NAMESPACE = 'masakarimonitors_ext'
PUBLISHER = 'masakari-vmheartbeatmonitor'
#: oslo.messaging priorities of the event severities
PRIORITIES = {'error': 'ERROR', 'warning': 'WARN', 'info': 'INFO'}
#: the message envelope oslo.messaging listeners read (2.0)
_ENVELOPE = 2.0


def event_type(event):
    if event.instance_uuid is None:
        return HOST_EVENT_TYPE_PREFIX + event.kind
    return EVENT_TYPE_PREFIX + event.kind


def payload(event):
    """The event in the shape of OpenStack's versioned notifications."""
    data = event.to_dict()
    version = data.pop('version')
    return {'masakari_object.name': PAYLOAD_NAME,
            'masakari_object.namespace': PAYLOAD_NAMESPACE,
            'masakari_object.version': version,
            'masakari_object.data': data}


def message(event, hostname):
    """The whole notification; its ``message_id`` is the event's own."""
    return {'message_id': event.event_id,
            'publisher_id': '%s:%s' % (PUBLISHER, hostname),
            'event_type': event_type(event),
            'priority': PRIORITIES[event.severity],
            'payload': payload(event),
            'timestamp': str(timeutils.utcnow())}


class MessagingNotifier(base.Notifier):
    """Sends each event as an oslo.messaging notification (2.0 envelope).

    The notification carries the event's own ``event_id`` as its
    ``message_id``, so a listener recognizes the rare repeat (a monitor
    that crashed between the broker's confirmation and recording it).

    A try succeeds only when the broker confirmed the message. This is why
    it does not go through ``oslo_messaging.Notifier``, which logs and
    drops a notification it could not send: it hands the message to the
    notification transport, as oslo.messaging's own messaging driver
    does, and a failure is raised and retried. That method
    (``_send_notification``) is private: the unit tests check that the
    installed oslo.messaging has it as called here.

    :param conf: the configuration ([oslo_messaging_notifications],
        [messaging_notifier]).
    :param transport: an oslo.messaging notification transport (made from
        the configuration when None).
    """

    def __init__(self, conf, transport=None):
        super().__init__(conf)
        self._transport = transport
        self._lock = threading.Lock()

    @property
    def transport(self):
        with self._lock:
            if self._transport is None:
                try:
                    self._transport = (
                        oslo_messaging.get_notification_transport(self.conf))
                except (oslo_messaging.InvalidTransportURL,
                        oslo_messaging.DriverLoadFailure) as e:
                    raise exception.PermanentNotificationError(
                        'check [oslo_messaging_notifications] transport_url '
                        '(or [DEFAULT] transport_url): %s' % e)
            return self._transport

    def check(self):
        try:
            self.transport
        except exception.PermanentNotificationError as e:
            return str(e)
        return None

    def notify(self, event):
        transport = self.transport
        if not self.conf.oslo_messaging_notifications.topics:
            raise exception.PermanentNotificationError(
                '[oslo_messaging_notifications] topics is empty')
        msg = message(event, event.hostname)
        priority = msg['priority'].lower()
        retries = self.conf.messaging_notifier.send_retries
        for topic in self.conf.oslo_messaging_notifications.topics:
            target = oslo_messaging.Target(topic='%s.%s' % (topic, priority))
            try:
                # NOTE: the transport's own send, which raises when the
                # broker did not confirm; oslo_messaging.Notifier would
                # log the failure and drop the notification. It adds keys
                # to the message it is given: each send gets a copy.
                transport._send_notification(
                    target, {}, dict(msg), version=_ENVELOPE,
                    retry=retries)
            except Exception as e:
                # MessageDeliveryFailure, or kombu's OperationalError when
                # the transport never connected
                raise exception.TransientNotificationError(
                    'notification %s to %s not confirmed: %s: %s' % (
                        msg['event_type'], target.topic, type(e).__name__,
                        e))
        return 'sent as %s (%s) to %s' % (
            msg['event_type'], msg['priority'], ', '.join(
                self.conf.oslo_messaging_notifications.topics))

    def close(self):
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.cleanup()
