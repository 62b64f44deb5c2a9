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

"""Our additions to masakari-monitors' [api] group.

The group itself (keystoneauth session and auth options, region and
interface) is registered by masakari-monitors and shared with its monitors.
"""

from oslo_config import cfg

GROUP = 'api'

opts = [
    cfg.URIOpt('endpoint_override',
               schemes=['http', 'https'],
               help='Masakari API endpoint to use instead of the one found '
                    'in the Keystone catalog, for example '
                    'http://127.0.0.1:15868/v1 for a Masakari API that runs '
                    'with auth_strategy = noauth2 (use it with auth_type = '
                    'admin_token and token = admin:admin).'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
