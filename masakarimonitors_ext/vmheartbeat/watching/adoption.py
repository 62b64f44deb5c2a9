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

"""Which domains of this host are watched: the inventory's listener.

The inventory tells of the running domains (a listing at start and every
``resync_interval``) and of their lifecycle and agent events. The adoption
decides what each means for the instances table: a new or redefined
domain is adopted (its opt-in asked of the policy, off the event path, one
adoption at a time per instance), a stopped or undefined one forgotten, a
started, rebooted, resumed or paused one has its checks restarted or
suppressed. It keeps no state of its own: the table owns the records, the
opt-in policy its answers.
"""

from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.common import constants
from masakarimonitors_ext.vmheartbeat.watching import optin

LOG = logging.getLogger(__name__)


class Adoption:
    """Turns the inventory's listings and events into the table's actions.

    :param instances: the ``instances.Instances`` table.
    :param optin_policy: an ``optin.OptInPolicy``.
    :param inventory: the ``inventory.Inventory``, to describe a domain an
        event told of.
    :param executor: runs adoptions off the event path.
    """

    def __init__(self, instances, optin_policy, inventory, executor):
        self._instances = instances
        self._optin = optin_policy
        self._inventory = inventory
        self._executor = executor

    def domains_listed(self, domains, listed_at=None):
        """The inventory listed the running domains.

        :param domains: {instance_uuid: ``inventory.Domain``}.
        :param listed_at: ``time.monotonic()`` when the listing began: an
            instance an event told of since then is left as the event made
            it.
        """
        gone, listed = self._instances.listed(domains, listed_at)
        for instance_uuid in gone:
            self._instances.forget(instance_uuid, 'no longer running')
        for instance_uuid, domain in listed.items():
            known = self._instances.reconcile(instance_uuid, domain)
            refresh = known and self._optin.needs_refresh(instance_uuid)
            if not known or refresh:
                self._submit(instance_uuid, domain, refresh)

    def domain_event(self, instance_uuid, event, detail):
        """A lifecycle or agent event of one domain (``constants.EVENT_*``)."""
        LOG.debug('Instance %s: domain event %s (detail %s)', instance_uuid,
                  event, detail)
        self._instances.touch(instance_uuid)
        if event in (constants.EVENT_UNDEFINED, constants.EVENT_STOPPED):
            undefined = event == constants.EVENT_UNDEFINED
            self._instances.forget(instance_uuid, event, undefined)
            if undefined:
                # NOTE: a stopped instance is started again (say, by
                # Masakari's recovery): its answer is kept for when Nova
                # is down; an undefined one is gone for good.
                self._optin.forget(instance_uuid)
            return
        if event in (constants.EVENT_STARTED, constants.EVENT_REDEFINED):
            self._submit(instance_uuid, None,
                         event == constants.EVENT_REDEFINED)
        self._instances.lifecycle(instance_uuid, event)

    def _submit(self, instance_uuid, domain, refresh):
        """Adopt off the event path, once at a time per instance.

        Nova may take up to its timeout to answer: adoptions of the same
        instance must not pile up behind a slow Nova.
        """
        if self._instances.begin_adoption(instance_uuid):
            self._executor.submit(self._adopt, instance_uuid, domain,
                                  refresh)

    def _adopt(self, instance_uuid, domain, refresh):
        """Decide whether a domain is watched (off the heartbeat path)."""
        try:
            decided = self._decide(instance_uuid, domain, refresh)
            if decided is not None:
                self._instances.apply(instance_uuid, *decided)
        finally:
            self._instances.end_adoption(instance_uuid)

    def _decide(self, instance_uuid, domain, refresh):
        """(domain, ``optin.Decision``), or None when it cannot be told."""
        try:
            if domain is None:
                domain = self._inventory.describe(instance_uuid)
                if domain is None:
                    return None
            decision = self._optin.decide(instance_uuid, refresh=refresh)
        except optin.OptInUnknown as e:
            LOG.warning('%s; asking again at the next resync', e)
            return None
        except Exception:
            LOG.exception('Cannot decide whether instance %s is watched',
                          instance_uuid)
            return None
        if decision.watched and not domain.has_agent_channel:
            decision = optin.Decision(False, reason='opted in (%s) but the '
                                      'domain has no %s channel' % (
                                          decision.reason,
                                          constants.GUEST_AGENT_CHANNEL))
        return domain, decision
