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

"""How an escalation episode ended: one word for it, from end to end.

The escalator says it (:class:`EpisodeOutcome`), the health machine takes
it as it is (``health.InstanceHealth.episode_ended``), and the instances
table acts on it. It imports nothing, so that every layer can use it.
"""

import enum


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
