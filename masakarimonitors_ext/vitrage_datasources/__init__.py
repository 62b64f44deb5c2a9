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


"""Vitrage datasources shipped with masakari-vmheartbeatmonitor.

Vitrage loads a datasource ``<type>`` from the module ``<path>.<type>``
of each package listed in its ``[datasources] path``. To use the
``vmheartbeat`` datasource, install this package where Vitrage runs
(``pip install --no-deps masakari-monitors-ext``: the datasource needs
nothing but Vitrage) and set in vitrage.conf::

    [datasources]
    path = vitrage.datasources,masakarimonitors_ext.vitrage_datasources
    types = nova.host,nova.instance,...,vmheartbeat

    [vmheartbeat]
    event_signing_key = <the monitors' [vitrage] event_signing_key>

Without the key, the datasource refuses every event. Vitrage is
deprecated upstream: the datasource, like the monitor's ``vitrage``
notifier, is optional and off unless configured.

Nothing here is imported by the monitor itself but ``vmheartbeat.events``,
the event format it shares with the monitor's ``vitrage`` notifier.
"""
