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

"""Options of the application-level checks: [guest_checks].

The defaults here apply to every instance whose flavor turns a check on;
the flavor's extra specs may override each of them (see the admin guide,
"Application-level health").
"""

from oslo_config import cfg

from masakarimonitors_ext.vmheartbeat import verdicts

GROUP = cfg.OptGroup(
    'guest_checks',
    title='Application-level checks',
    help='Defaults of the checks an application inside the guest answers '
         '(application heartbeat, audits) and of the exec health check, '
         'all through the QEMU guest agent.')


opts = [
    cfg.FloatOpt('app_interval',
                 default=5.0, min=0.5, max=3600.0,
                 help='Seconds between two application heartbeat '
                      'challenges.'),
    cfg.FloatOpt('app_timeout',
                 default=2.0, min=0.05, max=3600.0,
                 help='Seconds an application has to answer a challenge: '
                      'its answer is read then. Also the timeout of each '
                      'guest agent call of the check.'),
    cfg.IntOpt('app_failure_threshold',
               default=3, min=1, max=100,
               help='Application heartbeats missed in a row before the '
                    'application is failed.'),
    cfg.FloatOpt('app_startup_grace',
                 default=300.0, min=0.0, max=86400.0,
                 help='Seconds after the guest (re)starts during which '
                      'application heartbeats that are missed, or answered '
                      '"starting", are not counted.'),
    cfg.FloatOpt('audit_min_period',
                 default=5.0, min=0.5, max=86400.0,
                 help='Shortest audit period a flavor may ask for, in '
                      'seconds.'),
    cfg.FloatOpt('exec_interval',
                 default=30.0, min=1.0, max=86400.0,
                 help='Seconds between two runs of the exec health check.'),
    cfg.FloatOpt('exec_timeout',
                 default=10.0, min=0.5, max=3600.0,
                 help='Seconds the exec health check command has to exit.'),
    cfg.IntOpt('exec_failure_threshold',
               default=2, min=1, max=100,
               help='Exec health checks failed in a row before the instance '
                    'is failed.'),
    cfg.FloatOpt('exec_startup_grace',
                 default=300.0, min=0.0, max=86400.0,
                 help='Seconds after the guest (re)starts during which a '
                      'failing exec health check is not counted.'),
    cfg.MultiStrOpt('exec_allowed_commands',
                    default=[],
                    help='The commands a flavor\'s exec health check '
                         '("<extra_spec_key>_exec") may run. The command '
                         'runs as root inside the tenant\'s guest, through '
                         'its guest agent. Each value is either a whole '
                         'command line, shell-quoted (the flavor\'s '
                         'command must be exactly it, arguments included), '
                         'or an absolute directory ending with "/" (any '
                         'program directly in it, with any arguments: '
                         'never name a directory that holds a shell or an '
                         'interpreter). Repeat the option for several. '
                         'Empty, the default, turns every exec health '
                         'check off: a flavor that asks for another '
                         'command gets none, with one warning per '
                         'instance.'),
    cfg.IntOpt('max_output_bytes',
               default=4096, min=256, max=65536,
               help='Bytes of an exec check\'s output, and of an '
                    'application\'s answer, read from the guest. An '
                    'application answer larger than this is refused.'),
    cfg.StrOpt('exec_output',
               default='bounded', choices=[
                   ('bounded', 'the command runs under the guest\'s /bin/sh '
                               'with stdout and stderr merged and cut by '
                               '"head -c" one byte past max_output_bytes; '
                               'more output is a failed run'),
                   ('none', 'the command runs as it is and no output is '
                            'captured: for guests without a POSIX shell')],
               help='How the output of an exec health check is captured. '
                    'qemu-ga keeps up to 16 MiB of each output stream and '
                    'returns it all at once; libvirt carries at most 4 MiB '
                    'in one reply, and an agent reply over about 10 MiB '
                    'breaks the domain\'s agent channel until the guest '
                    'agent or the domain restarts, so the output is '
                    'bounded inside the guest.'),
    cfg.FloatOpt('max_freeze_time',
                 default=600.0, min=1.0, max=86400.0,
                 help='Seconds the guest\'s filesystems may stay frozen '
                      '(say, for a quiesced snapshot) while application '
                      'checks are held; a longer freeze is a failure of '
                      'class frozen_too_long.'),
    cfg.FloatOpt('status_event_interval',
                 default=10.0, min=0.0, max=3600.0,
                 help='Least seconds between two health-status-change '
                      'events of one instance handed to the notifiers; '
                      'within it only the latest status is kept. Failure '
                      'episodes are never held back.'),
    cfg.ListOpt('report_only',
                default=[], item_type=cfg.types.String(
                    choices=verdicts.FAILURE_CLASSES),
                help='Failure classes that are reported to the notifiers '
                     'but for which Masakari is not asked to recover the '
                     'instance. A flavor may add classes of its own. An '
                     'application reporting "degraded" is always report '
                     'only.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
