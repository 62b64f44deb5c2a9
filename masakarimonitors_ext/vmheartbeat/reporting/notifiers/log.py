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

"""A notifier that only logs, for deployments that watch their logs."""

from oslo_log import log as logging

from masakarimonitors_ext.vmheartbeat.reporting.notifiers import base
from masakarimonitors_ext.vmheartbeat import verdicts

LOG = logging.getLogger(__name__)


class LogNotifier(base.Notifier):
    """Logs failures at error level, the other health events at info."""

    def notify(self, event):
        if event.kind == verdicts.EVENT_FAILED:
            LOG.error('Instance %s on %s failed (%s, %s) at %s; evidence: '
                      '%s', event.instance_uuid, event.hostname,
                      event.failure_class,
                      'recover' if event.recover else 'report only',
                      event.generated_time, ' | '.join(event.evidence))
        elif event.instance_uuid is None:
            LOG.warning('Health event %s: host %s: %s; until %s',
                        event.kind, event.hostname, event.details or '-',
                        event.until or '-')
        else:
            LOG.info('Health event %s: instance %s on %s, check %s, class '
                     '%s, status %s at %s: %s%s%s', event.kind,
                     event.instance_uuid, event.hostname, event.check or '-',
                     event.failure_class or '-', event.status or '-',
                     event.generated_time, event.details or '-',
                     ''.join('; %s: %s' % answer
                             for answer in event.answers),
                     '; until %s' % event.until if event.until else '')
        return 'logged'
