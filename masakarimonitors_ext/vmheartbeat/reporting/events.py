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

"""Health events: the versioned model every notifier receives.

An :class:`Event` is something that happened to the health of one
instance: a failure confirmed by its escalation (``failed``), what the
notifiers answered once every required one delivered it (``reported``),
the instance answering again after a report (``recovered``), a change
of the health status an application reports (``status_changed``), or the
recovery guards holding its recoveries back (``recovery_suspended``: its
recovery budget spent, or the back-off after a recovery, with why and
until when), a maintenance pause of its escalation starting or ending
(``pause_started``, with until when, and ``pause_ended``). One kind is
about the whole host, its ``instance_uuid``
None: the storm guard suspecting a mass failure
(``mass_failure_suspected``).

Failures reach the notifiers through their escalation flow; the other
kinds through the :class:`EventSink`, which hands them to the persisted
outbox (``outbox.Outbox``) from a thread of its own, so that a heartbeat
never waits for a disk or a receiver. Status changes are rate-limited per
instance: within ``min_interval`` of the last one sent, only the latest is
kept and sent when the interval is over. The other kinds are never dropped
by the rate limit; a queue full of them (the disk stuck) drops the newest
with one WARNING.
"""

import collections
import dataclasses
import queue
import threading
import time
import uuid

from oslo_log import log as logging
from oslo_utils import timeutils

from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)


#: severities, most severe first
ERROR = 'error'
WARNING = 'warning'
INFO = 'info'
SEVERITIES = (ERROR, WARNING, INFO)
_STATUS_SEVERITY = {verdicts.APP_FAILED: ERROR, verdicts.APP_DEGRADED: WARNING}

#: the version of :meth:`Event.to_dict`; a new field raises the minor
#: number, a changed or removed one the major number
VERSION = '1.1'

#: the namespace of the identifiers of failure events (uuid5), so that
#: every try of one failure carries the same identifier
_FAILURE_NAMESPACE = uuid.UUID('5d0c3f36-6a57-4c1e-9b0e-2f1f3f6f1a52')

_QUEUE_SIZE = 1000
# Wakes the thread: a status change was held, or the sink stops.
_WAKE = object()


def _now():
    return timeutils.utcnow().replace(microsecond=0).isoformat()


def _new_id():
    return str(uuid.uuid4())


def failure_id(instance_uuid, generated_time):
    """The identifier of a failure event: the same for every try."""
    return str(uuid.uuid5(_FAILURE_NAMESPACE, '%s/%s' % (
        instance_uuid, generated_time)))


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened to the health of one instance.

    :param kind: one of :data:`verdicts.EVENT_KINDS`.
    :param instance_uuid: the instance; None for an event about the
        whole host.
    :param hostname: this compute host.
    :param check: the check it is about (``checks.KINDS``); None for an
        event about the whole host.
    :param failure_class: for ``failed`` and ``reported``, what failed;
        else None.
    :param recover: for ``failed``: the instance is to be recovered; when
        False the failure is only reported, and a notifier that recovers
        (Masakari) does not act on it.
    :param status: the application's status (``verdicts.APP_STATES``), when
        known.
    :param details: bounded, escaped text: the application's details, or
        what the episode found.
    :param evidence: for ``failed``: the last check results and what the
        escalation found, most recent last.
    :param answers: for ``reported``: (notifier, answer) pairs, what each
        receiver answered.
    :param until: for ``recovery_suspended``: ISO 8601 UTC time at which
        the instance may be recovered again, None for never (its budget
        is 0); for ``mass_failure_suspected``, at which the host's
        instances are recovered again unless more fail.
    :param generated_time: ISO 8601 UTC time of the event; for a failure,
        the same for every try.
    :param event_id: a UUID, the same for every try of this event, so that
        a receiver can recognize a repeat.
    """

    kind: str
    instance_uuid: str
    hostname: str
    check: str
    failure_class: str = None
    recover: bool = None
    status: str = None
    details: str = ''
    evidence: tuple = ()
    answers: tuple = ()
    until: str = None
    generated_time: str = dataclasses.field(default_factory=_now)
    event_id: str = dataclasses.field(default_factory=_new_id)

    @property
    def severity(self):
        """How bad it is (:data:`SEVERITIES`).

        A failure and its report are errors, a recovery is information,
        and a status change is as bad as the status it changed to.
        """
        if self.kind in (verdicts.EVENT_FAILED, verdicts.EVENT_REPORTED,
                         verdicts.EVENT_MASS_FAILURE):
            return ERROR
        if self.kind == verdicts.EVENT_STATUS_CHANGED:
            return _STATUS_SEVERITY.get(self.status, INFO)
        if self.kind in (verdicts.EVENT_RECOVERY_SUSPENDED,
                         verdicts.EVENT_PAUSE_STARTED):
            return WARNING
        return INFO

    def to_dict(self):
        """The event as plain JSON types, with ``version``."""
        data = dataclasses.asdict(self)
        data['evidence'] = list(self.evidence)
        data['answers'] = {name: answer for name, answer in self.answers}
        data['severity'] = self.severity
        data['version'] = VERSION
        return data

    @classmethod
    def from_dict(cls, data):
        """The event :meth:`to_dict` gave (of any 1.x version).

        :raises: ValueError for anything else.
        """
        if not isinstance(data, dict):
            raise ValueError('an event is a JSON object, not %s' % (
                type(data).__name__))
        version = str(data.get('version', VERSION))
        if version.split('.')[0] != VERSION.split('.')[0]:
            raise ValueError('event version %s is not %s.x' % (
                version, VERSION.split('.')[0]))
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        answers = values.get('answers') or {}
        if not isinstance(answers, dict):
            raise ValueError('event answers are not an object')
        values['evidence'] = tuple(values.get('evidence') or ())
        values['answers'] = tuple(sorted(answers.items()))
        try:
            return cls(**values)
        except TypeError as e:
            raise ValueError('not an event: %s' % e)


class EventSink:
    """Hands events to the outbox from a thread of its own.

    :param outbox: what keeps each event until every notifier has it
        (``outbox.Outbox``, or anything with ``put(event)``).
    :param min_interval: seconds between two status-change events of one
        instance.
    """

    def __init__(self, outbox, min_interval, clock=time.monotonic):
        self._outbox = outbox
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
        if event.kind == verdicts.EVENT_STATUS_CHANGED:
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
                LOG.warning('The outbox does not keep up with health '
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
        """Hand one event to the outbox; a failure is logged."""
        try:
            self._outbox.put(event)
        except Exception as e:
            LOG.error('The %s event of instance %s is lost: the outbox '
                      'cannot keep it: %s', event.kind, event.instance_uuid,
                      e)
