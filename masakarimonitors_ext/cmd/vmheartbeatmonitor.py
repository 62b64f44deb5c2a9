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
"""

import signal
import sys

from oslo_log import log as logging

from masakarimonitors_ext import conf
from masakarimonitors_ext.conf import vmheartbeat as vmhb_conf
from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import manager

LOG = logging.getLogger(__name__)

PROG = 'masakari-vmheartbeatmonitor'


def main(argv=None):
    config = conf.CONF
    logging.register_options(config)
    config(sys.argv[1:] if argv is None else argv,
           project='masakarimonitors', prog=PROG)
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
