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

"""The monitor's Nova client: a server's flavor and its task state.

Nova is advisory: every call is waited for at most ``[nova] timeout``,
and its worker is freed at that deadline too (``receivers.deadline``).
The opt-in asks it for a server's flavor extra specs; the escalation's
confirm step for the task state, a lifecycle operation under way.
"""

import futurist
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import keystone
from masakarimonitors_ext.vmheartbeat.common import receivers

GROUP = 'nova'


class NovaUnavailable(exception.VMHeartbeatError):
    """Nova did not answer in time, or could not be reached at all."""


#: What openstacksdk raises when Nova cannot answer: keystoneauth's
#: ConnectFailure, ConnectTimeout, DiscoveryFailure, ... for a refused or
#: hanging connection, SDKException for an HTTP error.
NOVA_ERRORS = (ks_exc.ClientException, sdk_exc.SDKException, OSError,
               ValueError)

#: A server that exists nowhere: asking for it proves the credentials.
_NO_SERVER = '00000000-0000-0000-0000-000000000000'

#: Workers that carry Nova calls, so that a caller waits no longer than
#: ``[nova] timeout`` even when keystoneauth takes longer to give up.
_WORKERS = 4


def make_nova_connection(conf):
    """An openstacksdk connection to Nova from the [nova] options.

    Without an auth_type in [nova], the [api] credentials are used
    (``keystone.get_auth``).
    """
    service_options = {
        'compute_api_version': '2',
        'compute_default_microversion': conf.nova.api_microversion}
    if conf.nova.endpoint_override:
        service_options['compute_endpoint_override'] = (
            conf.nova.endpoint_override)
    return keystone.get_connection(conf, GROUP, conf.nova.timeout,
                                   **service_options)


class Nova:
    """Asks Nova about servers, each call bounded by ``[nova] timeout``.

    :param conf: the configuration.
    :param connection: an openstacksdk connection (made from [nova] at the
        first call when None).
    """

    def __init__(self, conf, connection=None):
        self._conf = conf
        self._conn = connection
        self.timeout = conf.nova.timeout
        self._calls = futurist.ThreadPoolExecutor(max_workers=_WORKERS)

    @property
    def connection(self):
        if self._conn is None:
            self._conn = make_nova_connection(self._conf)
        return self._conn

    def _get(self, instance_uuid):
        # NOTE: openstacksdk discovers Nova's versions when the compute
        # proxy is first used, so that too runs under the deadline.
        with receivers.deadline(self.timeout):
            return self.connection.compute.get_server(instance_uuid)

    def get_server(self, instance_uuid):
        """The server, waited for at most [nova] timeout.

        :raises: openstack's NotFoundException when Nova does not know
            it; NovaUnavailable when Nova cannot tell in time.
        """
        future = self._calls.submit(self._get, instance_uuid)
        try:
            return future.result(timeout=self.timeout)
        except futurist.TimeoutError:
            raise NovaUnavailable('no answer within %ss ([nova] timeout)'
                                  % self.timeout)
        except sdk_exc.NotFoundException:
            raise
        except NOVA_ERRORS as e:
            raise NovaUnavailable('%s: %s' % (type(e).__name__, e))

    def task_state(self, instance_uuid):
        """The instance's lifecycle operation in progress, or None.

        :raises: NovaUnavailable when Nova cannot tell in time, or does
            not know the instance.
        """
        try:
            server = self.get_server(instance_uuid)
        except sdk_exc.NotFoundException:
            raise NovaUnavailable('Nova does not know the instance')
        return server.task_state

    def check(self):
        """Check once that Nova can be asked: None, or a short reason."""
        try:
            self.get_server(_NO_SERVER)
        except sdk_exc.NotFoundException:
            return None
        except NovaUnavailable as e:
            return str(e)
        except Exception as e:  # a bad [nova] option, say
            return '%s: %s' % (type(e).__name__, e)
        return None
