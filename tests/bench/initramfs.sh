#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: listing the kernel modules of a ~40 MB zstd initramfs (an early microcode archive in
# front, then the kernel's module tree from the cached Debian root), with prepcheck's reader
# (tests/initramfs-list) against `lsinitrd` (dracut) on the same image, in the same run.
# Target: ours at least 5x faster.
#   tests/bench/initramfs.sh [BUILD_DIR] [RUNS]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
runs=${2:-5}
list=$build/tests/initramfs-list
[[ -x $list ]] || { echo "initramfs.sh: build $list first (cmake --build $build)" >&2; exit 3; }
command -v lsinitrd >/dev/null || { echo "initramfs.sh: lsinitrd (dracut-core) is needed" >&2; exit 3; }
root=$(bash "$src/tests/lib/debootstrap-root.sh")
kdir=$(ls -d "$root"/lib/modules/*/ | head -n 1)

work=$(mktemp -d /tmp/mobility-bench-initramfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/early/kernel/x86/microcode" "$work/tree/usr/lib/modules"
head -c 65536 /dev/urandom >"$work/early/kernel/x86/microcode/GenuineIntel.bin"
echo 1 >"$work/early/early_cpio"
cp -a "$kdir" "$work/tree/usr/lib/modules/"
(cd "$work/early" && find . | sort | cpio -o -H newc --quiet) >"$work/image"
# The first ~200 MB of the Debian module tree compress to ~40 MB (a generic distribution image).
(cd "$work/tree" && find . -printf '%s %p\n' | sort -k2 | awk '{ s += $1 } s <= 200 * 1048576 { print $2 }' |
    cpio -o -H newc --quiet) | zstd -q -T1 -5 >>"$work/image"
size=$(stat -c %s "$work/image")

# best RUNS CMD... -> "WALL CPU": the fastest run's wall-clock seconds, and the least CPU seconds
# (user + system, children included) of any run: CPU time is what a loaded, shared machine
# distorts least.
best() {
    local n=$1 bw="" bc="" w c
    shift
    for ((i = 0; i < n; i++)); do
        read -r w c < <(/usr/bin/time -f '%e %U %S' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ print $1, $2 + $3 }')
        if [[ -z $bw ]] || (($(echo "$w < $bw" | bc -l))); then bw=$w; fi
        if [[ -z $bc ]] || (($(echo "$c < $bc" | bc -l))); then bc=$c; fi
    done
    echo "$bw $bc"
}
[[ -x /usr/bin/time ]] || { echo "initramfs.sh: GNU time (/usr/bin/time) is needed" >&2; exit 3; }

ours_n=$("$list" "$work/image" 2>/dev/null | wc -l)
theirs_n=$(lsinitrd "$work/image" 2>/dev/null | grep -cE '\.ko(\.(xz|zst|gz))?$')
read -r w_ours c_ours < <(best "$runs" "$list" "$work/image")
read -r w_theirs c_theirs < <(best "$runs" lsinitrd "$work/image")
ratio_w=$(echo "$w_theirs / $w_ours" | bc -l)
ratio_c=$(echo "$c_theirs / ($c_ours + 0.001)" | bc -l)

printf 'initramfs listing: %.1f MB zstd image, %d modules (lsinitrd: %d), best of %d runs, load %s\n' \
    "$(echo "$size / 1048576" | bc -l)" "$ours_n" "$theirs_n" "$runs" "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-34s %9s %9s %8s %8s\n' "what" "wall s" "cpu s" "wall x" "cpu x"
printf '%-34s %9.3f %9.3f %8s %8s\n' "lsinitrd IMAGE (baseline)" "$w_theirs" "$c_theirs" "1.0x" "1.0x"
printf '%-34s %9.3f %9.3f %7.1fx %7.1fx\n' "prepcheck reader (initramfs-list)" "$w_ours" "$c_ours" "$ratio_w" "$ratio_c"
printf 'target: >= 5x faster than lsinitrd (wall clock): %s\n' \
    "$( (($(echo "$ratio_w >= 5" | bc -l))) && echo met || echo MISSED)"
