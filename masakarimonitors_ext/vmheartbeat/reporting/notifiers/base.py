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
``masakarimonitors_ext.vmheartbeat.notifiers`` namespace. Every name in
``[vmheartbeat] notifiers`` gets each health event (``events.Event``) of a
kind it takes: a failure through its escalation flow, the other kinds
through the outbox. Each notifier is retried on its own, as its
``delivery.Policy`` says.
"""

import abc

from masakarimonitors_ext.vmheartbeat import verdicts


class Notifier(metaclass=abc.ABCMeta):
    """Tells someone about the health of an instance.

    :param conf: the configuration.
    """

    #: the event kinds (``verdicts.EVENT_KINDS``) this notifier takes; it
    #: is never given another, and nothing is kept for it
    kinds = verdicts.EVENT_KINDS

    #: the notifier has the instance recovered (Masakari). A required one
    #: is told of a failure by the escalation itself, which probes the
    #: guest again before a late try, and the failure is reported when
    #: these notifiers have it. Every other notifier gets the failure
    #: through the outbox, in order with the instance's other events, so
    #: that one that is down holds neither the report nor the next
    #: failure.
    recovers = False

    def __init__(self, conf):
        self.conf = conf

    def check(self):
        """Check once, at start, that the receiver can be reached.

        Services start in any order: a failure here is only logged.

        :returns: None when it can, else a short reason.
        """
        return None

    def close(self):
        """Release what the notifier holds (connections); at stop."""

    @abc.abstractmethod
    def notify(self, event):
        """Deliver one event.

        Called from one thread per notifier at a time for the outbox, and
        from the escalation flows for failures. Called again with the same
        event (same ``event_id``) after a transient error or a monitor
        restart: a receiver that already has it must be able to recognize
        it (Masakari answers 409, which counts as delivered).

        A call must end: bound every wait on the receiver.

        :param event: an ``events.Event`` of one of :attr:`kinds`.
        :returns: a short description of what the receiver answered.
        :raises: masakarimonitors_ext.exception.TransientNotificationError
            when trying again later may succeed,
            PermanentNotificationError when it cannot. Anything else is
            treated as transient and logged with its traceback.
        """
