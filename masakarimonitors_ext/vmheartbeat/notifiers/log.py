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

from masakarimonitors_ext.vmheartbeat.notifiers import base

LOG = logging.getLogger(__name__)


class LogNotifier(base.Notifier):
    """Logs each failure at error level with its evidence."""

    def notify(self, failure):
        LOG.error('Instance %s on %s failed its heartbeats at %s; '
                  'evidence: %s', failure.instance_uuid, failure.hostname,
                  failure.generated_time, ' | '.join(failure.evidence))
        return 'logged'
