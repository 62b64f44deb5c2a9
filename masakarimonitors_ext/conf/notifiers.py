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

"""Options of the notifiers that have their own: [messaging_notifier].

The ``messaging`` notifier also reads oslo.messaging's own
``[oslo_messaging_notifications]`` group (``transport_url``, ``topics``)
and its driver's group (``[oslo_messaging_rabbit]``).
"""

from oslo_config import cfg

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


def register_opts(conf):
    conf.register_group(MESSAGING)
    conf.register_opts(messaging_opts, group=MESSAGING)


def list_opts():
    return {MESSAGING: messaging_opts}
