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

# Sourced by install-masakari.sh, install-mistral.sh and install-vitrage.sh:
# one OpenStack service from PyPI in a venv of its own under the testbed
# directory, with a log of its own.
#
#   service_venv NAME VERSION   sets VENV and LOG, makes their directories
#   installed_version           the version of NAME in the venv, or nothing
#   fail MESSAGE                says what failed with the log's tail; exits
#   begin_install               truncates the log, says what it does, makes
#                               the venv
#   pip_install_service         pip installs NAME==VERSION and checks it
#   end_install                 says how long it took
#
#   VMHB_TESTBED_DIR   base directory (default /var/lib/vmhb-testbed)
#   PYTHON             interpreter for the venv (default python3)

TESTBED_DIR="${VMHB_TESTBED_DIR:-/var/lib/vmhb-testbed}"
PYTHON="${PYTHON:-python3}"

service_venv() {
    SERVICE_NAME=$1
    SERVICE_VERSION=$2
    VENV="${TESTBED_DIR}/venvs/${SERVICE_NAME}"
    LOG="${TESTBED_DIR}/logs/install-${SERVICE_NAME}.log"
    mkdir -p "${TESTBED_DIR}/logs" "${TESTBED_DIR}/venvs"
}

installed_version() {
    [ -x "${VENV}/bin/python" ] || return 0
    "${VENV}/bin/python" -c '
import sys
from importlib import metadata
try:
    print(metadata.version(sys.argv[1]))
except metadata.PackageNotFoundError:
    pass
' "${SERVICE_NAME}" 2>/dev/null || true
}

fail() {
    echo "ERROR: $* (log: ${LOG}); last lines:" >&2
    tail -n 30 "${LOG}" >&2 || true
    exit 1
}

begin_install() {
    : > "${LOG}"
    echo "installing ${SERVICE_NAME} ${SERVICE_VERSION} into ${VENV}" \
         "(log: ${LOG})"
    INSTALL_STARTED=$(date +%s)
    if [ ! -x "${VENV}/bin/python" ]; then
        "${PYTHON}" -m venv "${VENV}" >>"${LOG}" 2>&1 \
            || fail "could not create the venv"
    fi
}

pip_install_service() {
    # pip here may print harmless "Location ... is ignored" warnings: they
    # go to the log with everything else.
    "${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${SERVICE_NAME}==${SERVICE_VERSION}" >>"${LOG}" 2>&1 \
        || fail "pip install ${SERVICE_NAME}==${SERVICE_VERSION} failed"
    [ "$(installed_version)" = "${SERVICE_VERSION}" ] \
        || fail "${SERVICE_NAME} ${SERVICE_VERSION} not importable after" \
                "install"
}

end_install() {
    echo "${SERVICE_NAME} ${SERVICE_VERSION} installed in" \
         "$(( $(date +%s) - INSTALL_STARTED )) s"
}
