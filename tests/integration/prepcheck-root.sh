#!/bin/bash
# prepcheck --root on a real Debian root (debootstrap) copied onto a real MBR disk image with a GRUB
# boot sector, then on broken variants of it: each planted defect must turn exactly its check.
source "$SOURCE_DIR/tests/lib/common.sh"
need_root
need_cmd jq sfdisk mkfs.ext4 partx losetup blkid debootstrap grub-install

S=$(scratch)
src=$(debian_root)
img=$S/disk.img
mnt=$S/mnt

# 4.2 GiB sparse: 128 MiB /boot + root with room for root.free-space's 2.5 GiB on Azure.
truncate -s 4300M "$img"
printf 'label: dos\n,128M,L,*\n,,L\n' | sfdisk -q "$img"
dev=$(attach_loop "$img")
[[ -b ${dev}p2 ]] || fail "partx did not create ${dev}p1/p2"
mkfs.ext4 -q -L guestroot "${dev}p2"
mkfs.ext4 -q -L guestboot "${dev}p1"
mount_at "${dev}p2" "$mnt"
mount_at "${dev}p1" "$mnt/boot"
note "copying the Debian root ($(du -sh "$src" | cut -f1)) onto the image"
tar -C "$src" --exclude=./boot -cf - . | tar -C "$mnt" -xf -
tar -C "$src/boot" -cf - . | tar -C "$mnt/boot" -xf -
# A real BIOS GRUB: boot.img in the MBR, core.img in the gap after it, modules in /boot/grub.
grub-install --target=i386-pc --boot-directory="$mnt/boot" "$dev" >"$S/grub-install.log" 2>&1 ||
    { cat "$S/grub-install.log" >&2; fail "grub-install failed"; }
root_uuid=$(blkid -p -s UUID -o value "${dev}p2")
boot_uuid=$(blkid -p -s UUID -o value "${dev}p1")
good_fstab="# /etc/fstab: static file system information.
UUID=$root_uuid /     ext4 errors=remount-ro 0 1
UUID=$boot_uuid /boot ext4 defaults          0 2
proc            /proc proc defaults          0 0"
printf '%s\n' "$good_fstab" >"$mnt/etc/fstab"

ids=(os.release fstab.stable-names fstab.resolvable boot.free-space storage.encryption storage.layout
     root.free-space kernel.running-latest kernel.obsolete)
run_pc() { # run_pc OUT [args...]: prepcheck --root; exit code in $pc_rc
    local out=$1
    shift
    pc_rc=0
    "$PREPCHECK" --root "$mnt" --format json --no-network --output "$out" "$@" || pc_rc=$?
    ((pc_rc <= 2)) || fail "prepcheck exited $pc_rc (usage/internal error) for $*"
    jq -e '.schema == "prepcheck/1"' "$out" >/dev/null || fail "no valid prepcheck/1 JSON in $out"
}

# --- the clean Debian root: every check of the foundation present, none in error
run_pc "$S/good.json"
for id in "${ids[@]}"; do
    jq -e --arg id "$id" 'any(.results[]; .id == $id)' "$S/good.json" >/dev/null || fail "$id missing from the report"
done
assert_json "$S/good.json" '[.results[] | select(.status == "error")] | length == 0' "no check may be in error"
assert_json "$S/good.json" '.host.os_id == "debian" and .host.os_version_id == "12"'
assert_json "$S/good.json" '.host.kernels_installed | length >= 1'
assert_json "$S/good.json" '.host.initramfs_generator == "initramfs-tools"'
assert_json "$S/good.json" ".root == \"$mnt\""
assert_json "$S/good.json" '(.summary.pass + .summary.warn + .summary.fail + .summary.skip + .summary.error) == (.results | length)'
for id in os.release fstab.stable-names fstab.resolvable boot.free-space storage.encryption storage.layout root.free-space kernel.obsolete; do
    assert_status "$S/good.json" "$id" pass
done
assert_status "$S/good.json" kernel.running-latest skip
assert_status "$S/good.json" bootloader.present pass
assert_status "$S/good.json" firmware.secure-boot pass
note "$(jq -r '[.results[] | "\(.id)=\(.status)"] | join(" ")' "$S/good.json")"
# The disks were found from the mounts (loop device included), not given.
assert_json "$S/good.json" "any(.results[] | select(.id == \"fstab.resolvable\") | .evidence[]; .device == \"$dev\")" \
    "disk discovery from the root's mounts did not find $dev"
# The portable resolver (kernels without openat2) gives the same verdicts.
run_pc "$S/portable.json" --portable-resolve
diff <(jq -c '[.results[] | {id, status}]' "$S/good.json") <(jq -c '[.results[] | {id, status}]' "$S/portable.json") \
    || fail "--portable-resolve changed the verdicts"
# Explicit --disk (the image file itself, not the loop device) finds the same filesystems.
run_pc "$S/disk.json" --disk "$img" --only fstab.resolvable
assert_status "$S/disk.json" fstab.resolvable pass
# --only runs only that check; the others are still listed, as skip.
assert_json "$S/disk.json" '[.results[] | select(.status != "skip")] | length == 1'

# --- fstab by kernel name: fail, with the UUID to use instead
printf '/dev/sda2 / ext4 errors=remount-ro 0 1\n/dev/sda1\t/boot\text4 defaults 0 2\n' >"$mnt/etc/fstab"
run_pc "$S/names.json"
assert_status "$S/names.json" fstab.stable-names fail
((pc_rc == 2)) || fail "a failing check must give exit status 2, got $pc_rc"
assert_json "$S/names.json" ".results[] | select(.id == \"fstab.stable-names\") | .evidence | map(.suggested_spec) == [\"UUID=$root_uuid\", \"UUID=$boot_uuid\"]" \
    "the suggested UUIDs must be the guest's filesystems, mapped by mount point and partition number"
assert_json "$S/names.json" '.results[] | select(.id == "fstab.stable-names") | .remediation.fixable == true'
assert_json "$S/names.json" '.results[] | select(.id == "fstab.stable-names") | .evidence[0].line == 1'

# --- a stale UUID: fail; with nofail: warn
printf '%s\nUUID=0badc0de-0000-4000-8000-000000000000 /srv ext4 defaults 0 2\n' "$good_fstab" >"$mnt/etc/fstab"
run_pc "$S/stale.json"
assert_status "$S/stale.json" fstab.resolvable fail
assert_json "$S/stale.json" '.results[] | select(.id == "fstab.resolvable") | any(.evidence[]; .line == 5)'
printf '%s\nUUID=0badc0de-0000-4000-8000-000000000000 /srv ext4 nofail 0 2\n' "$good_fstab" >"$mnt/etc/fstab"
run_pc "$S/stale2.json"
assert_status "$S/stale2.json" fstab.resolvable warn

# --- swap on the OS disk (azure: warn; kvm: no opinion), /boot on an unsupported filesystem
printf '%s\nUUID=%s none swap sw 0 0\n' "$good_fstab" "$boot_uuid" >"$mnt/etc/fstab"
run_pc "$S/swap.json"
assert_status "$S/swap.json" storage.layout warn
run_pc "$S/swap-kvm.json" --target kvm
assert_status "$S/swap-kvm.json" storage.layout pass
printf 'UUID=%s / ext4 defaults 0 1\nUUID=%s /boot reiserfs defaults 0 2\n' "$root_uuid" "$boot_uuid" >"$mnt/etc/fstab"
run_pc "$S/reiser.json"
assert_status "$S/reiser.json" storage.layout fail
printf '%s\n' "$good_fstab" >"$mnt/etc/fstab"

# --- crypttab asking for a passphrase at boot
printf '# <target> <source> <key> <options>\ncr_data UUID=%s none luks\n' "$boot_uuid" >"$mnt/etc/crypttab"
run_pc "$S/crypt.json"
assert_status "$S/crypt.json" storage.encryption fail
assert_json "$S/crypt.json" '.results[] | select(.id == "storage.encryption") | any(.evidence[]; .path == "/etc/crypttab" and .line == 2)'
rm -f "$mnt/etc/crypttab"

# --- /boot too full to rebuild the initramfs
avail=$(df --output=avail -B1 "$mnt/boot" | tail -1)
img_size=$(stat -c %s "$mnt"/boot/initrd.img-*)
fallocate -l $((avail - img_size)) "$mnt/boot/filler"
run_pc "$S/boot.json"
assert_status "$S/boot.json" boot.free-space fail
rm -f "$mnt/boot/filler"

# --- hostile files: each gives error (or fail for os-release) naming the file, and the run goes on
cp -a "$mnt/etc/fstab" "$S/fstab.saved"
rm -f "$mnt/etc/fstab"
ln -s fstab.loop "$mnt/etc/fstab"; ln -s fstab "$mnt/etc/fstab.loop"
run_pc "$S/loop.json"
assert_status "$S/loop.json" fstab.stable-names error
assert_json "$S/loop.json" '.results[] | select(.id == "fstab.stable-names") | .detail | test("/etc/fstab") and test("symbolic links")'
assert_status "$S/loop.json" os.release pass   # the rest of the run goes on
rm -f "$mnt/etc/fstab" "$mnt/etc/fstab.loop"
truncate -s 1G "$mnt/etc/fstab"
run_pc "$S/huge.json"
assert_status "$S/huge.json" fstab.stable-names error
assert_json "$S/huge.json" '.results[] | select(.id == "fstab.stable-names") | .detail | test("too large")'
rm -f "$mnt/etc/fstab"
printf 'UUID=%s / ext4 defaults 0 1\n\0\0garbage\xff\xfe\n' "$root_uuid" >"$mnt/etc/fstab"
run_pc "$S/nul.json"
assert_status "$S/nul.json" fstab.stable-names error
assert_json "$S/nul.json" '.results[] | select(.id == "fstab.stable-names") | any(.evidence[]; .line == 2)'
rm -f "$mnt/etc/fstab"
mkdir "$mnt/etc/fstab"
run_pc "$S/dir.json"
assert_status "$S/dir.json" fstab.stable-names error
rmdir "$mnt/etc/fstab"
cp -a "$S/fstab.saved" "$mnt/etc/fstab"

# --- os-release: garbage names the line; an escaping symlink stays inside the root
cp -a "$mnt/etc/os-release" "$S/os-release.saved" 2>/dev/null || cp -P "$mnt/etc/os-release" "$S/os-release.saved"
rm -f "$mnt/etc/os-release"
printf 'ID=debian\nVERSION_ID="12\n' >"$mnt/etc/os-release"
run_pc "$S/osr.json"
assert_status "$S/osr.json" os.release fail
assert_json "$S/osr.json" '.results[] | select(.id == "os.release") | .detail | test("line 2")'
rm -f "$mnt/etc/os-release"
printf 'ID=guestos\nVERSION_ID=1\n' >"$mnt/usr/lib/os-release-guest"
ln -s ../../../../../../../../usr/lib/os-release-guest "$mnt/etc/os-release"
run_pc "$S/escape.json"
assert_json "$S/escape.json" '.host.os_id == "guestos"' "a ../ symlink escaped the root"
rm -f "$mnt/etc/os-release" "$mnt/usr/lib/os-release-guest"
ln -s /proc/self/root/etc/os-release "$mnt/etc/os-release"
run_pc "$S/magic.json"
# The guest has no /proc: the link dangles inside the root, so os-release(5)'s fallback is used.
assert_json "$S/magic.json" '.results[] | select(.id == "os.release") | .evidence[0].path == "/usr/lib/os-release"'
rm -f "$mnt/etc/os-release"
cp -P "$S/os-release.saved" "$mnt/etc/os-release"

# --- text report and usage errors
"$PREPCHECK" --root "$mnt" --no-network --format text >"$S/report.txt" || true
grep -q "fstab.stable-names" "$S/report.txt" || fail "text report lacks the check ids"
if "$PREPCHECK" --only no.such-check >/dev/null 2>"$S/err"; then fail "unknown id accepted"; else [[ $? == 3 ]] || fail "unknown id: exit status must be 3"; fi
grep -q "no.such-check" "$S/err" || fail "usage error does not name the unknown id"
if "$PREPCHECK" --root "$S/does-not-exist" >/dev/null 2>"$S/err"; then fail "missing root accepted"; else [[ $? == 3 ]] || fail "missing root: exit 3 expected"; fi
note "ok"
