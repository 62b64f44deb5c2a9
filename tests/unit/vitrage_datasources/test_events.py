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

import datetime
import json

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

    def test_reserved_keys_are_refused(self):
        # the details become the alarm's properties, over Vitrage's own
        for key in ('vitrage_id', 'vitrage_is_deleted', 'VITRAGE_TYPE',
                    'vitrage_anything', 'project_id', 'state', 'id',
                    'update_timestamp', 'vitrage_sample_timestamp',
                    'sample_timestamp', 'is_deleted', 'resource_id', 'time',
                    'type', 'start_timestamp', 'end_timestamp'):
            self.assertEqual(['detail %r is reserved to Vitrage' % key],
                             events.problems(events.RAISE,
                                             details(**{key: 'x'})), key)
        # ours, with their values checked
        self.assertFalse(events.is_reserved('name'))
        self.assertFalse(events.is_reserved('severity'))
        self.assertFalse(events.is_reserved('instance_id'))


class InstanceUuidTestCase(base.TestCase):

    def test_one_spelling(self):
        for spelling in (A, A.upper(), A.replace('-', ''),
                         A.replace('-', '').upper()):
            self.assertEqual(A, events.instance_uuid(spelling), spelling)

    def test_not_a_uuid(self):
        for bad in (None, 5, '', 'compute-1', A + '0', '{%s}' % A,
                    'urn:uuid:' + A, A[:-1] + 'g', ' ' + A):
            self.assertIsNone(events.instance_uuid(bad), bad)


class SigningTestCase(base.TestCase):

    KEY = 'k' * events.MIN_KEY_LENGTH

    def body(self):
        return {'time': '2026-11-24T19:15:00.000000', 'type': events.RAISE,
                'details': details(evidence='caf\u00e9 \x1b')}

    def test_sign_then_verify(self):
        body = self.body()
        signed = events.sign(body, self.KEY, now=datetime.datetime(
            2026, 11, 24, 19, 15, 5, 2))
        # the body given is not changed
        self.assertNotIn(events.SIGNATURE, body['details'])
        self.assertEqual('2026-11-24T19:15:05.000002',
                         signed['details'][events.SIGNED_AT])
        self.assertEqual(64, len(signed['details'][events.SIGNATURE]))
        self.assertIsNone(events.verify(self.KEY, signed['type'],
                                        signed['time'], signed['details']))

    def test_the_same_after_any_json(self):
        signed = events.sign(self.body(), self.KEY)
        for text in (json.dumps(signed), json.dumps(signed, indent=3),
                     json.dumps(signed, ensure_ascii=False)):
            again = json.loads(text)
            self.assertIsNone(events.verify(
                self.KEY, again['type'], again['time'], again['details']))

    def test_every_part_is_signed(self):
        signed = events.sign(self.body(), self.KEY)

        def verify(**changes):
            body = dict(signed, details=dict(signed['details']))
            for key, value in changes.items():
                if key in body:
                    body[key] = value
                else:
                    body['details'][key] = value
            return events.verify(self.KEY, body['type'], body['time'],
                                 body['details'])

        for change in ({'type': events.CLEAR},
                       {'time': '2026-11-24T19:15:00.000001'},
                       {'instance_id': A.replace('-', '')},
                       {'severity': 'info'}, {'evidence': 'other'},
                       {'recover': False}, {'answers': ''},
                       {events.SIGNED_AT: '2030-01-01T00:00:00.000000'},
                       {'added': 1}):
            self.assertEqual('bad signature', verify(**change), change)

    def test_refusals(self):
        signed = events.sign(self.body(), self.KEY)
        d = signed['details']
        self.assertEqual('bad signature', events.verify(
            'x' * 16, signed['type'], signed['time'], d))
        for key in (None, ''):
            self.assertEqual('no signing key configured', events.verify(
                key, signed['type'], signed['time'], d))
        unsigned = {k: v for k, v in d.items() if k != events.SIGNATURE}
        self.assertEqual('not signed', events.verify(
            self.KEY, signed['type'], signed['time'], unsigned))
        for bad in ('', 5, None, ['x'], 'é' * 64, d[events.SIGNATURE][:-1]):
            self.assertIn(events.verify(
                self.KEY, signed['type'], signed['time'],
                dict(d, signature=bad)), ('not signed', 'bad signature'))
        self.assertEqual('not signable', events.verify(
            self.KEY, signed['type'], signed['time'],
            dict(d, evidence=float('nan'))))
        self.assertEqual('details are not a mapping', events.verify(
            self.KEY, signed['type'], signed['time'], [d]))


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

    def test_signing_and_bounds(self):
        opts = {opt.name: opt for opt in vmheartbeat.OPTS}
        self.assertTrue(opts['event_signing_key'].secret)
        self.assertIsNone(opts['event_signing_key'].default)
        self.assertEqual(300, opts['max_event_age'].default)
        self.assertEqual(10000, opts['max_alarms'].default)
