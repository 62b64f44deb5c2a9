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

"""Console scripts. Native threads only: this package never uses eventlet.

masakari-monitors depends on eventlet, so it is installed; futurist (used
by TaskFlow and by us) imports it when present, only to recognize green
threads, and eventlet then warns that it is deprecated. Nothing here is
monkey patched or green: keep that misleading warning out of the log.
"""

import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
