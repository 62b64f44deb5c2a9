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

TESTBED_DIR="${VMHB_TESTBED_DIR:-/var/lib/vmhb-testbed}"
MASAKARI_VERSION="${MASAKARI_VERSION:-22.0.0}"
PYTHON="${PYTHON:-python3}"
VENV="${TESTBED_DIR}/venvs/masakari"
LOG_DIR="${TESTBED_DIR}/logs"
LOG="${LOG_DIR}/install-masakari.log"

mkdir -p "${LOG_DIR}" "${TESTBED_DIR}/venvs"

installed_version() {
    [ -x "${VENV}/bin/python" ] || return 0
    "${VENV}/bin/python" - <<'EOF' 2>/dev/null || true
from importlib import metadata
try:
    print(metadata.version('masakari'))
except metadata.PackageNotFoundError:
    pass
EOF
}

if [ "$(installed_version)" = "${MASAKARI_VERSION}" ] \
        && [ -x "${VENV}/bin/masakari-api" ] \
        && [ -x "${VENV}/bin/masakari-engine" ] \
        && [ -x "${VENV}/bin/masakari-manage" ]; then
    echo "masakari ${MASAKARI_VERSION} already installed in ${VENV}"
    exit 0
fi

fail() {
    echo "ERROR: $1 (log: ${LOG}); last lines:" >&2
    tail -n 30 "${LOG}" >&2 || true
    exit 1
}

: > "${LOG}"
echo "installing masakari ${MASAKARI_VERSION} into ${VENV} (log: ${LOG})"
start=$(date +%s)

if [ ! -x "${VENV}/bin/python" ]; then
    "${PYTHON}" -m venv "${VENV}" >>"${LOG}" 2>&1 \
        || fail "could not create the venv"
fi

# pip here may print harmless "Location ... is ignored" warnings: they go
# to the log with everything else.
"${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "masakari==${MASAKARI_VERSION}" >>"${LOG}" 2>&1 \
    || fail "pip install masakari==${MASAKARI_VERSION} failed"

[ "$(installed_version)" = "${MASAKARI_VERSION}" ] \
    || fail "masakari ${MASAKARI_VERSION} not importable after install"

echo "masakari ${MASAKARI_VERSION} installed in $(( $(date +%s) - start )) s"
