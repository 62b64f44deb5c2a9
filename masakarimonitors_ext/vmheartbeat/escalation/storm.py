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

"""The storm guard: many instances of one host failing at once.

When more instances failed within ``[recovery] storm_window`` than
:func:`storm_threshold` allows, the cause is probably the host or
something its instances share (storage, network, libvirtd), and a
recovery of each would make it worse. The failures up to the threshold
are recovered as they come (the common case is one sick guest); from the
next one on, every failure is reported only, until the window holds no
more than the threshold. An instance failing again within the window
counts once. What it knows is in memory only: a restart starts it afresh.
"""

import collections
import math
import threading
import time

from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.common import budgets

LOG = logging.getLogger(__name__)

#: a storm found: why, and when it ends unless more instances fail
Storm = collections.namedtuple('Storm', 'reason until')


def storm_threshold(conf, watched):
    """How many failed instances within the storm window are recovered.

    ``[recovery] storm_failures``, or fewer on a host with few watched
    instances: ``storm_share`` of them, rounded up, at least one. None
    when the storm guard is off.
    """
    group = conf.recovery
    if not group.storm_failures:
        return None
    return min(group.storm_failures,
               max(1, math.ceil(group.storm_share * max(watched, 1))))


def _ends(failed, threshold, window):
    """When no more than ``threshold`` of these failure times are recent."""
    times = sorted(failed)
    return times[len(times) - threshold - 1] + window


class StormGuard:
    """The one owner of the host's recent failures.

    Thread safe; it touches memory only and calls nothing else.

    :param conf: the configuration (``[recovery]``).
    :param wall: ``time.time`` or a stand-in.
    """

    def __init__(self, conf, wall=time.time):
        self._conf = conf
        self._wall = wall
        self._lock = threading.Lock()
        #: {instance_uuid: wall-clock time of its failure}, in the window
        self._failed = {}
        #: when the storm guard tripped, None while it has not
        self._since = None

    def permit(self, instance_uuid, watched):
        """Count a failure of the instance; a ``Storm`` when past it.

        :param watched: how many instances this host watches.
        :returns: (``Storm`` or None, tripped): tripped is True for the
            failure that made it a storm, so that it is told once.
        """
        now = self._wall()
        threshold = storm_threshold(self._conf, watched)
        window = self._conf.recovery.storm_window
        with self._lock:
            self._failed = {uuid: at for uuid, at in self._failed.items()
                            if at > now - window}
            self._failed.setdefault(instance_uuid, now)
            count = len(self._failed)
            ended = tripped = False
            storm = None
            if threshold is None or count <= threshold:
                ended, self._since = self._since is not None, None
            else:
                tripped = self._since is None
                if tripped:
                    self._since = now
                storm = Storm(
                    'mass failure suspected: %d instances of this host '
                    'failed within %ds, more than %d' % (count, window,
                                                         threshold),
                    _ends(self._failed.values(), threshold, window))
        if ended:
            LOG.warning('Mass failure no longer suspected: %d instances '
                        'failed within %ds; failures are recovered again',
                        count, window)
        return storm, tripped

    def host(self, watched=1):
        """The storm guard's view of the host, for the status, as a dict."""
        now = self._wall()
        window = self._conf.recovery.storm_window
        with self._lock:
            failed = [at for at in self._failed.values()
                      if at > now - window]
            since = self._since
        threshold = storm_threshold(self._conf, watched)
        suspected = (since is not None and threshold is not None and
                     len(failed) > threshold)
        return {
            'mass_failure_suspected': suspected,
            'since': budgets.iso(since) if suspected else None,
            'until': (budgets.iso(_ends(failed, threshold, window))
                      if suspected else None),
            'failed_within_window': len(failed),
            'window': window,
            'threshold': threshold,
        }
