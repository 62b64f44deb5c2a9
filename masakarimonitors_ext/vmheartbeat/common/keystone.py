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

"""The clients of the OpenStack APIs the monitor calls, from one place.

Each service has a group of keystoneauth options (``conf.auth``):
Masakari [api] (masakari-monitors' own group), Nova [nova], Mistral
[mistral] and Vitrage [vitrage]. [api] holds Masakari's credential, an
admin one in Masakari; a group without ``auth_type`` borrows it, which
works but gives that service's client Masakari's admin rights: the
monitor says so once per group. Every session is bounded
(``receivers.load_session``): no redirect, a cap on the answer, one
deadline per call.
"""

import threading

from keystoneauth1 import loading as ks_loading
import openstack.connection
from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.common import receivers

LOG = logging.getLogger(__name__)

#: masakari-monitors' group, Masakari's credential
API = 'api'

_warned = set()
_lock = threading.Lock()


def get_auth(conf, group):
    """The keystoneauth plugin of ``[group]``, or [api]'s when none."""
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    if auth is not None or group == API:
        return auth
    auth = ks_loading.load_auth_from_conf_options(conf, API)
    with _lock:
        first = group not in _warned
        _warned.add(group)
    if first and auth is not None:
        LOG.warning('[%s] has no auth_type: the [api] credential (Masakari\'s '
                    'admin) is used for it too; give [%s] a credential of '
                    'its own with only the roles it needs', group, group)
    return auth


def get_session(conf, group, default_timeout=receivers.DEFAULT_TIMEOUT):
    """A bounded keystoneauth session of ``[group]``, with its auth."""
    return receivers.load_session(conf, group, get_auth(conf, group),
                                  default_timeout)


def get_adapter(conf, group):
    """A keystoneauth adapter of ``[group]``, on a bounded session."""
    session = get_session(conf, group)
    return ks_loading.load_adapter_from_conf_options(
        conf, group, session=session, auth=session.auth)


def get_connection(conf, group, default_timeout=receivers.DEFAULT_TIMEOUT,
                   **service_options):
    """An openstacksdk connection of ``[group]``, on a bounded session.

    The region and interface are the group's: [api]'s ``region`` and
    ``api_interface``, keystoneauth's ``region_name`` and first
    ``valid_interfaces`` elsewhere.

    :param service_options: openstacksdk's options of the service, such
        as ``compute_api_version``.
    """
    options = conf[group]
    if group == API:
        region, interface = options.region, options.api_interface
    else:
        region = options.region_name
        interface = (options.valid_interfaces or [None])[0]
    if interface is not None:
        service_options['interface'] = interface
    return openstack.connection.Connection(
        session=get_session(conf, group, default_timeout),
        region_name=region, **service_options)
