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

# Run every test on a fresh Debian machine, as root: set the testbed up,
# then style checks, the unit tests and the functional tests against real
# libvirtd + QEMU + qemu-ga and the real Masakari.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
"$TOP/tools/testbed/setup.sh"
VENV=${VMHB_VENV:-$TOP/.venv}
export PATH="$VENV/bin:$PATH"

echo "== pep8 (flake8 + hacking + no eventlet)"
flake8

count() {
    # count KIND: how many tests of the last stestr run had that status
    stestr last 2>/dev/null | sed -n "s/^ - $1: \([0-9]*\).*/\1/p" \
        | tail -n 1
}

echo "== unit tests"
stestr --test-path ./tests/unit run
unit_passed=$(count Passed)

echo "== functional tests (real libvirtd, QEMU, qemu-ga, Masakari)"
stestr --test-path ./tests/functional run --concurrency 1
functional_passed=$(count Passed)

echo "unit: ${unit_passed:-0} passed, functional: ${functional_passed:-0} passed"
echo "$(( ${unit_passed:-0} + ${functional_passed:-0} )) passed, 0 failed"
