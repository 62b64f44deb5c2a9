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

"""Exceptions of the VM heartbeat monitor.

An exception that ends an escalation says how: its ``outcome`` is the
``verdicts.EpisodeOutcome`` the episode ends with (:data:`ENDS_EPISODE`
lists them). Any other exception that ends one is an ``error``.
"""

from masakarimonitors_ext.vmheartbeat import verdicts


class VMHeartbeatError(Exception):
    """Base of the monitor's exceptions."""

    #: the ``verdicts.EpisodeOutcome`` of an escalation it ends, or None
    outcome = None


class ConfigurationError(VMHeartbeatError):
    """A bad option: the monitor cannot start.

    :param option: the option, as ``group.name``.
    :param reason: what is wrong and what would be right.
    """

    def __init__(self, option, reason):
        self.option = option
        self.reason = reason
        group, _, name = option.rpartition('.')
        where = '[%s] %s' % (group or 'DEFAULT', name)
        super().__init__('invalid configuration: %s: %s' % (where, reason))


class LibvirtUnavailable(VMHeartbeatError):
    """libvirtd cannot be reached: no verdict can be made about a guest."""

    outcome = verdicts.EpisodeOutcome.INCONCLUSIVE


class ProbeInconclusive(VMHeartbeatError):
    """The guest could not be asked: no verdict, for or against it."""

    outcome = verdicts.EpisodeOutcome.INCONCLUSIVE


class InstanceAnswered(VMHeartbeatError):
    """The guest answered during the escalation: it is not failed."""

    outcome = verdicts.EpisodeOutcome.ANSWERED

    def __init__(self, instance_uuid):
        self.instance_uuid = instance_uuid
        super().__init__('instance %s answered its heartbeat' % instance_uuid)


class InstanceSuppressed(VMHeartbeatError):
    """The instance is not running or is in a lifecycle operation.

    Such an instance is never reported: a stopped or crashed QEMU is the
    stock instancemonitor's to report, and a paused, rebooting or migrating
    one is not failed.
    """

    outcome = verdicts.EpisodeOutcome.SUPPRESSED

    def __init__(self, instance_uuid, reason):
        self.instance_uuid = instance_uuid
        self.reason = reason
        super().__init__('instance %s is not to be reported: %s' % (
            instance_uuid, reason))


class ProbeMissed(VMHeartbeatError):
    """One re-probe of the escalation went unanswered."""

    def __init__(self, instance_uuid, result):
        self.instance_uuid = instance_uuid
        self.result = result
        super().__init__('instance %s missed a re-probe: %s' % (
            instance_uuid, result))


class NotificationError(VMHeartbeatError):
    """A notifier could not deliver a notification.

    Raised as one of its two kinds: each is a class of its own because a
    failure read back from the escalation database keeps its exception's
    type names, not its attributes.
    """


class TransientNotificationError(NotificationError):
    """A notification failed for a reason that may pass: try again.

    The API down, a 5xx answer, an expired token (401).
    """


class PermanentNotificationError(NotificationError):
    """A notification was refused for good (configuration or payload)."""

    outcome = verdicts.EpisodeOutcome.REJECTED


#: the exceptions that end an escalation with their ``outcome``
ENDS_EPISODE = (InstanceAnswered, InstanceSuppressed, LibvirtUnavailable,
                ProbeInconclusive, PermanentNotificationError)
