#!/bin/bash
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

# Install the real Mistral (mistral-server) into its own venv for the
# functional tests, the demo and the benchmark
# (tests/functional/fixtures/mistral_service.py runs it).
#
#   VMHB_TESTBED_DIR   base directory (default /var/lib/vmhb-testbed)
#   MISTRAL_VERSION    version to install (default 23.0.0)
#   PYTHON             interpreter for the venv (default python3)
#
# Idempotent: does nothing when the venv already holds that version.

set -euo pipefail

. "$(dirname "$0")/service-venv.sh"
service_venv mistral "${MISTRAL_VERSION:-23.0.0}"

if [ "$(installed_version)" = "${SERVICE_VERSION}" ] \
        && [ -x "${VENV}/bin/mistral-server" ]; then
    echo "mistral ${SERVICE_VERSION} already installed in ${VENV}"
    exit 0
fi

begin_install
pip_install_service
# The fixture makes the schema with mistral.db.v2.api.setup_db():
# mistral-db-manage cannot migrate SQLite.
"${VENV}/bin/python" -c 'import mistral.db.v2.api' >>"${LOG}" 2>&1 \
    || fail "mistral.db.v2.api does not import"
end_install
