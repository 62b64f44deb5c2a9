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


"""The ``vmheartbeat`` Vitrage datasource: VM health alarms on instances.

The monitor's ``vitrage`` notifier posts its events to Vitrage's event API
(``POST /v1/event``); this datasource turns each into an alarm on the
``nova.instance`` the event names, or clears it. Vitrage's own ``doctor``
datasource can only put an alarm on a host.

This module imports oslo.config only, so that Vitrage can register the
options below without loading the driver.
"""

from oslo_config import cfg

from masakarimonitors_ext.vitrage_datasources.vmheartbeat import events

VMHEARTBEAT_DATASOURCE = events.DATASOURCE

OPTS = [
    cfg.StrOpt('transformer',
               default='masakarimonitors_ext.vitrage_datasources.'
                       'vmheartbeat.transformer.VmHeartbeatTransformer',
               help='vmheartbeat transformer class path',
               required=True),
    cfg.StrOpt('driver',
               default='masakarimonitors_ext.vitrage_datasources.'
                       'vmheartbeat.driver.VmHeartbeatDriver',
               help='vmheartbeat driver class path',
               required=True),
    cfg.StrOpt('update_method',
               default='push',
               help='push: the alarms come only from events posted to '
                    'Vitrage\'s event API; there is nothing to poll.',
               required=True),
]
