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

"""keystoneauth's options for each OpenStack service the monitor calls.

One group per service ([nova], [mistral], [vitrage]) holds keystoneauth's
session, auth and adapter options, with the service's type and timeout as
defaults, the way Ironic's ``conf/auth.py`` does it. A group without an
``auth_type`` borrows [api]'s credential (``keystone.get_auth``). [api]
itself is masakari-monitors' group.
"""

import copy

from keystoneauth1 import loading as ks_loading


def _with_defaults(options, service_type, timeout):
    """Copies of keystoneauth's options, with the service's defaults.

    The defaults are the options' own, not ``set_default`` overrides,
    which ``ConfigOpts.reset()`` would undo.
    """
    defaults = {'timeout': timeout, 'service_type': service_type}
    options = copy.deepcopy(options)
    for opt in options:
        if opt.dest in defaults:
            opt.default = defaults[opt.dest]
    return options


def register_auth_opts(conf, group, service_type, timeout):
    """Register keystoneauth's options in ``group``, with our defaults."""
    ks_loading.register_auth_conf_options(conf, group)
    conf.register_opts(_with_defaults(
        ks_loading.get_session_conf_options() +
        ks_loading.get_adapter_conf_options(include_deprecated=True),
        service_type, timeout), group=group)


def add_auth_opts(options, service_type, timeout):
    """``options`` and keystoneauth's, for oslo-config-generator.

    The session, auth and adapter options are listed with the defaults
    :func:`register_auth_opts` gives them.
    """
    return list(options) + _with_defaults(
        ks_loading.get_session_conf_options() +
        ks_loading.get_auth_common_conf_options() +
        ks_loading.get_adapter_conf_options(include_deprecated=False),
        service_type, timeout)
