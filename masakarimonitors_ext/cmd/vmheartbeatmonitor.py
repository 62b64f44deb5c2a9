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

"""masakari-vmheartbeatmonitor: heartbeat VMs through the QEMU guest agent.

Reads the masakari-monitors configuration (``--config-file``), runs in the
foreground and stops cleanly on SIGTERM or SIGINT.

``masakari-vmheartbeatmonitor status [--json] [INSTANCE]`` asks the running
monitor, through its local socket, what it knows of the instances.
"""

import json
import os
import signal
import sys

from oslo_config import cfg
from oslo_log import log as logging

from masakarimonitors_ext import conf
from masakarimonitors_ext.conf import vmheartbeat as vmhb_conf
from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat import manager
from masakarimonitors_ext.vmheartbeat import status

LOG = logging.getLogger(__name__)

PROG = 'masakari-vmheartbeatmonitor'


STATUS_OPTS = [
    cfg.BoolOpt('json', default=False,
                help='Print the status as JSON.'),
    cfg.StrOpt('instance', positional=True, required=False,
               help='Only this instance (its UUID).'),
]


def status_main(argv):
    """Print the running monitor's status (exit 1: unknown instance).

    Exit 2, with one line, when the monitor cannot be asked or its socket
    is not to be trusted (``status.query``). What the monitor answered is
    printed escaped, as text or as ASCII JSON.
    """
    config = conf.CONF
    config.register_cli_opts(STATUS_OPTS)
    config(argv, project='masakarimonitors', prog=PROG + ' status')
    path = status.socket_path(config)
    try:
        if config.instance:
            instances, notifiers = status.query(path, config.instance), []
        else:
            instances, notifiers = status.query_host(path)
    except status.StatusError as e:
        sys.stderr.write('%s status: %s\n' % (PROG, e))
        return 2
    if config.instance and not instances:
        sys.stderr.write('%s status: the monitor does not know instance %s '
                         'on this host\n' % (
                             PROG, guestdata.escape(config.instance)))
        return 1
    if config.json:
        # NOTE: ensure_ascii (the default): every control and non-ASCII
        # character of the monitor's answer is printed as a \u escape.
        answer = {'instances': instances}
        if not config.instance:
            answer['notifiers'] = notifiers
        print(json.dumps(answer, indent=2, sort_keys=True,
                         ensure_ascii=True))
    else:
        print(status.format_text(instances) or 'No instances on this host.')
        if notifiers:
            print(status.format_notifiers(notifiers))
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['status']:
        return status_main(argv[1:])
    config = conf.CONF
    logging.register_options(config)
    config(argv, project='masakarimonitors', prog=PROG)
    # the monitor's state, logs and socket are its user's alone
    os.umask(0o077)
    logging.setup(config, PROG)
    try:
        vmhb_conf.check(config)
        monitor = manager.VMHeartbeatManager(config)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: monitor.stop())
        monitor.run()
    except exception.ConfigurationError as e:
        error = e
    else:
        return 0
    LOG.error('%s', error)
    if not config.use_stderr:
        sys.stderr.write('%s: %s\n' % (PROG, error))
    return 2


if __name__ == '__main__':
    sys.exit(main())
