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

# Install the real Vitrage (api, graph, persistor, dbsync) into its own venv
# for the functional tests, the demo and the benchmark
# (tests/functional/fixtures/vitrage_service.py runs it).
#
# The wheel has no etc/ files, and Vitrage needs two of them: api-paste.ini
# and datasources_values/ (without it every event fails in the graph with
# KeyError 'default'). They come from the sdist, kept in ${VENV}/etc/vitrage
# with the sample templates (templates.sample/).
#
# Vitrage is retired upstream: 15.0.1 is its last release.
#
#   VMHB_TESTBED_DIR   base directory (default /var/lib/vmhb-testbed)
#   VITRAGE_VERSION    version to install (default 15.0.1)
#   PYTHON             interpreter for the venv (default python3)
#
# Idempotent: does nothing when the venv already holds that version and
# the etc/ files.

set -euo pipefail

TESTBED_DIR="${VMHB_TESTBED_DIR:-/var/lib/vmhb-testbed}"
VITRAGE_VERSION="${VITRAGE_VERSION:-15.0.1}"
PYTHON="${PYTHON:-python3}"
VENV="${TESTBED_DIR}/venvs/vitrage"
ETC="${VENV}/etc/vitrage"
LOG_DIR="${TESTBED_DIR}/logs"
LOG="${LOG_DIR}/install-vitrage.log"

mkdir -p "${LOG_DIR}" "${TESTBED_DIR}/venvs"

installed_version() {
    [ -x "${VENV}/bin/python" ] || return 0
    "${VENV}/bin/python" - <<'EOF' 2>/dev/null || true
from importlib import metadata
try:
    print(metadata.version('vitrage'))
except metadata.PackageNotFoundError:
    pass
EOF
}

have_bins() {
    local b
    for b in vitrage-api vitrage-graph vitrage-persistor vitrage-dbsync; do
        [ -x "${VENV}/bin/${b}" ] || return 1
    done
}

have_etc() {
    [ -f "${ETC}/api-paste.ini" ] \
        && [ -f "${ETC}/datasources_values/default.yaml" ] \
        && [ -d "${ETC}/templates.sample" ] \
        && [ "$(cat "${ETC}/VERSION" 2>/dev/null)" = "${VITRAGE_VERSION}" ]
}

if [ "$(installed_version)" = "${VITRAGE_VERSION}" ] && have_bins \
        && have_etc; then
    echo "vitrage ${VITRAGE_VERSION} already installed in ${VENV}"
    exit 0
fi

fail() {
    echo "ERROR: $1 (log: ${LOG}); last lines:" >&2
    tail -n 30 "${LOG}" >&2 || true
    exit 1
}

: > "${LOG}"
echo "installing vitrage ${VITRAGE_VERSION} into ${VENV} (log: ${LOG})"
start=$(date +%s)

if [ ! -x "${VENV}/bin/python" ]; then
    "${PYTHON}" -m venv "${VENV}" >>"${LOG}" 2>&1 \
        || fail "could not create the venv"
fi

if [ "$(installed_version)" != "${VITRAGE_VERSION}" ] || ! have_bins; then
    "${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
        "vitrage==${VITRAGE_VERSION}" >>"${LOG}" 2>&1 \
        || fail "pip install vitrage==${VITRAGE_VERSION} failed"
    [ "$(installed_version)" = "${VITRAGE_VERSION}" ] && have_bins \
        || fail "vitrage ${VITRAGE_VERSION} not importable after install"
fi

if ! have_etc; then
    echo "fetching the vitrage ${VITRAGE_VERSION} sdist for its etc/ files" \
        >>"${LOG}"
    work=$(mktemp -d)
    trap 'rm -rf "${work}"' EXIT
    "${VENV}/bin/python" -m pip download --quiet \
        --disable-pip-version-check --no-deps --no-binary :all: \
        -d "${work}" "vitrage==${VITRAGE_VERSION}" >>"${LOG}" 2>&1 \
        || fail "pip download of the vitrage ${VITRAGE_VERSION} sdist failed"
    sdist="${work}/vitrage-${VITRAGE_VERSION}.tar.gz"
    [ -f "${sdist}" ] || fail "no ${sdist} after pip download"
    tar -xzf "${sdist}" -C "${work}" \
        "vitrage-${VITRAGE_VERSION}/etc/vitrage" >>"${LOG}" 2>&1 \
        || fail "${sdist} has no etc/vitrage"
    rm -rf "${ETC}"
    mkdir -p "$(dirname "${ETC}")"
    cp -r "${work}/vitrage-${VITRAGE_VERSION}/etc/vitrage" "${ETC}"
    echo "${VITRAGE_VERSION}" > "${ETC}/VERSION"
    have_etc \
        || fail "the sdist lacks api-paste.ini, datasources_values/ or templates.sample/"
fi

echo "vitrage ${VITRAGE_VERSION} installed in $(( $(date +%s) - start )) s"
