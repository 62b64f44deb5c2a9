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

"""How long each notifier's deliveries are tried: required or best effort.

Both the escalation flow (failures) and the outbox (the other events) ask
the notifier's :class:`Policy` how long to wait before the next try, so a
notifier is retried the same way whatever it delivers.
"""

import dataclasses

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
