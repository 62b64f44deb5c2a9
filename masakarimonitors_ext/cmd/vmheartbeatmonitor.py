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
``masakari-vmheartbeatmonitor reset-budget INSTANCE|--all`` forgets the
recoveries of one instance, or of all, so that their next failures are
recovered again.
"""

import json
import os
import signal
import sys

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import uuidutils

from masakarimonitors_ext import conf
from masakarimonitors_ext.conf import vmheartbeat as vmhb_conf
from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.escalation import guards
from masakarimonitors_ext.vmheartbeat import manager
from masakarimonitors_ext.vmheartbeat import status

LOG = logging.getLogger(__name__)

PROG = 'masakari-vmheartbeatmonitor'


#: the instance a subcommand is about (its UUID), shared by them all
INSTANCE_OPT = cfg.StrOpt('instance', positional=True, required=False,
                          help='The instance (its UUID); every instance '
                               'when left out.')

STATUS_OPTS = [
    cfg.BoolOpt('json', default=False,
                help='Print the status as JSON.'),
    INSTANCE_OPT,
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
            instances = status.query(path, config.instance)
            notifiers, recovery = [], {}
        else:
            instances, notifiers, recovery = status.query_recovery(path)
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
        if recovery:
            answer['recovery'] = recovery
        print(json.dumps(answer, indent=2, sort_keys=True,
                         ensure_ascii=True))
    else:
        print(status.format_text(instances) or 'No instances on this host.')
        if notifiers:
            print(status.format_notifiers(notifiers))
        if recovery:
            print(status.format_recovery(recovery))
    return 0


RESET_OPTS = [
    cfg.BoolOpt('all', default=False,
                help='Reset the budget of every instance.'),
    INSTANCE_OPT,
]


def reset_budget_main(argv):
    """Reset recovery budgets (exit 2, with one line, when it cannot).

    The running monitor is asked through its socket; when none answers
    and none holds the budgets' file, the file is changed directly.
    """
    config = conf.CONF
    config.register_cli_opts(RESET_OPTS)
    config(argv, project='masakarimonitors', prog=PROG + ' reset-budget')
    prog = PROG + ' reset-budget'
    if bool(config.instance) == bool(config.all):
        sys.stderr.write('%s: name one INSTANCE, or --all\n' % prog)
        return 2
    if config.instance and not uuidutils.is_uuid_like(config.instance):
        sys.stderr.write('%s: %s is not an instance UUID\n' % (
            prog, guestdata.escape(config.instance, 80)))
        return 2
    instance = config.instance.lower() if config.instance else None
    what = 'every instance' if instance is None else instance
    try:
        done = status.command(status.socket_path(config),
                              manager.RESET_BUDGET, instance)
    except status.StatusError as e:
        try:
            count = guards.reset_offline(config, instance)
        except exception.ConfigurationError as error:
            count, e = None, error
        if count is None:
            sys.stderr.write('%s: %s\n' % (prog, e))
            return 2
        print('Recovery budget reset for %s (%d with recoveries kept); '
              'no monitor runs: it reads them at its start.' % (what, count))
        return 0
    print('Recovery budget reset for %s (%s with recoveries kept).' % (
        what, guestdata.escape(done.get('instances_reset'), 20)))
    return 0


SUBCOMMANDS = {'status': status_main, 'reset-budget': reset_budget_main}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
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
