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

"""How each notifier gets its events: which path, how long, one try.

A failure goes to a required notifier that recovers the instance
(Masakari) through the escalation flow, and to every other notifier
through the outbox (:func:`by_escalation`); every other event goes
through the outbox. Both paths make each try with :func:`try_once` and
ask the notifier's :class:`Policy` how long to wait before the next one,
so a notifier is tried the same way whatever it delivers.
"""

import dataclasses

from oslo_log import log as logging

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)

#: the longest wait between two quick tries, in seconds
MAX_BACKOFF = 30.0


@dataclasses.dataclass(frozen=True)
class Policy:
    """The retries of one notifier.

    A required notifier is tried with a doubling backoff from ``interval``
    until ``deadline`` seconds after the event, then every
    ``slow_interval`` seconds for as long as it takes. A best-effort one
    is tried with the same backoff until ``deadline``, then given up.

    :param required: the event is kept until this notifier has it.
    :param deadline: seconds from the event: the end of the quick tries
        (required) or of every try (best effort).
    :param interval: the first backoff, in seconds.
    :param slow_interval: seconds between two tries of a required
        notifier after ``deadline``.
    """

    required: bool
    deadline: float
    interval: float
    slow_interval: float

    def next_try(self, tries, elapsed):
        """Seconds to wait before the next try; None to give up.

        :param tries: the tries made so far (1 after the first).
        :param elapsed: seconds since the event.
        """
        if elapsed < self.deadline:
            return min(MAX_BACKOFF, self.deadline - elapsed,
                       self.interval * 2 ** max(0, tries - 1))
        if not self.required:
            return None
        return self.slow_interval

    def slow(self, elapsed):
        """True when a required notifier is past its quick tries."""
        return self.required and elapsed >= self.deadline

    @property
    def name(self):
        return 'required' if self.required else 'best effort'


def policies(conf):
    """{notifier name: :class:`Policy`} from ``[vmheartbeat]``."""
    group = conf.vmheartbeat
    best_effort = set(group.best_effort_notifiers)
    return {
        name: Policy(
            required=name not in best_effort,
            deadline=(group.best_effort_deadline if name in best_effort
                      else group.notification_deadline),
            interval=group.notification_retry_interval,
            slow_interval=group.notification_slow_retry_interval)
        for name in group.notifiers}


def by_escalation(notifier, policy):
    """True when the escalation flow itself delivers failures to it.

    A required notifier that recovers the instance: an episode is
    reported only once it has the failure. Every other notifier that
    takes failures gets them from the outbox.
    """
    return (verdicts.EVENT_FAILED in notifier.kinds and notifier.recovers and
            policy.required)


#: what became of one try (:class:`Attempt`)
DELIVERED = 'delivered'
REFUSED = 'refused'
TRANSIENT = 'transient'


@dataclasses.dataclass(frozen=True)
class Attempt:
    """What one try of a notifier gave.

    :param result: :data:`DELIVERED`, :data:`REFUSED` (for good: no later
        try can change it) or :data:`TRANSIENT` (a later try may work).
    :param answer: what the receiver answered, or why it did not take it.
    """

    result: str
    answer: str


def try_once(name, notifier, event):
    """Give an event to a notifier, once; never raises.

    An error the notifier did not expect is logged with its traceback and
    taken as transient.
    """
    try:
        answer = notifier.notify(event)
    except exception.PermanentNotificationError as e:
        return Attempt(REFUSED, str(e))
    except exception.TransientNotificationError as e:
        return Attempt(TRANSIENT, str(e))
    except Exception as e:
        LOG.exception('Notifier %s failed unexpectedly on the %s event of '
                      'instance %s; trying again as for a transient error',
                      name, event.kind, event.instance_uuid)
        return Attempt(TRANSIENT, '%s: %s' % (type(e).__name__, e))
    return Attempt(DELIVERED, answer)
