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

"""The notifier driver interface.

Notifiers are loaded by stevedore from the
``masakarimonitors_ext.vmheartbeat.notifiers`` namespace; every name in
``[vmheartbeat] notifiers`` gets each failure, in parallel.
"""

import abc
import dataclasses


@dataclasses.dataclass(frozen=True)
class Failure:
    """A confirmed failure of one instance.

    :param instance_uuid: the instance (its libvirt domain UUID).
    :param hostname: this compute host, as Masakari knows it.
    :param generated_time: when the failure was declared, ISO 8601 UTC;
        the same for every try, so a repeated notification is a duplicate.
    :param evidence: the last check results and what the escalation
        found, most recent last.
    :param failure_class: what failed (``checks.CLASS_*``).
    :param check: the check that failed (``checks.KINDS``).
    :param recover: the instance is to be recovered; when False the
        failure is only reported, and a notifier that recovers (Masakari)
        does not act on it.
    """

    instance_uuid: str
    hostname: str
    generated_time: str
    evidence: tuple = ()
    failure_class: str = 'heartbeat_lost'
    check: str = 'heartbeat'
    recover: bool = True


class Notifier(metaclass=abc.ABCMeta):
    """Tells someone that an instance failed.

    :param conf: the configuration.
    """

    def __init__(self, conf):
        self.conf = conf

    def check(self):
        """Check once, at start, that the receiver can be reached.

        Services start in any order: a failure here is only logged.

        :returns: None when it can, else a short reason.
        """
        return None

    def event(self, event):
        """Take one health event (``events.Event``).

        A status change, or a failure episode failed, reported or
        recovered. Called from one thread, in order; must not block for
        long. The default ignores it: Masakari acts on failures only.
        """

    @abc.abstractmethod
    def notify(self, failure):
        """Deliver one failure.

        Called again for the same failure after a transient error or a
        monitor restart: a receiver that already has it must not act
        twice (Masakari answers 409, which counts as delivered).

        :param failure: a :class:`Failure`.
        :returns: a short description of what the receiver answered.
        :raises: masakarimonitors_ext.exception.TransientNotificationError
            when trying again later may succeed,
            PermanentNotificationError when it cannot.
        """
