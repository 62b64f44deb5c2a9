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

"""Health events handed to the notifiers, off the heartbeat path.

Every change of an application's reported health status, and every
failure episode (failed, reported, recovered), becomes an :class:`Event`
that each configured notifier receives through its ``event()`` method.
Events go through a bounded queue to one thread, so a slow notifier never
holds a heartbeat. Status changes are rate-limited per instance: within
``min_interval`` of the last one sent, only the latest is kept and sent
when the interval is over. Failure episodes are never dropped by the rate
limit; a queue full of them (the notifiers stuck) drops the newest with
one WARNING.
"""

import collections
import dataclasses
import queue
import threading
import time

from oslo_log import log as logging
from oslo_utils import timeutils

LOG = logging.getLogger(__name__)

STATUS_CHANGED = 'status_changed'
FAILED = 'failed'
REPORTED = 'reported'
RECOVERED = 'recovered'
KINDS = (STATUS_CHANGED, FAILED, REPORTED, RECOVERED)

_QUEUE_SIZE = 1000
# Wakes the thread: a status change was held, or the sink stops.
_WAKE = object()


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened to the health of one instance.

    :param kind: one of :data:`KINDS`.
    :param instance_uuid: the instance.
    :param hostname: this compute host.
    :param check: the check it is about (``checks.KINDS``).
    :param failure_class: for an episode, what failed; else None.
    :param status: the application's status (``checks.APP_STATES``), when
        known.
    :param details: bounded, escaped text: the application's details, or
        what the episode found.
    :param generated_time: ISO 8601 UTC time of the event.
    """

    kind: str
    instance_uuid: str
    hostname: str
    check: str
    failure_class: str = None
    status: str = None
    details: str = ''
    generated_time: str = dataclasses.field(
        default_factory=lambda: timeutils.utcnow().isoformat())


class EventSink:
    """Hands events to the notifiers from a thread of its own.

    :param notifiers: a list of (name, ``notifiers.base.Notifier``).
    :param min_interval: seconds between two status-change events of one
        instance.
    """

    def __init__(self, notifiers, min_interval, clock=time.monotonic):
        self._notifiers = notifiers
        self._min_interval = min_interval
        self._clock = clock
        self._queue = queue.Queue(maxsize=_QUEUE_SIZE)
        self._lock = threading.Lock()
        self._last_status = {}
        self._held = collections.OrderedDict()
        self._dropped = 0
        self._thread = None
        self._stopping = threading.Event()

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='vmhb-events')
        self._thread.start()

    def stop(self, timeout=2.0):
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)

    def _wake(self):
        try:
            self._queue.put_nowait(_WAKE)
        except queue.Full:
            pass  # the thread is busy and looks again after each event

    def emit(self, event):
        """Queue an event; never blocks the caller."""
        if event.kind == STATUS_CHANGED:
            with self._lock:
                last = self._last_status.get(event.instance_uuid)
                now = self._clock()
                if last is not None and now - last < self._min_interval:
                    # keep only the latest; sent when the interval is over
                    self._held[event.instance_uuid] = event
                    self._wake()
                    return
                self._last_status[event.instance_uuid] = now
                # NOTE: one held before is older than this one: dropped
                self._held.pop(event.instance_uuid, None)
        self._put(event)

    def forget(self, instance_uuid):
        with self._lock:
            self._last_status.pop(instance_uuid, None)
            self._held.pop(instance_uuid, None)

    def _put(self, event):
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self._dropped += 1
                first = self._dropped == 1
            if first:
                LOG.warning('The notifiers do not keep up with health '
                            'events; dropping new ones (instance %s, %s)',
                            event.instance_uuid, event.kind)

    def _release_held(self):
        """Queue the held events now due.

        :returns: seconds until the next one is due, None when none is held.
        """
        now = self._clock()
        due, wait = [], None
        with self._lock:
            for instance_uuid, event in list(self._held.items()):
                last = self._last_status.get(instance_uuid)
                left = 0 if last is None else (
                    last + self._min_interval - now)
                if left <= 0:
                    del self._held[instance_uuid]
                    self._last_status[instance_uuid] = now
                    due.append(event)
                else:
                    wait = left if wait is None else min(wait, left)
        for event in due:
            self._put(event)
        return wait

    def _run(self):
        # NOTE: blocks until an event comes, or until a held status change
        # is due: an idle monitor does not wake for nothing.
        while not self._stopping.is_set():
            wait = self._release_held()
            try:
                event = self._queue.get(timeout=wait)
            except queue.Empty:
                continue
            if event is not _WAKE:
                self.deliver(event)

    def deliver(self, event):
        """Hand one event to every notifier; a failing one is logged."""
        for name, notifier in self._notifiers:
            try:
                notifier.event(event)
            except Exception as e:
                LOG.warning('Notifier %s could not take the %s event of '
                            'instance %s: %s', name, event.kind,
                            event.instance_uuid, e)
