#!/usr/bin/env bash
# Copyright masakari-monitors-ext developers
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

# Start virtlogd and libvirtd by hand (no systemd on the testbed) and wait
# until qemu:///system answers. Idempotent; run as root.

set -euo pipefail

URI=qemu:///system
TIMEOUT=${VMHB_LIBVIRTD_TIMEOUT:-30}

if [ "$(id -u)" -ne 0 ]; then
    echo "start-libvirtd.sh: must run as root" >&2
    exit 1
fi

for bin in virtlogd libvirtd virsh; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "start-libvirtd.sh: $bin not found;" \
             "run tools/testbed/install-packages.sh" >&2
        exit 1
    fi
done

running() {
    # A daemon that has exited can linger as a zombie until PID 1 reaps it.
    ps -C "$1" -o stat= 2>/dev/null | grep -qv '^Z'
}

answers() {
    timeout 10 virsh -c "$URI" list >/dev/null 2>&1
}

if running libvirtd && answers; then
    exit 0
fi

if ! running virtlogd; then
    virtlogd -d
fi
if ! running libvirtd; then
    libvirtd -d
fi

deadline=$((SECONDS + TIMEOUT))
until answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "start-libvirtd.sh: libvirtd did not answer on $URI" \
             "within ${TIMEOUT}s" >&2
        timeout 10 virsh -c "$URI" list >&2 || true
        exit 1
    fi
    sleep 0.2
done
