#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of the daemon's tracked passes (not run by ctest), one run, ratios printed:
#   1. a 2 GiB loop device, 1 % changed by random 64 KiB writes: an incremental pass with the
#      tracker vs a hash-mode pass of the same disk (target <= 5 % of its time) and vs
#      rsync -I --inplace --no-whole-file over a copy of the same data (target >= 20x faster)
#   2. the daemon's peak RSS while tracking a 1 TiB sparse loop device (target <= 32 MiB)
#   BUILD_DIR=build bash tests/bench/daemon.sh
source "$(dirname "$0")/../lib/common.sh"
source "$SOURCE_DIR/tests/lib/replicate.sh"
source "$SOURCE_DIR/tests/bench/lib.sh"
need_root
need_cmd openssl jq rsync
need_receiver
GIB=${GIB:-2}
BYTES=$((GIB << 30))
D=$(scratch)
make_pki "$D"
make_agents "$D"
start_receiver "$D"

note "creating a ${GIB} GiB random image"
random_image "$D/disk.img" "$BYTES"
cp --sparse=never "$D/disk.img" "$D/copy.img"   # rsync's destination: the previous state
dev=$(attach_loop "$D/disk.img")
truncate -s 1T "$D/huge.img"
huge=$(attach_loop "$D/huge.img")

config() { # config FILE DISK...
    local f=$1 d
    shift
    { printf 'appliance:\n  url: https://127.0.0.1:%s\n  ca: %s/ca.pem\nagent:\n  id: web01\n  token_file: %s/token\n' \
        "$RECEIVER_PORT" "$D" "$D"
      printf 'disks:\n'
      for d; do printf '  - device: %s\n    name: %s\n' "$d" "$(basename "$d")"; done
      printf 'state_dir: %s/state-%s\ncontrol_socket: %s/run-%s/control\n' "$D" "$(basename "$f")" "$D" "$(basename "$f")"
    } >"$f"
}
start() { # start CONFIG -> DPID
    "$MOBILITY_AGENT" run --foreground --config "$1" 2>>"$D/daemon.log" &
    DPID=$!
    on_exit "kill $DPID"
    for ((i = 0; i < 200; i++)); do
        "$MOBILITY_AGENT" status --config "$1" --json 2>/dev/null | jq -e 'has("disks")' >/dev/null && return 0
        sleep 0.1
    done
    fail "the daemon did not start"
}

config "$D/tracked.yaml" "$dev"
start "$D/tracked.yaml"
"$MOBILITY_AGENT" status --config "$D/tracked.yaml" --json | jq -e '.disks[0].tracker == "tracking"' >/dev/null ||
    fail "the tracker did not start"
note "initial sync (tracked daemon) and initial hash-mode sync"
"$MOBILITY_AGENT" sync --config "$D/tracked.yaml" --json >/dev/null || fail "initial tracked sync failed"
agent_sync "$D" -q --disk "$dev" --name hashmode --json >/dev/null || fail "initial hash sync failed"

note "1 % random 64 KiB writes"
random_writes "$dev" $((BYTES / 100 / 65536)) 0 "$BYTES" >"$D/offsets"
dd if="$dev" of="$D/after.img" bs=4M iflag=direct status=none   # rsync's source: the same data

# CPU seconds (user + system) of processes, from /proc/PID/stat; the CLI's own share is negligible
ticks() { local p t=0; for p; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
hz=$(getconf CLK_TCK)
cpus=$(nproc)
c0=$(ticks "$DPID" "$RECEIVER_PID")
t0=$(now); "$MOBILITY_AGENT" sync --config "$D/tracked.yaml" --json >"$D/tracked.json" || fail "tracked pass failed"; t1=$(now)
c1=$(ticks "$DPID" "$RECEIVER_PID")
t_tracked=$(elapsed "$t0" "$t1")
cpu_tracked=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
c0=$(ticks "$RECEIVER_PID")
TIMEFORMAT='%U %S'
t0=$(now)
{ time agent_sync "$D" -q --disk "$dev" --name hashmode --json >"$D/hash.json" 2>"$D/hash.err"; } 2>"$D/hash.time" ||
    { cat "$D/hash.err" >&2; fail "hash pass failed"; }
t1=$(now)
c1=$(ticks "$RECEIVER_PID")
t_hash=$(elapsed "$t0" "$t1")
cpu_hash=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" '{ printf "%.2f", $1 + $2 + (b - a) / hz }' "$D/hash.time")
t0=$(now); rsync -I --inplace --no-whole-file --stats "$D/after.img" "$D/copy.img" >"$D/rsync.txt"; t1=$(now)
t_rsync=$(elapsed "$t0" "$t1")
[[ $(replica_sha "$(basename "$dev")") == $(sha_of "$dev") ]] || fail "tracked replica differs"

printf '\n%-52s %10s %10s %8s %8s %8s\n' "1% changed of ${GIB} GiB" "seconds" "read MiB" "CPU s" "ratio" "target"
printf '%-52s %10s %10.1f %8s %8s %8s\n' "tracked pass (daemon)" "$t_tracked" \
    "$(jq '.disks[0].bytes_read / 1048576' "$D/tracked.json")" "$cpu_tracked" 1 ""
printf '%-52s %10s %10.1f %8s %8s %8s\n' "hash-mode pass (sync, manifest)" "$t_hash" \
    "$(jq '.disks[0].bytes_read / 1048576' "$D/hash.json")" "$cpu_hash" "$(ratio "$t_tracked" "$t_hash")" "<= 0.05"
printf '%-52s %10s %10s %8s %8s %8s\n' "rsync -I --inplace --no-whole-file" "$t_rsync" "-" "-" \
    "$(ratio "$t_rsync" "$t_tracked")x" ">= 20x"
# What no scheduling can beat: the tracked pass's CPU spread over every CPU of this machine.
floor=$(awk -v c="$cpu_tracked" -v n="$cpus" 'BEGIN { printf "%.3f", c / n }')
printf '%-52s %10s %10s %8s %8s\n' "tracked pass CPU / $cpus CPUs (its floor here)" "$floor" "-" "-" \
    "$(ratio "$floor" "$t_hash")"
kill "$DPID"; wait "$DPID" 2>/dev/null || true

config "$D/huge.yaml" "$huge"
start "$D/huge.yaml"
"$MOBILITY_AGENT" status --config "$D/huge.yaml" --json >"$D/huge-status.json"
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$DPID/status")
printf '\n%-52s %10s %10s\n' "daemon tracking a 1 TiB sparse loop device" "peak RSS" "target"
printf '%-52s %7.1f MiB %10s\n' "($(jq -r '.disks[0].tracker' "$D/huge-status.json"), $(jq -r '.disks[0].chunks' "$D/huge-status.json") chunks)" \
    "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "<= 32 MiB"
