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

import queue
from unittest import mock

import fixtures

from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.watching import inventory
from tests.unit import base
from tests.unit import fake_libvirt

A = '11111111-1111-1111-1111-111111111111'
B = '22222222-2222-2222-2222-222222222222'
C = '33333333-3333-3333-3333-333333333333'
URI = 'qemu:///system'


class Listener:
    def __init__(self):
        self.listings = queue.Queue()
        self.events = []

    def domains_listed(self, domains, listed_at):
        self.listings.put(domains)

    def domain_event(self, instance_uuid, event, detail):
        self.events.append((instance_uuid, event, detail))


class InventoryTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.domains = {
            A: fake_libvirt.virDomain(A, 'instance-a'),
            B: fake_libvirt.virDomain(B, 'instance-b',
                                      state=fake_libvirt.VIR_DOMAIN_PAUSED,
                                      xml=fake_libvirt.NO_AGENT_XML),
            C: fake_libvirt.virDomain(C, 'instance-c', active=False,
                                      state=fake_libvirt.VIR_DOMAIN_SHUTOFF),
        }
        self.opened = []
        self.open_errors = []
        self.useFixture(fixtures.MockPatchObject(
            fake_libvirt, 'openReadOnly', side_effect=self._open))
        self.listener = Listener()
        self.inventory = inventory.Inventory(URI, 3600.0)

    def _open(self, uri):
        if self.open_errors:
            raise self.open_errors.pop(0)
        conn = fake_libvirt.virConnect(uri, self.domains, read_only=True)
        self.opened.append(conn)
        return conn

    def listing(self):
        try:
            return self.listener.listings.get(timeout=base.WAIT)
        except queue.Empty:
            self.fail('no listing')


class HelpersTestCase(InventoryTestCase):

    def test_has_agent_channel(self):
        self.assertTrue(inventory.has_agent_channel(fake_libvirt.agent_xml()))
        self.assertFalse(inventory.has_agent_channel(
            fake_libvirt.NO_AGENT_XML))
        self.assertFalse(inventory.has_agent_channel(
            fake_libvirt.agent_xml('org.libguestfs.channel.0')))
        self.assertFalse(inventory.has_agent_channel('<domain'))

    def test_agent_channel_state(self):
        connected = fake_libvirt.agent_xml().replace(
            "name='org.qemu.guest_agent.0'",
            "name='org.qemu.guest_agent.0' state='connected'")
        disconnected = connected.replace("'connected'", "'disconnected'")
        self.assertEqual((True, True), inventory.agent_channel(connected))
        self.assertEqual((True, False),
                         inventory.agent_channel(disconnected))
        self.assertEqual((True, False),
                         inventory.agent_channel(fake_libvirt.agent_xml()))
        self.assertEqual((False, False),
                         inventory.agent_channel(fake_libvirt.NO_AGENT_XML))

    def test_describe(self):
        self.assertEqual(inventory.Domain(A, 'instance-a', True, True),
                         self.inventory.describe(A))
        self.assertEqual(inventory.Domain(B, 'instance-b', False, False),
                         self.inventory.describe(B))
        self.assertIsNone(self.inventory.describe(C))
        self.assertIsNone(self.inventory.describe('gone'))
        self.assertTrue(all(conn.closed for conn in self.opened))

    def test_describe_raises_other_errors(self):
        self.open_errors.append(fake_libvirt.cannot_connect_error())
        self.assertRaises(fake_libvirt.libvirtError,
                          self.inventory.describe, A)

    def test_domain_state(self):
        self.domains[A].job = fake_libvirt.VIR_DOMAIN_JOB_UNBOUNDED
        self.assertEqual((fake_libvirt.VIR_DOMAIN_RUNNING,
                          fake_libvirt.VIR_DOMAIN_RUNNING_BOOTED,
                          fake_libvirt.VIR_DOMAIN_JOB_UNBOUNDED),
                         self.inventory.domain_state(A))
        self.assertEqual(fake_libvirt.VIR_DOMAIN_PAUSED,
                         self.inventory.domain_state(B)[0])
        self.assertEqual(fake_libvirt.VIR_DOMAIN_JOB_NONE,
                         self.inventory.domain_state(B)[2])
        self.assertIsNone(self.inventory.domain_state('gone'))
        self.assertTrue(all(conn.closed for conn in self.opened))


class EventsTestCase(InventoryTestCase):

    def setUp(self):
        super().setUp()
        self.inventory.listen(self.listener)
        self.inventory._connect()
        self.conn = self.opened[0]
        self.dom = self.domains[A]

    def lifecycle(self, event, detail=0):
        self.conn.fire(fake_libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self.dom,
                       event, detail)

    def test_registers_for_the_events(self):
        self.assertEqual({fake_libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                          fake_libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
                          fake_libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE},
                         set(self.conn.event_callbacks))
        self.assertIsNotNone(self.conn.close_callback)

    def test_lifecycle_events(self):
        expected = [
            (fake_libvirt.VIR_DOMAIN_EVENT_STARTED, constants.EVENT_STARTED),
            (fake_libvirt.VIR_DOMAIN_EVENT_RESUMED, constants.EVENT_RESUMED),
            (fake_libvirt.VIR_DOMAIN_EVENT_SUSPENDED,
             constants.EVENT_SUSPENDED),
            (fake_libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED,
             constants.EVENT_SUSPENDED),
            (fake_libvirt.VIR_DOMAIN_EVENT_STOPPED, constants.EVENT_STOPPED),
            (fake_libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, constants.EVENT_STOPPED),
            (fake_libvirt.VIR_DOMAIN_EVENT_CRASHED, constants.EVENT_STOPPED),
        ]
        for libvirt_event, _ in expected:
            self.lifecycle(libvirt_event, 1)
        self.assertEqual([(A, event, 1) for _, event in expected],
                         self.listener.events)

    def test_only_an_updated_definition_counts(self):
        self.lifecycle(fake_libvirt.VIR_DOMAIN_EVENT_DEFINED,
                       fake_libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED)
        self.assertEqual([], self.listener.events)
        self.lifecycle(fake_libvirt.VIR_DOMAIN_EVENT_DEFINED,
                       fake_libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED)
        self.assertEqual([(A, constants.EVENT_REDEFINED, 1)],
                         self.listener.events)

    def test_undefined(self):
        self.lifecycle(fake_libvirt.VIR_DOMAIN_EVENT_UNDEFINED)
        self.assertEqual([(A, constants.EVENT_UNDEFINED, 0)],
                         self.listener.events)

    def test_reboot(self):
        self.conn.fire(fake_libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self.dom)
        self.assertEqual([(A, constants.EVENT_REBOOTED, 0)],
                         self.listener.events)

    def test_agent_lifecycle(self):
        channel = (fake_libvirt.
                   VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_CHANNEL)
        for state in (
                fake_libvirt.
                VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED,
                fake_libvirt.
                VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED):
            self.conn.fire(fake_libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                           self.dom, state, channel)
        self.assertEqual([(A, constants.EVENT_AGENT_DISCONNECTED, channel),
                          (A, constants.EVENT_AGENT_CONNECTED, channel)],
                         self.listener.events)

    def test_listener_error_is_logged(self):
        self.listener.domain_event = mock.Mock(side_effect=RuntimeError('x'))
        self.conn.fire(fake_libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self.dom)
        self.assertIn('Handling event rebooted of domain instance-a failed',
                      self.logger.output)

    def test_list_gives_the_active_domains(self):
        listed = self.inventory._list()
        self.assertEqual({A, B}, set(listed))
        self.assertTrue(listed[A].running)
        self.assertFalse(listed[B].running)
        self.assertFalse(listed[B].has_agent_channel)

    def test_list_skips_a_domain_gone_meanwhile(self):
        def gone():
            raise fake_libvirt.no_domain_error(B)
        self.domains[B].state = gone
        self.assertEqual({A}, set(self.inventory._list()))

    def test_close(self):
        self.inventory._close()
        self.assertTrue(self.conn.closed)
        self.assertIsNone(self.conn.close_callback)
        self.inventory._close()  # twice is fine


class RunTestCase(InventoryTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(
            inventory, '_RECONNECT_DELAYS', (0.0,)))

    def start(self):
        self.inventory.start(self.listener)
        self.addCleanup(self.inventory.stop)

    def test_lists_at_start_and_stops(self):
        self.start()
        self.assertEqual({A, B}, set(self.listing()))
        self.inventory.stop()
        self.assertFalse(self.inventory._thread.is_alive())
        self.assertTrue(self.opened[0].closed)

    def test_reconnects_and_lists_again(self):
        self.start()
        self.listing()
        del self.domains[B]
        self.opened[0].lose()
        self.assertEqual({A}, set(self.listing()))
        self.assertEqual(2, len(self.opened))
        self.assertTrue(self.opened[0].closed)
        self.assertIn('Connection to libvirt at %s lost' % URI,
                      self.logger.output)

    def test_waits_for_libvirtd(self):
        self.open_errors.extend([fake_libvirt.cannot_connect_error()] * 2)
        self.start()
        self.assertEqual({A, B}, set(self.listing()))
        self.assertIn('is not reachable', self.logger.output)

    def test_resyncs_every_interval(self):
        self.inventory._resync_interval = 0.0
        self.start()
        self.listing()
        self.listing()
        self.assertEqual(1, len(self.opened))
