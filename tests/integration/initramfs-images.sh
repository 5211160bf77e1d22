#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real initramfs images, made in a copy of the cached Debian root by initramfs-tools (zstd,
# MODULES=most, and MODULES=list without the Hyper-V drivers) and dracut (--hostonly and not; gzip,
# xz, zstd), with and without an early microcode archive in front. For each image, the module list
# our reader gives must equal the one lsinitrd prints. Then prepcheck --root on the copy: the hv
# drivers present pass; an image without them fails with per-kernel evidence; dracut hostonly=yes,
# a modprobe.d blacklist and modprobe.blacklist= on the GRUB command line fail with file and line.
#
# Building the images takes a minute or two; they are cached under /var/cache/mobility-agent-tests,
# keyed by the Debian root and this recipe, so reruns only list and check.
source "$SOURCE_DIR/tests/lib/common.sh"

need_root
need_cmd lsinitrd cpio jq zstd chroot
LIST=$BUILD_DIR/tests/initramfs-list
[[ -x $LIST ]] || fail "$LIST is missing (built with the tests)"

base=$(debian_root)
kver=$(basename "$(ls -d "$base"/lib/modules/*/ | head -n 1)")
[[ -n $kver ]] || fail "no kernel in $base/lib/modules"
cache_root=${MOBILITY_DEBOOTSTRAP_CACHE:-/var/cache/mobility-agent-tests}
recipe=$(printf '%s|%s|images-v2' "$base" "$kver" | sha256sum | cut -c1-12)
cache=$cache_root/initramfs-images-$recipe

S=$(scratch)
on_exit "rm -rf '$S'" # scratch runs in $(...): its own on_exit is lost; this one runs after the unmounts
root=$S/root
# The copy: an overlay on the cached root (nothing written reaches it), or cp -a where overlayfs
# is not available.
mkdir -p "$S/upper" "$S/work" "$root"
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$S/upper,workdir=$S/work" "$root" 2>/dev/null; then
    on_exit "umount '$root' || umount -l '$root'"
else
    note "overlayfs not available: copying $base"
    cp -a "$base/." "$root/"
fi

# /proc, /sys and a private /dev for the generators; never a bind of the host's /dev (an rm -rf of
# the scratch directory after a failed unmount must not reach it).
chroot_mounts() {
    [[ -f $S/.mounted ]] && return
    mount_at proc "$root/proc" -t proc
    mount_at sysfs "$root/sys" -t sysfs
    mount_at tmpfs "$root/dev" -t tmpfs -o mode=0755,size=1m
    mknod -m 666 "$root/dev/null" c 1 3
    mknod -m 666 "$root/dev/zero" c 1 5
    mknod -m 666 "$root/dev/urandom" c 1 9
    mknod -m 666 "$root/dev/random" c 1 8
    ln -s /proc/self/fd "$root/dev/fd"
    touch "$S/.mounted"
}

# An early archive as the kernel and iucode-tool lay it out; early_cpio marks it for lsinitrd.
early_cpio() {
    local d=$S/early
    rm -rf "$d"
    mkdir -p "$d/kernel/x86/microcode"
    head -c 4096 /dev/urandom >"$d/kernel/x86/microcode/GenuineIntel.bin"
    echo 1 >"$d/early_cpio"
    (cd "$d" && find . | sort | cpio -o -H newc --quiet)
}

dracut_debs() {
    local debs=$cache_root/debs p f
    mkdir -p "$debs"
    for p in kpartx dracut-core; do
        f=$(ls "$debs"/${p}_*.deb /var/cache/apt/archives/${p}_*.deb 2>/dev/null | head -n 1 || true)
        if [[ -z $f ]]; then
            (cd "$debs" && apt-get download -q "$p" >/dev/null) || fail "cannot download $p"
            f=$(ls "$debs"/${p}_*.deb | head -n 1)
        fi
        [[ $f == "$debs"/* ]] || cp "$f" "$debs/"
        echo "$debs/$(basename "$f")"
    done
}

build_images() {
    local out=$1
    mkdir -p "$out"
    chroot_mounts
    note "building initramfs-tools images for $kver (cached afterwards in $cache)"
    sed -i 's/^MODULES=.*/MODULES=most/; s/^COMPRESS=.*/COMPRESS=zstd/' "$root/etc/initramfs-tools/initramfs.conf"
    chroot "$root" mkinitramfs -o /tmp/itools-zstd.img "$kver" >"$S/mkinitramfs.log" 2>&1 ||
        { tail -n 20 "$S/mkinitramfs.log" >&2; fail "mkinitramfs (MODULES=most) failed"; }
    mv "$root/tmp/itools-zstd.img" "$out/"
    sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
    chroot "$root" mkinitramfs -o /tmp/itools-list.img "$kver" >"$S/mkinitramfs.log" 2>&1 ||
        { tail -n 20 "$S/mkinitramfs.log" >&2; fail "mkinitramfs (MODULES=list) failed"; }
    mv "$root/tmp/itools-list.img" "$out/"
    sed -i 's/^MODULES=.*/MODULES=most/' "$root/etc/initramfs-tools/initramfs.conf"

    note "installing dracut-core in the copy and building dracut images"
    local debs
    mapfile -t debs < <(dracut_debs)
    cp "${debs[@]}" "$root/tmp/"
    chroot "$root" dpkg -i "${debs[@]/#$cache_root\/debs/\/tmp}" >"$S/dpkg.log" 2>&1 ||
        { tail -n 20 "$S/dpkg.log" >&2; fail "dpkg -i dracut-core in the copy failed"; }
    # Microcode for dracut's own early archive (--early-microcode; generic images take every file).
    mkdir -p "$root/lib/firmware/intel-ucode" "$root/lib/firmware/amd-ucode"
    head -c 4096 /dev/urandom >"$root/lib/firmware/intel-ucode/06-55-04"
    head -c 4096 /dev/urandom >"$root/lib/firmware/amd-ucode/microcode_amd_fam19h.bin"
    local spec name args
    for spec in "dracut-gzip-hostonly:--hostonly --gzip --no-early-microcode" \
                "dracut-xz-hostonly:--hostonly --xz --no-early-microcode" \
                "dracut-zstd-ucode:--no-hostonly --zstd --early-microcode"; do
        name=${spec%%:*} args=${spec#*:}
        # shellcheck disable=SC2086
        chroot "$root" dracut -f -q $args --kver "$kver" "/tmp/$name.img" >"$S/dracut.log" 2>&1 ||
            { tail -n 20 "$S/dracut.log" >&2; fail "dracut $args failed"; }
        mv "$root/tmp/$name.img" "$out/"
    done
    # Images with an early microcode archive put in front by hand, as iucode-tool and initramfs-tools
    # do (zero padding between, as the kernel allows).
    early_cpio >"$S/early.cpio"
    for name in itools-zstd dracut-xz-hostonly; do
        { cat "$S/early.cpio"; head -c 512 /dev/zero; cat "$out/$name.img"; } >"$out/$name-ucode.img"
    done
}

if [[ ! -f $cache/.complete ]]; then
    build_images "$S/images"
    rm -rf "$cache.tmp"
    cp -a "$S/images" "$cache.tmp"
    rm -rf "$cache"
    mv "$cache.tmp" "$cache"
    touch "$cache/.complete"
fi

# 1. Our module list equals lsinitrd's, for every image.
lsinitrd_modules() {
    lsinitrd "$1" 2>/dev/null | grep -oE '[^/ ]+\.ko(\.(xz|zst|gz))?$' |
        sed -E 's/\.ko(\.(xz|zst|gz))?$//; s/-/_/g' | sort -u
}
for img in "$cache"/*.img; do
    name=$(basename "$img" .img)
    "$LIST" "$img" >"$S/$name.ours" 2>"$S/$name.summary" || { cat "$S/$name.summary" >&2; fail "$name: our reader failed"; }
    lsinitrd_modules "$img" >"$S/$name.theirs"
    [[ -s $S/$name.theirs ]] || fail "$name: lsinitrd lists no module"
    diff -u "$S/$name.theirs" "$S/$name.ours" >&2 || fail "$name: module lists differ (lsinitrd -, ours +)"
    case $name in
    *-ucode)
        grep -q ' 1 early archive' "$S/$name.summary" || fail "$name: early archive not seen: $(cat "$S/$name.summary")"
        "$LIST" --files "$img" 2>/dev/null | grep -x 'kernel/x86/microcode/GenuineIntel.bin' >/dev/null ||
            fail "$name: the microcode file is not listed" ;;
    *)
        grep -q ' 0 early archive' "$S/$name.summary" || fail "$name: $(cat "$S/$name.summary")" ;;
    esac
    case $name in
    *gzip*) want=gzip ;; *xz*) want=xz ;; *) want=zstd ;;
    esac
    grep -q ", $want, " "$S/$name.summary" || fail "$name: compression: $(cat "$S/$name.summary")"
    note "$name: $(wc -l <"$S/$name.ours") modules, same as lsinitrd"
done
grep -qx hv_storvsc "$S/itools-zstd.ours" || fail "MODULES=most image lacks hv_storvsc"
grep -qx hv_storvsc "$S/itools-list.ours" && fail "MODULES=list image unexpectedly carries hv_storvsc"

# 2. prepcheck on the copy.
CHECKS=initramfs.drivers,dracut.hostonly,modprobe.blacklist
run_prepcheck() { # OUT [args]: exit status in $rc
    local out=$1
    shift
    rc=0
    "$PREPCHECK" --root "$root" --target azure --format json --only "$CHECKS" --output "$out" "$@" || rc=$?
    [[ -s $out ]] || fail "prepcheck wrote no report (exit $rc)"
}
image=/boot/initrd.img-$kver
# Generator detection: dracut-core may have been installed above; this phase is initramfs-tools.
rm -f "$root/usr/bin/dracut" "$root/usr/sbin/dracut"

# 2a. The MODULES=most image carries the hv drivers; kdump's image (named as RHEL names it, a valid
# image without the drivers) is never read: not beside the real one, nor in its place when it is gone.
cp "$cache/itools-zstd-ucode.img" "$root$image"
kdump=/boot/initramfs-${kver}kdump.img
cp "$cache/itools-list.img" "$root$kdump"
run_prepcheck "$S/a.json"
# warn, not pass: hv_utils (recommended, not required) is not in a MODULES=most image; nothing else is missing.
assert_status "$S/a.json" initramfs.drivers warn
assert_json "$S/a.json" "[.results[] | select(.id == \"initramfs.drivers\") | .evidence[] |
    select(.state != \"image\" and .state != \"builtin\") | .module] == [\"hv_utils\"]" "only hv_utils is missing"
for m in hv_vmbus hv_storvsc hv_netvsc; do
    assert_json "$S/a.json" "[.results[] | select(.id == \"initramfs.drivers\") | .evidence[] |
        select(.module == \"$m\" and .kernel == \"$kver\" and .image == \"$image\" and .path == \"$image\"
               and .state == \"image\")] | length == 1" "$m in the image"
done
assert_status "$S/a.json" dracut.hostonly skip
assert_status "$S/a.json" modprobe.blacklist pass
mv "$root$image" "$S/real.img"
run_prepcheck "$S/a2.json"
assert_status "$S/a2.json" initramfs.drivers fail
assert_json "$S/a2.json" "[.results[] | select(.id == \"initramfs.drivers\") | .evidence[] |
    select(.kernel == \"$kver\" and .state == \"missing\" and (has(\"image\") | not))] | length >= 3" \
    "without $image the kernel has no image (the kdump image is not taken instead)"
assert_json "$S/a2.json" ".results[] | select(.id == \"initramfs.drivers\") |
    (.detail | contains(\"no initramfs image\")) and (tostring | contains(\"kdump\") | not)" "no image, kdump not named"
mv "$S/real.img" "$root$image"
rm "$root$kdump"

# 2b. An image without them (and MODULES=dep) fails, naming kernel, module and image.
cp "$cache/itools-list.img" "$root$image"
printf '# planted by the test\nMODULES=dep\n' >"$root/etc/initramfs-tools/conf.d/mobility-test"
run_prepcheck "$S/b.json"
[[ $rc == 2 ]] || fail "missing drivers: exit $rc, expected 2"
assert_status "$S/b.json" initramfs.drivers fail
assert_json "$S/b.json" "[.results[] | select(.id == \"initramfs.drivers\") | .evidence[] |
    select(.module == \"hv_storvsc\" and .kernel == \"$kver\" and .image == \"$image\" and .state == \"missing\")]
    | length == 1" "hv_storvsc missing from $image"
assert_json "$S/b.json" '.results[] | select(.id == "initramfs.drivers") | .evidence |
    any(.path == "/etc/initramfs-tools/conf.d/mobility-test" and .line == 2 and .text == "MODULES=dep")' \
    "MODULES=dep reported with file and line"
assert_json "$S/b.json" ".results[] | select(.id == \"initramfs.drivers\") | .remediation.fixable == true and
    (.remediation.commands | index(\"update-initramfs -u -k $kver\") != null) and
    (.remediation.commands | any(startswith(\"printf\") and contains(\"hv_storvsc\") and
                                 contains(\"/etc/initramfs-tools/modules\")))" "initramfs-tools remediation"
rm "$root/etc/initramfs-tools/conf.d/mobility-test"

# 2c. A truncated image is an error naming it, not a crash.
head -c 100000 "$cache/itools-zstd.img" >"$root$image"
run_prepcheck "$S/c.json"
assert_status "$S/c.json" initramfs.drivers error
assert_json "$S/c.json" ".results[] | select(.id == \"initramfs.drivers\") | .detail | contains(\"$image\")"

# 2d. Blacklists in modprobe.d and on the GRUB command line.
cp "$cache/itools-zstd.img" "$root$image"
printf '# planted by the test\nblacklist hv_vmbus\ninstall udf /bin/true\n' >"$root/etc/modprobe.d/mobility-test.conf"
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="quiet modprobe.blacklist=floppy,hv-storvsc"\n' >"$root/etc/default/grub"
run_prepcheck "$S/d.json"
assert_status "$S/d.json" modprobe.blacklist fail
assert_json "$S/d.json" '.results[] | select(.id == "modprobe.blacklist") | .evidence |
    any(.path == "/etc/modprobe.d/mobility-test.conf" and .line == 2 and .module == "hv_vmbus") and
    any(.path == "/etc/modprobe.d/mobility-test.conf" and .line == 3 and .module == "udf") and
    any(.path == "/etc/default/grub" and .line == 2 and .module == "hv_storvsc") and
    (map(select(.module == "floppy")) | length == 0)' "blacklist evidence"
rm "$root/etc/modprobe.d/mobility-test.conf" "$root/etc/default/grub"

# 2e. dracut as the generator: hostonly="yes" planted in a drop-in fails with file and line, a later
# drop-in setting "no" passes; the drivers' remediation is dracut's.
[[ -e $root/usr/bin/dracut ]] || { printf '#!/bin/sh\nexit 0\n' >"$root/usr/bin/dracut"; chmod 755 "$root/usr/bin/dracut"; }
mkdir -p "$root/etc/dracut.conf.d"
printf '# planted by the test\nhostonly="yes"\n' >"$root/etc/dracut.conf.d/50-mobility-test.conf"
cp "$cache/itools-list.img" "$root$image"
run_prepcheck "$S/e.json"
assert_status "$S/e.json" dracut.hostonly fail
assert_json "$S/e.json" '.results[] | select(.id == "dracut.hostonly") | (.evidence[0].path ==
    "/etc/dracut.conf.d/50-mobility-test.conf" and .evidence[0].line == 2 and .remediation.fixable == true)'
assert_json "$S/e.json" ".results[] | select(.id == \"initramfs.drivers\") |
    (.remediation.commands | index(\"dracut -f -v -N --kver $kver\") != null) and
    (.remediation.commands | any(startswith(\"lsinitrd -k $kver | grep\"))) and
    (.remediation.commands | any(contains(\"add_drivers+=\") and contains(\"hv_storvsc\")))" "dracut remediation"
printf 'hostonly="no"\n' >"$root/etc/dracut.conf.d/90-mobility-test.conf"
cp "$cache/dracut-zstd-ucode.img" "$root$image"
run_prepcheck "$S/f.json"
assert_status "$S/f.json" dracut.hostonly pass
# dracut's generic image carries the storage drivers (hv_netvsc only comes with its network module).
for m in hv_vmbus hv_storvsc; do
    assert_json "$S/f.json" "[.results[] | select(.id == \"initramfs.drivers\") | .evidence[] |
        select(.module == \"$m\" and .state == \"image\")] | length == 1" "$m in dracut's generic image"
done
note "all images and checks as expected"
