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

"""What the log says about checks: the lines an operator reads.

The instances table calls these as it accounts each result; they only
log, and own no state: what they tell is returned to the table.
"""

import collections
import shlex

from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.probing.probes import base

LOG = logging.getLogger(__name__)


class Before(collections.namedtuple(
        'Before', 'state misses status answering held')):
    """An instance and one of its checks, before a result is accounted."""

    __slots__ = ()

    @classmethod
    def of(cls, entry, state):
        return cls(entry.state, state.misses, entry.app_status,
                   state.answering, state.held_since is not None)


def settings_text(check):
    """One check's settings, for the log line of a watched instance."""
    if check.kind == checks.EXEC:
        what = 'exec check %s' % guestdata.escape(shlex.join(check.command),
                                                  300)
    else:
        what = 'application heartbeat'
        if check.audits:
            what += ' with audits %s' % ', '.join(
                '%s every %ss' % audit for audit in check.audits)
    return '%s every %ss, timeout %ss, failed after %d, startup grace %ss' % (
        what, check.interval, check.timeout, check.failure_threshold,
        check.startup_grace)


def log_result(entry, check, state, result, before):
    """Log what one result changed: a miss, an answer again, a status."""
    instance_uuid = entry.instance_uuid
    if check == checks.HEARTBEAT:
        if state.misses > before.misses:
            LOG.info('Instance %s: missed heartbeat %d/%d: %s',
                     instance_uuid, state.misses,
                     state.settings.failure_threshold, result)
        elif state.answering and not before.answering:
            LOG.info('Instance %s: answering heartbeats (%s)',
                     instance_uuid, entry.state)
        return
    if state.misses > before.misses:
        LOG.info('Instance %s: %s check missed %d/%d: %s', instance_uuid,
                 check, state.misses, state.settings.failure_threshold,
                 result)
    elif state.answering and not before.answering:
        LOG.info('Instance %s: %s check answering (%s)', instance_uuid,
                 check, entry.state)
    if result.status is not None and result.status != before.status:
        LOG.info('Instance %s: the application reports %s (%s)',
                 instance_uuid, result.status, result.details)
    if state.held_since is not None and not before.held:
        LOG.info('Instance %s: %s check held while the guest agent refuses '
                 'it (%s), for up to %ss', instance_uuid, check,
                 result.detail, state.settings.max_freeze)
    elif before.held and state.held_since is None:
        LOG.info('Instance %s: %s check no longer held: %s', instance_uuid,
                 check, result)


def blocked_after(instance_uuid, check, result, blocked):
    """Say once per check that the agent refuses its commands by policy.

    :param blocked: the checks of the instance whose commands the agent
        refused, before this result.
    :returns: those checks after it, a new frozenset.
    """
    if result.outcome is base.Outcome.BLOCKED:
        if check not in blocked:
            LOG.warning('Instance %s: the guest agent refuses the commands '
                        'of the %s check by its own policy (%s); allow %s in '
                        'qemu-ga\'s configuration to run it. The check is not '
                        'counted meanwhile.', instance_uuid, check,
                        result.detail,
                        ', '.join(checks.AGENT_COMMANDS[check]))
        return frozenset(blocked) | {check}
    if check in blocked and result.outcome is not base.Outcome.INCONCLUSIVE:
        LOG.info('Instance %s: the guest agent runs the %s check again',
                 instance_uuid, check)
        return frozenset(blocked) - {check}
    return frozenset(blocked)
