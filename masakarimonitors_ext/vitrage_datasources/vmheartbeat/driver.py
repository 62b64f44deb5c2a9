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


"""The ``vmheartbeat`` driver: takes the monitor's events, caches alarms.

It runs inside Vitrage (vitrage-graph) and imports Vitrage.
"""

from oslo_config import cfg
from oslo_log import log
from vitrage.common.constants import DatasourceAction
from vitrage.common.constants import DatasourceProperties as DSProps
from vitrage.datasources.alarm_driver_base import AlarmDriverBase

from masakarimonitors_ext.vitrage_datasources.vmheartbeat import events
from masakarimonitors_ext.vitrage_datasources.vmheartbeat import intake

CONF = cfg.CONF
LOG = log.getLogger(__name__)


def signing_key(group):
    """The datasource's signing key, or None (said at load time)."""
    key = group.event_signing_key
    if not key or len(key) < events.MIN_KEY_LENGTH:
        LOG.error('[%s] event_signing_key is %s: every vmheartbeat event '
                  'is refused. Set it, to the key of the monitors\' '
                  '[vitrage] event_signing_key (at least %d characters).',
                  events.DATASOURCE, 'too short' if key else 'not set',
                  events.MIN_KEY_LENGTH)
        return None
    return key


class VmHeartbeatDriver(AlarmDriverBase):
    """Push-only driver of the alarms the monitor raises and clears.

    Vitrage gives it each event of type ``vmheartbeat.alarm.raise`` or
    ``vmheartbeat.alarm.clear`` (see ``events``); ``intake.AlarmIntake``,
    with the options of the datasource's group (``[vmheartbeat]
    event_signing_key``, ``max_event_age``, ``max_alarms``), decides:
    only events signed with the key, fresh and valid are taken, a raise is
    passed on when it is new or changed, a clear when the alarm is raised.
    There is nothing to poll: ``get_all`` returns nothing and the alarms
    stay until cleared.
    """

    def __init__(self):
        super().__init__()
        group = CONF[events.DATASOURCE]
        self.intake = intake.AlarmIntake(
            signing_key(group), max_age=group.max_event_age,
            max_alarms=group.max_alarms)
        # the raised alarms (AlarmDriverBase's cache)
        self.cache = self.intake.cache

    def _vitrage_type(self):
        return events.DATASOURCE

    def _alarm_key(self, alarm):
        return intake.alarm_key(alarm)

    def _is_erroneous(self, alarm):
        return bool(alarm) and alarm.get(intake.TYPE) == events.RAISE

    def get_all(self, datasource_action):
        return self.make_pickleable([], self._vitrage_type(),
                                    datasource_action)

    def get_changes(self, datasource_action):
        return self.make_pickleable([], self._vitrage_type(),
                                    datasource_action)

    @staticmethod
    def get_event_types():
        return list(events.EVENT_TYPES)

    @staticmethod
    def should_delete_outdated_entities():
        # NOTE: nothing polls these alarms: a snapshot must not delete them
        return False

    def enrich_event(self, event, event_type):
        """Check and cache one posted event; the alarm event, or None.

        :param event: ``{"time", "type", "details"}`` as posted
        :param event_type: ``vmheartbeat.alarm.raise`` or ``...clear``
        """
        alarm = self.intake.take(event)
        if alarm is None:
            return None
        alarm[DSProps.EVENT_TYPE] = event_type
        return self.make_pickleable([alarm], self._vitrage_type(),
                                    DatasourceAction.UPDATE)[0]
