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

"""The probe driver interface and its results.

One vocabulary of outcomes serves every check (:class:`Outcome`): a probe
``answered``, ``missed`` (one of the :data:`MISSES`, ``failed``
included), was ``held`` or ``blocked`` by the agent, or gave no verdict.
The health machine counts them as they are; how an escalation episode
ended is ``verdicts.EpisodeOutcome``, which it takes as it is too.
"""

import abc
import dataclasses
import enum
import time


class Outcome(enum.Enum):
    """What one probe found."""

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
    #: the check ran and says the guest is not healthy (an exec check that
    #: exited non-zero, an application that reports failed, a failed audit)
    FAILED = 'failed'
    #: a challenge was written; its answer is read at the next run
    PENDING = 'pending'
    #: the agent refuses the check's commands while the guest's filesystems
    #: are frozen (a quiesced snapshot): held, not failed
    HELD = 'held'
    #: the agent refuses the check's commands by its own policy (qemu-ga's
    #: allow or block lists): no failure, and the operator is told
    BLOCKED = 'blocked'


#: outcomes that count as a miss
MISSES = frozenset([Outcome.NOT_CONNECTED, Outcome.TIMED_OUT,
                    Outcome.WRONG_ANSWER, Outcome.AGENT_ERROR,
                    Outcome.FAILED])


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """The result of one heartbeat call.

    :param outcome: an :class:`Outcome`.
    :param detail: a short, bounded description for logs and evidence
        (libvirt's error, what was wrong with the answer).
    :param started: ``time.monotonic()`` when the call started.
    :param duration: seconds the call took.
    :param status: the health state an application reported (one of
        ``verdicts.APP_STATES``), or None.
    :param details: what the application or the exec check said, bounded
        and escaped, or ''.
    :param failure_class: for a miss that is not simply a lost check, its
        class (``verdicts.CLASS_*``), else None.
    :param recover: the application asked to be recovered.
    :param retry_after: for ``pending``: seconds after which the check is
        to run again, to read the answer.
    """

    outcome: Outcome
    detail: str = ''
    started: float = dataclasses.field(default_factory=time.monotonic)
    duration: float = 0.0
    status: str = None
    details: str = ''
    failure_class: str = None
    recover: bool = False
    retry_after: float = None

    @property
    def answered(self):
        return self.outcome is Outcome.ANSWERED

    @property
    def missed(self):
        return self.outcome in MISSES

    def __str__(self):
        text = '%s after %.3fs' % (self.outcome.value, self.duration)
        if self.status:
            text += ', status %s' % self.status
        return '%s (%s)' % (text, self.detail) if self.detail else text


class ProbeDriver(metaclass=abc.ABCMeta):
    """A way to ask a guest whether it is alive, or healthy.

    Drivers are loaded by stevedore from the
    ``masakarimonitors_ext.vmheartbeat.probes`` namespace, one per check
    kind. A driver is called from many threads at once, for different
    checks; the caller guarantees that at most one call per check of an
    instance is in flight.
    """

    @abc.abstractmethod
    def probe(self, domain, timeout, check=None, memo=None, idle=None):
        """Run the check once and classify what the guest answered.

        Must return within about ``timeout`` seconds plus what libvirt
        itself adds, must never raise for anything the guest does, and
        must bound what it reads from the guest.

        :param domain: a ``libvirt.virDomain`` on a connection reserved for
            this call.
        :param timeout: seconds the guest has to answer.
        :param check: the check's ``checks.CheckSettings``, or None.
        :param memo: a dict kept for this check of this instance from one
            call to the next (a challenge written, a command still
            running); the driver owns its content.
        :param idle: for a driver that waits between agent calls:
            ``idle(seconds)`` waits without holding the libvirt connection
            and returns the ``virDomain`` to use next (on the connection it
            holds again), or raises ``LibvirtUnavailable`` when none frees
            in time; None when the caller cannot let the connection go.
        :returns: a :class:`ProbeResult`.
        """
