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

"""Which credential each OpenStack client of the monitor uses.

``[api]`` holds Masakari's credential, an admin one in Masakari. The
clients of Nova, Mistral and Vitrage have groups of their own; one without
``auth_type`` borrows ``[api]``'s, which works but gives that service's
client Masakari's admin rights: the monitor says so once per group.
"""

import threading

from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

_warned = set()
_lock = threading.Lock()


def load_auth(conf, group):
    """The keystoneauth plugin of ``[group]``, or ``[api]``'s when none."""
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    if auth is not None:
        return auth
    auth = ks_loading.load_auth_from_conf_options(conf, 'api')
    with _lock:
        first = group not in _warned
        _warned.add(group)
    if first and auth is not None:
        LOG.warning('[%s] has no auth_type: the [api] credential (Masakari\'s '
                    'admin) is used for it too; give [%s] a credential of '
                    'its own with only the roles it needs', group, group)
    return auth
