#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: time from the freeze request to all frozen, and from the thaw request to all thawed,
# with 10 mounted loop filesystems (5 ext4, 5 xfs), against a fsfreeze(8) loop over the same
# mounts in the same order. Clean filesystems, and with 4 MiB of dirty data each (the freeze
# then includes the writeback). Median of RUNS (default 5).
#   BUILD_DIR=build tests/bench/quiesce.sh
set -euo pipefail
: "${BUILD_DIR:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
export BUILD_DIR
TEST_NAME=bench-quiesce
source "$(dirname "$0")/../lib/common.sh"
source "$SOURCE_DIR/tests/lib/quiesce.sh"
RUNS=${RUNS:-5}

q_scratch
# The state directory on tmpfs as in production (/run), not on the disk under /tmp.
QSTATE=$(mktemp -d /run/mobility-bench-quiesce.XXXXXX)
on_exit "rm -rf '$QSTATE'"
export MOBILITY_QUIESCE_STATE_DIR=$QSTATE
mounts=()
for i in $(seq 0 9); do
    type=ext4; ((i % 2)) && type=xfs
    q_mkfs "$type" "$Q/fs$i.img" "$Q/m$i"
    mounts+=("$Q/m$i")
done
q_watch_cleanup
args=(); for m in "${mounts[@]}"; do args+=(--mount "$m"); done
# The order the agent uses, so the baseline does the same work.
"$MOBILITY_AGENT" freeze --timeout 60 "${args[@]}" --json >"$Q/plan.json"
"$MOBILITY_AGENT" thaw 2>/dev/null
mapfile -t order < <(jq -r '.filesystems[].mount' "$Q/plan.json")

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
dirty() { local m; for m in "${mounts[@]}"; do dd if=/dev/urandom of="$m/dirty" bs=1M count=4 status=none; done; }

declare -A res
run() { # run MODE(clean|dirty)
    local mode=$1 i t0 t1 t2
    for ((i = 0; i < RUNS; i++)); do
        [[ $mode == dirty ]] && dirty || sync
        t0=$(q_now); "$MOBILITY_AGENT" freeze --timeout 60 "${args[@]}"; t1=$(q_now)
        "$MOBILITY_AGENT" thaw 2>/dev/null; t2=$(q_now)
        echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")" >>"$Q/agent.$mode"

        [[ $mode == dirty ]] && dirty || sync
        t0=$(q_now); for m in "${order[@]}"; do fsfreeze -f "$m"; done; t1=$(q_now)
        for ((j = ${#order[@]} - 1; j >= 0; j--)); do fsfreeze -u "${order[j]}"; done; t2=$(q_now)
        echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")" >>"$Q/base.$mode"
    done
    res[$mode,agent,freeze]=$(cut -d' ' -f1 "$Q/agent.$mode" | median)
    res[$mode,agent,thaw]=$(cut -d' ' -f2 "$Q/agent.$mode" | median)
    res[$mode,base,freeze]=$(cut -d' ' -f1 "$Q/base.$mode" | median)
    res[$mode,base,thaw]=$(cut -d' ' -f2 "$Q/base.$mode" | median)
}
run clean
run dirty

printf '\nquiesce benchmark: 10 loop filesystems (5 ext4, 5 xfs), median of %d runs, ms\n' "$RUNS"
printf '%-28s %14s %16s %8s\n' "phase" "mobility-agent" "fsfreeze loop" "ratio"
for mode in clean dirty; do
    for ph in freeze thaw; do
        a=${res[$mode,agent,$ph]} b=${res[$mode,base,$ph]}
        [[ $ph == freeze ]] && label="request -> all frozen ($mode)" || label="thaw -> all thawed ($mode)"
        printf '%-28s %14s %16s %8s\n' "$label" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
    done
done
