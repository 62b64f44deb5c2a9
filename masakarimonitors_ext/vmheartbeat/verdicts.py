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

"""The monitor's words for what it finds, each defined once.

What an instance fails of (its failure class), what an application says
of itself, the kinds of health events, and how an escalation episode
ended (:class:`EpisodeOutcome`: the escalator says it, the health machine
takes it as it is), and what the recovery guards let be done with a
failure (:class:`Permission`). The configuration's choices are these
words too. It imports nothing, so that every layer, the options
included, uses it.

A few words stand on more than one axis, because each axis is a public
format of its own: ``failed`` is what an application says of itself
(:data:`APP_FAILED`, the guest protocol), the kind of a health event
(:data:`EVENT_FAILED`, the event format), a probe's outcome
(``probes.base.Outcome.FAILED``, in the status and the log) and an
instance's health state (``health.machine.FAILED``, in the status);
``starting`` and ``healthy`` are an application's status and a health
state. In the code each is named by its axis (``APP_``, ``EVENT_``,
``Outcome.``, ``machine.``), never by the bare word, and the JSON that
carries them says which axis a value is on (``app_status``, ``kind``,
``outcome``, ``state``).
"""

import enum

# Failure classes: what an instance is reported for
CLASS_HEARTBEAT = 'heartbeat_lost'
CLASS_APP_HEARTBEAT = 'app_heartbeat_lost'
CLASS_APP_FAILED = 'app_failed'
CLASS_AUDIT = 'audit_failed'
CLASS_EXEC = 'exec_check_failed'
CLASS_FROZEN = 'frozen_too_long'
FAILURE_CLASSES = (CLASS_HEARTBEAT, CLASS_APP_HEARTBEAT, CLASS_APP_FAILED,
                   CLASS_AUDIT, CLASS_EXEC, CLASS_FROZEN)

# What an application reports of itself
APP_STARTING = 'starting'
APP_HEALTHY = 'healthy'
APP_DEGRADED = 'degraded'
APP_FAILED = 'failed'
APP_STATES = (APP_STARTING, APP_HEALTHY, APP_DEGRADED, APP_FAILED)

# Kinds of health events
EVENT_FAILED = 'failed'
EVENT_REPORTED = 'reported'
EVENT_RECOVERED = 'recovered'
EVENT_STATUS_CHANGED = 'status_changed'
EVENT_RECOVERY_SUSPENDED = 'recovery_suspended'
#: about the whole host, not one instance (its instance_uuid is None)
EVENT_MASS_FAILURE = 'mass_failure_suspected'
EVENT_PAUSE_STARTED = 'pause_started'
EVENT_PAUSE_ENDED = 'pause_ended'
EVENT_KINDS = (EVENT_FAILED, EVENT_REPORTED, EVENT_RECOVERED,
               EVENT_STATUS_CHANGED, EVENT_RECOVERY_SUSPENDED,
               EVENT_MASS_FAILURE, EVENT_PAUSE_STARTED, EVENT_PAUSE_ENDED)


class Permission(enum.Enum):
    """What the recovery guards let be done with one failure."""

    #: escalate it, and have Masakari recover the instance
    RECOVER = 'recover'
    #: escalate it, reported only: Masakari is not asked to recover it
    REPORT_ONLY = 'report_only'
    #: do not escalate it yet: it is escalated when the hold ends, if the
    #: instance still fails
    HOLD = 'hold'

    def __str__(self):
        return self.value


class EpisodeOutcome(enum.Enum):
    """The end of one failure episode."""

    #: every required notifier took the failure: the instance is reported
    NOTIFIED = 'notified'
    #: a required notifier refused it for good: nothing was reported
    REJECTED = 'rejected'
    #: the guest answered a re-probe: no failure
    ANSWERED = 'answered'
    #: the domain turned out not to be running, or in a lifecycle operation
    SUPPRESSED = 'suppressed'
    #: no verdict could be had (libvirtd unreachable, the check refused)
    INCONCLUSIVE = 'inconclusive'
    #: the escalation could not run: nothing was reported
    ERROR = 'error'
    #: the monitor stopped during it: it resumes at the next start
    INTERRUPTED = 'interrupted'

    @property
    def deferred(self):
        """Nothing was reported: escalated again after a cool-off."""
        return self in (EpisodeOutcome.REJECTED, EpisodeOutcome.ERROR)

    def __str__(self):
        return self.value
