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

TESTBED_DIR="${VMHB_TESTBED_DIR:-/var/lib/vmhb-testbed}"
MISTRAL_VERSION="${MISTRAL_VERSION:-23.0.0}"
PYTHON="${PYTHON:-python3}"
VENV="${TESTBED_DIR}/venvs/mistral"
LOG_DIR="${TESTBED_DIR}/logs"
LOG="${LOG_DIR}/install-mistral.log"

mkdir -p "${LOG_DIR}" "${TESTBED_DIR}/venvs"

installed_version() {
    [ -x "${VENV}/bin/python" ] || return 0
    "${VENV}/bin/python" - <<'EOF' 2>/dev/null || true
from importlib import metadata
try:
    print(metadata.version('mistral'))
except metadata.PackageNotFoundError:
    pass
EOF
}

if [ "$(installed_version)" = "${MISTRAL_VERSION}" ] \
        && [ -x "${VENV}/bin/mistral-server" ]; then
    echo "mistral ${MISTRAL_VERSION} already installed in ${VENV}"
    exit 0
fi

fail() {
    echo "ERROR: $1 (log: ${LOG}); last lines:" >&2
    tail -n 30 "${LOG}" >&2 || true
    exit 1
}

: > "${LOG}"
echo "installing mistral ${MISTRAL_VERSION} into ${VENV} (log: ${LOG})"
start=$(date +%s)

if [ ! -x "${VENV}/bin/python" ]; then
    "${PYTHON}" -m venv "${VENV}" >>"${LOG}" 2>&1 \
        || fail "could not create the venv"
fi

"${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "mistral==${MISTRAL_VERSION}" >>"${LOG}" 2>&1 \
    || fail "pip install mistral==${MISTRAL_VERSION} failed"

[ "$(installed_version)" = "${MISTRAL_VERSION}" ] \
    || fail "mistral ${MISTRAL_VERSION} not importable after install"
# The fixture makes the schema with mistral.db.v2.api.setup_db():
# mistral-db-manage cannot migrate SQLite.
"${VENV}/bin/python" -c 'import mistral.db.v2.api' >>"${LOG}" 2>&1 \
    || fail "mistral.db.v2.api does not import"

echo "mistral ${MISTRAL_VERSION} installed in $(( $(date +%s) - start )) s"
