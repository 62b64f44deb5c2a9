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

# The main job, end to end on a fresh Debian machine, as root: a real VM
# with the real qemu-ga on libvirtd + QEMU, the real Masakari, and the
# monitor. Hangs the guest and prints the timeline up to the VM answering
# again after Masakari's recovery.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
echo "demo: set-up first (4 to 6 minutes on a fresh machine, seconds" \
     "afterwards), then about a minute and a half: start Masakari," \
     "Mistral and Vitrage, boot a VM, heartbeat it, panic its kernel," \
     "print the timeline up to Masakari's recovery, and what each" \
     "backend received"
"$TOP/tools/testbed/setup.sh"
VENV=${VMHB_VENV:-$TOP/.venv}
cd "$TOP"
exec "$VENV/bin/python" -m tools.demo "$@"
