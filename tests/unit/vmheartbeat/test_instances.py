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

import dataclasses
import json
import types
from unittest import mock

import fixtures

from masakarimonitors_ext.vmheartbeat import checks
from masakarimonitors_ext.vmheartbeat import constants
from masakarimonitors_ext.vmheartbeat import health
from masakarimonitors_ext.vmheartbeat import instances
from masakarimonitors_ext.vmheartbeat import nova
from masakarimonitors_ext.vmheartbeat import optin
from masakarimonitors_ext.vmheartbeat.probes import base
from masakarimonitors_ext.vmheartbeat import status
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat.test_manager import A
from tests.unit.vmheartbeat.test_manager import B
from tests.unit.vmheartbeat.test_manager import domain
from tests.unit.vmheartbeat.test_manager import hb
from tests.unit.vmheartbeat.test_manager import KEY
from tests.unit.vmheartbeat.test_manager import ManagerTestCase

#: the event kinds
RECOVERED = verdicts.EVENT_RECOVERED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

Outcome = verdicts.EpisodeOutcome


class OptInTestCase(ManagerTestCase):

    def test_flavor_without_the_extra_spec_is_never_probed(self):
        compute = fakes.FakeCompute({A: {'hw:cpu_policy': 'dedicated'},
                                     B: {KEY: 'true'}})
        policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=compute)), self.clock)
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
        compute = fakes.FakeCompute({A: {KEY: 'true'}, B: {}})
        policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=compute)), self.clock)
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
        compute.servers = {A: fakes.server({KEY: 'false'}),
                           B: fakes.server({KEY: 'true'})}
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
            failure_class=verdicts.CLASS_HEARTBEAT, check=checks.HEARTBEAT,
            recover=True, check_settings=None, status=None)
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
        # and every other holder: the prober (with its connection pool)
        self.monitor.prober.forget.assert_called_once_with(A)
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))

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
        self.monitor.instances.episode_closed(A, Outcome.NOTIFIED)
        self.assertEqual(health.REPORTED, self.state(self.monitor))
        self.miss(self.monitor, 5)
        self.assertEqual(1, self.monitor.escalator.start.call_count)
        self.monitor.instances.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def test_answered_episode_clears(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A, Outcome.ANSWERED)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))
        self.fail_instance()
        self.assertEqual(2, self.monitor.escalator.start.call_count)

    def test_suppressed_episode_suppresses(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A, Outcome.SUPPRESSED)
        self.assertTrue(self.monitor.instances.health_of(A).suppressed)
        self.assertFalse(self.monitor.scheduler.watching(hb(A)))

    def test_interrupted_episode_stays_failed(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A, Outcome.INTERRUPTED)
        self.assertEqual(health.FAILED, self.state(self.monitor))

    def test_inconclusive_episode_clears(self):
        self.fail_instance()
        self.monitor.instances.episode_closed(A,
                                              Outcome.INCONCLUSIVE)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def test_deferred_episode_is_never_reported_and_escalates_again(self):
        self.flags(group='vmheartbeat', failure_cooloff=100.0)
        for outcome in (Outcome.REJECTED,
                        Outcome.ERROR):
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


def app(uuid=A):
    """The application heartbeat of an instance."""
    return checks.CheckKey(uuid, checks.APP)


def app_result(outcome=base.Outcome.ANSWERED, status=verdicts.APP_HEALTHY,
               details='', failure_class=None, recover=False):
    return base.ProbeResult(outcome, started=0.0, status=status,
                            details=details, failure_class=failure_class,
                            recover=recover)


APP_HEALTHY = app_result()
APP_DEGRADED = app_result(status=verdicts.APP_DEGRADED, details='cache cold')
APP_FAILED = app_result(base.Outcome.FAILED, verdicts.APP_FAILED, 'db down',
                        verdicts.CLASS_APP_FAILED)
APP_BLOCKED = base.ProbeResult(base.Outcome.BLOCKED, 'guest-file-open is '
                               'disabled', started=0.0)
#: past the startup grace of the heartbeat (60 s) and of the app (300 s)
LATER = 1000.0


class AppEventsTestCase(ManagerTestCase):
    """Snapshots and health events of an instance with an app check.

    A has the agent heartbeat and an application heartbeat (its flavor
    says ``<KEY>_app``), with app_failed (and others) set to report only;
    B is not watched.
    """

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level='DEBUG', format='%(levelname)s %(message)s'))
        self.flags(group='vmheartbeat',
                   state_path=self.useFixture(fixtures.TempDir()).path)
        self.flags(hostname='compute-1')
        self.compute = fakes.FakeCompute({
            A: {KEY: 'true', KEY + '_app': 'true',
                KEY + '_report_only': 'exec_check_failed, app_heartbeat_lost,'
                                      'audit_failed, app_failed'},
            B: {KEY: 'false'}})
        policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=self.compute)),
            self.clock)
        self.monitor = self.make_manager(policy)
        self.monitor.escalator.escalating.return_value = False
        self.sink = fakes.RecordingSink()
        self.monitor.instances.events = self.sink
        self.monitor.domains_listed({A: domain(A), B: domain(B)})
        self.clock.set(LATER)
        self.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))

    def on_result(self, key, result):
        self.monitor.instances.on_result(key, result)

    def lines(self, level):
        return [line for line in self.logger.output.splitlines()
                if line.startswith(level + ' ')]

    # snapshot()

    def test_snapshot_of_all(self):
        snapshot = self.monitor.instances.snapshot()
        self.assertEqual([A, B], [i['instance_uuid'] for i in snapshot])
        watched, unwatched = snapshot
        self.assertEqual({'instance_uuid': B, 'name': 'instance-2222',
                          'watched': False,
                          'reason': 'flavor extra spec %s=false' % KEY},
                         unwatched)
        self.assertEqual('instance-1111', watched['name'])
        self.assertTrue(watched['watched'])
        self.assertEqual('flavor extra spec %s=true' % KEY,
                         watched['reason'])
        self.assertEqual(health.HEALTHY, watched['state'])
        self.assertIsNone(watched['failure_class'])
        self.assertIsNone(watched['failed_check'])
        self.assertIsNone(watched['suppressed_because'])
        self.assertFalse(watched['escalating'])
        self.assertEqual([verdicts.CLASS_APP_FAILED,
                          verdicts.CLASS_APP_HEARTBEAT, verdicts.CLASS_AUDIT,
                          verdicts.CLASS_EXEC], watched['report_only'])
        self.assertEqual({checks.HEARTBEAT, checks.APP},
                         set(watched['checks']))
        self.assertEqual({'interval': 5.0, 'timeout': 2.0,
                          'failure_threshold': 3, 'misses': 0,
                          'last': None}, watched['checks'][checks.APP])
        # it is what the status socket sends
        self.assertEqual(snapshot, json.loads(json.dumps(snapshot)))

    def test_snapshot_of_one(self):
        self.assertEqual([B], [i['instance_uuid'] for i in
                               self.monitor.instances.snapshot(B)])
        self.assertEqual([], self.monitor.instances.snapshot(
            '99999999-9999-9999-9999-999999999999'))

    def test_snapshot_tells_each_check_and_its_last_result(self):
        self.clock.set(LATER + 10.0)
        self.on_result(app(), APP_DEGRADED)
        self.on_result(hb(A), fakes.TIMED_OUT)
        self.clock.set(LATER + 12.5)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(health.SUSPECT, item['state'])
        self.assertEqual(verdicts.APP_DEGRADED, item['app_status'])
        self.assertEqual('cache cold', item['app_details'])
        self.assertEqual({'outcome': 'answered', 'detail': '',
                          'status': verdicts.APP_DEGRADED,
                          'details': 'cache cold', 'age': 2.5},
                         item['checks'][checks.APP]['last'])
        heartbeat = item['checks'][checks.HEARTBEAT]
        self.assertEqual(1, heartbeat['misses'])
        self.assertEqual('timed_out', heartbeat['last']['outcome'])
        self.assertEqual(fakes.TIMED_OUT.detail, heartbeat['last']['detail'])
        self.assertEqual(2.5, heartbeat['last']['age'])

    def test_snapshot_of_a_failed_instance(self):
        self.on_result(app(), APP_FAILED)
        self.monitor.escalator.escalating.return_value = True
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(health.FAILED, item['state'])
        self.assertEqual(verdicts.CLASS_APP_FAILED, item['failure_class'])
        self.assertEqual(checks.APP, item['failed_check'])
        self.assertTrue(item['escalating'])
        self.monitor.escalator.escalating.assert_called_with(A)

    def test_snapshot_of_a_suppressed_instance(self):
        self.monitor.domain_event(A, constants.EVENT_SUSPENDED, 0)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(health.SUPPRESSED, item['state'])
        self.assertEqual('paused', item['suppressed_because'])

    def test_snapshot_leaves_out_a_stopped_instance(self):
        self.monitor.domain_event(A, constants.EVENT_STOPPED, 0)
        self.assertEqual([], self.monitor.instances.snapshot(A))
        self.assertEqual([B], [i['instance_uuid'] for i in
                               self.monitor.instances.snapshot()])
        self.assertEqual([A], self.sink.forgotten)

    def test_snapshot_of_an_instance_being_adopted(self):
        uuid = '33333333-3333-3333-3333-333333333333'
        # an adoption that has not run yet
        self.monitor.instances._adopter = mock.Mock()
        self.monitor.domains_listed({A: domain(A), B: domain(B),
                                     uuid: domain(uuid)})
        [item] = self.monitor.instances.snapshot(uuid)
        self.assertEqual({'instance_uuid': uuid, 'name': 'instance-3333',
                          'watched': False, 'reason': 'being adopted'},
                         item)

    def test_snapshot_of_a_resumed_escalation(self):
        uuid = '33333333-3333-3333-3333-333333333333'
        self.monitor.instances.mark_escalating(uuid, checks.APP)
        [item] = self.monitor.instances.snapshot(uuid)
        self.assertIsNone(item['name'])
        self.assertTrue(item['watched'])
        self.assertEqual('not decided', item['reason'])
        self.assertEqual(health.FAILED, item['state'])
        self.assertEqual(verdicts.CLASS_APP_HEARTBEAT, item['failure_class'])
        self.assertEqual([], item['report_only'])

    def test_snapshot_of_a_report_only_failure(self):
        # app_failed is report only: Masakari received nothing
        self.on_result(app(), APP_FAILED)
        self.monitor.instances.episode_closed(
            A, Outcome.NOTIFIED,
            (('masakari', 'not sent: app_failed is report only'),))
        self.assertEqual(health.REPORTED, self.state(self.monitor))
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(status.REPORTED_ONLY, item['state'])
        self.assertEqual(verdicts.CLASS_APP_FAILED, item['failure_class'])
        self.assertIn('  state reported (report only: not recovered), '
                      'failure app_failed of the app check',
                      status.format_text([item]).splitlines())
        # answering again: healthy, as any reported failure
        self.on_result(app(), APP_HEALTHY)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(health.HEALTHY, item['state'])

    def test_snapshot_of_a_recovered_failure_is_reported(self):
        for _ in range(3):
            self.on_result(hb(A), fakes.TIMED_OUT)
        self.monitor.instances.episode_closed(A, Outcome.NOTIFIED)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(health.REPORTED, item['state'])
        self.assertEqual(verdicts.CLASS_HEARTBEAT, item['failure_class'])
        self.assertIn('  state reported, failure heartbeat_lost of the '
                      'heartbeat check',
                      status.format_text([item]).splitlines())

    def test_snapshot_of_an_application_that_no_longer_answers(self):
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual((status.APP_UNKNOWN, '', None), (
            item['app_status'], item['app_details'],
            item['app_status_age']))
        self.on_result(app(), APP_DEGRADED)
        self.clock.advance(4.0)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual((verdicts.APP_DEGRADED, 'cache cold', 4.0), (
            item['app_status'], item['app_details'],
            item['app_status_age']))
        # killed: its answer is gone, or stale
        stale = base.ProbeResult(base.Outcome.WRONG_ANSWER, 'stale answer',
                                 started=0.0)
        self.on_result(app(), stale)
        self.clock.advance(1.0)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual((status.APP_UNKNOWN, '', 5.0), (
            item['app_status'], item['app_details'],
            item['app_status_age']))
        self.assertEqual(
            {'outcome': 'wrong_answer', 'detail': 'stale answer',
             'status': None, 'details': '', 'age': 1.0},
            item['checks'][checks.APP]['last'])
        self.assertIn('  application: unknown (last answer 5.0s ago)',
                      status.format_text([item]).splitlines())

    def test_snapshot_of_an_application_whose_check_stopped(self):
        self.on_result(app(), APP_HEALTHY)
        # paused: the checks are not run; the answer ages out
        self.monitor.domain_event(A, constants.EVENT_SUSPENDED, 0)
        self.clock.advance(30.0)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(verdicts.APP_HEALTHY, item['app_status'])
        self.clock.advance(0.5)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual((status.APP_UNKNOWN, 30.5),
                         (item['app_status'], item['app_status_age']))

    def test_snapshot_without_an_application_heartbeat(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.monitor.domain_event(A, constants.EVENT_REDEFINED, 0)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual((None, '', None), (
            item['app_status'], item['app_details'],
            item['app_status_age']))

    # Events

    def test_a_status_change_is_an_event(self):
        self.on_result(app(), APP_HEALTHY)
        self.on_result(app(), APP_HEALTHY)  # the same: no event
        self.on_result(hb(A), fakes.ANSWERED)  # no status: no event
        self.on_result(app(), APP_DEGRADED)
        self.assertEqual([(STATUS_CHANGED, checks.APP)] * 2,
                         self.sink.kinds())
        first, second = self.sink.events
        self.assertEqual((A, 'compute-1', verdicts.APP_HEALTHY, '', None),
                         (first.instance_uuid, first.hostname, first.status,
                          first.details, first.failure_class))
        self.assertEqual((verdicts.APP_DEGRADED, 'cache cold'),
                         (second.status, second.details))

    def test_no_event_without_a_sink(self):
        self.monitor.instances.events = None
        self.on_result(app(), APP_DEGRADED)
        self.on_result(app(), APP_FAILED)
        self.assertEqual([], self.sink.events)
        self.assertEqual(1, self.monitor.escalator.start.call_count)

    def test_application_failed_is_a_status_change_and_an_escalation(self):
        # the failure itself is sent by the escalation, once confirmed:
        # nothing is emitted for it at detection
        self.on_result(app(), APP_FAILED)
        self.assertEqual([(STATUS_CHANGED, checks.APP)],
                         self.sink.kinds())
        self.assertEqual(verdicts.APP_FAILED, self.sink.events[0].status)
        self.assertEqual(1, self.monitor.escalator.start.call_count)
        kwargs = self.monitor.escalator.start.call_args[1]
        self.assertEqual(verdicts.CLASS_APP_FAILED, kwargs['failure_class'])
        # failed exactly once
        self.on_result(app(), APP_FAILED)
        self.assertEqual(1, len(self.sink.events))

    def test_heartbeat_lost_emits_nothing_before_its_escalation(self):
        for _ in range(3):
            self.on_result(hb(A), fakes.TIMED_OUT)
        self.assertEqual([], self.sink.events)
        self.assertEqual(1, self.monitor.escalator.start.call_count)
        kwargs = self.monitor.escalator.start.call_args[1]
        self.assertEqual(verdicts.CLASS_HEARTBEAT, kwargs['failure_class'])

    def escalated_status(self):
        """The app status the escalation was given, for its report."""
        return self.monitor.escalator.start.call_args[1]['status']

    def test_reported_then_recovered(self):
        self.on_result(app(), APP_FAILED)
        # the status the escalator's ``reported`` event carries
        self.assertEqual(verdicts.APP_FAILED, self.escalated_status())
        del self.sink.events[:]
        self.monitor.instances.episode_closed(
            A, Outcome.NOTIFIED,
            (('log', 'logged'), ('masakari', 'not sent: app_failed is '
                                             'report only')))
        self.assertEqual(health.REPORTED, self.state(self.monitor))
        # the escalator sent the ``reported`` event, not the table
        self.assertEqual([], self.sink.kinds())
        # still failing: nothing new
        self.on_result(app(), APP_FAILED)
        self.assertEqual([], self.sink.events)
        self.on_result(app(), APP_HEALTHY)
        self.assertEqual(health.HEALTHY, self.state(self.monitor))
        self.assertEqual([(STATUS_CHANGED, checks.APP),
                          (RECOVERED, checks.APP)], self.sink.kinds())
        recovered = self.sink.events[1]
        self.assertEqual(verdicts.APP_HEALTHY, recovered.status)
        # what it recovered from
        self.assertEqual(verdicts.CLASS_APP_FAILED, recovered.failure_class)
        self.assertTrue(recovered.details.startswith('answering again: '))

    def test_reported_heartbeat_failure(self):
        for _ in range(3):
            self.on_result(hb(A), fakes.TIMED_OUT)
        self.monitor.instances.episode_closed(A, Outcome.NOTIFIED)
        self.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual([(RECOVERED, checks.HEARTBEAT)], self.sink.kinds())
        self.assertEqual(verdicts.CLASS_HEARTBEAT,
                         self.sink.events[0].failure_class)

    def test_report_of_a_dead_application_has_no_status(self):
        self.on_result(app(), APP_HEALTHY)
        stale = base.ProbeResult(base.Outcome.WRONG_ANSWER, 'stale answer',
                                 started=0.0)
        for _ in range(3):
            self.on_result(app(), stale)
        self.assertEqual(health.FAILED, self.state(self.monitor))
        self.assertEqual(verdicts.CLASS_APP_HEARTBEAT, self.monitor.escalator
                         .start.call_args[1]['failure_class'])
        self.assertIsNone(self.escalated_status())

    def test_recovery_after_a_reboot_has_no_status_of_before(self):
        self.on_result(app(), APP_HEALTHY)
        for _ in range(3):
            self.on_result(hb(A), fakes.TIMED_OUT)
        self.monitor.instances.episode_closed(A, Outcome.NOTIFIED)
        self.clock.advance(5.0)
        self.monitor.domain_event(A, constants.EVENT_REBOOTED, 0)
        self.clock.advance(5.0)
        self.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual([(STATUS_CHANGED, checks.APP),
                          (RECOVERED, checks.HEARTBEAT)],
                         self.sink.kinds())
        self.assertIsNone(self.sink.events[1].status)
        # the application answers again: its status is known again
        self.on_result(app(), APP_HEALTHY)
        [item] = self.monitor.instances.snapshot(A)
        self.assertEqual(verdicts.APP_HEALTHY, item['app_status'])

    def test_a_closed_episode_is_no_event_of_the_table(self):
        for outcome in Outcome:
            del self.sink.events[:]
            self.monitor.instances.episode_closed(A, outcome)
            self.assertEqual([], self.sink.events, outcome)

    def test_answer_without_a_report_is_no_recovered_event(self):
        self.on_result(app(), APP_DEGRADED)
        self.on_result(hb(A), fakes.TIMED_OUT)
        self.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual([STATUS_CHANGED],
                         [e.kind for e in self.sink.events])

    # The guest agent's policy

    def test_blocked_check_is_logged_once_and_again_when_it_runs(self):
        for _ in range(3):
            self.on_result(app(), APP_BLOCKED)
        warnings = self.lines('WARNING')
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('Instance %s' % A, warnings[0])
        self.assertIn('the app check', warnings[0])
        self.assertIn(', '.join(checks.AGENT_COMMANDS[checks.APP]),
                      warnings[0])
        self.assertIn('guest-file-open is disabled', warnings[0])
        # no verdict is not running again
        self.on_result(app(), fakes.INCONCLUSIVE)
        self.assertNotIn('runs the app check again', self.logger.output)
        self.on_result(app(), APP_HEALTHY)
        self.on_result(app(), APP_HEALTHY)
        again = [line for line in self.lines('INFO')
                 if 'runs the app check again' in line]
        self.assertEqual(['INFO Instance %s: the guest agent runs the app '
                          'check again' % A], again)
        # refused again: told again
        self.on_result(app(), APP_BLOCKED)
        self.assertEqual(2, len(self.lines('WARNING')))
        # never a failure
        self.monitor.escalator.start.assert_not_called()

    def test_blocked_is_per_check(self):
        self.on_result(app(), APP_BLOCKED)
        self.on_result(hb(A), base.ProbeResult(
            base.Outcome.BLOCKED, 'guest-sync is disabled', started=0.0))
        self.on_result(app(), APP_BLOCKED)
        warnings = self.lines('WARNING')
        self.assertEqual(2, len(warnings), warnings)
        self.assertIn('the heartbeat check', warnings[1])
        self.assertIn('guest-sync', warnings[1])

    def test_blocked_is_logged_again_after_a_restart_of_the_domain(self):
        self.on_result(app(), APP_BLOCKED)
        self.monitor.domain_event(A, constants.EVENT_STOPPED, 0)
        self.monitor.domain_event(A, constants.EVENT_STARTED, 0)
        self.clock.advance(LATER)
        self.on_result(app(), APP_BLOCKED)
        self.assertEqual(2, len(self.lines('WARNING')))

    # Report only

    def test_recovery_asked_under_report_only_is_only_reported(self):
        self.on_result(app(), dataclasses.replace(APP_FAILED, recover=True))
        self.monitor.escalator.start.assert_called_once_with(
            A, evidence=mock.ANY, probe_timeout=5.0,
            failure_class=verdicts.CLASS_APP_FAILED, check=checks.APP,
            recover=False, check_settings=mock.ANY,
            status=verdicts.APP_FAILED)
        warnings = self.lines('WARNING')
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('Instance %s: the application asks to be recovered'
                      % A, warnings[0])
        self.assertIn(verdicts.CLASS_APP_FAILED, warnings[0])
        self.assertIn('reported, not recovered', warnings[0])

    def test_report_only_without_a_recovery_request_is_quiet(self):
        self.on_result(app(), APP_FAILED)
        self.assertFalse(
            self.monitor.escalator.start.call_args[1]['recover'])
        self.assertEqual([], self.lines('WARNING'))

    def test_recovery_asked_for_a_class_that_is_recovered(self):
        self.compute.servers[A] = fakes.server({KEY: 'true',
                                                KEY + '_app': 'true'})
        self.monitor.domain_event(A, constants.EVENT_REDEFINED, 0)
        self.on_result(app(), dataclasses.replace(APP_FAILED, recover=True))
        kwargs = self.monitor.escalator.start.call_args[1]
        self.assertTrue(kwargs['recover'])
        self.assertEqual(verdicts.CLASS_APP_FAILED, kwargs['failure_class'])
        self.assertEqual(checks.APP, kwargs['check_settings']['kind'])
        self.assertEqual([], self.lines('WARNING'))
