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

"""Recovery budgets: the operator's, a flavor's, and what is read back."""

from masakarimonitors_ext.vmheartbeat.common import budgets
from masakarimonitors_ext.vmheartbeat.watching import optin
from tests.unit import base
from tests.unit.vmheartbeat import fakes

KEY = 'masakari:vm_heartbeat'


class BudgetsTestCase(base.TestCase):

    def overrides(self, **specs):
        problems = []
        found = budgets.from_extra_specs(
            {KEY + k: v for k, v in specs.items()}, KEY, problems)
        return found, problems

    def test_a_flavor_overrides_the_count_and_the_window(self):
        found, problems = self.overrides(_max_recoveries='1',
                                         _recovery_window='7200')
        self.assertEqual((('max_recoveries', 1), ('window', 7200.0)), found)
        self.assertEqual([], problems)
        budget = budgets.of(budgets.defaults(self.conf), found)
        self.assertEqual((1, 7200.0, 180.0), (
            budget.max_recoveries, budget.window, budget.backoff_initial))

    def test_values_out_of_bounds_keep_the_operators(self):
        for raw in ('101', '-1', 'lots', '1.5', 'nan', '', True):
            found, problems = self.overrides(_max_recoveries=raw)
            self.assertEqual((), found, raw)
            self.assertEqual(1, len(problems), raw)
            self.assertIn('(as [recovery] max_recoveries)', problems[0])
        found, problems = self.overrides(_recovery_window='59')
        self.assertEqual((), found)
        self.assertIn('is not a number from 60.0 to 604800.0', problems[0])

    def test_the_operators_budget_follows_the_configuration(self):
        self.flags(group='recovery', max_recoveries=5, window=600.0)
        budget = budgets.of(budgets.defaults(self.conf), ())
        self.assertEqual((5, 600.0), (budget.max_recoveries, budget.window))

    def test_stored_overrides_are_checked_as_a_flavors(self):
        self.assertEqual((('max_recoveries', 2),),
                         budgets.from_stored({'max_recoveries': 2}))
        for body in ({'max_recoveries': 1000}, {'window': 1.0},
                     {'backoff_max': 1.0}, {'max_recoveries': 'x'}, [1]):
            self.assertRaises(ValueError, budgets.from_stored, body)

    def test_a_decision_keeps_the_flavors_budget(self):
        decision = optin.decide_from_extra_specs(
            {KEY: 'true', KEY + '_max_recoveries': '1'}, KEY,
            fakes.settings())
        self.assertEqual((('max_recoveries', 1),), decision.recovery)
        self.assertEqual((), decision.problems)
        body = optin._body_of({'a': decision})['a']
        self.assertEqual({'max_recoveries': 1}, body['recovery'])
        read = optin._decision_from(body, self.conf)
        self.assertEqual(decision.recovery, read.recovery)

    def test_a_stored_budget_no_flavor_could_give_is_refused(self):
        decision = optin.decide_from_extra_specs({KEY: 'true'}, KEY,
                                                 fakes.settings())
        body = optin._body_of({'a': decision})['a']
        body['recovery'] = {'max_recoveries': 100000}
        self.assertRaises(ValueError, optin._decision_from, body, self.conf)
