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

"""The instances table: adoption, lifecycle events, health, episodes.

Driven through a manager whose scheduler, prober, escalator and
inventory are fakes (see test_manager.ManagerTestCase).
"""

import types
from unittest import mock

from masakarimonitors_ext.vmheartbeat import checks
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat import health
from masakarimonitors_ext.vmheartbeat import instances
from masakarimonitors_ext.vmheartbeat import optin
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat.test_manager import A
from tests.unit.vmheartbeat.test_manager import B
from tests.unit.vmheartbeat.test_manager import domain
from tests.unit.vmheartbeat.test_manager import FakeCompute
from tests.unit.vmheartbeat.test_manager import hb
from tests.unit.vmheartbeat.test_manager import KEY
from tests.unit.vmheartbeat.test_manager import ManagerTestCase


class OptInTestCase(ManagerTestCase):

    def test_flavor_without_the_extra_spec_is_never_probed(self):
        compute = FakeCompute({A: {'hw:cpu_policy': 'dedicated'},
                               B: {KEY: 'true'}})
        policy = optin.FlavorOptIn(
            self.conf, types.SimpleNamespace(compute=compute), self.clock)
        monitor = self.make_manager(policy)
        listing = {A: domain(A), B: domain(B)}
        monitor.domains_listed(listing)
        monitor.domains_listed(listing)  # the next resync

        self.assertFalse(monitor.scheduler.watching(hb(A)))
        self.assertIsNone(monitor.instances.health_of(A))
        self.assertTrue(monitor.scheduler.watching(hb(B)))
        # a known unwatched instance is not asked about at every resync
        self.assertEqual([A, B], sorted(compute.asked))
        # and it is never heartbeated
        monitor.scheduler._cond.wait = mock.Mock(side_effect=StopIteration)
        self.clock.set(3600.0)
        with monitor.scheduler._cond:
            due = monitor.scheduler._next_due()
        self.assertEqual([hb(B)], [item[0] for item in due])

    def test_old_answers_are_refreshed_at_a_resync(self):
        self.flags(group='vmheartbeat', optin_refresh_interval=600.0)
        compute = FakeCompute({A: {KEY: 'true'}, B: {}})
        policy = optin.FlavorOptIn(
            self.conf, types.SimpleNamespace(compute=compute), self.clock)
        monitor = self.make_manager(policy)
        listing = {A: domain(A), B: domain(B)}
        monitor.domains_listed(listing)
        watched_logs = self.logger.output.count('): watched')
        self.clock.set(599.0)
        monitor.domains_listed(listing)
        self.assertEqual([A, B], sorted(compute.asked))

        # same answer after 600 s: asked again, nothing else changes
        self.clock.set(600.0)
        monitor.domains_listed(listing)
        self.assertEqual([A, A, B, B], sorted(compute.asked))
        self.assertTrue(monitor.scheduler.watching(hb(A)))
        self.assertEqual(watched_logs,
                         self.logger.output.count('): watched'))

        # the operator opted the flavor out, and B in
        compute.extra_specs = {A: {KEY: 'false'}, B: {KEY: 'true'}}
        self.clock.set(1200.0)
        monitor.domains_listed(listing)
        self.assertFalse(monitor.scheduler.watching(hb(A)))
        self.assertTrue(monitor.scheduler.watching(hb(B)))

    def test_guest_found_with_its_agent_connected_gets_a_short_grace(self):
        monitor = self.make_manager()
        # e.g. the monitor restarted: B's agent is up, A may be booting
        monitor.domains_listed({A: domain(A), B: domain(B, connected=True)})
        # interval 5 * 2 + timeout 2: B's misses count after 12 s
        self.clock.set(13.0)
        for uuid in (A, B):
            monitor.instances.on_result(hb(uuid), fakes.TIMED_OUT)
        self.assertEqual(0, monitor.instances.health_of(A).misses)
        self.assertEqual(1, monitor.instances.health_of(B).misses)
        # A still has the 60 s startup grace period
        self.clock.set(61.0)
        monitor.instances.on_result(hb(A), fakes.TIMED_OUT)
        self.assertEqual(1, monitor.instances.health_of(A).misses)

    def test_domain_without_agent_channel_is_not_watched(self):
        monitor = self.make_manager()
        monitor.domains_listed({A: domain(agent=False)})
        self.assertFalse(monitor.scheduler.watching(hb(A)))
        self.assertIn('has no org.qemu.guest_agent.0 channel',
                      self.logger.output)

    def test_nova_unknown_asks_again_at_the_next_resync(self):
        self.optin.decisions[A] = optin.OptInUnknown('Nova is down')
        monitor = self.make_manager()
        monitor.domains_listed({A: domain()})
        self.assertFalse(monitor.scheduler.watching(hb(A)))
        self.optin.decisions[A] = optin.Decision(True, fakes.settings())
        monitor.domains_listed({A: domain()})
        self.assertTrue(monitor.scheduler.watching(hb(A)))
        self.assertEqual(2, self.optin.asked[A])

    def test_domain_first_seen_paused_is_watched_once_running(self):
        monitor = self.make_manager()
        monitor.domains_listed({A: domain(running=False)})
        self.assertFalse(monitor.scheduler.watching(hb(A)))
        monitor.domains_listed({A: domain(running=True)})
        self.assertTrue(monitor.scheduler.watching(hb(A)))

    def test_started_domain_is_adopted(self):
        monitor = self.make_manager()
        monitor.domain_event(A, constants.EVENT_STARTED, 0)
        self.assertTrue(monitor.scheduler.watching(hb(A)))
        self.assertEqual(health.STARTING, self.state(monitor))

    def test_listing_older_than_an_event_does_not_forget(self):
        monitor = self.make_manager()
        monitor.domains_listed({})
        # a listing begins at 10s, a guest starts at 11s, the listing
        # (without it) is handed over at 12s
        self.clock.set(11.0)
        monitor.domain_event(A, constants.EVENT_STARTED, 0)
        self.assertTrue(monitor.scheduler.watching(hb(A)))
        self.clock.set(12.0)
        monitor.domains_listed({}, listed_at=10.0)
        self.assertTrue(monitor.scheduler.watching(hb(A)))
        self.assertIsNotNone(monitor.instances.health_of(A))
        # a listing that began after the event counts
        monitor.domains_listed({}, listed_at=11.5)
        self.assertFalse(monitor.scheduler.watching(hb(A)))

    def test_listing_older_than_a_stop_does_not_adopt_again(self):
        monitor = self.make_manager()
        monitor.domains_listed({A: domain()}, listed_at=0.0)
        self.clock.set(11.0)
        monitor.domain_event(A, constants.EVENT_STOPPED, 0)
        asked = self.optin.asked[A]
        monitor.domains_listed({A: domain()}, listed_at=10.0)
        self.assertFalse(monitor.scheduler.watching(hb(A)))
        self.assertEqual(asked, self.optin.asked[A])

    def test_redefined_domain_refreshes_the_decision(self):
        monitor = self.make_manager()
        monitor.domains_listed({A: domain()})
        self.optin.decisions[A] = optin.Decision(False,
                                                 reason='flavor changed')
        monitor.domain_event(A, constants.EVENT_REDEFINED, 1)
        self.assertFalse(monitor.scheduler.watching(hb(A)))
        self.assertIsNone(monitor.instances.health_of(A))


class HealthTestCase(ManagerTestCase):

    def setUp(self):
        super().setUp()
        self.monitor = self.make_manager()
        self.monitor.domains_listed({A: domain()})
        self.clock.set(100.0)  # past the startup grace period
        self.monitor.instances.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def test_threshold_misses_start_exactly_one_escalation(self):
        self.miss(self.monitor, 2)
        self.monitor.escalator.start.assert_not_called()
        self.miss(self.monitor)
        self.monitor.escalator.start.assert_called_once_with(
            A, evidence=mock.ANY, probe_timeout=2.0,
            failure_class=checks.CLASS_HEARTBEAT, check=checks.HEARTBEAT,
            recover=True, check_settings=None)
        evidence = self.monitor.escalator.start.call_args[1]['evidence']
        self.assertEqual(4, len(evidence))
        self.assertEqual(health.FAILED, self.state(self.monitor))
        self.miss(self.monitor, 5)
        self.assertEqual(1, self.monitor.escalator.start.call_count)

    def test_answer_resets_the_count(self):
        self.miss(self.monitor, 2)
        self.monitor.instances.on_result(hb(A), fakes.ANSWERED)
        self.miss(self.monitor, 2)
        self.monitor.escalator.start.assert_not_called()
        self.assertEqual(health.SUSPECT, self.state(self.monitor))

    def test_inconclusive_results_are_not_misses(self):
        for _ in range(10):
            self.monitor.instances.on_result(hb(A), fakes.INCONCLUSIVE)
        self.monitor.escalator.start.assert_not_called()
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def test_paused_domain_is_suppressed_and_never_escalated(self):
        self.monitor.domain_event(A, constants.EVENT_SUSPENDED, 0)
        self.assertTrue(self.monitor.instances.health_of(A).suppressed)
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))
        self.miss(self.monitor, 10)  # results of calls still in flight
        self.monitor.escalator.start.assert_not_called()

    def test_not_running_result_suppresses(self):
        self.miss(self.monitor, 2)
        self.monitor.instances.on_result(hb(A), fakes.NOT_RUNNING)
        self.assertTrue(self.monitor.instances.health_of(A).suppressed)
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))
        self.miss(self.monitor, 10)
        self.monitor.escalator.start.assert_not_called()

    def test_listing_shows_a_paused_domain(self):
        self.monitor.domains_listed({A: domain(running=False)})
        self.assertTrue(self.monitor.instances.health_of(A).suppressed)
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))
        self.monitor.domains_listed({A: domain(running=True)})
        self.assertEqual(health.STARTING, self.state(self.monitor))
        self.assertTrue(self.monitor.scheduler.watching(hb(A)))

    def test_resume_restarts_with_a_short_grace(self):
        self.monitor.domain_event(A, constants.EVENT_SUSPENDED, 0)
        self.monitor.domain_event(A, constants.EVENT_RESUMED, 0)
        self.assertTrue(self.monitor.scheduler.watching(hb(A)))
        self.assertEqual(health.STARTING, self.state(self.monitor))
        # interval 5 * 2 + timeout 2: misses count after 12s, not 60s
        self.clock.advance(11.0)
        self.miss(self.monitor)
        self.assertEqual(0, self.monitor.instances.health_of(A).misses)
        self.clock.advance(2.0)
        self.miss(self.monitor)
        self.assertEqual(1, self.monitor.instances.health_of(A).misses)

    def test_reboot_restarts_the_grace_period(self):
        self.miss(self.monitor, 2)
        self.monitor.domain_event(A, constants.EVENT_REBOOTED, 0)
        self.assertEqual(health.STARTING, self.state(self.monitor))
        self.assertEqual(0, self.monitor.instances.health_of(A).misses)
        self.clock.advance(59.0)
        self.miss(self.monitor, 10)
        self.monitor.escalator.start.assert_not_called()
        self.assertEqual(0, self.monitor.instances.health_of(A).misses)
        self.clock.advance(2.0)
        self.miss(self.monitor)
        self.assertEqual(1, self.monitor.instances.health_of(A).misses)

    def test_stopped_forgets_the_instance(self):
        self.monitor.domain_event(A, constants.EVENT_STOPPED, 5)
        self.assertIsNone(self.monitor.instances.health_of(A))
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))
        self.monitor.prober.forget.assert_called_once_with(A)
        self.miss(self.monitor, 10)
        self.monitor.escalator.start.assert_not_called()
        # a stopped instance is started again (say, by Masakari's
        # recovery): its opt-in answer is kept for when Nova is down
        self.assertEqual([], self.optin.forgotten)

    def test_undefined_forgets_the_opt_in_answer(self):
        self.monitor.domain_event(A, constants.EVENT_UNDEFINED, 0)
        self.assertIsNone(self.monitor.instances.health_of(A))
        self.assertEqual([A], self.optin.forgotten)

    def test_gone_from_the_listing_is_forgotten(self):
        self.monitor.domains_listed({})
        self.assertIsNone(self.monitor.instances.health_of(A))
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))

    def test_agent_events_probe_at_once(self):
        with mock.patch.object(self.monitor.scheduler,
                               'probe_now') as probe_now:
            self.monitor.domain_event(
                A, constants.EVENT_AGENT_DISCONNECTED, 2)
            self.monitor.domain_event(A, constants.EVENT_AGENT_CONNECTED, 2)
        self.assertEqual([mock.call(hb(A)), mock.call(hb(A))],
                         probe_now.call_args_list)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def fail_instance(self):
        self.miss(self.monitor, 3)
        self.assertEqual(health.FAILED, self.state(self.monitor))

    def test_notified_episode_reports(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A, constants.OUTCOME_NOTIFIED)
        self.assertEqual(health.REPORTED, self.state(self.monitor))
        self.miss(self.monitor, 5)
        self.assertEqual(1, self.monitor.escalator.start.call_count)
        self.monitor.instances.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def test_answered_episode_clears(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A, constants.OUTCOME_ANSWERED)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))
        self.fail_instance()
        self.assertEqual(2, self.monitor.escalator.start.call_count)

    def test_suppressed_episode_suppresses(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A, constants.OUTCOME_SUPPRESSED)
        self.assertTrue(self.monitor.instances.health_of(A).suppressed)
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))

    def test_interrupted_episode_stays_failed(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A, constants.OUTCOME_INTERRUPTED)
        self.assertEqual(health.FAILED, self.state(self.monitor))

    def test_inconclusive_episode_clears(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A,
                                              constants.OUTCOME_INCONCLUSIVE)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def test_deferred_episode_is_never_reported_and_escalates_again(self):
        self.flags(group='vmheartbeat', failure_cooloff=100.0)
        for outcome in (constants.OUTCOME_REJECTED,
                        constants.OUTCOME_ERROR):
            monitor = self.make_manager()
            monitor.domains_listed({A: domain()})
            monitor.instances.on_result(hb(A), fakes.ANSWERED)
            self.monitor = monitor
            self.fail_instance()
            monitor.instances.episode_closed(A, outcome)
            self.assertEqual(health.SUSPECT, self.state(monitor), outcome)
            # misses during the cool-off start no escalation
            self.miss(monitor, 10)
            self.assertEqual(1, monitor.escalator.start.call_count)
            self.clock.advance(100.0)
            self.miss(monitor)
            self.assertEqual(health.FAILED, self.state(monitor))
            self.assertEqual(2, monitor.escalator.start.call_count)


class InstanceRecordTestCase(ManagerTestCase):

    def test_decided(self):
        record = instances.Instance(A)
        self.assertFalse(record.decided)
        record.decision = optin.Decision(False, reason='not opted in')
        self.assertTrue(record.decided)
        record.decision = optin.Decision(True, fakes.settings())
        self.assertFalse(record.decided)  # opted in, not yet watched
        record.health = health.InstanceHealth(A, fakes.settings(), 0.0, 1.0)
        self.assertTrue(record.decided)

    def test_a_stop_keeps_only_when_it_was_last_told_of(self):
        record = instances.Instance(A, domain(), optin.Decision(False),
                                    None, touched=5.0)
        record.forget_run()
        self.assertEqual((None, None, None, 5.0),
                         (record.domain, record.decision, record.health,
                          record.touched))
