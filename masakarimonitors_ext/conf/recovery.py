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

"""Options that bound how often an instance is recovered: [recovery].

The defaults follow what mature HA systems settled on, and Masakari
itself: vSphere HA's VM monitoring resets a VM at most 3 times an hour;
Kubernetes backs restarts off, doubling up to a cap, and forgets the
back-off after a while of running well; Oxide cut its auto-restart
cool-down to 5 minutes after innocent instances were penalised by a
longer one. Masakari refuses a second notification of one instance
within ``duplicate_notification_detection_interval`` (180 s by default)
of the first as a duplicate (409): a recovery asked for sooner would be
lost, so the first back-off is that long. A flavor may override the
budget and its window (see the admin guide, "Recovery guards"), bounded
as these options are.
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'recovery',
    title='Recovery guards',
    help='How often Masakari is asked to recover one instance. A failure '
         'past these limits is still reported to every notifier, as '
         'report only.')


opts = [
    cfg.IntOpt('max_recoveries',
               default=3, min=0, max=100,
               help='Recoveries of one instance within "window" seconds; '
                    'a failure past them is reported only (event '
                    'recovery_suspended) until the oldest of them is '
                    'older than the window. 0 never recovers.'),
    cfg.FloatOpt('window',
                 default=3600.0, min=60.0, max=7 * 86400.0,
                 help='Seconds over which "max_recoveries" counts.'),
    cfg.FloatOpt('backoff_initial',
                 default=180.0, min=0.0, max=86400.0,
                 help='Least seconds between the first recovery of an '
                      'instance and its next one; each further recovery '
                      'doubles it, up to "backoff_max". A failure within '
                      'it is on hold, and escalated when it ends if the '
                      'instance still fails. Keep it at least Masakari\'s '
                      'duplicate_notification_detection_interval (180 s '
                      'by default): Masakari refuses a recovery of the '
                      'same instance sooner as a duplicate. 0 turns the '
                      'back-off off.'),
    cfg.FloatOpt('backoff_max',
                 default=600.0, min=0.0, max=86400.0,
                 help='The longest back-off between two recoveries of one '
                      'instance, in seconds.'),
    cfg.FloatOpt('backoff_reset',
                 default=1800.0, min=1.0, max=7 * 86400.0,
                 help='Seconds an instance runs without failing after a '
                      'recovery before its back-off starts again from '
                      '"backoff_initial" (its next failure is recovered '
                      'at once, within "max_recoveries").'),
    cfg.FloatOpt('storm_window',
                 default=60.0, min=1.0, max=3600.0,
                 help='Seconds within which failures of different '
                      'instances of this host count together for the '
                      'storm guard.'),
    cfg.IntOpt('storm_failures',
               default=3, min=0, max=10000,
               help='Instances of this host whose failures within '
                    '"storm_window" are recovered as they come; a further '
                    'one suggests a cause of the host or of something it '
                    'shares (storage, network, libvirtd): from it on, '
                    'every failure is reported only, and one '
                    'mass_failure_suspected event is sent, until no more '
                    'than that many instances failed within the window. '
                    '0 turns the storm guard off.'),
    cfg.FloatOpt('storm_share',
                 default=0.5, min=0.0, max=1.0,
                 help='The storm guard trips sooner on a host with few '
                      'watched instances: after this share of them '
                      '(rounded up, at least one) when that is fewer than '
                      '"storm_failures". 1.0 leaves "storm_failures" '
                      'alone.'),
    cfg.FloatOpt('max_pause',
                 default=7 * 86400.0, min=60.0, max=90 * 86400.0,
                 help='The longest maintenance pause of one instance, in '
                      'seconds, by the "pause" command or by the server '
                      'metadata "<extra_spec_key>_paused_until": a longer '
                      'one, or one without an end, is refused.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
