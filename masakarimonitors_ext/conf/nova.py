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

"""Options of the [nova] group: how the monitor reaches Nova.

Nova tells which instances opted in (flavor extra specs). Without an
auth_type here, the [api] credentials are used.
"""

from oslo_config import cfg

from masakarimonitors_ext.conf import auth

GROUP = cfg.OptGroup(
    'nova',
    title='Nova client options',
    help="""
How the monitor reaches Nova's API to read flavor extra specs. The [api]
credentials are used when auth_type is not set here.
""")

#: Seconds Nova may take to answer one request (keystoneauth's [nova]
#: timeout). Nova is advisory: when it does not answer in time a failure is
#: confirmed from libvirt alone, and an opt-in answer kept from before is
#: used.
DEFAULT_TIMEOUT = 5.0
SERVICE_TYPE = 'compute'

opts = [
    cfg.StrOpt('api_microversion',
               default='2.47',
               regex=r'^2\.\d+$',
               help='Compute API microversion; 2.47 or later embeds the '
                    'flavor with its extra specs in the server.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)
    auth.register_auth_opts(conf, GROUP.name, SERVICE_TYPE, DEFAULT_TIMEOUT)


def list_opts():
    return {GROUP: auth.add_auth_opts(opts, SERVICE_TYPE, DEFAULT_TIMEOUT)}
