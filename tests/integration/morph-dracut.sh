#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prepcheck --fix with the real dracut, end to end: a copy of the cached debootstrap'd Debian root on a
# real ext4 disk image, dracut installed in it with apt-get (it replaces initramfs-tools), a host-only
# image built first (this host is no Hyper-V guest: no hv driver in it) and hostonly="yes" planted in
# /etc/dracut.conf.d. --fix writes its drop-in and rebuilds the image with dracut in a chroot; the new
# image holds hv_vmbus hv_storvsc hv_netvsc, read by our reader and by lsinitrd; dracut.hostonly and
# initramfs.drivers pass afterwards; --undo restores the old image byte for byte.
#
# The .debs apt downloads are kept in /var/cache/mobility-agent-tests/debs-dracut, so reruns need no
# network. About 100 s (a generic dracut image is built once).
source "$SOURCE_DIR/tests/lib/common.sh"
need_root
need_cmd jq mkfs.ext4 losetup lsinitrd sha256sum chroot
LIST=$BUILD_DIR/tests/initramfs-list
[[ -x $LIST ]] || fail "$LIST is missing (built with the tests)"

S=$(scratch)
on_exit "rm -rf '$S'"
R=$S/root
debian_root_copy "$S" dracutroot
kver=$(ls "$R/lib/modules" | head -n1)
img=/boot/initrd.img-$kver
[[ -n $kver ]] || fail "the Debian root has no kernel"

# /proc, /sys and a private /dev for apt and dracut in the chroot; unmounted again before prepcheck
# runs (it makes its own). Never a bind of the host's /dev. The cached .debs are copied in (not bound:
# concurrent runs must not share apt's archive lock) and new ones copied back.
debs=${MOBILITY_DEBOOTSTRAP_CACHE:-/var/cache/mobility-agent-tests}/debs-dracut
mkdir -p "$debs"
cp "$debs"/*.deb "$R/var/cache/apt/archives/" 2>/dev/null || true
root_mounts=("$R/dev" "$R/sys" "$R/proc")
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t tmpfs -o mode=0755,size=1m tmpfs "$R/dev"
for m in "${root_mounts[@]}"; do on_exit "! mountpoint -q '$m' || umount '$m' || umount -l '$m'"; done
mknod -m 666 "$R/dev/null" c 1 3
mknod -m 666 "$R/dev/zero" c 1 5
mknod -m 666 "$R/dev/urandom" c 1 9
mknod -m 666 "$R/dev/random" c 1 8
ln -s /proc/self/fd "$R/dev/fd"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
stamp() { note "$(date +%T) $*"; }

apt_install() {
    # INITRD=No: the kernel hook dracut installs skips building images (the test builds its own).
    in_root INITRD=No apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 dracut >"$S/apt.log" 2>&1
}
if ! apt_install; then
    note "apt-get install dracut failed with the root's package lists; updating them"
    if ! in_root apt-get update -q >>"$S/apt.log" 2>&1 || ! apt_install; then
        tail -n 30 "$S/apt.log" >&2
        fail "apt-get install dracut in the copy failed"
    fi
fi
for f in "$R"/var/cache/apt/archives/*.deb; do
    [[ -e $f && ! -e $debs/${f##*/} ]] || continue
    cp "$f" "$debs/.${f##*/}.tmp"
    mv "$debs/.${f##*/}.tmp" "$debs/${f##*/}"
done
[[ -x $R/usr/bin/dracut ]] || fail "apt-get installed no /usr/bin/dracut"
in_root dpkg-query -W -f '${Status}\n' initramfs-tools 2>/dev/null | grep -q '^install ok installed' &&
    fail "dracut did not replace initramfs-tools in the copy"

stamp "dracut installed"
# The defect: a host-only image (this host's drivers only), and hostonly="yes" in a drop-in.
in_root dracut -f -q --hostonly --kver "$kver" "$img" >"$S/dracut.log" 2>&1 ||
    { tail -n 20 "$S/dracut.log" >&2; fail "dracut --hostonly failed"; }
printf '# planted by the test\nhostonly="yes"\n' >"$R/etc/dracut.conf.d/50-mobility-test.conf"
for m in "${root_mounts[@]}"; do umount "$m"; done
rm "$R/usr/sbin/policy-rc.d"

"$LIST" "$img" >/dev/null 2>&1 && fail "our reader reads $img outside the root?" # the path is inside $R
"$LIST" "$R$img" >"$S/before.mods" 2>/dev/null || fail "our reader cannot read the host-only image"
grep -qx hv_storvsc "$S/before.mods" && fail "the host-only image already carries hv_storvsc (a Hyper-V host?)"
sha256sum <"$R$img" >"$S/before.sha"

pc() { "$PREPCHECK" --root "$R" --no-network --target azure --only initramfs.drivers,dracut.hostonly "$@"; }
rc=0
pc --format json --output "$S/before.json" || rc=$?
((rc == 2)) || fail "prepcheck before --fix exited $rc, expected 2"
assert_status "$S/before.json" initramfs.drivers fail
assert_status "$S/before.json" dracut.hostonly fail
assert_json "$S/before.json" '.results[] | select(.id == "dracut.hostonly") | .evidence |
    any(.path == "/etc/dracut.conf.d/50-mobility-test.conf" and .line == 2)' "hostonly=yes with file and line"

stamp "host-only image built"
# --- --fix: the drop-in, then dracut in a chroot; exit 0 (both checks pass afterwards)
rc=0
pc --fix >"$S/fix.out" 2>"$S/fix.err" || rc=$?
((rc == 0)) || { cat "$S/fix.out" "$S/fix.err" >&2; fail "--fix exited $rc, expected 0"; }
grep -q "^running dracut -f -v -N --kver $kver $img.mobility-new" "$S/fix.out" ||
    { cat "$S/fix.out" >&2; fail "--fix did not rebuild with dracut"; }
grep -q "^verified $img.mobility-new" "$S/fix.out" || { cat "$S/fix.out" >&2; fail "no verification reported"; }
! grep -qE " $R/(proc|sys|dev|run)( |/)" /proc/self/mountinfo || fail "chroot mounts left behind"
"$LIST" "$R$img" >"$S/after.mods" 2>/dev/null || fail "our reader cannot read the rebuilt image"
lsinitrd "$R$img" >"$S/lsinitrd.out" 2>/dev/null || fail "lsinitrd cannot read the rebuilt image"
for m in hv_vmbus hv_storvsc hv_netvsc; do
    grep -qx "$m" "$S/after.mods" || fail "the rebuilt image lacks $m (our reader)"
    grep -qE "/$m\.ko(\.(xz|zst|gz))?$" "$S/lsinitrd.out" || fail "the rebuilt image lacks $m (lsinitrd)"
done
stamp "--fix done"
pc --format json --output "$S/after.json" || fail "prepcheck after --fix exited $?"
assert_status "$S/after.json" initramfs.drivers pass
assert_status "$S/after.json" dracut.hostonly pass

# --- --undo: the host-only image back, byte for byte; the drop-in gone, the planted one kept
"$PREPCHECK" --root "$R" --undo >"$S/undo.out" 2>&1 || { cat "$S/undo.out" >&2; fail "--undo failed"; }
grep -q "^restored $img " "$S/undo.out" || { cat "$S/undo.out" >&2; fail "--undo does not name the image"; }
sha256sum <"$R$img" | cmp -s - "$S/before.sha" || fail "--undo did not restore $img byte for byte"
[[ ! -e $R/etc/dracut.conf.d/90-mobility-azure.conf ]] || fail "--undo left the drop-in"
[[ -e $R/etc/dracut.conf.d/50-mobility-test.conf ]] || fail "--undo removed the planted drop-in"
rc=0
pc --format json --output "$S/undone.json" || rc=$?
((rc == 2)) || fail "prepcheck after --undo exited $rc, expected 2"
assert_status "$S/undone.json" initramfs.drivers fail
note "dracut --fix/--undo end to end: passed"
