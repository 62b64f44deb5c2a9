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

"""Start a Mistral workflow for each health event."""

import json

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import rest

#: the most of Mistral's answer read
_MAX_ANSWER_BYTES = 65536


class MistralNotifier(rest.RestNotifier):
    """Starts ``[mistral] workflow`` with the event as its input.

    ``POST /v2/executions`` with the event (``events.Event.to_dict()``) as
    the workflow input ``[mistral] input_name``, and the event's own
    ``event_id`` as the execution's id: Mistral answers a repeat of that id
    with the execution it already has, so a try that is repeated (a
    timeout, a restart) never starts the workflow twice.

    The caller-chosen id is why this goes through keystoneauth and not
    python-mistralclient, whose ``executions.create()`` has no id.

    :raises: ConfigurationError when ``[mistral] workflow`` is not set.
    """

    GROUP = 'mistral'
    SERVICE = 'Mistral'

    def __init__(self, conf, adapter=None):
        super().__init__(conf, adapter)
        if not conf.mistral.workflow:
            raise exception.ConfigurationError(
                'mistral.workflow', 'the mistral notifier needs the name '
                'of the workflow to start')
        self.kinds = tuple(conf.mistral.event_kinds)

    def hint(self, status):
        if status in (400, 404):
            return ('; check that the workflow %r exists and takes one '
                    'input named %r' % (self.conf.mistral.workflow,
                                        self.conf.mistral.input_name))
        if status == 403:
            return '; check the [mistral] credentials and their roles'
        return ''

    def notify(self, event):
        body = {
            'id': event.event_id,
            'workflow_name': self.conf.mistral.workflow,
            'input': json.dumps({self.conf.mistral.input_name:
                                 event.to_dict()}),
            'description': 'masakari-vmheartbeatmonitor: %s %s' % (
                'host %s' % event.hostname if event.instance_uuid is None
                else 'instance %s' % event.instance_uuid, event.kind),
        }
        response = self.post('/executions', body, 'execution of workflow %s'
                             % self.conf.mistral.workflow)
        # NOTE: Mistral accepted: whatever its answer holds (a deep or
        # huge body included), the delivery is done.
        try:
            execution = guestdata.loads(response.text, _MAX_ANSWER_BYTES)
        except ValueError:
            execution = None
        if not isinstance(execution, dict):
            execution = {}
        return 'execution %s of workflow %s: %s' % (
            guestdata.escape(execution.get('id', event.event_id), 64),
            self.conf.mistral.workflow,
            guestdata.escape(execution.get('state', 'started'), 32))
