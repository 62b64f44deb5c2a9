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
recovered again. ``pause INSTANCE --for DURATION`` holds the escalation of
one instance for a while (a maintenance), ``resume INSTANCE`` ends it.
"""

import json
import os
import re
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
from masakarimonitors_ext.vmheartbeat import status_text

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
        print(status_text.format_text(instances) or
              'No instances on this host.')
        if notifiers:
            print(status_text.format_notifiers(notifiers))
        if recovery:
            print(status_text.format_recovery(recovery))
    return 0


RESET_OPTS = [
    cfg.BoolOpt('all', default=False,
                help='Reset the budget of every instance.'),
    INSTANCE_OPT,
]


def _ask_or_change(config, prog, name, instance, arguments, offline):
    """Ask the running monitor to run a command, or change its files.

    :param offline: ``action(guards)`` that does it in the files, for
        when no monitor answers and none holds them.
    :returns: (what was done, a dict, or None; how: 'asked' or 'offline';
        an exit code when it could not be done, else None).
    """
    try:
        return status.command(status.socket_path(config), name, instance,
                              arguments), 'asked', None
    except status.StatusError as e:
        problem = e
    try:
        done = guards.offline(config, offline)
    except (exception.ConfigurationError, ValueError) as error:
        done, problem = None, error
    if done is None:
        sys.stderr.write('%s: %s\n' % (prog, guestdata.escape(problem, 500)))
        return None, None, 2
    return done, 'offline', None


def _instance_of(config, prog):
    """The instance the command line names, or None (said on stderr)."""
    if not config.instance or not uuidutils.is_uuid_like(config.instance):
        sys.stderr.write('%s: %s is not an instance UUID\n' % (
            prog, guestdata.escape(config.instance or 'nothing', 80)))
        return None
    return config.instance.lower()


_OFFLINE = ('; no monitor runs: it reads it at its start, and no event is '
            'sent')


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
    instance = None
    if config.instance:
        instance = _instance_of(config, prog)
        if instance is None:
            return 2
    done, how, code = _ask_or_change(
        config, prog, manager.RESET_BUDGET, instance, None,
        lambda kept: {'instances_reset': kept.reset(instance)})
    if code is not None:
        return code
    print('Recovery budget reset for %s (%s with recoveries kept)%s.' % (
        'every instance' if instance is None else instance,
        guestdata.escape(done.get('instances_reset'), 20),
        _OFFLINE if how == 'offline' else ''))
    return 0


PAUSE_OPTS = [
    cfg.StrOpt('for', dest='duration',
               help='How long: a number of seconds, or with a unit: 90m, '
                    '2h, 1d. Required: a pause has an end.'),
    INSTANCE_OPT,
]

_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400}


def duration(text):
    """Seconds of a duration such as ``2h``, ``90m``, ``30s`` or ``600``.

    :raises ValueError: for anything else.
    """
    match = re.fullmatch(r'\s*(\d{1,9}(?:\.\d{1,6})?)\s*([smhd]?)\s*',
                         text or '')
    if match is None:
        raise ValueError('%s is not a duration (say 90m, 2h or 1d)' % (
            guestdata.escape(text, 40)))
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError('a pause needs an end after now')
    return seconds


def pause_main(argv):
    """Pause the escalation of one instance (exit 2 when it cannot)."""
    config = conf.CONF
    config.register_cli_opts(PAUSE_OPTS)
    prog = PROG + ' pause'
    config(argv, project='masakarimonitors', prog=prog)
    if not config.duration:
        sys.stderr.write('%s: a pause needs an end: --for DURATION (say '
                         '2h)\n' % prog)
        return 2
    instance = _instance_of(config, prog)
    if instance is None:
        return 2
    try:
        seconds = duration(config.duration)
    except ValueError as e:
        sys.stderr.write('%s: %s\n' % (prog, e))
        return 2
    done, how, code = _ask_or_change(
        config, prog, manager.PAUSE, instance, {'seconds': seconds},
        lambda kept: {'paused_until': kept.pauses.pause(instance, seconds)})
    if code is not None:
        return code
    print('Escalation of %s paused until %s%s.' % (
        instance, guestdata.escape(done.get('paused_until'), 40),
        _OFFLINE if how == 'offline' else ''))
    return 0


RESUME_OPTS = [INSTANCE_OPT]


def resume_main(argv):
    """End the operator's pause of one instance (exit 1: it had none)."""
    config = conf.CONF
    config.register_cli_opts(RESUME_OPTS)
    prog = PROG + ' resume'
    config(argv, project='masakarimonitors', prog=prog)
    instance = _instance_of(config, prog)
    if instance is None:
        return 2
    done, how, code = _ask_or_change(
        config, prog, manager.RESUME, instance, None,
        lambda kept: {'resumed': kept.pauses.resume(instance)})
    if code is not None:
        return code
    if not done.get('resumed'):
        sys.stderr.write('%s: the operator had not paused %s\n' % (
            prog, instance))
        return 1
    print('Escalation of %s resumed%s.' % (
        instance, _OFFLINE if how == 'offline' else ''))
    return 0


SUBCOMMANDS = {'status': status_main, 'reset-budget': reset_budget_main,
               'pause': pause_main, 'resume': resume_main}


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
