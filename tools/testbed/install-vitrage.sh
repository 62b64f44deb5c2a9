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

. "$(dirname "$0")/service-venv.sh"
service_venv vitrage "${VITRAGE_VERSION:-15.0.1}"
VITRAGE_VERSION="${SERVICE_VERSION}"
ETC="${VENV}/etc/vitrage"

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

begin_install

if [ "$(installed_version)" != "${VITRAGE_VERSION}" ] || ! have_bins; then
    pip_install_service
    have_bins || fail "vitrage ${VITRAGE_VERSION} has not all its commands"
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

end_install
