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

"""Options of the notifiers that have their own.

[messaging_notifier]; [mistral] and [vitrage], each with keystoneauth's
session, auth and adapter options (the [api] credentials are used when a
group has no auth_type). The ``messaging`` notifier also reads
oslo.messaging's own ``[oslo_messaging_notifications]`` group
(``transport_url``, ``topics``) and its driver's group
(``[oslo_messaging_rabbit]``).
"""

from oslo_config import cfg

from masakarimonitors_ext.conf import auth
from masakarimonitors_ext.vmheartbeat import verdicts


MESSAGING = cfg.OptGroup(
    'messaging_notifier',
    title='oslo.messaging notifier options',
    help="""
How the "messaging" notifier sends health events as oslo.messaging
notifications. The transport and topics are oslo.messaging's own
[oslo_messaging_notifications] transport_url and topics.
""")

messaging_opts = [
    cfg.IntOpt('send_retries',
               default=1, min=0, max=10,
               help='Reconnections oslo.messaging may make within one try '
                    'of a notification. A try that fails is retried by the '
                    'monitor as the notifier\'s delivery policy says '
                    '([vmheartbeat] best_effort_notifiers); '
                    '[oslo_messaging_notifications] retry is not used, as '
                    'its default (-1) would let a try wait forever.'),
]


MISTRAL = cfg.OptGroup(
    'mistral',
    title='Mistral notifier options',
    help="""
How the "mistral" notifier reaches Mistral's API (service type
workflowv2) and which workflow it starts for each event. The [api]
credentials are used when auth_type is not set here.
""")

mistral_opts = [
    cfg.StrOpt('workflow',
               regex=r'^[^\s/]{1,255}$',
               help='Name of the Mistral workflow started with each event '
                    'as its input. Required by the "mistral" notifier.'),
    cfg.StrOpt('input_name',
               default='event',
               regex=r'^[A-Za-z_][A-Za-z0-9_]{0,63}$',
               help='Name of the workflow input that receives the event.'),
    cfg.ListOpt('event_kinds',
                default=['failed', 'recovered'],
                item_type=cfg.types.String(choices=verdicts.EVENT_KINDS),
                help='The health events that start the workflow.'),
]

VITRAGE = cfg.OptGroup(
    'vitrage',
    title='Vitrage notifier options',
    help="""
How the "vitrage" notifier reaches Vitrage's event API (service type rca)
and signs its events. The [api] credentials are used when auth_type is not
set here. Vitrage is deprecated upstream: the notifier is optional, and
off unless [vmheartbeat] notifiers names it.
""")

vitrage_opts = [
    cfg.ListOpt('event_kinds',
                default=['failed', 'recovered', 'status_changed'],
                item_type=cfg.types.String(choices=verdicts.EVENT_KINDS),
                help='The health events posted to Vitrage: a failure '
                     'raises the instance\'s alarm, a recovery clears it; '
                     'an application status failed or degraded raises its '
                     'application alarm, healthy clears it.'),
    cfg.StrOpt('event_signing_key',
               secret=True,
               help='The key each event is signed with (HMAC-SHA256), at '
                    'least 16 characters: the [vmheartbeat] '
                    'event_signing_key of vitrage.conf, whose vmheartbeat '
                    'datasource refuses the events not signed with it. '
                    'Required by the "vitrage" notifier.'),
]

#: seconds each of these services may take to answer one request
#: (keystoneauth's timeout of its group)
DEFAULT_TIMEOUTS = {'mistral': 30.0, 'vitrage': 10.0}
SERVICE_TYPES = {'mistral': 'workflowv2', 'vitrage': 'rca'}


def register_opts(conf):
    conf.register_group(MESSAGING)
    conf.register_opts(messaging_opts, group=MESSAGING)
    for group, opts in ((MISTRAL, mistral_opts), (VITRAGE, vitrage_opts)):
        conf.register_group(group)
        conf.register_opts(opts, group=group)
        auth.register_auth_opts(conf, group.name, SERVICE_TYPES[group.name],
                                DEFAULT_TIMEOUTS[group.name])


def list_opts():
    return {MESSAGING: messaging_opts,
            MISTRAL: auth.add_auth_opts(mistral_opts, SERVICE_TYPES['mistral'],
                                        DEFAULT_TIMEOUTS['mistral']),
            VITRAGE: auth.add_auth_opts(vitrage_opts, SERVICE_TYPES['vitrage'],
                                        DEFAULT_TIMEOUTS['vitrage'])}
