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

"""Fakes of the monitor's parts, shared by the vmheartbeat tests."""

import collections
import contextlib
import threading
import types

from openstack import exceptions as sdk_exc

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat import verdicts
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit import base as test_base


def result(outcome=base.Outcome.ANSWERED, detail='', started=0.0,
           duration=0.0):
    return base.ProbeResult(outcome, detail, started, duration)


ANSWERED = result()
TIMED_OUT = result(base.Outcome.TIMED_OUT, 'libvirt error 86: Guest agent '
                   'is not responding: Guest agent not available for now')
NOT_CONNECTED = result(base.Outcome.NOT_CONNECTED, 'libvirt error 86: '
                       'QEMU guest agent is not connected')
NOT_RUNNING = result(base.Outcome.NOT_RUNNING, 'libvirt error 55: domain '
                     'is not running')
INCONCLUSIVE = result(base.Outcome.INCONCLUSIVE, 'libvirtd not reachable')


def settings(interval=5.0, timeout=2.0, failure_threshold=3):
    return checks.heartbeat(interval, timeout, failure_threshold)


class FakePool:
    """A ``ConnectionPool`` whose domains are the instance UUIDs."""

    def __init__(self):
        self.waits = []
        self.tiers = []
        self.errors = {}
        #: an Event: while set to one, every call waits for a connection
        #: until it is set
        self.gate = None
        self.waiting = threading.Event()
        self.resets = 0
        self.forgotten = []

    @contextlib.contextmanager
    def domain(self, instance_uuid, wait, tier=0):
        self.waits.append((instance_uuid, wait))
        self.tiers.append((instance_uuid, tier))
        if self.gate is not None:
            self.waiting.set()
            self.gate.wait(test_base.WAIT)
        error = self.errors.get(instance_uuid)
        if error is not None:
            raise error
        yield instance_uuid

    @contextlib.contextmanager
    def lease(self, instance_uuid, wait, tier=0):
        with self.domain(instance_uuid, wait, tier) as dom:
            yield FakeLease(dom)

    def reset_broken(self):
        self.resets += 1

    def forget(self, instance_uuid):
        self.forgotten.append(instance_uuid)


class FakeLease:
    """A ``connections.Lease`` that never lets its connection go."""

    def __init__(self, domain):
        self.domain = domain
        self.longest_hold = 0.0
        self.idles = []

    def idle(self, seconds):
        self.idles.append(seconds)
        return self.domain

    def let_go(self):
        pass


class ScriptedDriver(base.ProbeDriver):
    """A probe driver the test steers, per instance.

    ``results[uuid]`` is returned (answered by default). ``hold(uuid)``
    makes the calls of that instance block until ``release(uuid)``, like a
    hung guest that holds its libvirt call.
    """

    def __init__(self):
        self.results = {}
        self.calls = collections.Counter()
        self.entered = test_base.SharedDefaultDict(threading.Event)
        self._gates = {}
        self._lock = threading.Lock()

    def hold(self, instance_uuid):
        self._gates[instance_uuid] = threading.Event()

    def release(self, instance_uuid, result=None):
        if result is not None:
            self.results[instance_uuid] = result
        gate = self._gates.pop(instance_uuid, None)
        if gate is not None:
            gate.set()

    def release_all(self):
        for instance_uuid in list(self._gates):
            self.release(instance_uuid)

    def probe(self, domain, timeout, check=None, memo=None, idle=None):
        with self._lock:
            self.calls[domain] += 1
        self.entered[domain].set()
        gate = self._gates.get(domain)
        if gate is not None:
            gate.wait(test_base.WAIT)
        return self.results.get(domain, ANSWERED)


class FakeInventory:
    """The inventory as the escalation sees it: libvirt's domain states."""

    def __init__(self, states=None):
        self.states = states or {}
        self.error = None

    def domain_state(self, instance_uuid):
        if self.error is not None:
            raise self.error
        return self.states.get(instance_uuid)


class FakeOptIn(optin.OptInPolicy):
    """Answers from ``decisions`` (not watched when missing)."""

    def __init__(self, decisions=None):
        self.decisions = decisions or {}
        self.asked = collections.Counter()
        self.forgotten = []

    def decide(self, instance_uuid, refresh=False):
        self.asked[instance_uuid] += 1
        decision = self.decisions.get(instance_uuid)
        if isinstance(decision, Exception):
            raise decision
        return decision or optin.Decision(False, reason='not opted in')

    def forget(self, instance_uuid):
        self.forgotten.append(instance_uuid)


class FakeNova:
    """``nova.Nova``: task states from ``task_states`` (None when missing).

    A task state that is an exception is raised.
    """

    def __init__(self, task_states=None):
        self.task_states = task_states or {}

    def task_state(self, instance_uuid):
        task_state = self.task_states.get(instance_uuid)
        if isinstance(task_state, Exception):
            raise task_state
        return task_state


class RecordingNotifier:
    """A notifier that records what it delivered.

    ``errors`` are raised, one per call, before it starts delivering. It
    takes every event kind unless given ``kinds``. While ``gate`` is a
    ``threading.Event``, each call sets ``entered`` and waits for the gate
    (a receiver that hangs). ``on_try(n, event)``, when given, runs at the
    n-th call (from 1) before anything else. ``wait_until`` waits for a
    condition on the notifier, checked after each call. It recovers (as
    Masakari does: the escalation delivers its failures) unless
    ``recovers`` is False.
    """

    kinds = verdicts.EVENT_KINDS

    def __init__(self, errors=(), kinds=None, gate=None, on_try=None,
                 recovers=True):
        self.errors = list(errors)
        self.recovers = recovers
        if kinds is not None:
            self.kinds = tuple(kinds)
        self.gate = gate
        self.on_try = on_try
        self.entered = threading.Event()
        self.tries = 0
        self.delivered = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def notify(self, event):
        with self._lock:
            self.tries += 1
            tries = self.tries
        try:
            if self.on_try is not None:
                self.on_try(tries, event)
            if self.gate is not None:
                self.entered.set()
                self.gate.wait(test_base.WAIT)
            with self._lock:
                if self.errors:
                    raise self.errors.pop(0)
                self.delivered.append(event)
            return 'delivered'
        finally:
            with self._changed:
                self._changed.notify_all()

    def wait_until(self, predicate, what):
        """Wait for ``predicate(self)``; AssertionError if it never holds."""
        with self._changed:
            if self._changed.wait_for(lambda: predicate(self),
                                      test_base.WAIT):
                return True
        raise AssertionError('timed out waiting for %s' % what)

    def wait_delivered(self, count):
        """Wait for ``count`` deliveries."""
        self.wait_until(lambda n: len(n.delivered) >= count,
                        '%d deliveries' % count)


def transient_error():
    return exception.TransientNotificationError('Masakari answered 503')


def permanent_error():
    return exception.PermanentNotificationError('Masakari answered 400')


def server(extra_specs, task_state=None, metadata=None):
    """A Nova server as openstacksdk gives it, its flavor embedded."""
    flavor = {'original_name': 'm1.small'}
    if extra_specs is not None:
        flavor['extra_specs'] = extra_specs
    return types.SimpleNamespace(flavor=flavor, task_state=task_state,
                                 metadata=metadata or {})


class FakeCompute:
    """openstacksdk's compute proxy, as ``nova.Nova`` uses it.

    :ivar servers: {instance UUID: :func:`server`}; any other is not found,
        as openstacksdk raises it.
    :ivar error: raised by every call while set.
    :ivar asked: the UUIDs asked for, in order.
    """

    def __init__(self, extra_specs=None):
        self.servers = {uuid: server(specs)
                        for uuid, specs in (extra_specs or {}).items()}
        self.error = None
        self.asked = []

    def get_server(self, instance_uuid):
        self.asked.append(instance_uuid)
        if self.error is not None:
            raise self.error
        if instance_uuid not in self.servers:
            raise sdk_exc.NotFoundException('No Server found for %s' % (
                instance_uuid,))
        return self.servers[instance_uuid]


class RecordingOutbox:
    """An ``outbox.Outbox`` that records what it is given.

    ``until`` events set ``done``; ``error``, when set, is raised by each
    ``put`` (after recording it).
    """

    def __init__(self, error=None, until=1):
        self.error = error
        self.events = []
        self.until = until
        self.done = threading.Event()

    def put(self, event):
        self.events.append(event)
        if len(self.events) >= self.until:
            self.done.set()
        if self.error is not None:
            raise self.error


class RecordingSink:
    """An ``events.EventSink`` that keeps what it is given."""

    def __init__(self):
        self.events = []
        self.forgotten = []

    def emit(self, event):
        self.events.append(event)

    def forget(self, instance_uuid):
        self.forgotten.append(instance_uuid)

    def kinds(self):
        return [(e.kind, e.check) for e in self.events]
