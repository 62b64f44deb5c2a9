#!/bin/bash
# Copyright 2025 masakari-monitors-ext developers
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

# Install the real Masakari (API, engine, manage) into its own venv for the
# functional tests, the demo and the benchmark.
#
#   VMHB_TESTBED_DIR   base directory (default /var/lib/vmhb-testbed)
#   MASAKARI_VERSION   version to install (default 22.0.0)
#   PYTHON             interpreter for the venv (default python3)
#
# Idempotent: does nothing when the venv already holds that version.

set -euo pipefail

. "$(dirname "$0")/service-venv.sh"
service_venv masakari "${MASAKARI_VERSION:-22.0.0}"

if [ "$(installed_version)" = "${SERVICE_VERSION}" ] \
        && [ -x "${VENV}/bin/masakari-api" ] \
        && [ -x "${VENV}/bin/masakari-engine" ] \
        && [ -x "${VENV}/bin/masakari-manage" ]; then
    echo "masakari ${SERVICE_VERSION} already installed in ${VENV}"
    exit 0
fi

begin_install
pip_install_service
end_install
