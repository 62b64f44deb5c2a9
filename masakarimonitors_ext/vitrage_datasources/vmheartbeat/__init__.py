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

The options below are Vitrage's, in the datasource's group
(``[vmheartbeat]`` of vitrage.conf). Without ``event_signing_key`` every
event is refused.

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
    cfg.StrOpt('event_signing_key',
               secret=True,
               help='The key the monitors sign their events with: their '
                    '[vitrage] event_signing_key, at least %d characters. '
                    'Vitrage lets anyone allowed to post events post any; '
                    'an event not signed with this key is refused. Not '
                    'set: every event is refused.' % events.MIN_KEY_LENGTH),
    cfg.IntOpt('max_event_age',
               default=300, min=10, max=86400,
               help='Seconds an event\'s signed_at (the time the monitor '
                    'posted it) may be before or after the time the graph '
                    'takes it: an older event, a replay of an old one, or '
                    'one that waited longer in Vitrage\'s queue, is '
                    'refused. The clocks of the computes and of Vitrage '
                    'must agree within it.'),
    cfg.IntOpt('max_alarms',
               default=10000, min=1,
               help='The most vmheartbeat alarms kept raised: a raise of '
                    'a new alarm past it is refused (and logged) until '
                    'others are cleared.'),
]
