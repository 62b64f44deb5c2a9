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

"""Options of the [vmheartbeat] group."""

from oslo_config import cfg

from masakarimonitors_ext.conf import guest_checks
from masakarimonitors_ext import exception

GROUP = cfg.OptGroup(
    'vmheartbeat',
    title='VM heartbeat monitor options',
    help="""
Options of masakari-vmheartbeatmonitor, the monitor that heartbeats
opted-in instances through the QEMU guest agent and reports the ones that
stop answering to Masakari.
""")

OPT_IN_FLAVOR = 'flavor'
OPT_IN_ALL = 'all'

opts = [
    cfg.FloatOpt('interval',
                 default=5.0, min=0.1, max=3600.0,
                 help='Seconds between two heartbeats of one instance. '
                      'A flavor may override it with the extra spec '
                      '"<extra_spec_key>_interval".'),
    cfg.FloatOpt('timeout',
                 default=2.0, min=0.05, max=3600.0,
                 help='Seconds to wait for the guest agent to answer one '
                      'heartbeat. Must not exceed "interval": a heartbeat '
                      'still unanswered when the next one is due counts as '
                      'missed. libvirt only takes whole seconds, so a call '
                      'is bounded in libvirt by the next whole second and '
                      'by this monitor at exactly this value.'),
    cfg.IntOpt('failure_threshold',
               default=3, min=1, max=100,
               help='Consecutive missed heartbeats after which an instance '
                    'is considered failed and escalated.'),
    cfg.FloatOpt('startup_grace_period',
                 default=120.0, min=0.0, max=3600.0,
                 help='Seconds a newly started or rebooted instance may take '
                      'before its guest agent first answers. Missed '
                      'heartbeats in this period are not counted.'),
    cfg.StrOpt('opt_in',
               default=OPT_IN_FLAVOR,
               choices=[
                   (OPT_IN_FLAVOR, 'Only instances whose flavor has the '
                                   'extra spec set to true (asks Nova).'),
                   (OPT_IN_ALL, 'Every running domain with an '
                                'org.qemu.guest_agent.0 channel, for '
                                'deployments without Nova.'),
               ],
               help='Which instances are heartbeated.'),
    cfg.StrOpt('extra_spec_key',
               default='masakari:vm_heartbeat',
               regex=r'^[A-Za-z0-9_.:-]{1,200}$',
               help='Flavor extra spec that opts an instance in (value '
                    '"true" or "false"), and the prefix of every other '
                    'extra spec the monitor reads: "_interval", '
                    '"_timeout" and "_failure_threshold" override the '
                    'heartbeat\'s options per flavor; "_app" and "_exec" '
                    'turn on the application heartbeat and an exec check, '
                    'each with the same suffixes (and "_startup_grace", '
                    '"_max_freeze"), "_app_audits" names the audits, '
                    '"_report_only" the failure classes reported without '
                    'recovery. Values out of the options\' bounds are '
                    'refused (the default used, one line logged).'),
    cfg.FloatOpt('optin_refresh_interval',
                 default=600.0, min=10.0, max=86400.0,
                 help='Seconds after which a cached opt-in answer from Nova '
                      'is refreshed. A domain that is redefined (resize) is '
                      'refreshed at once.'),
    cfg.FloatOpt('resync_interval',
                 default=60.0, min=1.0, max=3600.0,
                 help='Seconds between two full listings of the running '
                      'domains, on top of libvirt events.'),
    cfg.IntOpt('probe_workers',
               default=64, min=1, max=1024,
               help='Threads that carry heartbeat calls. A hung guest '
                    'holds one for as long as libvirt holds its call, '
                    'never more than one per instance.'),
    cfg.IntOpt('libvirt_connections',
               default=16, min=1, max=256,
               help='Most heartbeat calls in flight at once, each on a '
                    'libvirt connection of its own (libvirt makes a call '
                    'wait behind a stuck one on the same connection). Each '
                    'call holds a libvirtd worker, a call to a hung guest '
                    'for 5 s or more: keep this below libvirtd\'s '
                    'max_workers (default 20), and raise both on hosts '
                    'where many guests may hang at once. When every '
                    'connection is busy, heartbeats wait and count neither '
                    'as answered nor as missed.'),
    cfg.IntOpt('max_answer_bytes',
               default=4096, min=64, max=1048576,
               help='Largest guest agent answer accepted, in bytes of '
                    'UTF-8. A longer answer is treated as a wrong answer '
                    'and never parsed.'),
    cfg.StrOpt('probe_driver',
               default='guest_agent_sync',
               help='Heartbeat probe, a stevedore entry point in the '
                    'masakarimonitors_ext.vmheartbeat.probes namespace.'),
    cfg.IntOpt('retry_attempts',
               default=2, min=1, max=20,
               help='Quick re-probes made by the escalation before the '
                    'failure is confirmed.'),
    cfg.FloatOpt('retry_backoff',
                 default=0.2, min=0.0, max=60.0,
                 help='Seconds between two re-probes of the escalation.'),
    cfg.IntOpt('escalation_workers',
               default=16, min=1, max=256,
               help='Escalation flows that may run at once.'),
    cfg.StrOpt('state_path',
               default='/var/lib/masakarimonitors/vmheartbeat',
               help='Directory of the monitor\'s own state: the '
                    'escalations (escalations.sqlite), so that one '
                    'interrupted by a restart resumes without losing or '
                    'repeating its notification; the outbox of health '
                    'events not yet delivered (outbox.sqlite); the last '
                    'opt-in answers of Nova (optin.json), used while Nova '
                    'cannot be asked; and the status socket '
                    '(status.sock). It must be a directory owned by the '
                    'monitor\'s user that no group or other user can '
                    'write: the monitor refuses to start otherwise. It is '
                    'created, mode 0700, when missing.'),
    cfg.IntOpt('outbox_max_events_per_notifier',
               default=1000, min=10, max=1000000,
               help='Health events the outbox keeps for one notifier, '
                    'under "state_path". When a notifier holds that many '
                    '(its receiver down while a guest flaps, say), its '
                    'oldest event is dropped for each new one, counted and '
                    'logged once per burst: at WARNING for a best-effort '
                    'notifier, at ERROR for a required one. An event is '
                    'about 1 KiB: the default keeps a disk from filling, '
                    'and about 16 hours of a guest failing and recovering '
                    'every two minutes. When the disk is full, best-effort '
                    'events are dropped first to make room for required '
                    'ones, and what cannot be written is kept in memory '
                    '(lost at a restart) within the same bound.'),
    cfg.ListOpt('notifiers',
                default=['masakari'],
                help='Where health events are sent: stevedore entry points '
                     'in the masakarimonitors_ext.vmheartbeat.notifiers '
                     'namespace (masakari, messaging, vitrage, mistral, '
                     'log, noop). Each gets every event it takes, in '
                     'parallel with the others, and is retried on its own: '
                     'one that is down, slow or refusing delays none of '
                     'the others. Each name once.'),
    cfg.ListOpt('best_effort_notifiers',
                default=[],
                help='Notifiers, among "notifiers", whose events are given '
                     'up "best_effort_deadline" seconds after the event if '
                     'they could not be delivered by then (logged at '
                     'WARNING). The others are required: an event is kept, '
                     'across restarts, until they have it, and a failure is '
                     'reported only when every required notifier has it.'),
    cfg.FloatOpt('best_effort_deadline',
                 default=120.0, min=1.0, max=86400.0,
                 help='Seconds, from the event, during which a best-effort '
                      'notifier is retried.'),
    cfg.FloatOpt('notification_deadline',
                 default=600.0, min=1.0, max=86400.0,
                 help='Seconds, from the start of a failure, during which '
                      'a notification that failed for a transient reason '
                      '(API down or hanging, 5xx, 401) is retried with a '
                      'short, doubling backoff. After it the notification '
                      'is never dropped: it is retried every '
                      '"notification_slow_retry_interval" seconds, the '
                      'guest being probed before each try, for as long as '
                      'the instance stays failed.'),
    cfg.FloatOpt('notification_retry_interval',
                 default=2.0, min=0.1, max=600.0,
                 help='First delay between two tries of a notification; '
                      'it doubles up to 30 seconds.'),
    cfg.FloatOpt('notification_slow_retry_interval',
                 default=60.0, min=1.0, max=3600.0,
                 help='Delay between two tries of a notification after '
                      '"notification_deadline" has passed.'),
    cfg.FloatOpt('failure_cooloff',
                 default=300.0, min=1.0, max=86400.0,
                 help='Seconds after an escalation that reported nothing '
                      '(the notification was refused for good, say a 400 '
                      'or 403 from Masakari, or the escalation could not '
                      'run) before a still failing instance is escalated '
                      'again. The instance is not marked reported.'),
    cfg.FloatOpt('shutdown_timeout',
                 default=10.0, min=0.0, max=600.0,
                 help='Seconds a stopping monitor waits for running '
                      'escalations; the ones still running then are '
                      'resumed at the next start.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}


def _read_all(conf):
    """Read every option once: a bad value fails here, named."""
    groups = (('DEFAULT', ('hostname',)), ('libvirt', ('connection_uri',)),
              (GROUP.name, [opt.dest for opt in opts]),
              (guest_checks.GROUP.name,
               [opt.dest for opt in guest_checks.opts]))
    for group, names in groups:
        section = conf if group == 'DEFAULT' else conf[group]
        for name in names:
            try:
                section[name]
            except (cfg.ConfigFileValueError, ValueError) as e:
                reason = str(e).rsplit('is not valid: ', 1)[-1]
                raise exception.ConfigurationError(
                    '%s.%s' % (group, name), reason)


def check(conf):
    """Check every option value, and the relations oslo.config cannot.

    :raises: masakarimonitors_ext.exception.ConfigurationError naming the
        option.
    """
    _read_all(conf)
    group = conf.vmheartbeat
    if group.timeout > group.interval:
        raise exception.ConfigurationError(
            'vmheartbeat.timeout',
            '%s is longer than interval (%s): a heartbeat must be answered '
            'or missed before the next one is due' % (
                group.timeout, group.interval))
    if not group.notifiers:
        raise exception.ConfigurationError(
            'vmheartbeat.notifiers', 'no notifier given (use "noop" to '
            'send nothing on purpose)')
    for option, names in (('notifiers', group.notifiers),
                          ('best_effort_notifiers',
                           group.best_effort_notifiers)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise exception.ConfigurationError(
                'vmheartbeat.%s' % option, 'named more than once: %s '
                '(each notifier gets every event once)' % ', '.join(
                    repeated))
    unknown = sorted(set(group.best_effort_notifiers) - set(group.notifiers))
    if unknown:
        raise exception.ConfigurationError(
            'vmheartbeat.best_effort_notifiers', '%s not in notifiers (%s)'
            % (', '.join(unknown), ', '.join(group.notifiers)))
    if not conf.hostname:
        raise exception.ConfigurationError(
            'DEFAULT.hostname', 'empty: Masakari needs the name of this '
            'compute host')
