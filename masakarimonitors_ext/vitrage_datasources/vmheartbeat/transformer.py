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


"""The ``vmheartbeat`` transformer: an alarm vertex on its instance.

It runs inside Vitrage (vitrage-graph) and imports Vitrage.
"""

from vitrage.common.constants import DatasourceProperties as DSProps
from vitrage.common.constants import EdgeLabel
from vitrage.common.constants import EntityCategory
from vitrage.common.constants import EventProperties as EventProps
from vitrage.common.constants import VertexProperties as VProps
from vitrage.datasources.alarm_transformer_base import AlarmTransformerBase
from vitrage.datasources.nova.instance import NOVA_INSTANCE_DATASOURCE
from vitrage.datasources import transformer_base as tbase
import vitrage.graph.utils as graph_utils
from vitrage.utils.datetime import change_time_str_format

from masakarimonitors_ext.vitrage_datasources.vmheartbeat import events
from masakarimonitors_ext.vitrage_datasources.vmheartbeat import intake


def _graph_time(value):
    return change_time_str_format(value, events.TIME_FORMAT,
                                  tbase.TIMESTAMP_FORMAT)


class VmHeartbeatTransformer(AlarmTransformerBase):
    """Turns a vmheartbeat event into an alarm ``on`` its nova.instance.

    The alarm is named after ``details.name``, has the event's details as
    its properties, and is keyed by (name, instance): a raise creates or
    updates it, a clear deletes it. The instance is found by its uuid, as
    the nova.instance datasource keys it; an instance Vitrage does not
    know yet gets a placeholder that Nova's datasource fills in later.
    """

    def _create_snapshot_entity_vertex(self, entity_event):
        # push only: there are no snapshots
        return None

    def _create_update_entity_vertex(self, entity_event):
        metadata = dict(entity_event[EventProps.DETAILS])
        metadata[VProps.NAME] = metadata[events.NAME]
        metadata[EventProps.TIME] = _graph_time(entity_event[EventProps.TIME])
        metadata.setdefault(events.SEVERITY, events.CRITICAL)
        return graph_utils.create_vertex(
            self._create_entity_key(entity_event),
            vitrage_category=EntityCategory.ALARM,
            vitrage_type=entity_event[DSProps.ENTITY_TYPE],
            vitrage_sample_timestamp=entity_event[DSProps.SAMPLE_DATE],
            entity_state=self._get_alarm_state(entity_event),
            update_timestamp=_graph_time(entity_event[intake.UPDATE_TIME]),
            metadata=metadata)

    def _create_update_neighbors(self, entity_event):
        return [self._create_neighbor(
            entity_event,
            intake.detail(entity_event, events.INSTANCE_ID),
            NOVA_INSTANCE_DATASOURCE,
            EdgeLabel.ON,
            neighbor_category=EntityCategory.RESOURCE)]

    def _create_entity_key(self, entity_event):
        return tbase.build_key((
            EntityCategory.ALARM,
            entity_event[DSProps.ENTITY_TYPE],
            intake.detail(entity_event, events.NAME),
            intake.detail(entity_event, events.INSTANCE_ID)))

    def get_vitrage_type(self):
        return events.DATASOURCE

    def _ok_status(self, entity_event):
        return (bool(entity_event) and
                entity_event.get(EventProps.TYPE) == events.CLEAR)
