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

# Install the Debian packages the testbed needs (libvirt, QEMU, the guest
# agent, the guest image ingredients, RabbitMQ). Idempotent; run as root.

set -euo pipefail

PACKAGES=(
    libvirt-daemon-system
    libvirt-clients
    qemu-system-x86
    qemu-guest-agent
    busybox-static
    linux-image-cloud-amd64
    libvirt-dev
    pkg-config
    cpio
    e2fsprogs
    rabbitmq-server
    systemd
    python3-venv
    python3-dev
    gcc
)

if [ "$(id -u)" -ne 0 ]; then
    echo "install-packages.sh: must run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
LOG=${VMHB_INSTALL_LOG:-/tmp/vmhb-install-packages.log}
: >"$LOG"

run() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "install-packages.sh: failed: $*" >&2
        echo "--- last lines of $LOG ---" >&2
        tail -n 30 "$LOG" >&2
        exit 1
    fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-packages.sh: all packages already installed"
    exit 0
fi

echo "install-packages.sh: installing ${missing[*]} (log: $LOG)"
APT_OPTS=(-q -o DPkg::Lock::Timeout=300)
# Refresh the package lists only if there are none or the install fails
# because they are stale.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' \
        -print -quit 2>/dev/null)" ]; then
    run apt-get "${APT_OPTS[@]}" update
fi
if ! apt-get "${APT_OPTS[@]}" install -y --no-install-recommends \
        "${missing[@]}" >>"$LOG" 2>&1; then
    run apt-get "${APT_OPTS[@]}" update
    run apt-get "${APT_OPTS[@]}" install -y --no-install-recommends \
        "${missing[@]}"
fi
echo "install-packages.sh: done"
