#!/bin/bash
# Print the path of a cached Debian root filesystem made by debootstrap, building it on first use.
#
# The root is shared by every integration test that needs "a real Debian system": it carries a kernel
# (so /lib/modules, /boot/vmlinuz-* and an initramfs-tools image exist), systemd and ifupdown.
# Building it takes minutes, so it lives under /var/cache and is rebuilt only when this script's
# recipe changes (the recipe's hash names the cache). Tests must never modify it: they copy it
# (cp -a or tar) into their own scratch directory first.
#
# Usage: debootstrap-root.sh            -> prints the directory of the cached root
#        MOBILITY_DEBOOTSTRAP_CACHE=DIR  -> use another cache directory
set -euo pipefail

suite=bookworm
mirror=${MOBILITY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
include=linux-image-amd64,initramfs-tools,zstd,kmod,systemd-sysv,udev,ifupdown,isc-dhcp-client,\
iproute2,openssh-server,sudo,ca-certificates,cpio,xz-utils
cache=${MOBILITY_DEBOOTSTRAP_CACHE:-/var/cache/mobility-agent-tests}
recipe=$(printf '%s|%s|%s|v1' "$suite" "$include" "$mirror" | sha256sum | cut -c1-12)
root=$cache/debian-$suite-$recipe

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9                                   # concurrent test runs wait for one builder

if [[ ! -f $root/.complete ]]; then
    echo "debootstrap-root: building $root (first run only; takes a few minutes)" >&2
    rm -rf "$root.tmp"
    if ! debootstrap --variant=minbase --include="$include" "$suite" "$root.tmp" "$mirror" \
            >"$cache/debootstrap.log" 2>&1; then
        echo "debootstrap-root: debootstrap failed, see $cache/debootstrap.log:" >&2
        tail -n 20 "$cache/debootstrap.log" >&2
        exit 1
    fi
    # debootstrap leaves an unconfigured fstab and no hostname; tests plant their own.
    rm -f "$root.tmp/etc/machine-id"
    printf '%s\n' 0123456789abcdef0123456789abcdef >"$root.tmp/etc/machine-id"
    rm -rf "$root.tmp/var/cache/apt/archives/"*.deb
    rm -rf "$root"
    mv "$root.tmp" "$root"
    touch "$root/.complete"
fi
echo "$root"
