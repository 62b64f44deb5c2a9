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


"""What the vmheartbeat datasource takes, from whom; what it keeps.

The events are those the real notifier posts (its ``vitrage_event()``,
signed as it signs them, through JSON), or forged from them.
"""

import copy
import datetime
import json
import uuid

import fixtures

from masakarimonitors_ext.vitrage_datasources.vmheartbeat import events
from masakarimonitors_ext.vitrage_datasources.vmheartbeat import intake
from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.reporting import events as health
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import vitrage
from masakarimonitors_ext.vmheartbeat import verdicts
from tests.unit import base

#: the event kinds
FAILED = verdicts.EVENT_FAILED
RECOVERED = verdicts.EVENT_RECOVERED
REPORTED = verdicts.EVENT_REPORTED
STATUS_CHANGED = verdicts.EVENT_STATUS_CHANGED

KEY = 'the key of the testbed, both sides'
A = 'a1111111-bbbb-cccc-dddd-eeeeeeeeeeee'
B = 'b1111111-bbbb-cccc-dddd-eeeeeeeeeeee'
#: the time of the tests: 2026-11-24T19:15:00 UTC
NOW = datetime.datetime(2026, 11, 24, 19, 15, 0)
EPOCH = (NOW - datetime.datetime(1970, 1, 1)).total_seconds()


def health_event(kind=FAILED, instance=A, status=None, **fields):
    # one event_id per kind of event: a repeat has the same details
    fields.setdefault('event_id', str(uuid.uuid5(
        uuid.NAMESPACE_URL, '%s/%s/%s' % (kind, instance, status))))
    return health.Event(
        kind, instance, 'compute-1',
        checks.APP if kind == STATUS_CHANGED else checks.HEARTBEAT,
        status=status, generated_time=NOW.isoformat(), **fields)


def posted(event=None, key=KEY, at=NOW):
    """The body the notifier posts for the event, as Vitrage reads it."""
    body = vitrage.vitrage_event(event or health_event())
    return json.loads(json.dumps(events.sign(body, key, now=at)))


def forged(body, key=KEY, **changes):
    """The body with changed details, signed again with ``key``."""
    body = copy.deepcopy(body)
    body['details'].update(changes)
    return events.sign(body, key, now=NOW)


class IntakeTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.now = EPOCH
        self.mono = 0.0
        self.log = self.useFixture(fixtures.FakeLogger(
            name=intake.__name__, format='%(levelname)s %(message)s'))
        self.intake = self.make()

    def make(self, key=KEY, **kwargs):
        return intake.AlarmIntake(
            key, clock=lambda: self.now,
            refusals=intake.RefusalLog(clock=lambda: self.mono), **kwargs)

    def warnings(self):
        return [line for line in self.log.output.splitlines()
                if line.startswith('WARNING')]

    def assert_refused(self, body, reason, intake_=None):
        self.assertIsNone((intake_ or self.intake).take(body))
        self.assertIn(reason, self.log.output)


class AuthenticTestCase(IntakeTestCase):

    def test_the_notifiers_event_is_taken(self):
        body = posted()
        alarm = self.intake.take(body)
        self.assertIsNotNone(alarm)
        # as the notifier made it, without the signature
        self.assertEqual(vitrage.vitrage_event(health_event())['details'],
                         alarm['details'])
        self.assertEqual(events.RAISE, alarm['type'])
        self.assertEqual([], self.warnings())
        self.assertEqual({intake.AlarmKey('vmheartbeat.instance', A)},
                         set(self.intake.cache))

    def test_every_kind_of_health_event_is_taken(self):
        for one in (health_event(FAILED),
                    health_event(RECOVERED),
                    health_event(STATUS_CHANGED, status=verdicts.APP_FAILED),
                    health_event(STATUS_CHANGED,
                                 status=verdicts.APP_HEALTHY)):
            self.assertIsNotNone(self.intake.take(posted(one)), one)
        self.assertEqual([], self.warnings())
        self.assertEqual({}, self.intake.cache)

    def test_unsigned_is_refused(self):
        body = vitrage.vitrage_event(health_event())
        self.assert_refused(body, 'vmheartbeat event refused (not signed)')
        self.assertEqual({}, self.intake.cache)

    def test_another_key_is_refused(self):
        self.assert_refused(posted(key='another key, not ours'),
                            'refused (bad signature)')

    def test_tampered_details_are_refused(self):
        body = posted()
        for change in ({'instance_id': B}, {'severity': 'info'},
                       {'name': 'vmheartbeat.app'}, {'evidence': 'forged'}):
            tampered = copy.deepcopy(body)
            tampered['details'].update(change)
            self.assert_refused(tampered, 'refused (bad signature)')
        tampered = dict(copy.deepcopy(body), type=events.CLEAR)
        self.assert_refused(tampered, 'refused (bad signature)')
        self.assertEqual({}, self.intake.cache)

    def test_no_key_refuses_everything(self):
        for key in (None, ''):
            self.assert_refused(posted(), 'refused (no signing key '
                                'configured)', self.make(key=key))

    def test_replay_is_refused(self):
        body = posted()
        self.assertIsNotNone(self.intake.take(copy.deepcopy(body)))
        self.intake.take(posted(health_event(RECOVERED)))
        # the raise again, after the clear: refused
        self.assert_refused(copy.deepcopy(body),
                            'refused (a replay of an event already taken)')
        self.assertEqual({}, self.intake.cache)

    def test_an_old_or_future_event_is_refused(self):
        for at in (NOW - datetime.timedelta(seconds=301),
                   NOW + datetime.timedelta(seconds=301)):
            self.mono += 100
            self.assert_refused(posted(at=at),
                                'is not within 300 s of now')
        # a try made late, of an old event, is fresh; so is one from a
        # clock a bit ahead
        self.assertIsNotNone(self.intake.take(posted(
            health_event(instance=A),
            at=NOW - datetime.timedelta(seconds=299))))
        self.assertIsNotNone(self.intake.take(posted(
            health_event(instance=B),
            at=NOW + datetime.timedelta(seconds=299))))

    def test_no_signed_at_is_refused(self):
        body = vitrage.vitrage_event(health_event())
        body['details']['signature'] = events.signature(
            KEY, body['type'], body['time'], body['details'])
        self.assert_refused(body, "signed_at None is not within")

    def test_signatures_seen_are_bounded(self):
        small = self.make(max_alarms=3)
        bodies = [posted(health_event(RECOVERED, instance=u),
                         at=NOW + datetime.timedelta(microseconds=i))
                  for i, u in enumerate((A, B, A, B))]
        for body in bodies:
            # clears of no alarm: taken, and passed on as nothing
            self.assertIsNone(small.take(copy.deepcopy(body)))
        self.assertEqual(3, len(small._seen))
        self.assertEqual([], self.warnings())
        # and forgotten once past their age, which refuses them anyway
        self.now += 301
        small.take(posted(health_event(RECOVERED),
                          at=NOW + datetime.timedelta(seconds=301)))
        self.assertEqual(1, len(small._seen))

    def test_refusals_are_rate_limited_and_counted(self):
        body = vitrage.vitrage_event(health_event())
        for _ in range(50):
            self.intake.take(copy.deepcopy(body))
        self.assertEqual(1, len(self.warnings()))
        self.mono += intake.REFUSAL_LOG_INTERVAL
        self.intake.take(copy.deepcopy(body))
        warnings = self.warnings()
        self.assertEqual(2, len(warnings))
        self.assertIn('(49 more refused in the last 60 s)', warnings[1])
        # another kind has its own line
        self.intake.take(posted(key='another key, not ours'))
        self.assertEqual(3, len(self.warnings()))

    def test_the_refused_event_is_escaped_and_cut(self):
        body = vitrage.vitrage_event(health_event())
        body['details']['instance_id'] = '\x1b[2J\n' + 'x' * 9000
        self.intake.take(body)
        warning, = self.warnings()
        self.assertNotIn('\x1b', warning)
        self.assertIn('\\x1b[2J\\n', warning)
        self.assertLess(len(warning), 400)


class ValidTestCase(IntakeTestCase):

    def test_reserved_keys_are_refused(self):
        for key in ('vitrage_is_deleted', 'project_id', 'state', 'id',
                    'vitrage_sample_timestamp', 'update_timestamp',
                    'vitrage_category', 'is_real_vitrage_id'):
            self.assert_refused(forged(posted(), **{key: 'x'}),
                                'detail %r is reserved to Vitrage' % key)
        self.assertEqual({}, self.intake.cache)

    def test_non_uuid_is_refused(self):
        for bad in ('compute-1', A + '0', '{%s}' % A, 5):
            self.assert_refused(forged(posted(), instance_id=bad),
                                'instance_id is not a uuid')
        self.assertEqual({}, self.intake.cache)

    def test_another_spelling_is_the_same_alarm(self):
        raised = self.intake.take(posted())
        self.assertEqual(A, raised['details']['instance_id'])
        again = self.intake.take(forged(posted(), instance_id=A.upper()))
        # the same details once spelled as Nova does: nothing to pass on
        self.assertIsNone(again)
        cleared = self.intake.take(forged(
            posted(health_event(RECOVERED)),
            instance_id=A.replace('-', '')))
        self.assertEqual(A, cleared['details']['instance_id'])
        self.assertEqual({}, self.intake.cache)

    def test_oversized_answers_are_refused(self):
        self.assert_refused(forged(posted(), answers='x' * 8193),
                            "detail 'answers' is over 8192 characters")

    def test_the_notifiers_oversized_answers_are_taken(self):
        # the notifier cuts them to what the datasource takes: an event
        # counted as delivered is not dropped for its size
        one = health_event(
            REPORTED, details='d' * 10000,
            evidence=('e' * 10000,),
            answers=tuple(('n%d' % i, 'x' * 5000) for i in range(10)))
        alarm = self.intake.take(posted(one))
        self.assertIsNotNone(alarm)
        self.assertEqual(events.MAX_VALUE, len(alarm['details']['answers']))
        self.assertEqual([], self.warnings())


class DecisionsTestCase(IntakeTestCase):

    def test_raise_repeat_update_clear(self):
        first = self.intake.take(posted())
        self.assertEqual(first['time'], first[intake.UPDATE_TIME])
        # a repeat, signed again: nothing to pass on
        self.assertIsNone(self.intake.take(posted(
            at=NOW + datetime.timedelta(seconds=1))))
        updated = self.intake.take(posted(health_event(
            REPORTED)))
        self.assertEqual('reported', updated['details']['event_kind'])
        # raised since the first
        self.assertEqual(first[intake.UPDATE_TIME],
                         updated[intake.UPDATE_TIME])
        self.assertIsNotNone(self.intake.take(posted(health_event(
            RECOVERED))))
        self.assertIsNone(self.intake.take(posted(health_event(
            RECOVERED), at=NOW + datetime.timedelta(seconds=1))))
        self.assertEqual({}, self.intake.cache)

    def test_the_cache_is_bounded(self):
        small = self.make(max_alarms=2)
        self.assertIsNotNone(small.take(posted(health_event(instance=A))))
        self.assertIsNotNone(small.take(posted(health_event(
            STATUS_CHANGED, instance=A, status=verdicts.APP_FAILED))))
        third = posted(health_event(instance=B))
        self.assert_refused(copy.deepcopy(third),
                            'refused (2 alarms raised already, the most '
                            'kept)', small)
        self.assertEqual(2, len(small.cache))
        # one raised already can still change, and be cleared
        self.assertIsNotNone(small.take(posted(health_event(
            REPORTED, instance=A))))
        self.assertIsNotNone(small.take(posted(health_event(
            RECOVERED, instance=A))))
        self.assertEqual(1, len(small.cache))
        # then there is room again
        self.assertIsNotNone(small.take(posted(
            health_event(instance=B), at=NOW + datetime.timedelta(
                seconds=1))))
        self.assertEqual(2, len(small.cache))
