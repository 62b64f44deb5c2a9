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

"""Options listed for oslo-config-generator (namespace masakarimonitors_ext).

Every group is named here, in the order of the sample configuration.
"""

from masakarimonitors.conf import api as mm_api
from masakarimonitors.conf import instance as mm_instance
from masakarimonitors.conf import service as mm_service

from masakarimonitors_ext.conf import api
from masakarimonitors_ext.conf import guest_checks
from masakarimonitors_ext.conf import notifiers
from masakarimonitors_ext.conf import nova
from masakarimonitors_ext.conf import recovery
from masakarimonitors_ext.conf import vmheartbeat


def list_opts():
    api_opts = list(mm_api.list_opts()[mm_api.api_group])
    return [
        ('DEFAULT', [o for o in mm_service.service_opts
                     if o.name == 'hostname']),
        ('libvirt', mm_instance.libvirt_opts),
        (mm_api.api_group, api_opts + api.opts),
        (nova.GROUP, list(nova.list_opts()[nova.GROUP])),
        (vmheartbeat.GROUP, vmheartbeat.opts),
        (guest_checks.GROUP, guest_checks.opts),
        (recovery.GROUP, recovery.opts),
        (notifiers.MESSAGING, notifiers.messaging_opts),
        (notifiers.MISTRAL, list(notifiers.list_opts()[notifiers.MISTRAL])),
        (notifiers.VITRAGE, list(notifiers.list_opts()[notifiers.VITRAGE])),
    ]
