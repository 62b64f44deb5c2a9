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

import threading
from unittest import mock

import fixtures

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.probing import connections
from tests.unit import base
from tests.unit import fake_libvirt

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
URI = 'qemu:///system'


class ConnectionPoolTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.domains = {A: fake_libvirt.virDomain(A),
                        B: fake_libvirt.virDomain(B)}
        self.opened = []
        self.open_error = None
        self.useFixture(fixtures.MockPatchObject(
            fake_libvirt, 'open', side_effect=self._open))

    def _open(self, uri):
        if self.open_error is not None:
            raise self.open_error
        conn = fake_libvirt.virConnect(uri, self.domains)
        self.opened.append(conn)
        return conn

    def test_yields_the_domain(self):
        pool = connections.ConnectionPool(URI, 2)
        with pool.domain(A, 0) as dom:
            self.assertIs(self.domains[A], dom)
        self.assertEqual(URI, self.opened[0].uri)

    def test_connection_and_domain_are_reused(self):
        pool = connections.ConnectionPool(URI, 4)
        for _ in range(3):
            with pool.domain(A, 0):
                pass
        self.assertEqual(1, len(self.opened))

    def test_each_call_has_a_connection_of_its_own(self):
        pool = connections.ConnectionPool(URI, 3)
        with pool.domain(A, 0) as first, pool.domain(B, 0) as second:
            self.assertEqual(2, len(self.opened))
            self.assertIsNot(first, second)
        with pool.domain(A, 0), pool.domain(B, 0):
            # both open connections are reused, no third one is opened
            self.assertEqual(2, len(self.opened))

    def test_bound_on_calls_in_flight(self):
        pool = connections.ConnectionPool(URI, 2)
        with pool.domain(A, 0), pool.domain(B, 0):
            error = self.assertRaises(exception.LibvirtUnavailable,
                                      pool.domain(A, 0).__enter__)
            self.assertIn('all 2 libvirt connections carry a call',
                          str(error))
        with pool.domain(A, 0):  # every connection is free again
            pass

    def hold(self, pool, tier, *uuids):
        held = []
        for uuid in uuids:
            self.domains[uuid] = fake_libvirt.virDomain(uuid)
            context = pool.domain(uuid, 0, tier)
            context.__enter__()
            held.append(context)
        return held

    def test_hung_guests_leave_connections_to_the_others(self):
        pool = connections.ConnectionPool(URI, 8)
        self.assertEqual((6, 3), (pool.holding_limit, pool.hung_limit))
        held = self.hold(pool, connections.TIER_HUNG, 'h1', 'h2', 'h3')
        # a fourth guest hung for long waits, and then gives up
        self.domains['h4'] = fake_libvirt.virDomain('h4')
        error = self.assertRaises(
            exception.LibvirtUnavailable,
            pool.domain('h4', 0, connections.TIER_HUNG).__enter__)
        self.assertIn('calls to hung guests hold their share', str(error))
        # guests that have just begun to hang still get the rest
        held += self.hold(pool, connections.TIER_HOLDING, 'n1', 'n2', 'n3')
        self.domains['n4'] = fake_libvirt.virDomain('n4')
        self.assertRaises(
            exception.LibvirtUnavailable,
            pool.domain('n4', 0, connections.TIER_HOLDING).__enter__)
        # and guests that answer get the last connections
        with pool.domain(A, 0), pool.domain(B, 0):
            pass
        held[0].__exit__(None, None, None)
        with pool.domain('h4', 0, connections.TIER_HUNG):
            pass

    def test_a_lease_lets_its_connection_go_while_idle(self):
        pool = connections.ConnectionPool(URI, 1)
        seen = []

        def sleep(seconds):
            # another call has the only connection meanwhile
            with pool.domain(B, 0) as dom:
                seen.append((seconds, dom.UUIDString()))

        with pool.lease(A, 0, sleep=sleep) as lease:
            self.assertEqual(A, lease.domain.UUIDString())
            domain = lease.idle(0.25)
            self.assertEqual([(0.25, B)], seen)
            self.assertEqual(A, domain.UUIDString())
            self.assertIs(domain, lease.domain)
            # held again: no other call gets it
            self.assertRaises(exception.LibvirtUnavailable,
                              pool.domain(B, 0).__enter__)
        with pool.domain(B, 0):
            pass

    def test_a_lease_that_cannot_take_a_connection_again_holds_none(self):
        pool = connections.ConnectionPool(URI, 1)
        others = []

        def sleep(seconds):
            context = pool.domain(B, 0)
            context.__enter__()
            others.append(context)

        with pool.lease(A, 0, sleep=sleep) as lease:
            self.assertRaises(exception.LibvirtUnavailable, lease.idle, 0.1)
            self.assertIsNone(lease.domain)
        others[0].__exit__(None, None, None)
        with pool.domain(A, 0), self.assertRaises(
                exception.LibvirtUnavailable):
            pool.domain(B, 0).__enter__()

    def test_a_lease_counts_its_longest_hold_not_its_idle_time(self):
        pool = connections.ConnectionPool(URI, 1)
        clock = base.FakeClock(100.0)
        self.useFixture(fixtures.MockPatchObject(
            connections.time, 'monotonic', clock))
        with pool.lease(A, 0, sleep=clock.advance) as lease:
            clock.advance(0.5)
            lease.idle(30.0)
            clock.advance(1.5)
            lease.idle(30.0)
            clock.advance(0.25)
        self.assertEqual(1.5, lease.longest_hold)

    def test_shares_by_pool_size(self):
        for size, limits in ((1, (1, 1)), (2, (1, 1)), (3, (2, 1)),
                             (4, (3, 1)), (8, (6, 3)), (16, (12, 6))):
            pool = connections.ConnectionPool(URI, size)
            self.assertEqual(limits, (pool.holding_limit, pool.hung_limit),
                             size)

    def test_waits_for_a_slot(self):
        pool = connections.ConnectionPool(URI, 1)
        held = pool.domain(A, 0)
        held.__enter__()
        got = threading.Event()

        def second():
            with pool.domain(B, base.WAIT):
                got.set()

        thread = threading.Thread(target=second)
        thread.start()
        self.addCleanup(thread.join, base.WAIT)
        self.assertFalse(got.is_set())
        held.__exit__(None, None, None)
        self.wait_for(got, 'the freed slot')

    def test_libvirtd_down_is_unavailable(self):
        self.open_error = fake_libvirt.cannot_connect_error()
        pool = connections.ConnectionPool(URI, 1)
        error = self.assertRaises(exception.LibvirtUnavailable,
                                  pool.domain(A, 0).__enter__)
        self.assertIn('Failed to connect socket', str(error))
        self.open_error = None
        with pool.domain(A, 0):  # the slot was released
            pass

    def test_unknown_domain(self):
        pool = connections.ConnectionPool(URI, 1)
        error = self.assertRaises(fake_libvirt.libvirtError,
                                  pool.domain('nope', 0).__enter__)
        self.assertEqual(fake_libvirt.VIR_ERR_NO_DOMAIN,
                         error.get_error_code())
        with pool.domain(A, 0):
            pass

    def test_undefined_domain_is_looked_up_again(self):
        pool = connections.ConnectionPool(URI, 1)
        with pool.domain(A, 0):
            pass
        recreated = fake_libvirt.virDomain(A)
        self.domains[A] = recreated

        def gone():
            with pool.domain(A, 0):
                raise fake_libvirt.no_domain_error(A)

        self.assertRaises(fake_libvirt.libvirtError, gone)
        with pool.domain(A, 0) as dom:
            self.assertIs(recreated, dom)
        self.assertEqual(1, len(self.opened))

    def test_a_forgotten_instance_leaves_no_domain_behind(self):
        pool = connections.ConnectionPool(URI, 2)
        with pool.domain(A, 0), pool.domain(B, 0):
            pass
        with pool.domain(A, 0), pool.domain(A, 0):
            pass
        self.assertEqual(2, sum(A in slot.domains for slot in pool._slots))
        pool.forget(A)
        self.assertEqual([False, False], [A in slot.domains
                                          for slot in pool._slots])
        # the other instance's are kept, and A is looked up again
        self.assertEqual(1, sum(B in slot.domains for slot in pool._slots))
        recreated = fake_libvirt.virDomain(A)
        self.domains[A] = recreated
        with pool.domain(A, 0) as dom:
            self.assertIs(recreated, dom)

    def test_dead_connection_is_reopened(self):
        pool = connections.ConnectionPool(URI, 1)

        def lost():
            with pool.domain(A, 0):
                self.opened[0].alive = False
                raise fake_libvirt.connection_closed_error()

        self.assertRaises(fake_libvirt.libvirtError, lost)
        self.assertTrue(self.opened[0].closed)
        with pool.domain(A, 0):
            pass
        self.assertEqual(2, len(self.opened))

    def test_error_on_a_live_connection_keeps_it(self):
        pool = connections.ConnectionPool(URI, 1)

        def failed():
            with pool.domain(A, 0):
                raise fake_libvirt.agent_not_connected_error()

        self.assertRaises(fake_libvirt.libvirtError, failed)
        self.assertFalse(self.opened[0].closed)

    def test_reset_broken(self):
        pool = connections.ConnectionPool(URI, 2)
        with pool.domain(A, 0), pool.domain(B, 0):
            pass
        self.opened[0].alive = False
        pool.reset_broken()
        self.assertTrue(self.opened[0].closed)
        self.assertFalse(self.opened[1].closed)

    def test_close(self):
        pool = connections.ConnectionPool(URI, 2)
        with pool.domain(A, 0), pool.domain(B, 0):
            pass
        pool.close()
        self.assertTrue(all(conn.closed for conn in self.opened))

    def test_libvirt_errors_are_silenced(self):
        with mock.patch.object(fake_libvirt,
                               'registerErrorHandler') as register:
            connections.ConnectionPool(URI, 1)
        handler, ctx = register.call_args[0]
        self.assertIsNone(handler(None, (1, 2, 'error')))


class CheckUriTestCase(base.TestCase):

    def test_good_uri(self):
        conn = fake_libvirt.virConnect()
        with mock.patch.object(fake_libvirt, 'open', return_value=conn):
            connections.check_uri(URI)
        self.assertTrue(conn.closed)

    def test_bad_uri_names_the_option(self):
        error = self.assertRaises(exception.ConfigurationError,
                                  connections.check_uri, 'qemu:///nowhere')
        self.assertEqual('libvirt.connection_uri', error.option)
        self.assertIn('[libvirt] connection_uri', str(error))
        self.assertIn('qemu:///nowhere', str(error))


class EventLoopTestCase(base.TestCase):

    def test_started_once(self):
        ran = threading.Event()
        self.useFixture(fixtures.MonkeyPatch(
            connections.__name__ + '._event_loop_thread', None))
        self.useFixture(fixtures.MockPatchObject(
            connections, '_run_event_loop', ran.set))
        register = self.useFixture(fixtures.MockPatchObject(
            fake_libvirt, 'virEventRegisterDefaultImpl')).mock
        connections.start_event_loop()
        connections.start_event_loop()
        self.wait_for(ran, 'the event loop')
        register.assert_called_once_with()
        self.assertTrue(connections._event_loop_thread.daemon)
