#!/bin/bash
# prepcheck --fix on a copy of the cached debootstrap'd Debian root on a real ext4 disk image, with
# an initramfs built without the Hyper-V drivers (MODULES=list and no modules listed): --fix lists the
# drivers in /etc/initramfs-tools/modules and rebuilds the image in a chroot; the new image really
# holds hv_vmbus hv_storvsc hv_netvsc (read back by the distribution's own lsinitramfs too); the chroot
# mounts are gone afterwards; fstab, apt and udev defects planted too are fixed in the same run; --undo
# restores the old image and every file. A generator that fails, or one that
# writes an image without the drivers, is rolled back: exit 3 and nothing changed. A kill -9 of
# prepcheck --fix while the generator runs takes the generator with it and leaves the old image.
source "$SOURCE_DIR/tests/lib/common.sh"
need_root
need_cmd jq mkfs.ext4 losetup getfattr sha256sum debootstrap

S=$(scratch)
R=$S/root
debian_root_copy "$S" guestroot
kver=$(ls "$R/lib/modules" | head -n1)
img=/boot/initrd.img-$kver
[[ -n $kver && -f $R$img ]] || fail "the Debian root has no kernel image"

# The defect: an image without the Hyper-V drivers, as MODULES=list builds it from an empty list.
sed -i 's/^MODULES=.*/MODULES=list/' "$R/etc/initramfs-tools/initramfs.conf"
chroot "$R" mkinitramfs -o "$img" "$kver" >/dev/null 2>&1 || fail "cannot build the defective image"
setfattr -n user.mobility -v before "$R$img"
# The other defects of a VM imported from elsewhere: fstab by kernel name, a CD-ROM apt source, a
# MAC-pinned naming rule.
printf '/dev/sda1 / ext4 errors=remount-ro 0 1\nproc /proc proc defaults 0 0\n' >"$R/etc/fstab"
printf 'deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_]/ bookworm main\n' >>"$R/etc/apt/sources.list"
printf 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="52:54:00:ab:cd:ef", NAME="eth0"\n' \
    >"$R/etc/udev/rules.d/70-persistent-net.rules"

# What --fix may touch (/etc, /boot) in full, the rest of the tree by name and type.
snapshot() {
    (cd "$R" && find . -path ./var/lib/mobility-agent -prune -o \( -path './etc/*' -o -path './boot/*' \) -type f \
        -printf '%p %m %U:%G %s %T@\n' && find . -path ./var/lib/mobility-agent -prune -o -printf '%p %y\n' &&
        find ./etc ./boot -type f -exec sha256sum {} + && getfattr -R -h -d -m - -e hex etc boot 2>/dev/null) |
        LC_ALL=C sort
}
same_tree() {
    snapshot >"$S/now.snap"
    diff -u "$1" "$S/now.snap" >&2 || fail "$2: the tree differs"
}
no_chroot_mounts() {
    ! grep -qE " $R/(proc|sys|dev|run)( |/)" /proc/self/mountinfo || fail "$1: chroot mounts left behind"
}
pc() { "$PREPCHECK" --root "$R" --no-network --only initramfs.drivers,dracut.hostonly "$@"; }

pc --format json --output "$S/before.json" || true
assert_status "$S/before.json" initramfs.drivers fail
assert_json "$S/before.json" '.results[] | select(.id == "initramfs.drivers") | .remediation.fixable'
snapshot >"$S/orig.snap"

# --- the generator fails: rolled back, exit 3, nothing changed
mv "$R/usr/sbin/mkinitramfs" "$R/usr/sbin/mkinitramfs.real"
on_exit "[[ -e '$R/usr/sbin/mkinitramfs.real' ]] && mv -f '$R/usr/sbin/mkinitramfs.real' '$R/usr/sbin/mkinitramfs'"
printf '#!/bin/sh\necho "simulated generator failure" >&2\nexit 1\n' >"$R/usr/sbin/mkinitramfs"
chmod 755 "$R/usr/sbin/mkinitramfs"
snapshot >"$S/fail.snap"
rc=0
pc --fix >"$S/f1.out" 2>"$S/f1.err" || rc=$?
((rc == 3)) || { cat "$S/f1.out" "$S/f1.err" >&2; fail "a failing generator gave exit $rc, expected 3"; }
grep -q 'simulated generator failure' "$S/f1.err" || { cat "$S/f1.err" >&2; fail "the error does not show the generator's message"; }
grep -q 'rolled back' "$S/f1.err" || fail "no rollback reported"
same_tree "$S/fail.snap" "failed generator"
no_chroot_mounts "failed generator"

# --- the generator "succeeds" but the image lacks the drivers: never swapped in
printf '#!/bin/sh\ncp /boot/initrd.img-%s "$2"\n' "$kver" >"$R/usr/sbin/mkinitramfs"
rc=0
pc --fix >"$S/f2.out" 2>"$S/f2.err" || rc=$?
((rc == 3)) || { cat "$S/f2.out" "$S/f2.err" >&2; fail "an image without the drivers gave exit $rc, expected 3"; }
grep -q 'the rebuilt image lacks hv_' "$S/f2.err" || { cat "$S/f2.err" >&2; fail "the verification failure is not explained"; }
same_tree "$S/fail.snap" "image without drivers"

# --- kill -9 of prepcheck --fix while the generator runs: a generator that has written half an image
# to its output and then works on (sleeps). The generator dies with prepcheck (no process left
# writing), the image in place is the old one, and --undo removes the half-written one.
cat >"$R/usr/sbin/mkinitramfs" <<'GEN'
#!/bin/sh
head -c 300000 /boot/initrd.img-"$3" >"$2"
echo $$ >/tmp/mobility-gen.pid
exec sleep 120
GEN
rm -f "$R/tmp/mobility-gen.pid"
"$PREPCHECK" --root "$R" --no-network --only initramfs.drivers --fix >"$S/gkill.out" 2>&1 &
pid=$!
for ((i = 0; i < 300; i++)); do
    [[ -s $R/tmp/mobility-gen.pid ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
gen=$(cat "$R/tmp/mobility-gen.pid" 2>/dev/null) || { cat "$S/gkill.out" >&2; fail "the generator did not start"; }
[[ -e /proc/$gen ]] || fail "the generator (pid $gen) is not running"
[[ $(readlink "/proc/$gen/root") == "$R" ]] || fail "the generator does not run chrooted in $R"
[[ -s $R$img.mobility-new ]] || fail "the generator wrote no partial $img.mobility-new"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
for ((i = 0; i < 50; i++)); do
    [[ -e /proc/$gen ]] || break
    sleep 0.1
done
if [[ -e /proc/$gen ]]; then
    kill -9 "$gen"
    fail "the generator (pid $gen) outlived the killed prepcheck --fix"
fi
sha256sum "$R$img" | cut -c1-64 | grep -qF -f - "$S/fail.snap" || fail "kill -9 during the rebuild: $img is not the old image"
"$PREPCHECK" --root "$R" --undo >"$S/gundo.out" 2>&1 || { cat "$S/gundo.out" >&2; fail "--undo after kill -9 during the rebuild failed"; }
[[ ! -e $R$img.mobility-new ]] || fail "--undo left the half-written $img.mobility-new"
no_chroot_mounts "--undo after kill -9 during the rebuild"
rm "$R/tmp/mobility-gen.pid"
same_tree "$S/fail.snap" "--undo after kill -9 during the rebuild"
mv -f "$R/usr/sbin/mkinitramfs.real" "$R/usr/sbin/mkinitramfs"
same_tree "$S/orig.snap" "restoring mkinitramfs"

# --- kill -9 once the new image is built and verified but not yet swapped in, and while the
# generator runs: --undo gives the original tree back (no temporary image left either)
for step in after-build before-command; do
    MOBILITY_MORPH_TEST_PAUSE=$step "$PREPCHECK" --root "$R" --no-network --only initramfs.drivers --fix \
        >"$S/kill.out" 2>&1 &
    pid=$!
    stopped=
    for ((i = 0; i < 600; i++)); do
        [[ -e /proc/$pid/stat ]] || break
        [[ $(awk '{print $3}' "/proc/$pid/stat") == T ]] && { stopped=1; break; }
        sleep 0.1
    done
    [[ -n $stopped ]] || { cat "$S/kill.out" >&2; fail "--fix did not pause at $step"; }
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    "$PREPCHECK" --root "$R" --undo >"$S/kundo.out" 2>&1 || { cat "$S/kundo.out" >&2; fail "--undo after kill -9 at $step failed"; }
    [[ ! -e $R$img.mobility-new ]] || fail "kill -9 at $step: the temporary image survived --undo"
    same_tree "$S/orig.snap" "--undo after kill -9 at $step"
done

# --- --fix (every check): drivers listed, image rebuilt in a chroot, verified, swapped; the rest fixed
rc=0
"$PREPCHECK" --root "$R" --no-network --fix >"$S/fix.out" 2>"$S/fix.err" || rc=$?
((rc <= 1)) || { cat "$S/fix.out" "$S/fix.err" >&2; fail "--fix exited $rc"; }
grep -q "^verified $img.mobility-new" "$S/fix.out" || { cat "$S/fix.out" >&2; fail "no verification reported"; }
grep -q 'initramfs.drivers *fail -> pass' "$S/fix.out" || { cat "$S/fix.out" >&2; fail "no before/after"; }
no_chroot_mounts "--fix"
chroot "$R" lsinitramfs "$img" >"$S/lsinitramfs.out" || fail "lsinitramfs cannot read the rebuilt image"
for m in hv_vmbus hv_storvsc hv_netvsc; do
    grep -q "/$m\.ko" "$S/lsinitramfs.out" || fail "the rebuilt image lacks $m (lsinitramfs)"
    grep -qx "$m" "$R/etc/initramfs-tools/modules" || fail "$m not listed in /etc/initramfs-tools/modules"
done
[[ $(getfattr --absolute-names -n user.mobility --only-values "$R$img") == before ]] || fail "the new image did not get the old one's xattrs"
[[ ! -e $R$img.mobility-new ]] || fail "the temporary image was left beside the new one"
"$PREPCHECK" --root "$R" --no-network --format json --output "$S/after.json" || true
for id in initramfs.drivers fstab.stable-names repos.local-sources udev.net-rules; do
    assert_status "$S/after.json" "$id" pass
done
journal=$(ls -d "$R"/var/lib/mobility-agent/morph/2* | tail -n1)
grep -q "mkinitramfs -o $img.mobility-new $kver" "$journal/commands.log" || fail "the command log lacks the rebuild"

# --- --undo: the old image and configuration back, byte for byte
"$PREPCHECK" --root "$R" --undo >"$S/undo.out" 2>&1 || { cat "$S/undo.out" >&2; fail "--undo failed"; }
grep -q "^restored $img " "$S/undo.out" || { cat "$S/undo.out" >&2; fail "--undo does not name the image"; }
same_tree "$S/orig.snap" "--undo"
