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

Driven through the table and its adoption, with a fake prober, escalator
and inventory (see ``table.TableTestCase``); no manager is built.
"""

import dataclasses
import json
import types
from unittest import mock

import fixtures

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.common import nova
from masakarimonitors_ext.vmheartbeat.health import instances
from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat.health import views
from masakarimonitors_ext.vmheartbeat.probing.probes import base
from masakarimonitors_ext.vmheartbeat import status_text
from masakarimonitors_ext.vmheartbeat import verdicts
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat.table import A
from tests.unit.vmheartbeat.table import B
from tests.unit.vmheartbeat.table import domain
from tests.unit.vmheartbeat.table import hb
from tests.unit.vmheartbeat.table import KEY
from tests.unit.vmheartbeat.table import TableTestCase

#: the event kinds
RECOVERED = verdicts.EVENT_RECOVERED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

Outcome = verdicts.EpisodeOutcome


class HealthTestCase(TableTestCase):

    def setUp(self):
        super().setUp()
        self.parts = self.make_parts()
        self.parts.domains_listed({A: domain()})
        self.clock.set(100.0)  # past the startup grace period
        self.parts.instances.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual(machine.HEALTHY, self.state(self.parts))

    def test_threshold_misses_start_exactly_one_escalation(self):
        self.miss(self.parts, 2)
        self.parts.escalator.start.assert_not_called()
        self.miss(self.parts)
        self.parts.escalator.start.assert_called_once_with(
            A, evidence=mock.ANY, probe_timeout=2.0,
            failure_class=verdicts.CLASS_HEARTBEAT, check=checks.HEARTBEAT,
            recover=True, check_settings=None, status=None, recovery_run=0)
        evidence = self.parts.escalator.start.call_args[1]['evidence']
        self.assertEqual(4, len(evidence))
        self.assertEqual(machine.FAILED, self.state(self.parts))
        self.miss(self.parts, 5)
        self.assertEqual(1, self.parts.escalator.start.call_count)

    def test_answer_resets_the_count(self):
        self.miss(self.parts, 2)
        self.parts.instances.on_result(hb(A), fakes.ANSWERED)
        self.miss(self.parts, 2)
        self.parts.escalator.start.assert_not_called()
        self.assertEqual(machine.SUSPECT, self.state(self.parts))

    def test_inconclusive_results_are_not_misses(self):
        for _ in range(10):
            self.parts.instances.on_result(hb(A), fakes.INCONCLUSIVE)
        self.parts.escalator.start.assert_not_called()
        self.assertEqual(machine.HEALTHY, self.state(self.parts))

    def test_paused_domain_is_suppressed_and_never_escalated(self):
        self.parts.domain_event(A, constants.EVENT_SUSPENDED, 0)
        self.assertTrue(self.parts.instances.health_of(A).suppressed)
        self.assertFalse(self.parts.scheduler.watching(hb(A)))
        self.miss(self.parts, 10)  # results of calls still in flight
        self.parts.escalator.start.assert_not_called()

    def test_not_running_result_suppresses(self):
        self.miss(self.parts, 2)
        self.parts.instances.on_result(hb(A), fakes.NOT_RUNNING)
        self.assertTrue(self.parts.instances.health_of(A).suppressed)
        self.assertFalse(self.parts.scheduler.watching(hb(A)))
        self.miss(self.parts, 10)
        self.parts.escalator.start.assert_not_called()

    def test_listing_shows_a_paused_domain(self):
        self.parts.domains_listed({A: domain(running=False)})
        self.assertTrue(self.parts.instances.health_of(A).suppressed)
        self.assertFalse(self.parts.scheduler.watching(hb(A)))
        self.parts.domains_listed({A: domain(running=True)})
        self.assertEqual(machine.STARTING, self.state(self.parts))
        self.assertTrue(self.parts.scheduler.watching(hb(A)))

    def test_resume_restarts_with_a_short_grace(self):
        self.parts.domain_event(A, constants.EVENT_SUSPENDED, 0)
        self.parts.domain_event(A, constants.EVENT_RESUMED, 0)
        self.assertTrue(self.parts.scheduler.watching(hb(A)))
        self.assertEqual(machine.STARTING, self.state(self.parts))
        # interval 5 * 2 + timeout 2: misses count after 12s, not 60s
        self.clock.advance(11.0)
        self.miss(self.parts)
        self.assertEqual(0, self.parts.instances.health_of(A).misses)
        self.clock.advance(2.0)
        self.miss(self.parts)
        self.assertEqual(1, self.parts.instances.health_of(A).misses)

    def test_reboot_restarts_the_grace_period(self):
        self.miss(self.parts, 2)
        self.parts.domain_event(A, constants.EVENT_REBOOTED, 0)
        self.assertEqual(machine.STARTING, self.state(self.parts))
        self.assertEqual(0, self.parts.instances.health_of(A).misses)
        self.clock.advance(59.0)
        self.miss(self.parts, 10)
        self.parts.escalator.start.assert_not_called()
        self.assertEqual(0, self.parts.instances.health_of(A).misses)
        self.clock.advance(2.0)
        self.miss(self.parts)
        self.assertEqual(1, self.parts.instances.health_of(A).misses)

    def test_stopped_forgets_the_instance(self):
        self.parts.domain_event(A, constants.EVENT_STOPPED, 5)
        self.assertIsNone(self.parts.instances.health_of(A))
        self.assertFalse(self.parts.scheduler.watching(hb(A)))
        self.parts.prober.forget.assert_called_once_with(A)
        self.miss(self.parts, 10)
        self.parts.escalator.start.assert_not_called()
        # a stopped instance is started again (say, by Masakari's
        # recovery): its opt-in answer is kept for when Nova is down
        self.assertEqual([], self.optin.forgotten)

    def test_undefined_forgets_the_opt_in_answer(self):
        self.parts.domain_event(A, constants.EVENT_UNDEFINED, 0)
        self.assertIsNone(self.parts.instances.health_of(A))
        self.assertEqual([A], self.optin.forgotten)
        # and every other holder: the prober (with its connection pool)
        self.parts.prober.forget.assert_called_once_with(A)
        self.assertFalse(self.parts.scheduler.watching(hb(A)))

    def test_gone_from_the_listing_is_forgotten(self):
        self.parts.domains_listed({})
        self.assertIsNone(self.parts.instances.health_of(A))
        self.assertFalse(self.parts.scheduler.watching(hb(A)))

    def test_agent_events_probe_at_once(self):
        with mock.patch.object(self.parts.scheduler,
                               'probe_now') as probe_now:
            self.parts.domain_event(
                A, constants.EVENT_AGENT_DISCONNECTED, 2)
            self.parts.domain_event(A, constants.EVENT_AGENT_CONNECTED, 2)
        self.assertEqual([mock.call(hb(A)), mock.call(hb(A))],
                         probe_now.call_args_list)
        self.assertEqual(machine.HEALTHY, self.state(self.parts))

    def fail_instance(self):
        self.miss(self.parts, 3)
        self.assertEqual(machine.FAILED, self.state(self.parts))

    def test_notified_episode_reports(self):
        self.fail_instance()
        self.close_episode(self.parts, Outcome.NOTIFIED)
        self.assertEqual(machine.REPORTED, self.state(self.parts))
        self.miss(self.parts, 5)
        self.assertEqual(1, self.parts.escalator.start.call_count)
        self.parts.instances.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual(machine.HEALTHY, self.state(self.parts))

    def test_answered_episode_clears(self):
        self.fail_instance()
        self.close_episode(self.parts, Outcome.ANSWERED)
        self.assertEqual(machine.HEALTHY, self.state(self.parts))
        self.fail_instance()
        self.assertEqual(2, self.parts.escalator.start.call_count)

    def test_suppressed_episode_suppresses(self):
        self.fail_instance()
        self.close_episode(self.parts, Outcome.SUPPRESSED)
        self.assertTrue(self.parts.instances.health_of(A).suppressed)
        self.assertFalse(self.parts.scheduler.watching(hb(A)))

    def test_interrupted_episode_stays_failed(self):
        self.fail_instance()
        self.close_episode(self.parts, Outcome.INTERRUPTED)
        self.assertEqual(machine.FAILED, self.state(self.parts))

    def test_inconclusive_episode_clears(self):
        self.fail_instance()
        self.close_episode(self.parts, Outcome.INCONCLUSIVE)
        self.assertEqual(machine.HEALTHY, self.state(self.parts))

    def test_deferred_episode_is_never_reported_and_escalates_again(self):
        self.flags(group='vmheartbeat', failure_cooloff=100.0)
        for outcome in (Outcome.REJECTED,
                        Outcome.ERROR):
            parts = self.make_parts()
            parts.domains_listed({A: domain()})
            parts.instances.on_result(hb(A), fakes.ANSWERED)
            self.parts = parts
            self.fail_instance()
            parts.instances.episode_closed(A, outcome)
            self.assertEqual(machine.SUSPECT, self.state(parts), outcome)
            # misses during the cool-off start no escalation
            self.miss(parts, 10)
            self.assertEqual(1, parts.escalator.start.call_count)
            self.clock.advance(100.0)
            self.miss(parts)
            self.assertEqual(machine.FAILED, self.state(parts))
            self.assertEqual(2, parts.escalator.start.call_count)


class InstanceRecordTestCase(TableTestCase):

    def test_decided(self):
        record = instances.Instance(A)
        self.assertFalse(record.decided)
        record.decision = optin.Decision(False, reason='not opted in')
        self.assertTrue(record.decided)
        record.decision = optin.Decision(True, fakes.settings())
        self.assertFalse(record.decided)  # opted in, not yet watched
        record.health = machine.InstanceHealth(A, fakes.settings(), 0.0, 1.0)
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


class AppEventsTestCase(TableTestCase):
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
        self.policy = optin.FlavorOptIn(self.conf, nova.Nova(
            self.conf, types.SimpleNamespace(compute=self.compute)),
            self.clock)
        self.sink = fakes.RecordingSink()
        self.start_watching(self.sink)

    def start_watching(self, sink):
        """A and B listed, A answering past its grace."""
        self.clock.set(0.0)
        self.parts = self.make_parts(self.policy, sink)
        self.parts.escalator.escalating.return_value = False
        self.parts.domains_listed({A: domain(A), B: domain(B)})
        self.clock.set(LATER)
        self.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual(machine.HEALTHY, self.state(self.parts))

    def on_result(self, key, result):
        self.parts.instances.on_result(key, result)

    def lines(self, level):
        return [line for line in self.logger.output.splitlines()
                if line.startswith(level + ' ')]

    # snapshot()

    def test_snapshot_of_all(self):
        snapshot = self.parts.instances.snapshot()
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
        self.assertEqual(machine.HEALTHY, watched['state'])
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
                               self.parts.instances.snapshot(B)])
        self.assertEqual([], self.parts.instances.snapshot(
            '99999999-9999-9999-9999-999999999999'))

    def test_snapshot_tells_each_check_and_its_last_result(self):
        self.clock.set(LATER + 10.0)
        self.on_result(app(), APP_DEGRADED)
        self.on_result(hb(A), fakes.TIMED_OUT)
        self.clock.set(LATER + 12.5)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(machine.SUSPECT, item['state'])
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
        self.parts.escalator.escalating.return_value = True
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(machine.FAILED, item['state'])
        self.assertEqual(verdicts.CLASS_APP_FAILED, item['failure_class'])
        self.assertEqual(checks.APP, item['failed_check'])
        self.assertTrue(item['escalating'])
        self.parts.escalator.escalating.assert_called_with(A)

    def test_snapshot_of_a_suppressed_instance(self):
        self.parts.domain_event(A, constants.EVENT_SUSPENDED, 0)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(machine.SUPPRESSED, item['state'])
        self.assertEqual('paused', item['suppressed_because'])

    def test_snapshot_leaves_out_a_stopped_instance(self):
        self.parts.domain_event(A, constants.EVENT_STOPPED, 0)
        self.assertEqual([], self.parts.instances.snapshot(A))
        self.assertEqual([B], [i['instance_uuid'] for i in
                               self.parts.instances.snapshot()])
        self.assertEqual([A], self.sink.forgotten)

    def test_snapshot_of_an_instance_being_adopted(self):
        uuid = '33333333-3333-3333-3333-333333333333'
        # an adoption that has not run yet
        self.parts.executor.held = []
        self.parts.domains_listed({A: domain(A), B: domain(B),
                                   uuid: domain(uuid)})
        [item] = self.parts.instances.snapshot(uuid)
        self.assertEqual({'instance_uuid': uuid, 'name': 'instance-3333',
                          'watched': False, 'reason': 'being adopted'},
                         item)

    def test_snapshot_of_a_resumed_escalation(self):
        uuid = '33333333-3333-3333-3333-333333333333'
        self.parts.instances.mark_escalating(uuid, checks.APP)
        [item] = self.parts.instances.snapshot(uuid)
        self.assertIsNone(item['name'])
        self.assertTrue(item['watched'])
        self.assertEqual('not decided', item['reason'])
        self.assertEqual(machine.FAILED, item['state'])
        self.assertEqual(verdicts.CLASS_APP_HEARTBEAT, item['failure_class'])
        self.assertEqual([], item['report_only'])

    def test_snapshot_of_a_report_only_failure(self):
        # app_failed is report only: Masakari received nothing
        self.on_result(app(), APP_FAILED)
        self.close_episode(
            self.parts, Outcome.NOTIFIED,
            (('masakari', 'not sent: app_failed is report only'),))
        self.assertEqual(machine.REPORTED, self.state(self.parts))
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(views.REPORTED_ONLY, item['state'])
        self.assertEqual(verdicts.CLASS_APP_FAILED, item['failure_class'])
        self.assertIn('  state reported (report only: not recovered), '
                      'failure app_failed of the app check',
                      status_text.format_text([item]).splitlines())
        # answering again: healthy, as any reported failure
        self.on_result(app(), APP_HEALTHY)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(machine.HEALTHY, item['state'])

    def test_snapshot_of_a_recovered_failure_is_reported(self):
        for _ in range(3):
            self.on_result(hb(A), fakes.TIMED_OUT)
        self.close_episode(self.parts, Outcome.NOTIFIED)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(machine.REPORTED, item['state'])
        self.assertEqual(verdicts.CLASS_HEARTBEAT, item['failure_class'])
        self.assertIn('  state reported, failure heartbeat_lost of the '
                      'heartbeat check',
                      status_text.format_text([item]).splitlines())

    def test_snapshot_of_an_application_that_no_longer_answers(self):
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual((views.APP_UNKNOWN, '', None), (
            item['app_status'], item['app_details'],
            item['app_status_age']))
        self.on_result(app(), APP_DEGRADED)
        self.clock.advance(4.0)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual((verdicts.APP_DEGRADED, 'cache cold', 4.0), (
            item['app_status'], item['app_details'],
            item['app_status_age']))
        # killed: its answer is gone, or stale
        stale = base.ProbeResult(base.Outcome.WRONG_ANSWER, 'stale answer',
                                 started=0.0)
        self.on_result(app(), stale)
        self.clock.advance(1.0)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual((views.APP_UNKNOWN, '', 5.0), (
            item['app_status'], item['app_details'],
            item['app_status_age']))
        self.assertEqual(
            {'outcome': 'wrong_answer', 'detail': 'stale answer',
             'status': None, 'details': '', 'age': 1.0},
            item['checks'][checks.APP]['last'])
        self.assertIn('  application: unknown (last answer 5.0s ago)',
                      status_text.format_text([item]).splitlines())

    def test_snapshot_of_an_application_whose_check_stopped(self):
        self.on_result(app(), APP_HEALTHY)
        # paused: the checks are not run; the answer ages out
        self.parts.domain_event(A, constants.EVENT_SUSPENDED, 0)
        self.clock.advance(30.0)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(verdicts.APP_HEALTHY, item['app_status'])
        self.clock.advance(0.5)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual((views.APP_UNKNOWN, 30.5),
                         (item['app_status'], item['app_status_age']))

    def test_snapshot_without_an_application_heartbeat(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.parts.domain_event(A, constants.EVENT_REDEFINED, 0)
        [item] = self.parts.instances.snapshot(A)
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
        self.start_watching(None)
        self.on_result(app(), APP_DEGRADED)
        self.on_result(app(), APP_FAILED)
        self.assertEqual([], self.sink.events)
        self.assertEqual(1, self.parts.escalator.start.call_count)

    def test_application_failed_is_a_status_change_and_an_escalation(self):
        # the failure itself is sent by the escalation, once confirmed:
        # nothing is emitted for it at detection
        self.on_result(app(), APP_FAILED)
        self.assertEqual([(STATUS_CHANGED, checks.APP)],
                         self.sink.kinds())
        self.assertEqual(verdicts.APP_FAILED, self.sink.events[0].status)
        self.assertEqual(1, self.parts.escalator.start.call_count)
        kwargs = self.parts.escalator.start.call_args[1]
        self.assertEqual(verdicts.CLASS_APP_FAILED, kwargs['failure_class'])
        # failed exactly once
        self.on_result(app(), APP_FAILED)
        self.assertEqual(1, len(self.sink.events))

    def test_heartbeat_lost_emits_nothing_before_its_escalation(self):
        for _ in range(3):
            self.on_result(hb(A), fakes.TIMED_OUT)
        self.assertEqual([], self.sink.events)
        self.assertEqual(1, self.parts.escalator.start.call_count)
        kwargs = self.parts.escalator.start.call_args[1]
        self.assertEqual(verdicts.CLASS_HEARTBEAT, kwargs['failure_class'])

    def escalated_status(self):
        """The app status the escalation was given, for its report."""
        return self.parts.escalator.start.call_args[1]['status']

    def test_reported_then_recovered(self):
        self.on_result(app(), APP_FAILED)
        # the status the escalator's ``reported`` event carries
        self.assertEqual(verdicts.APP_FAILED, self.escalated_status())
        del self.sink.events[:]
        self.close_episode(
            self.parts, Outcome.NOTIFIED,
            (('log', 'logged'), ('masakari', 'not sent: app_failed is '
                                             'report only')))
        self.assertEqual(machine.REPORTED, self.state(self.parts))
        # the escalator sent the ``reported`` event, not the table
        self.assertEqual([], self.sink.kinds())
        # still failing: nothing new
        self.on_result(app(), APP_FAILED)
        self.assertEqual([], self.sink.events)
        self.on_result(app(), APP_HEALTHY)
        self.assertEqual(machine.HEALTHY, self.state(self.parts))
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
        self.close_episode(self.parts, Outcome.NOTIFIED)
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
        self.assertEqual(machine.FAILED, self.state(self.parts))
        self.assertEqual(verdicts.CLASS_APP_HEARTBEAT, self.parts.escalator
                         .start.call_args[1]['failure_class'])
        self.assertIsNone(self.escalated_status())

    def test_recovery_after_a_reboot_has_no_status_of_before(self):
        self.on_result(app(), APP_HEALTHY)
        for _ in range(3):
            self.on_result(hb(A), fakes.TIMED_OUT)
        self.close_episode(self.parts, Outcome.NOTIFIED)
        self.clock.advance(5.0)
        self.parts.domain_event(A, constants.EVENT_REBOOTED, 0)
        self.clock.advance(5.0)
        self.on_result(hb(A), fakes.ANSWERED)
        self.assertEqual([(STATUS_CHANGED, checks.APP),
                          (RECOVERED, checks.HEARTBEAT)],
                         self.sink.kinds())
        self.assertIsNone(self.sink.events[1].status)
        # the application answers again: its status is known again
        self.on_result(app(), APP_HEALTHY)
        [item] = self.parts.instances.snapshot(A)
        self.assertEqual(verdicts.APP_HEALTHY, item['app_status'])

    def test_a_closed_episode_is_no_event_of_the_table(self):
        for outcome in Outcome:
            del self.sink.events[:]
            self.close_episode(self.parts, outcome)
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
        self.parts.escalator.start.assert_not_called()

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
        self.parts.domain_event(A, constants.EVENT_STOPPED, 0)
        self.parts.domain_event(A, constants.EVENT_STARTED, 0)
        self.clock.advance(LATER)
        self.on_result(app(), APP_BLOCKED)
        self.assertEqual(2, len(self.lines('WARNING')))

    # Report only

    def test_recovery_asked_under_report_only_is_only_reported(self):
        self.on_result(app(), dataclasses.replace(APP_FAILED, recover=True))
        self.parts.escalator.start.assert_called_once_with(
            A, evidence=mock.ANY, probe_timeout=5.0,
            failure_class=verdicts.CLASS_APP_FAILED, check=checks.APP,
            recover=False, check_settings=mock.ANY,
            status=verdicts.APP_FAILED, recovery_run=0)
        warnings = self.lines('WARNING')
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('Instance %s: the application asks to be recovered'
                      % A, warnings[0])
        self.assertIn(verdicts.CLASS_APP_FAILED, warnings[0])
        self.assertIn('reported, not recovered', warnings[0])

    def test_report_only_without_a_recovery_request_is_quiet(self):
        self.on_result(app(), APP_FAILED)
        self.assertFalse(
            self.parts.escalator.start.call_args[1]['recover'])
        self.assertEqual([], self.lines('WARNING'))

    def test_recovery_asked_for_a_class_that_is_recovered(self):
        self.compute.servers[A] = fakes.server({KEY: 'true',
                                                KEY + '_app': 'true'})
        self.parts.domain_event(A, constants.EVENT_REDEFINED, 0)
        self.on_result(app(), dataclasses.replace(APP_FAILED, recover=True))
        kwargs = self.parts.escalator.start.call_args[1]
        self.assertTrue(kwargs['recover'])
        self.assertEqual(verdicts.CLASS_APP_FAILED, kwargs['failure_class'])
        self.assertEqual(checks.APP, kwargs['check_settings']['kind'])
        self.assertEqual([], self.lines('WARNING'))
