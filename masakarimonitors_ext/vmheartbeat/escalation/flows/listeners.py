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

"""What an escalation's engine says in the log, through TaskFlow's listener.

Every transition of the flow and of its steps, with their results, is
logged at DEBUG by TaskFlow's ``DynamicLoggingListener``; failures and
reverts too, since each step already logs its verdict in words an
operator reads (a re-probe missed, the domain confirmed, a notifier's
answer) and the escalator logs how the episode ended, at ERROR with its
traceback when a step failed unexpectedly. A step that fails for an
expected reason (the guest answered a re-probe, the domain is in a
lifecycle operation, a re-probe missed, a notifier could not take it yet)
is logged without traceback, as Masakari's engine does for its expected
exceptions.
"""

import logging as base_logging
import os

from oslo_log import log as logging
from taskflow import formatters
from taskflow.listeners import logging as logging_listener

from masakarimonitors_ext import exception

LOG = logging.getLogger(__name__)

#: what a step raises as a verdict of the escalation
EXPECTED = (exception.InstanceAnswered, exception.InstanceSuppressed,
            exception.ProbeMissed, exception.ProbeInconclusive,
            exception.LibvirtUnavailable, exception.NotificationError)


class VerdictFormatter(formatters.FailureFormatter):
    """Leaves the traceback and the flow's details out for a verdict."""

    def format(self, fail, atom_matcher):
        if fail.check(*EXPECTED) is not None:
            return None, '%s%s' % (os.linesep, fail.pformat(traceback=False))
        return super().format(fail, atom_matcher)


class EscalationLogListener(logging_listener.DynamicLoggingListener):
    """Logs an escalation engine's transitions while it runs.

    Use it as a context manager around ``engine.run()``.
    """

    def __init__(self, engine, logger=LOG):
        super().__init__(engine, log=logger, level=base_logging.DEBUG,
                         failure_level=base_logging.DEBUG,
                         fail_formatter=VerdictFormatter(engine))
