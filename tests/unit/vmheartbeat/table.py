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

"""The instances table and its adoption, built as the manager builds them.

A real ``Instances`` table, a real ``Adoption`` and a real
``BeatScheduler`` (never started: the test's clock stands still), with a
fake prober, escalator and inventory, and the opt-in policy the test
gives. No manager is built.
"""

import dataclasses
from unittest import mock

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.escalation import episodes
from masakarimonitors_ext.vmheartbeat.health import instances
from masakarimonitors_ext.vmheartbeat.probing import prober
from masakarimonitors_ext.vmheartbeat.probing import scheduler
from masakarimonitors_ext.vmheartbeat.watching import adoption
from masakarimonitors_ext.vmheartbeat.watching import inventory
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit import base as test_base
from tests.unit.vmheartbeat import fakes

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
KEY = 'masakari:vm_heartbeat'


def hb(instance_uuid):
    """The agent heartbeat check of an instance."""
    return checks.CheckKey(instance_uuid, checks.HEARTBEAT)


def domain(uuid=A, running=True, agent=True, connected=False):
    return inventory.Domain(uuid, 'instance-%s' % uuid[:4], agent, running,
                            connected)


def fake_prober():
    """A prober whose calls wait for a free connection.

    With the test's clock standing still, their deadline never comes.
    """
    probes = mock.Mock(spec=['submit', 'probe', 'in_flight', 'shutdown',
                             'forget', 'counts'])
    probes.counts.return_value = prober.Counts(0, 0, 0, 0)
    probes.submit.return_value = (mock.Mock(name='call'), False)
    return probes


def fake_inventory():
    """An inventory that describes every domain as :func:`domain` does."""
    libvirt = mock.Mock(spec=inventory.Inventory)
    libvirt.describe.side_effect = domain
    return libvirt


class SteppedExecutor:
    """Runs what it is given at once, in the caller's thread.

    While ``held`` is a list, it keeps the calls there instead: an
    adoption that has not run yet.
    """

    def __init__(self):
        self.held = None

    def submit(self, fn, *args, **kwargs):
        if self.held is not None:
            self.held.append((fn, args, kwargs))
            return
        fn(*args, **kwargs)

    def shutdown(self, wait=True):
        pass


@dataclasses.dataclass
class Parts:
    """What a test drives: the table, its adoption and their fakes."""

    instances: object
    adoption: object
    scheduler: object
    prober: object
    escalator: object
    inventory: object
    executor: object

    def domains_listed(self, domains, listed_at=None):
        self.adoption.domains_listed(domains, listed_at)

    def domain_event(self, instance_uuid, event, detail):
        self.adoption.domain_event(instance_uuid, event, detail)


class TableTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.clock = test_base.FakeClock(0.0)
        self.flags(group='vmheartbeat', startup_grace_period=60.0,
                   failure_threshold=3, notifiers=['noop'])
        self.optin = fakes.FakeOptIn({
            A: optin.Decision(True, fakes.settings(), 'opted in'),
            B: optin.Decision(True, fakes.settings(), 'opted in')})

    def make_parts(self, optin_policy=None, sink=None, guards=None):
        probes = fake_prober()
        beats = scheduler.BeatScheduler(probes, clock=self.clock)
        escalator = mock.Mock(spec=episodes.Escalator)
        libvirt = fake_inventory()
        table = instances.Instances(self.conf, beats, probes, escalator,
                                    sink, clock=self.clock, guards=guards)
        beats.listen(table.on_result)
        executor = SteppedExecutor()
        return Parts(table, adoption.Adoption(
            table, optin_policy or self.optin, libvirt, executor),
            beats, probes, escalator, libvirt, executor)

    def close_episode(self, parts, outcome, answers=(), uuid=A):
        """The escalator closes the episode it was started with."""
        started = parts.escalator.start.call_args
        failure = None if started is None else (
            started[1]['check'], started[1]['failure_class'])
        parts.instances.episode_closed(uuid, outcome, answers, failure)

    def state(self, parts, uuid=A):
        entry = parts.instances.health_of(uuid)
        return None if entry is None else entry.state

    def miss(self, parts, times=1, uuid=A):
        for _ in range(times):
            parts.instances.on_result(hb(uuid), fakes.TIMED_OUT)
