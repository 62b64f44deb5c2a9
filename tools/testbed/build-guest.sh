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

# Build the tiny testbed guest: the Debian cloud kernel plus an initramfs
# holding busybox, the real qemu-ga with its libraries, the virtio modules
# and our guest-side helper (guest/vmheartbeat-guest). No network; a disk
# /dev/vda, when the domain has one, is mounted on /mnt/data (ext4 is built
# into the kernel), so that qemu-ga has a filesystem to freeze.
# A kernel argument vmhb_qga_block=CMD,CMD,... starts qemu-ga with those
# commands blocked (its --block-rpcs), as many distributions ship it.
#
#   build-guest.sh [OUTDIR]
#
# OUTDIR defaults to ${VMHB_TESTBED_DIR:-/var/lib/vmhb-testbed}/guest and
# receives vmlinuz and initrd.img. Nothing is rebuilt when the inputs are
# unchanged. The files are made readable by the user QEMU runs as.

set -euo pipefail

OUTDIR=${1:-${VMHB_TESTBED_DIR:-/var/lib/vmhb-testbed}/guest}
BUSYBOX=/bin/busybox
QEMU_GA=/usr/sbin/qemu-ga
HELPER=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/../../guest/vmheartbeat-guest")
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
         virtio_pci virtio_console virtio_blk)

die() {
    echo "build-guest.sh: $*" >&2
    exit 1
}

KERNEL=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$KERNEL" ] || die "no /boot/vmlinuz-*-cloud-amd64;" \
    "run tools/testbed/install-packages.sh"
KVER=${KERNEL#/boot/vmlinuz-}
MODDIR=/lib/modules/$KVER
[ -d "$MODDIR" ] || die "$MODDIR missing"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (busybox-static)"
[ -x "$QEMU_GA" ] || die "$QEMU_GA missing (qemu-guest-agent)"
[ -r "$HELPER" ] || die "$HELPER missing"

# Shared objects qemu-ga needs, the dynamic loader included.
LIBS=$(ldd "$QEMU_GA" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// { print $1 }' | sort -u)
[ -n "$LIBS" ] || die "ldd found no libraries for $QEMU_GA"

MODFILES=()
for mod in "${MODULES[@]}"; do
    file=$(find "$MODDIR" \( -name "$mod.ko" -o -name "$mod.ko.xz" \
                -o -name "$mod.ko.zst" -o -name "$mod.ko.gz" \) \
                -print -quit)
    [ -n "$file" ] || die "module $mod not found under $MODDIR"
    MODFILES+=("$file")
done

# Everything the image depends on, this script included.
SELF=$(readlink -f "${BASH_SOURCE[0]}")
# shellcheck disable=SC2086
STAMP=$( {
    sha256sum "$SELF" "$HELPER"
    stat -L -c '%n %s %Y' "$KERNEL" "$BUSYBOX" "$QEMU_GA" $LIBS \
        "${MODFILES[@]}"
} | sha256sum | cut -d' ' -f1)

(umask 022 && mkdir -p "$OUTDIR")
exec 9>"$OUTDIR/.lock"
flock -w 300 9 || die "timed out waiting for the lock on $OUTDIR"

make_readable() {
    # QEMU runs as libvirt-qemu under qemu:///system: it must reach the
    # files. Directories made here are 0755; warn if a parent is private.
    chmod 0755 "$OUTDIR"
    chmod 0644 "$OUTDIR/vmlinuz" "$OUTDIR/initrd.img"
    if id libvirt-qemu >/dev/null 2>&1 && \
       ! runuser -u libvirt-qemu -- test -r "$OUTDIR/initrd.img"; then
        echo "build-guest.sh: warning: libvirt-qemu cannot read" \
             "$OUTDIR/initrd.img (is a parent directory private?)" >&2
    fi
}

if [ -f "$OUTDIR/vmlinuz" ] && [ -f "$OUTDIR/initrd.img" ] && \
   [ "$(cat "$OUTDIR/.stamp" 2>/dev/null)" = "$STAMP" ]; then
    make_readable
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc} \
         "$ROOT"/{lib/modules,var/run,root}
chmod 1777 "$ROOT/tmp"

# busybox and its applets.
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
    [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done

# The guest-side helper an application answers the heartbeat with.
install -m 0755 "$HELPER" "$ROOT/usr/bin/vmheartbeat-guest"

# qemu-ga and its libraries, at the paths ldd names.
cp "$QEMU_GA" "$ROOT/usr/sbin/qemu-ga"
for lib in $LIBS; do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
done

# The virtio modules, uncompressed so that busybox insmod loads them.
for file in "${MODFILES[@]}"; do
    name=$(basename "$file")
    case $file in
        *.ko.xz) xz -dc "$file" >"$ROOT/lib/modules/${name%.xz}" ;;
        *.ko.zst) zstd -qdc "$file" >"$ROOT/lib/modules/${name%.zst}" ;;
        *.ko.gz) gzip -dc "$file" >"$ROOT/lib/modules/${name%.gz}" ;;
        *) cp "$file" "$ROOT/lib/modules/$name" ;;
    esac
done

# root, and the unprivileged user the test application runs as
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'app:x:1000:1000:app:/tmp:/bin/sh' \
    >"$ROOT/etc/passwd"
printf '%s\n' 'root:x:0:' 'app:x:1000:' >"$ROOT/etc/group"

# qemu-ga's guest-shutdown runs "/sbin/shutdown -h -P|-H|-r +0 MESSAGE";
# there is no init to signal, so act at once.
rm -f "$ROOT/sbin/shutdown"
cat >"$ROOT/sbin/shutdown" <<'SHUTDOWN'
#!/bin/sh
action=poweroff
for arg in "$@"; do
    case $arg in
        -r) action=reboot ;;
        -H) [ "$action" = reboot ] || action=halt ;;
    esac
done
echo "VMHB-GUEST-SHUTDOWN $action" >/dev/console
sync
exec "$action" -f
SHUTDOWN
chmod 0755 "$ROOT/sbin/shutdown"

cat >"$ROOT/init" <<INIT
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/virtio-ports
for mod in ${MODULES[*]}; do
    insmod /lib/modules/\$mod.ko || echo "VMHB-GUEST: insmod \$mod failed"
done
echo 1 >/proc/sys/kernel/sysrq
if [ -b /dev/vda ]; then
    mkdir -p /mnt/data
    mount -t ext4 /dev/vda /mnt/data || echo "VMHB-GUEST: mount /dev/vda failed"
fi
port=/dev/virtio-ports/org.qemu.guest_agent.0
i=0
while [ ! -e \$port ] && [ \$i -lt 100 ]; do
    for f in /sys/class/virtio-ports/*/name; do
        [ -r "\$f" ] || continue
        name=\$(cat "\$f")
        [ -n "\$name" ] || continue
        dev=\$(basename "\$(dirname "\$f")")
        [ -e /dev/\$dev ] && ln -sf /dev/\$dev /dev/virtio-ports/\$name
    done
    [ -e \$port ] || sleep 0.1
    i=\$((i + 1))
done
[ -e \$port ] || echo "VMHB-GUEST: \$port did not appear"
echo VMHB-GUEST-READY
block=\$(sed -n 's/.*vmhb_qga_block=\([^ ]*\).*/\1/p' /proc/cmdline)
qemu-ga -m virtio-serial -p \$port \${block:+-b \$block} </dev/null &
while :; do
    sleep 3600
done
INIT
chmod 0755 "$ROOT/init"

find "$ROOT" -exec touch -h -d @0 {} +
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) |
    gzip -n -6 >"$WORK/initrd.img"
cp "$KERNEL" "$WORK/vmlinuz"

mv -f "$WORK/vmlinuz" "$OUTDIR/vmlinuz"
mv -f "$WORK/initrd.img" "$OUTDIR/initrd.img"
echo "$STAMP" >"$OUTDIR/.stamp"
make_readable
echo "build-guest.sh: built $OUTDIR/initrd.img" \
     "($(du -k "$OUTDIR/initrd.img" | cut -f1) KiB, kernel $KVER)"
