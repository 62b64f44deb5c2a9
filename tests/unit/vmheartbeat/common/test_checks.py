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

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base

A = '11111111-1111-1111-1111-111111111111'
KEY = 'masakari:vm_heartbeat'
APP_DEFAULTS = checks.CheckSettings(checks.APP, 5.0, 2.0, 3, 300.0,
                                    max_freeze=600.0)
EXEC_DEFAULTS = checks.CheckSettings(checks.EXEC, 30.0, 10.0, 2, 300.0,
                                     max_freeze=600.0)
DEFAULTS = {checks.APP: APP_DEFAULTS, checks.EXEC: EXEC_DEFAULTS}


#: the exec commands the tests' operator allows
ALLOWED = ('/bin/', '/usr/bin/')


def parse(extra_specs, report_only=(), audit_min_period=5.0,
          exec_allowed_commands=ALLOWED):
    return checks.from_extra_specs(extra_specs, KEY, DEFAULTS,
                                   audit_min_period, report_only,
                                   exec_allowed_commands)


class CheckKeyTestCase(base.TestCase):

    def test_str(self):
        self.assertEqual(A + '/app', str(checks.CheckKey(A, checks.APP)))
        self.assertEqual(A + '/heartbeat',
                         str(checks.CheckKey(A, checks.HEARTBEAT)))

    def test_is_a_tuple_key(self):
        key = checks.CheckKey(A, checks.EXEC)
        self.assertEqual((A, 'exec'), tuple(key))
        self.assertEqual(key, checks.CheckKey(A, checks.EXEC))
        self.assertNotEqual(key, checks.CheckKey(A, checks.APP))
        self.assertEqual(1, len({key, checks.CheckKey(A, checks.EXEC)}))


class CheckSettingsTestCase(base.TestCase):

    def test_call_timeout_of_exec_is_one_more_second(self):
        self.assertEqual(11.0, EXEC_DEFAULTS.call_timeout)

    def test_call_timeout_of_app_covers_its_six_agent_calls(self):
        # three times the timeout...
        self.assertEqual(6.0, dataclasses.replace(
            APP_DEFAULTS, interval=10.0).call_timeout)
        # ...never more than the interval
        self.assertEqual(5.0, APP_DEFAULTS.call_timeout)

    def test_round_trip(self):
        for settings in (
                dataclasses.replace(APP_DEFAULTS,
                                    audits=(('db', 60.0), ('disk', 5.0))),
                dataclasses.replace(EXEC_DEFAULTS,
                                    command=('/usr/bin/check', '-v'),
                                    max_freeze=30.0)):
            self.assertEqual(settings, checks.CheckSettings.from_dict(
                settings.to_dict()))
            # as kept in a JSON file: tuples come back as lists
            rebuilt = checks.CheckSettings.from_dict(json.loads(json.dumps(
                settings.to_dict())))
            self.assertEqual(settings, rebuilt)
            self.assertIsInstance(rebuilt.command, tuple)
            self.assertIsInstance(rebuilt.audits, tuple)

    def test_to_dict(self):
        body = dataclasses.replace(EXEC_DEFAULTS,
                                   command=('/bin/true',)).to_dict()
        self.assertEqual({'kind': 'exec', 'interval': 30.0, 'timeout': 10.0,
                          'failure_threshold': 2, 'startup_grace': 300.0,
                          'command': ('/bin/true',), 'audits': (),
                          'max_freeze': 600.0}, body)

    def test_from_dict_casts_and_defaults(self):
        settings = checks.CheckSettings.from_dict(
            {'kind': 'app', 'interval': '5', 'timeout': 2,
             'failure_threshold': '3'})
        self.assertEqual(checks.CheckSettings(checks.APP, 5.0, 2.0, 3),
                         settings)
        self.assertIsInstance(settings.failure_threshold, int)
        self.assertIsInstance(settings.interval, float)
        self.assertEqual(0.0, settings.startup_grace)
        self.assertEqual(600.0, settings.max_freeze)


class DefaultsTestCase(base.TestCase):

    def test_read_from_guest_checks(self):
        self.flags(group='guest_checks', app_interval=7.0, app_timeout=1.5,
                   app_failure_threshold=4, app_startup_grace=90.0,
                   exec_interval=60.0, exec_timeout=20.0,
                   exec_failure_threshold=5, exec_startup_grace=45.0,
                   max_freeze_time=120.0)
        self.assertEqual(
            {checks.APP: checks.CheckSettings(checks.APP, 7.0, 1.5, 4, 90.0,
                                              max_freeze=120.0),
             checks.EXEC: checks.CheckSettings(checks.EXEC, 60.0, 20.0, 5,
                                               45.0, max_freeze=120.0)},
            checks.defaults(self.conf))

    def test_shipped_defaults(self):
        self.assertEqual(DEFAULTS, checks.defaults(self.conf))


class FromExtraSpecsAppTestCase(base.TestCase):

    def test_no_checks(self):
        self.assertEqual(((), frozenset(), ()), parse({KEY: 'true'}))

    def test_app_on_with_defaults(self):
        for value in ('true', 'True', '1', 'yes', 'on'):
            found, classes, problems = parse({KEY + '_app': value})
            self.assertEqual((APP_DEFAULTS,), found, value)
            self.assertEqual((), problems)

    def test_app_off(self):
        for value in ('false', '0', 'no', 'off'):
            found, _, problems = parse({KEY + '_app': value,
                                        KEY + '_app_interval': '9'})
            self.assertEqual((), found, value)
            self.assertEqual((), problems)

    def test_app_not_a_boolean(self):
        found, _, problems = parse({KEY + '_app': 'maybe'})
        self.assertEqual((), found)
        self.assertEqual(1, len(problems))
        self.assertIn("%s_app='maybe' is not true or false" % KEY,
                      problems[0])

    def test_app_overrides(self):
        found, _, problems = parse({
            KEY + '_app': 'true', KEY + '_app_interval': '10',
            KEY + '_app_timeout': '4', KEY + '_app_failure_threshold': '6',
            KEY + '_app_startup_grace': '0',
            KEY + '_app_max_freeze': '900'})
        self.assertEqual((checks.CheckSettings(checks.APP, 10.0, 4.0, 6, 0.0,
                                               max_freeze=900.0),), found)
        self.assertIsInstance(found[0].failure_threshold, int)
        self.assertEqual((), problems)

    def test_bad_override_uses_the_default(self):
        # each bounded as its [guest_checks] option is
        for spec, bad in (('_app_interval', 'soon'), ('_app_interval', '0'),
                          ('_app_interval', '0.05'),
                          ('_app_interval', '0.49'),
                          ('_app_interval', '1e-9'),
                          ('_app_interval', 'nan'),
                          ('_app_interval', '86401'),
                          ('_app_timeout', '-1'),
                          ('_app_timeout', '3601'),
                          ('_app_failure_threshold', '2.5'),
                          ('_app_failure_threshold', '0'),
                          ('_app_failure_threshold', '101'),
                          ('_app_startup_grace', '-1'),
                          ('_app_max_freeze', ''),
                          ('_app_max_freeze', '0')):
            found, _, problems = parse({KEY + '_app': 'true',
                                        KEY + spec: bad})
            self.assertEqual((APP_DEFAULTS,), found, (spec, bad))
            self.assertEqual(1, len(problems), (spec, bad))
            self.assertIn(KEY + spec + '=%r' % bad, problems[0])

    def test_one_bad_override_keeps_the_good_ones(self):
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_interval': 'never',
                                    KEY + '_app_failure_threshold': '7'})
        self.assertEqual((dataclasses.replace(APP_DEFAULTS,
                                              failure_threshold=7),), found)
        self.assertEqual(1, len(problems))

    def test_timeout_longer_than_interval(self):
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_interval': '3',
                                    KEY + '_app_timeout': '4',
                                    KEY + '_app_failure_threshold': '5'})
        self.assertEqual((dataclasses.replace(APP_DEFAULTS,
                                              failure_threshold=5),), found)
        self.assertEqual(1, len(problems))
        self.assertIn('timeout 4.0 is longer than interval 3.0', problems[0])

    def test_timeout_longer_than_the_default_interval(self):
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_timeout': '6'})
        self.assertEqual((APP_DEFAULTS,), found)
        self.assertIn('timeout 6.0 is longer than interval 5.0', problems[0])

    def test_audits(self):
        found, _, problems = parse({
            KEY + '_app': 'true',
            KEY + '_app_audits': 'db:60, disk-space:5,, tls.cert_1:86400'})
        self.assertEqual((('db', 60.0), ('disk-space', 5.0),
                          ('tls.cert_1', 86400.0)), found[0].audits)
        self.assertEqual((), problems)

    def test_audits_without_the_app_are_ignored(self):
        found, _, problems = parse({KEY + '_app_audits': 'db:60'})
        self.assertEqual((), found)
        self.assertEqual((), problems)

    def assertNoAudits(self, audits, why, audit_min_period=5.0):
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_audits': audits},
                                   audit_min_period=audit_min_period)
        # the application heartbeat stays, without audits
        self.assertEqual((APP_DEFAULTS,), found, audits)
        self.assertEqual(1, len(problems), audits)
        self.assertIn('%s_app_audits=%r' % (KEY, audits), problems[0])
        self.assertIn(why, problems[0])
        self.assertIn('no audits', problems[0])

    def test_audit_bad_name(self):
        for audits in ('DB:60', 'db', ':60', '_db:60', 'd b:60',
                       'db/x:60', 'a' * 33 + ':60'):
            self.assertNoAudits(audits, 'is not name:period')

    def test_audit_longest_name(self):
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_audits': 'a' * 32 + ':60'})
        self.assertEqual((('a' * 32, 60.0),), found[0].audits)
        self.assertEqual((), problems)

    def test_audit_bad_period(self):
        for audits in ('db:soon', 'db:', 'db:60,disk:x'):
            self.assertNoAudits(audits, 'could not convert string to float')

    def test_audit_period_out_of_range(self):
        for audits in ('db:nan', 'db:inf', 'db:86401', 'db:-5', 'db:4.9'):
            self.assertNoAudits(audits, 'period of db is not from 5.0 to')

    def test_audit_period_below_the_configured_minimum(self):
        self.assertNoAudits('db:20', 'period of db is not from 30.0 to',
                            audit_min_period=30.0)
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_audits': 'db:30'},
                                   audit_min_period=30.0)
        self.assertEqual((('db', 30.0),), found[0].audits)
        self.assertEqual((), problems)

    def test_audit_named_twice(self):
        self.assertNoAudits('db:60,disk:10,db:30', 'db named twice')

    def test_audit_limit(self):
        sixteen = ','.join('a%d:60' % i for i in range(16))
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_audits': sixteen})
        self.assertEqual(16, len(found[0].audits))
        self.assertEqual((), problems)
        self.assertNoAudits(sixteen + ',a16:60', 'more than 16 audits')


class FromExtraSpecsExecTestCase(base.TestCase):

    def test_command_is_split_like_a_shell(self):
        found, _, problems = parse({
            KEY + '_exec': '/usr/bin/check --name "my app" \'a b\' x\\ y'})
        self.assertEqual((dataclasses.replace(
            EXEC_DEFAULTS, command=('/usr/bin/check', '--name', 'my app',
                                    'a b', 'x y')),), found)
        self.assertEqual((), problems)

    def test_exec_overrides(self):
        found, _, problems = parse({
            KEY + '_exec': '/bin/true', KEY + '_exec_interval': '120',
            KEY + '_exec_timeout': '60', KEY + '_exec_failure_threshold': '1',
            KEY + '_exec_startup_grace': '10',
            KEY + '_exec_max_freeze': '30'})
        self.assertEqual((checks.CheckSettings(
            checks.EXEC, 120.0, 60.0, 1, 10.0, command=('/bin/true',),
            max_freeze=30.0),), found)
        self.assertEqual((), problems)

    def test_app_overrides_do_not_touch_the_exec_check(self):
        found, _, _ = parse({KEY + '_app': 'true',
                             KEY + '_app_interval': '10',
                             KEY + '_exec': '/bin/true'})
        app, exe = found
        self.assertEqual(10.0, app.interval)
        self.assertEqual(EXEC_DEFAULTS.interval, exe.interval)
        self.assertEqual(checks.EXEC, exe.kind)

    def test_bad_exec_override_uses_the_default(self):
        found, _, problems = parse({KEY + '_exec': '/bin/true',
                                    KEY + '_exec_timeout': 'forever'})
        self.assertEqual(EXEC_DEFAULTS.timeout, found[0].timeout)
        self.assertEqual(('/bin/true',), found[0].command)
        self.assertEqual(1, len(problems))
        self.assertIn(KEY + '_exec_timeout', problems[0])

    def test_exec_timeout_longer_than_interval(self):
        found, _, problems = parse({KEY + '_exec': '/bin/true',
                                    KEY + '_exec_timeout': '40'})
        self.assertEqual(EXEC_DEFAULTS.timeout, found[0].timeout)
        self.assertEqual(EXEC_DEFAULTS.interval, found[0].interval)
        self.assertIn('timeout 40.0 is longer than interval 30.0',
                      problems[0])

    def assertRefused(self, command, why):
        found, _, problems = parse({KEY + '_exec': command,
                                    KEY + '_exec_interval': '60'})
        self.assertEqual((), found, command)
        self.assertEqual(1, len(problems), command)
        self.assertIn('%s_exec=' % KEY, problems[0])
        self.assertIn(why, problems[0])
        self.assertIn('no exec check', problems[0])

    def test_relative_path_is_refused(self):
        for command in ('check.sh', './check.sh', 'bin/check -v',
                        '~/check'):
            self.assertRefused(command, 'is not an absolute path')

    def test_empty_command_is_refused(self):
        for command in ('', '   ', '\t\n'):
            self.assertRefused(command, 'empty')

    def test_too_long_command_is_refused(self):
        self.assertRefused('/bin/echo ' + 'x' * 1015,
                           'longer than 1024 characters')
        longest = '/bin/echo ' + 'x' * 1014
        self.assertEqual(1024, len(longest))
        found, _, problems = parse({KEY + '_exec': longest})
        self.assertEqual(('/bin/echo', 'x' * 1014), found[0].command)
        self.assertEqual((), problems)

    def test_too_many_arguments_are_refused(self):
        self.assertRefused('/bin/echo' + ' x' * 32, 'more than 32 arguments')
        found, _, _ = parse({KEY + '_exec': '/bin/echo' + ' x' * 31})
        self.assertEqual(32, len(found[0].command))

    def test_unbalanced_quote_is_refused(self):
        self.assertRefused('/bin/echo "oops', 'No closing quotation')


class ExecAllowedTestCase(base.TestCase):
    """[guest_checks] exec_allowed_commands: off unless allowed."""

    def test_no_exec_check_unless_allowed(self):
        # the default: every exec check off, with one problem to warn of
        for allowed in ((), ('/usr/lib/health/',), ('/bin/true -v',)):
            found, _, problems = parse({KEY + '_exec': '/bin/true'},
                                       exec_allowed_commands=allowed)
            self.assertEqual((), found, allowed)
            problem, = problems
            self.assertIn("masakari:vm_heartbeat_exec='/bin/true' is not in "
                          "[guest_checks] exec_allowed_commands; no exec "
                          "check", problem)

    def test_exact_command_line(self):
        allowed = ('/usr/bin/systemctl is-active "my app"',)
        found, _, problems = parse(
            {KEY + '_exec': "/usr/bin/systemctl is-active 'my app'"},
            exec_allowed_commands=allowed)
        self.assertEqual(('/usr/bin/systemctl', 'is-active', 'my app'),
                         found[0].command)
        self.assertEqual((), problems)
        for other in ('/usr/bin/systemctl is-active my app',
                      '/usr/bin/systemctl stop "my app"',
                      '/usr/bin/systemctl is-active "my app" x'):
            found, _, _ = parse({KEY + '_exec': other},
                                exec_allowed_commands=allowed)
            self.assertEqual((), found, other)

    def test_directory(self):
        allowed = ('/usr/lib/health/',)
        found, _, _ = parse({KEY + '_exec': '/usr/lib/health/db --deep'},
                            exec_allowed_commands=allowed)
        self.assertEqual(('/usr/lib/health/db', '--deep'), found[0].command)
        for other in ('/usr/lib/health/../../../bin/sh -c id',
                      '/usr/lib/health//db', '/usr/lib/health/sub/db',
                      '/usr/lib/healthx/db', '/bin/sh -c "curl x | sh"'):
            found, _, problems = parse({KEY + '_exec': other},
                                       exec_allowed_commands=allowed)
            self.assertEqual((), found, other)
            self.assertEqual(1, len(problems), other)

    def test_flavor_text_in_the_problem_is_escaped(self):
        _, _, (problem,) = parse(
            {KEY + '_exec': '/bin/x\n2026 ERROR forged\x1b[2J'},
            exec_allowed_commands=())
        self.assertTrue(problem.isprintable(), problem)


class ValidateTestCase(base.TestCase):
    """Settings read back from disk are checked as a flavor's are."""

    def test_good(self):
        for settings in (APP_DEFAULTS, dataclasses.replace(
                EXEC_DEFAULTS, command=('/bin/true',)),
                dataclasses.replace(APP_DEFAULTS, audits=(('db', 60.0),))):
            checks.validate(settings, ALLOWED, 5.0)

    def test_bad(self):
        for settings in (
                dataclasses.replace(APP_DEFAULTS, interval=0.05,
                                    timeout=0.05),
                dataclasses.replace(APP_DEFAULTS, failure_threshold=0),
                dataclasses.replace(APP_DEFAULTS, timeout=6.0),
                dataclasses.replace(APP_DEFAULTS, max_freeze=float('nan')),
                dataclasses.replace(APP_DEFAULTS, command=('/bin/true',)),
                dataclasses.replace(APP_DEFAULTS, audits=(('db', 1.0),)),
                dataclasses.replace(APP_DEFAULTS, audits=(('DB!', 60.0),)),
                dataclasses.replace(APP_DEFAULTS, kind='heartbeat'),
                dataclasses.replace(EXEC_DEFAULTS, command=('/bin/sh', '-c',
                                                            'curl x | sh')),
                dataclasses.replace(EXEC_DEFAULTS, command=('true',),),
                dataclasses.replace(EXEC_DEFAULTS, command=())):
            self.assertRaises(ValueError, checks.validate, settings,
                              ('/usr/bin/', '/bin/true'), 5.0)


class FromExtraSpecsReportOnlyTestCase(base.TestCase):

    def test_configured_classes(self):
        _, classes, problems = parse({}, report_only=['audit_failed'])
        self.assertEqual(frozenset(['audit_failed']), classes)
        self.assertEqual((), problems)

    def test_flavor_classes_merged_with_the_configured_ones(self):
        _, classes, problems = parse(
            {KEY + '_report_only': 'app_failed, exec_check_failed,,'},
            report_only=('audit_failed', 'app_failed'))
        self.assertEqual(frozenset(['audit_failed', 'app_failed',
                                    'exec_check_failed']), classes)
        self.assertIsInstance(classes, frozenset)
        self.assertEqual((), problems)

    def test_every_failure_class_may_be_set(self):
        _, classes, problems = parse(
            {KEY + '_report_only': ','.join(verdicts.FAILURE_CLASSES)})
        self.assertEqual(frozenset(verdicts.FAILURE_CLASSES), classes)
        self.assertEqual((), problems)

    def test_unknown_class_is_a_problem(self):
        _, classes, problems = parse(
            {KEY + '_report_only': 'app_failed,bogus'},
            report_only=('frozen_too_long',))
        self.assertEqual(frozenset(['app_failed', 'frozen_too_long']),
                         classes)
        self.assertEqual(1, len(problems))
        self.assertIn("%s_report_only: 'bogus' is not a failure class" % KEY,
                      problems[0])
        self.assertIn('heartbeat_lost', problems[0])

    def test_problems_of_every_check_are_reported(self):
        found, _, problems = parse({KEY + '_app': 'true',
                                    KEY + '_app_timeout': 'x',
                                    KEY + '_exec': 'relative',
                                    KEY + '_report_only': 'nope'})
        self.assertEqual((APP_DEFAULTS,), found)
        self.assertEqual(3, len(problems))
