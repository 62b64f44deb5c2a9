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

"""The monitor's configuration.

Importing masakarimonitors.conf registers the options we share with the
stock masakari-monitors: [DEFAULT] hostname, [libvirt] connection_uri and
the [api] keystoneauth options.
"""

import masakarimonitors.conf  # noqa: F401  (registers the shared options)
from oslo_config import cfg

from masakarimonitors_ext.conf import api
from masakarimonitors_ext.conf import guest_checks
from masakarimonitors_ext.conf import notifiers
from masakarimonitors_ext.conf import nova
from masakarimonitors_ext.conf import recovery
from masakarimonitors_ext.conf import vmheartbeat

CONF = cfg.CONF

api.register_opts(CONF)
nova.register_opts(CONF)
vmheartbeat.register_opts(CONF)
guest_checks.register_opts(CONF)
notifiers.register_opts(CONF)
recovery.register_opts(CONF)
