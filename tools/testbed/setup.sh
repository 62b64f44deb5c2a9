#!/usr/bin/env bash
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

# Set up everything the demo, the tests and the benchmark need on a fresh
# Debian bookworm machine, as root: the Debian packages, libvirtd, the tiny
# guest image with the real qemu-ga, the real Masakari, the real Mistral and
# the real Vitrage (each in its own venv), and the project's own venv
# (.venv) with the monitor installed in it.
# Idempotent: a second run only checks.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${VMHB_VENV:-$TOP/.venv}
PYTHON=${PYTHON:-python3}
LOG_DIR=${VMHB_TESTBED_DIR:-/var/lib/vmhb-testbed}/logs

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: must run as root (libvirtd, apt, qemu:///system)" >&2
    exit 1
fi
mkdir -p "$LOG_DIR"
echo "setup.sh: setting up the Debian packages, libvirtd, the tiny guest," \
     "the real Masakari, Mistral and Vitrage and the venv $VENV: about" \
     "4 to 6 minutes on a fresh machine, a few seconds when it was done" \
     "before"

"$TOP/tools/testbed/install-packages.sh"
"$TOP/tools/testbed/start-libvirtd.sh"
"$TOP/tools/testbed/build-guest.sh"
"$TOP/tools/testbed/install-masakari.sh"
"$TOP/tools/testbed/install-mistral.sh"
"$TOP/tools/testbed/install-vitrage.sh"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
echo "setup.sh: installing the monitor and its test requirements into $VENV"
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$TOP/requirements.txt" -r "$TOP/test-requirements.txt" \
        -e "$TOP" >"$LOG_DIR/install-venv.log" 2>&1; then
    echo "setup.sh: pip install failed; last lines of $LOG_DIR/install-venv.log:" >&2
    grep -v 'is ignored: it is neither' "$LOG_DIR/install-venv.log" \
        | tail -n 30 >&2
    exit 1
fi
echo "setup.sh: ready"
