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

"""The adoption: which listed or started domains are watched, and how.

Driven through the inventory's listener calls, with the table and a fake
prober, escalator and inventory (see ``table.TableTestCase``).
"""

import types
from unittest import mock

from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import nova
from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat.table import A
from tests.unit.vmheartbeat.table import B
from tests.unit.vmheartbeat.table import domain
from tests.unit.vmheartbeat.table import hb
from tests.unit.vmheartbeat.table import KEY
from tests.unit.vmheartbeat.table import TableTestCase


class OptInTestCase(TableTestCase):

    def test_flavor_without_the_extra_spec_is_never_probed(self):
        compute = fakes.FakeCompute({A: {'hw:cpu_policy': 'dedicated'},
                                     B: {KEY: 'true'}})
        policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=compute)), self.clock)
        parts = self.make_parts(policy)
        listing = {A: domain(A), B: domain(B)}
        parts.domains_listed(listing)
        parts.domains_listed(listing)  # the next resync

        self.assertFalse(parts.scheduler.watching(hb(A)))
        self.assertIsNone(parts.instances.health_of(A))
        self.assertTrue(parts.scheduler.watching(hb(B)))
        # a known unwatched instance is not asked about at every resync
        self.assertEqual([A, B], sorted(compute.asked))
        # and it is never heartbeated
        parts.scheduler._cond.wait = mock.Mock(side_effect=StopIteration)
        self.clock.set(3600.0)
        with parts.scheduler._cond:
            due = parts.scheduler._next_due()
        self.assertEqual([hb(B)], [item[0] for item in due])

    def test_old_answers_are_refreshed_at_a_resync(self):
        self.flags(group='vmheartbeat', optin_refresh_interval=600.0)
        compute = fakes.FakeCompute({A: {KEY: 'true'}, B: {}})
        policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=compute)), self.clock)
        parts = self.make_parts(policy)
        listing = {A: domain(A), B: domain(B)}
        parts.domains_listed(listing)
        watched_logs = self.logger.output.count('): watched')
        self.clock.set(599.0)
        parts.domains_listed(listing)
        self.assertEqual([A, B], sorted(compute.asked))

        # same answer after 600 s: asked again, nothing else changes
        self.clock.set(600.0)
        parts.domains_listed(listing)
        self.assertEqual([A, A, B, B], sorted(compute.asked))
        self.assertTrue(parts.scheduler.watching(hb(A)))
        self.assertEqual(watched_logs,
                         self.logger.output.count('): watched'))

        # the operator opted the flavor out, and B in
        compute.servers = {A: fakes.server({KEY: 'false'}),
                           B: fakes.server({KEY: 'true'})}
        self.clock.set(1200.0)
        parts.domains_listed(listing)
        self.assertFalse(parts.scheduler.watching(hb(A)))
        self.assertTrue(parts.scheduler.watching(hb(B)))

    def test_guest_found_with_its_agent_connected_gets_a_short_grace(self):
        parts = self.make_parts()
        # e.g. the monitor restarted: B's agent is up, A may be booting
        parts.domains_listed({A: domain(A), B: domain(B, connected=True)})
        # interval 5 * 2 + timeout 2: B's misses count after 12 s
        self.clock.set(13.0)
        for uuid in (A, B):
            parts.instances.on_result(hb(uuid), fakes.TIMED_OUT)
        self.assertEqual(0, parts.instances.health_of(A).misses)
        self.assertEqual(1, parts.instances.health_of(B).misses)
        # A still has the 60 s startup grace period
        self.clock.set(61.0)
        parts.instances.on_result(hb(A), fakes.TIMED_OUT)
        self.assertEqual(1, parts.instances.health_of(A).misses)

    def test_domain_without_agent_channel_is_not_watched(self):
        parts = self.make_parts()
        parts.domains_listed({A: domain(agent=False)})
        self.assertFalse(parts.scheduler.watching(hb(A)))
        self.assertIn('has no org.qemu.guest_agent.0 channel',
                      self.logger.output)

    def test_nova_unknown_asks_again_at_the_next_resync(self):
        self.optin.decisions[A] = optin.OptInUnknown('Nova is down')
        parts = self.make_parts()
        parts.domains_listed({A: domain()})
        self.assertFalse(parts.scheduler.watching(hb(A)))
        self.optin.decisions[A] = optin.Decision(True, fakes.settings())
        parts.domains_listed({A: domain()})
        self.assertTrue(parts.scheduler.watching(hb(A)))
        self.assertEqual(2, self.optin.asked[A])

    def test_domain_first_seen_paused_is_watched_once_running(self):
        parts = self.make_parts()
        parts.domains_listed({A: domain(running=False)})
        self.assertFalse(parts.scheduler.watching(hb(A)))
        parts.domains_listed({A: domain(running=True)})
        self.assertTrue(parts.scheduler.watching(hb(A)))

    def test_started_domain_is_adopted(self):
        parts = self.make_parts()
        parts.domain_event(A, constants.EVENT_STARTED, 0)
        self.assertTrue(parts.scheduler.watching(hb(A)))
        self.assertEqual(machine.STARTING, self.state(parts))

    def test_listing_older_than_an_event_does_not_forget(self):
        parts = self.make_parts()
        parts.domains_listed({})
        # a listing begins at 10s, a guest starts at 11s, the listing
        # (without it) is handed over at 12s
        self.clock.set(11.0)
        parts.domain_event(A, constants.EVENT_STARTED, 0)
        self.assertTrue(parts.scheduler.watching(hb(A)))
        self.clock.set(12.0)
        parts.domains_listed({}, listed_at=10.0)
        self.assertTrue(parts.scheduler.watching(hb(A)))
        self.assertIsNotNone(parts.instances.health_of(A))
        # a listing that began after the event counts
        parts.domains_listed({}, listed_at=11.5)
        self.assertFalse(parts.scheduler.watching(hb(A)))

    def test_listing_older_than_a_stop_does_not_adopt_again(self):
        parts = self.make_parts()
        parts.domains_listed({A: domain()}, listed_at=0.0)
        self.clock.set(11.0)
        parts.domain_event(A, constants.EVENT_STOPPED, 0)
        asked = self.optin.asked[A]
        parts.domains_listed({A: domain()}, listed_at=10.0)
        self.assertFalse(parts.scheduler.watching(hb(A)))
        self.assertEqual(asked, self.optin.asked[A])

    def test_redefined_domain_refreshes_the_decision(self):
        parts = self.make_parts()
        parts.domains_listed({A: domain()})
        self.optin.decisions[A] = optin.Decision(False,
                                                 reason='flavor changed')
        parts.domain_event(A, constants.EVENT_REDEFINED, 1)
        self.assertFalse(parts.scheduler.watching(hb(A)))
        self.assertIsNone(parts.instances.health_of(A))
