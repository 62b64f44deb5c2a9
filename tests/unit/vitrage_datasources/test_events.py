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


"""The event format the vmheartbeat Vitrage datasource takes.

The driver and the transformer run inside Vitrage; they are tested
against the real one: tests/functional/test_reporting_backends.py.
"""

from masakarimonitors_ext.vitrage_datasources import vmheartbeat
from masakarimonitors_ext.vitrage_datasources.vmheartbeat import events
from tests.unit import base

A = '11111111-2222-3333-4444-555555555555'


def details(**changes):
    one = {'instance_id': A, 'name': 'vmheartbeat.instance',
           'severity': 'critical', 'hostname': 'compute-1',
           'check': 'heartbeat', 'recover': True, 'answers': None}
    one.update(changes)
    return {k: v for k, v in one.items() if v is not Ellipsis}


class ProblemsTestCase(base.TestCase):

    def test_a_raise_and_a_clear(self):
        self.assertEqual([], events.problems(events.RAISE, details()))
        self.assertEqual([], events.problems(events.CLEAR, details()))
        self.assertEqual([], events.problems(
            events.RAISE, details(name='vmheartbeat.app', severity='info')))

    def test_a_clear_needs_no_severity(self):
        self.assertEqual([], events.problems(events.CLEAR,
                                             details(severity=...)))
        self.assertEqual(['severity is not one of critical, warning, info'],
                         events.problems(events.RAISE,
                                         details(severity=...)))

    def test_an_unknown_type(self):
        self.assertEqual(['unknown event type'],
                         events.problems('compute.host.down', details()))

    def test_details_not_a_mapping(self):
        for bad in (None, [], 'x', [('instance_id', A)]):
            self.assertEqual(['details are not a mapping'],
                             events.problems(events.RAISE, bad))

    def test_the_instance_must_be_a_uuid(self):
        for bad in (..., None, 'compute-1', A + '0', 5, A[:-1] + 'g'):
            self.assertEqual(['instance_id is not a uuid'],
                             events.problems(events.RAISE,
                                             details(instance_id=bad)), bad)
        self.assertEqual([], events.problems(
            events.RAISE, details(instance_id=A.replace('-', '').upper())))

    def test_only_the_two_alarm_names(self):
        for bad in (..., 'vmheartbeat.instance.%s' % A, 'Instance Down', 1):
            self.assertEqual(
                ['name is not one of vmheartbeat.instance, vmheartbeat.app'],
                events.problems(events.RAISE, details(name=bad)))

    def test_details_are_plain_values(self):
        for bad in ([1], {'a': 1}, ('x',), object()):
            self.assertEqual(["detail 'evidence' is not a plain value"],
                             events.problems(events.RAISE,
                                             details(evidence=bad)))

    def test_details_are_bounded(self):
        self.assertEqual([], events.problems(
            events.RAISE, details(evidence='x' * events.MAX_VALUE)))
        self.assertEqual(["detail 'evidence' is over 8192 characters"],
                         events.problems(events.RAISE, details(
                             evidence='x' * (events.MAX_VALUE + 1))))
        many = details(**{'k%d' % i: i for i in range(events.MAX_DETAILS)})
        self.assertEqual(['more than 64 details'],
                         events.problems(events.RAISE, many))

    def test_every_problem_is_named(self):
        self.assertEqual(
            ['instance_id is not a uuid',
             'name is not one of vmheartbeat.instance, vmheartbeat.app',
             'severity is not one of critical, warning, info'],
            events.problems(events.RAISE, {'instance_id': 'x'}))


class OptionsTestCase(base.TestCase):
    """What Vitrage registers for the datasource, without Vitrage."""

    def test_push_with_our_driver_and_transformer(self):
        opts = {opt.name: opt.default for opt in vmheartbeat.OPTS}
        self.assertEqual('push', opts['update_method'])
        self.assertEqual('masakarimonitors_ext.vitrage_datasources.'
                         'vmheartbeat.driver.VmHeartbeatDriver',
                         opts['driver'])
        self.assertEqual('masakarimonitors_ext.vitrage_datasources.'
                         'vmheartbeat.transformer.VmHeartbeatTransformer',
                         opts['transformer'])
        self.assertEqual('vmheartbeat', vmheartbeat.VMHEARTBEAT_DATASOURCE)
