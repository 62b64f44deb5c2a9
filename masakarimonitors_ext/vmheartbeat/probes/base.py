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

"""The heartbeat probe driver interface and its results."""

import abc
import dataclasses
import enum
import time


class Outcome(enum.Enum):
    """What one heartbeat call found."""

    #: the guest returned the right answer to this very challenge
    ANSWERED = 'answered'
    #: libvirt says the guest agent is not connected
    NOT_CONNECTED = 'not_connected'
    #: no answer before the deadline
    TIMED_OUT = 'timed_out'
    #: an answer came, but not the right one (or too large, or garbage)
    WRONG_ANSWER = 'wrong_answer'
    #: the agent returned an error for the command
    AGENT_ERROR = 'agent_error'
    #: the domain is not running (paused, shut off, gone): not a miss
    NOT_RUNNING = 'not_running'
    #: the call could not be made (libvirtd unreachable): no verdict
    INCONCLUSIVE = 'inconclusive'


#: outcomes that count as a missed heartbeat
MISSES = frozenset([Outcome.NOT_CONNECTED, Outcome.TIMED_OUT,
                    Outcome.WRONG_ANSWER, Outcome.AGENT_ERROR])


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """The result of one heartbeat call.

    :param outcome: an :class:`Outcome`.
    :param detail: a short, bounded description for logs and evidence
        (libvirt's error, what was wrong with the answer).
    :param started: ``time.monotonic()`` when the call started.
    :param duration: seconds the call took.
    """

    outcome: Outcome
    detail: str = ''
    started: float = dataclasses.field(default_factory=time.monotonic)
    duration: float = 0.0

    @property
    def answered(self):
        return self.outcome is Outcome.ANSWERED

    @property
    def missed(self):
        return self.outcome in MISSES

    def __str__(self):
        text = '%s after %.3fs' % (self.outcome.value, self.duration)
        return '%s (%s)' % (text, self.detail) if self.detail else text


class ProbeDriver(metaclass=abc.ABCMeta):
    """A way to ask a guest whether it is alive.

    Drivers are loaded by stevedore from the
    ``masakarimonitors_ext.vmheartbeat.probes`` namespace. A driver is
    called from many threads at once, for different domains; the caller
    guarantees that at most one call per domain is in flight.
    """

    @abc.abstractmethod
    def probe(self, domain, timeout):
        """Challenge the guest once and classify its answer.

        Must return within about ``timeout`` seconds plus what libvirt
        itself adds, must never raise for anything the guest does, and
        must bound what it reads from the guest.

        :param domain: a ``libvirt.virDomain`` on a connection reserved for
            this call.
        :param timeout: seconds the guest has to answer.
        :returns: a :class:`ProbeResult`.
        """
