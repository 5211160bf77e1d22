#!/bin/bash
# Benchmark: what the change tracker costs. (1) fio random 4 KiB direct writes for 20 s on two loop
# devices at once, one of them with `mobility-agent track` running: IOPS lost (target <= 5 %). Running
# both at the same time makes the shared machine's load hit both; rounds swap the tracked device.
# The tracker's own CPU time per completion is printed too. (2) The tracker's peak RSS on a 1 TiB
# sparse loop device at 64 KiB chunks (a 2 MiB bitmap) while random writes land all over it
# (target <= 32 MiB).
#   tests/bench/tracker.sh [BUILD_DIR] [ROUNDS] [SECONDS]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
rounds=${2:-2}
secs=${3:-20}
A=$build/agent/mobility-agent
[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 1; }
command -v fio >/dev/null || { echo "needs fio" >&2; exit 1; }
[[ -x $A ]] || { echo "$A: not built" >&2; exit 1; }

D=$(mktemp -d /tmp/mobility-bench-tracker.XXXXXX)
loops=() pids=()
cleanup() {
    local p l
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for l in "${loops[@]}"; do blktrace -k -d "$l" >/dev/null 2>&1 || true; losetup -d "$l" || true; done
    rm -rf "$D"
}
trap cleanup EXIT
grep -q ' /sys/kernel/debug debugfs ' /proc/mounts || mount -t debugfs none /sys/kernel/debug

# Two identical loop devices written at the same time by one fio (a job each), one of them tracked:
# whatever else the shared machine does hits both equally. Rounds swap which one is tracked, so a
# difference between the devices cancels out. Direct I/O to the backing files: the loop devices'
# writes then do not pile up in the page cache and hit writeback throttling at random moments.
for n in 0 1; do
    truncate -s 1G "$D/fio$n.img"
    l=$(losetup -f --show --direct-io=on "$D/fio$n.img"); loops+=("$l")
    dd if=/dev/zero of="$l" bs=1M count=1024 oflag=direct status=none   # allocated: no first-write effects
    dev[$n]=$l
done
sync

fio_pair() { # fio_pair SECONDS -> "IOPS_dev0 IOPS_dev1"
    fio --rw=randwrite --bs=4k --direct=1 --ioengine=libaio --iodepth=16 --size=1G --time_based \
        --runtime="$1" --output-format=json --name=d0 --filename="${dev[0]}" --name=d1 --filename="${dev[1]}" \
        2>/dev/null | jq -r '[.jobs[].write.iops] | map(tostring) | join(" ")'
}
track_bg() { # track_bg DEV OUT [opts] -> sets TPID once tracking
    "$A" track --disk "$1" --json "${@:3}" >"$2.json" 2>"$2.err" &
    TPID=$!; pids+=("$TPID")
    for ((i = 0; i < 100; i++)); do grep -qs tracking "$2.err" && return 0; sleep 0.1; done
    echo "tracker did not start: $(cat "$2.err")" >&2; exit 1
}
cpu_of() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' /proc/$1/stat; }

fio_pair 3 >/dev/null   # warm-up
# Both untracked, as long as a round: how different the two devices are without any tracker.
read -r i0 i1 < <(fio_pair "$secs")
spread=$(echo "($i0 - $i1) * 200 / ($i0 + $i1)" | bc -l); spread=${spread#-}
base=0 tracked=0 dropped=0 backend= cpu=0 events=0
for ((r = 0; r < rounds; r++)); do
    t_dev=$((r % 2))
    track_bg "${dev[$t_dev]}" "$D/t$r"
    read -r i0 i1 < <(fio_pair "$secs")
    c=$(cpu_of "$TPID")
    kill -INT "$TPID"; wait "$TPID"
    if ((t_dev == 0)); then t=$i0 b=$i1; else t=$i1 b=$i0; fi
    printf 'round %d: untracked %.0f IOPS, tracked %.0f IOPS (device %d tracked)\n' "$r" "$b" "$t" "$t_dev" >&2
    backend=$(jq -r .backend "$D/t$r.json")
    dropped=$((dropped + $(jq .dropped "$D/t$r.json")))
    events=$((events + $(jq .records "$D/t$r.json")))
    cpu=$(echo "$cpu + $c" | bc -l)
    base=$(echo "$base + $b" | bc -l)
    tracked=$(echo "$tracked + $t" | bc -l)
done
base=$(echo "$base / $rounds" | bc -l)
tracked=$(echo "$tracked / $rounds" | bc -l)
lost=$(echo "(1 - $tracked / $base) * 100" | bc -l)
us_per_event=$(echo "$cpu * 1000000 / ($events + 1)" | bc -l)

# RSS on a 1 TiB sparse disk, random writes across all of it for a few seconds
truncate -s 1T "$D/big.img"
B=$(losetup -f --show "$D/big.img"); loops+=("$B")
track_bg "$B" "$D/big" --chunk-size 64K
fio --name=spread --filename="$B" --rw=randwrite --bs=4k --direct=1 --ioengine=libaio --iodepth=16 \
    --runtime=5 --time_based --size=1T --output-format=json >/dev/null 2>&1
hwm=$(awk '/VmHWM/ {print $2}' /proc/$TPID/status)
rss=$(awk '/VmRSS/ {print $2}' /proc/$TPID/status)
kill -INT "$TPID"; wait "$TPID"
dirty=$(jq .dirty_chunks "$D/big.json")

printf '%-52s %12s %10s\n' "fio randwrite 4 KiB, iodepth 16, 2 devices, ${secs} s x $rounds" "IOPS" "ratio"
printf '%-52s %12.0f %10.3f\n' "untracked device (baseline, same time)" "$base" 1
printf '%-52s %12.0f %10.3f\n' "mobility-agent track ($backend), dropped $dropped" "$tracked" "$(echo "$tracked / $base" | bc -l)"
printf '%-52s %11.1f%%\n' "IOPS lost (target <= 5 %)" "$lost"
printf '%-52s %9.2f us\n' "tracker CPU per completion ($events events)" "$us_per_event"
printf '%-52s %9.1f MiB %9s\n' "track RSS peak, 1 TiB sparse loop, 64 KiB chunks" "$(echo "$hwm / 1024" | bc -l)" "(now $((rss / 1024)) MiB)"
printf '%-52s %12s\n' "  dirty chunks after 5 s of writes all over" "$dirty"
printf '%-52s %11.1f%%\n' "two untracked devices differ by (swapping cancels it)" "$spread"
if (($(echo "$lost <= 5" | bc -l))); then echo "IOPS target: met"; else echo "IOPS target: MISSED"; fi
if ((hwm <= 32 * 1024)); then echo "RSS target: met"; else echo "RSS target: MISSED"; fi
