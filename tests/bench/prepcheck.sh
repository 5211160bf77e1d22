#!/bin/bash
# Benchmark: how long prepcheck takes on the cached debootstrap'd Debian root (offline, no network).
# Target: under 0.2 s for the foundation's checks. Baselines measured in the same run, because the
# machine is shared: process start-up (/bin/true) and `lsblk -f` (a small tool that probes disks).
#   tests/bench/prepcheck.sh [BUILD_DIR] [RUNS]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
runs=${2:-20}
root=$(bash "$src/tests/lib/debootstrap-root.sh")
pc=$build/checks/prepcheck
foundation=os.release,fstab.stable-names,fstab.resolvable,boot.free-space,storage.encryption,storage.layout,root.free-space,kernel.running-latest,kernel.obsolete,bootloader.present,firmware.secure-boot,firmware.uefi-fallback,bootloader.cmdline,udev.block-rules
only=""
for id in ${foundation//,/ }; do
    "$pc" --list | awk '{print $1}' | grep -qx "$id" && only+="${only:+,}$id"
done

mean() { # mean RUNS CMD... -> seconds per run
    local n=$1 t0 t1
    shift
    "$@" >/dev/null 2>&1 || true
    t0=$(date +%s.%N)
    for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 || true; done
    t1=$(date +%s.%N)
    echo "($t1 - $t0) / $n" | bc -l
}

t_true=$(mean "$runs" /bin/true)
t_lsblk=$(mean "$runs" lsblk -f)
t_found=$(mean "$runs" "$pc" --root "$root" --no-network --format json --only "$only")
t_all=$(mean "$runs" "$pc" --root "$root" --no-network --format json)

printf '%-44s %10s %12s\n' "command ($runs runs each)" "seconds" "vs lsblk -f"
printf '%-44s %10.4f %12.2f\n' "/bin/true (process start)" "$t_true" "$(echo "$t_true / $t_lsblk" | bc -l)"
printf '%-44s %10.4f %12.2f\n' "lsblk -f" "$t_lsblk" 1
printf '%-44s %10.4f %12.2f\n' "prepcheck --root DEBIAN (foundation checks)" "$t_found" "$(echo "$t_found / $t_lsblk" | bc -l)"
printf '%-44s %10.4f %12.2f\n' "prepcheck --root DEBIAN (all, --no-network)" "$t_all" "$(echo "$t_all / $t_lsblk" | bc -l)"
if (($(echo "$t_found < 0.2" | bc -l))); then echo "target < 0.2 s: met"; else echo "target < 0.2 s: MISSED"; fi
