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

"""Notify Masakari: the VM notification its instance recovery acts on."""

import itertools

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from oslo_log import log as logging

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.common import keystone
from masakarimonitors_ext.vmheartbeat.common import receivers
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import base
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = receivers.DEFAULT_TIMEOUT

_WHAT_TO_FIX = {
    400: 'check that [DEFAULT] hostname (%(host)s) is a host of a Masakari '
         'failover segment',
    403: 'the [api] user must have the admin role in Masakari',
    404: 'check the Masakari endpoint ([api] endpoint_override or the '
         'catalog entry of service type instance-ha)',
}


def make_masakari_connection(conf):
    """An openstacksdk connection to Masakari from the [api] options."""
    service_options = {}
    if conf.api.endpoint_override:
        service_options['instance_ha_endpoint_override'] = (
            conf.api.endpoint_override)
    return keystone.get_connection(conf, keystone.API, DEFAULT_TIMEOUT,
                                   **service_options)


class MasakariNotifier(base.Notifier):
    """Sends a ``VM`` notification to the Masakari API.

    The payload carries exactly what Masakari accepts: the instance UUID,
    ``QEMU_GUEST_AGENT_ERROR`` and ``STOPPED_FAILED``. A 409 means Masakari
    already has it (a repeat within its duplicate window) and counts as
    delivered. The whole call ends within ``[api] timeout`` (30 s when
    unset); a redirect is refused for good, as a wrong endpoint is.

    :param conf: the configuration ([api] options).
    :param connection: an openstacksdk connection (made from [api] when
        None).
    """

    #: Masakari acts on failures only
    kinds = (verdicts.EVENT_FAILED,)
    recovers = True

    def __init__(self, conf, connection=None):
        super().__init__(conf)
        self._conn = connection

    @property
    def connection(self):
        if self._conn is None:
            self._conn = make_masakari_connection(self.conf)
        return self._conn

    def check(self):
        try:
            list(itertools.islice(
                self.connection.instance_ha.segments(limit=1), 1))
        except sdk_exc.HttpException as e:
            self._conn = None
            hint = _WHAT_TO_FIX.get(e.status_code) or (
                'check the [api] credentials' if e.status_code == 401
                else '')
            return 'Masakari answered %s: %s%s' % (
                e.status_code, guestdata.escape(e.details, 300),
                '; ' + hint % {
                    'host': self.conf.hostname} if hint else '')
        except Exception as e:  # unreachable, or a bad [api] option
            self._conn = None
            return '%s: %s' % (type(e).__name__, guestdata.escape(e, 300))
        return None

    def notify(self, failure):
        if failure.kind != verdicts.EVENT_FAILED:
            return 'not sent: Masakari takes failures only'
        if not failure.recover:
            return 'not sent: %s is report only' % failure.failure_class
        payload = {
            'instance_uuid': failure.instance_uuid,
            'event': constants.EVENT_GUEST_AGENT_ERROR,
            'vir_domain_event': constants.VIR_DOMAIN_EVENT_STOPPED_FAILED,
        }
        try:
            with receivers.deadline(self.conf.api.timeout or DEFAULT_TIMEOUT):
                notification = self._create(failure.hostname,
                                            failure.generated_time, payload)
        except sdk_exc.HttpException as e:
            return self._http_error(e, failure)
        except receivers.RedirectRefused as e:
            raise exception.PermanentNotificationError(
                'Masakari did not take the notification: %s (see [api] '
                'endpoint_override and auth_url)' % e)
        except receivers.AnswerTooLarge as e:
            if e.status_code < 300:
                # NOTE: Masakari took it; only its answer is not read.
                return ('accepted by Masakari (%d; an answer of more than '
                        '%d bytes, not read)' % (e.status_code, e.limit))
            self._conn = None
            raise exception.TransientNotificationError(
                'Masakari API answered: %s' % e)
        except (ks_exc.ClientException, sdk_exc.SDKException,
                OSError) as e:
            self._conn = None
            raise exception.TransientNotificationError(
                'Masakari API not reachable: %s' % guestdata.escape(e, 300))
        return 'accepted by Masakari as notification %s' % (
            guestdata.escape(notification.notification_uuid, 64))

    def _create(self, hostname, generated_time, payload):
        return self.connection.instance_ha.create_notification(
            type=constants.NOTIFICATION_TYPE_VM, hostname=hostname,
            generated_time=generated_time, payload=payload)

    def _http_error(self, error, failure):
        status = error.status_code
        details = guestdata.escape(error.details, 300)
        if status == 409:
            if 'maintenance' in str(error.details):
                LOG.warning('Masakari ignores the failure of instance %s: '
                            'host %s is on maintenance (409: %s)',
                            failure.instance_uuid, failure.hostname,
                            details)
                return 'ignored, host on maintenance (409)'
            return 'Masakari already has it (409: %s)' % details
        if status in _WHAT_TO_FIX:
            raise exception.PermanentNotificationError(
                'Masakari refused the notification (%s: %s): %s' % (
                    status, details,
                    _WHAT_TO_FIX[status] % {'host': failure.hostname}))
        # 5xx, 401 (token expired) and anything unexpected: try again
        self._conn = None
        raise exception.TransientNotificationError(
            'Masakari answered %s: %s' % (status, details))
