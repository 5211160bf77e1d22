#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of mobility-agent sync against mobility-receiver on loopback HTTPS (not run by ctest).
#   BUILD_DIR=build bash tests/bench/sync.sh
#   SIZES="262144 1048576 4194304" ...   also compare chunk sizes (docs/replication.md)
#   GIB=2                                image size in GiB
# Prints, in one run:
#   1. full scan of a random image: our read+hash rate (an unchanged incremental pass) vs
#      dd iflag=direct bs=4M of the same image                         target >= 0.9
#   2. initial sync of a half-zero image: bytes sent / non-zero bytes     target <= 1.02
#   3. incremental after 1 % random 64 KiB writes: time and bytes vs
#      rsync -I --inplace --no-whole-file over the same pair of images  target < 1 for both
source "$(dirname "$0")/../lib/common.sh"
source "$SOURCE_DIR/tests/lib/replicate.sh"
source "$SOURCE_DIR/tests/bench/lib.sh"
need_cmd openssl jq rsync dd
need_receiver
GIB=${GIB:-2}
SIZES=${SIZES:-$((64 << 10))}   # the default for a 2 GiB disk
BYTES=$((GIB << 30))
D=$(scratch)
make_pki "$D"
make_agents "$D"
start_receiver "$D"
js() { jq -r ".disks[0].$2" "$1"; }

note "creating a ${GIB} GiB random image and a ${GIB} GiB half-zero image"
RND=$D/random.img
random_image "$RND" "$BYTES"
# half-zero: 4 MiB of random data, then 4 MiB of zeros (alternately written zeros and holes)
HALF=$D/half.img
truncate -s "$BYTES" "$HALF"
for ((m = 0; m < (BYTES >> 20); m += 8)); do
    dd if="$RND" of="$HALF" bs=1M count=4 skip=$m seek=$m conv=notrunc status=none
    if ((m % 16 == 0)); then
        dd if=/dev/zero of="$HALF" bs=1M count=4 seek=$((m + 4)) conv=notrunc status=none
    fi
done
nonzero=$((BYTES / 2))
sync

printf '\n%-44s %12s %12s %8s\n' "measurement" "ours" "baseline" "ratio"
for cs in $SIZES; do
    # 1. scan rate: an unchanged pass reads and hashes everything and sends nothing. The disk is
    # shared, so dd and we alternate three times and the best of each counts.
    agent_sync "$D" -q --disk "$RND" --name "rnd-$cs" --chunk-size "$cs" --json >"$D/rnd-$cs-1.json" || fail "initial sync failed"
    dd_rate=0 our_rate=0
    for rep in 1 2 3; do
        t0=$(now); dd if="$RND" of=/dev/null bs=4M iflag=direct status=none; t1=$(now)
        dd_rate=$(awk -v b=$BYTES -v t0="$t0" -v t1="$t1" -v best="$dd_rate" \
            'BEGIN { r = b / (t1 - t0) / 1048576; printf "%.1f", (r > best ? r : best) }')
        agent_sync "$D" -q --disk "$RND" --name "rnd-$cs" --json >"$D/rnd-$cs-2.json" || fail "scan pass failed"
        [[ $(js "$D/rnd-$cs-2.json" chunks_sent) == 0 ]] || fail "unchanged image sent chunks"
        our_rate=$(awk -v b="$(js "$D/rnd-$cs-2.json" bytes_read)" -v t="$(js "$D/rnd-$cs-2.json" seconds)" \
            -v best="$our_rate" 'BEGIN { r = b / t / 1048576; printf "%.1f", (r > best ? r : best) }')
    done
    printf '%-44s %10s/s %10s/s %8s\n' "scan MiB, chunk $((cs >> 10)) KiB (vs dd 4M direct)" "$our_rate" "$dd_rate" \
        "$(ratio "$our_rate" "$dd_rate")"
    printf '%-44s %10ss %12s %8s\n' "  initial sync of the random image" "$(js "$D/rnd-$cs-1.json" seconds)" "" ""
    rm -f "$STORE/web01/rnd-$cs.raw"   # keep the scratch space small; its state is not needed again

    # 2. initial sync of the half-zero image
    agent_sync "$D" -q --disk "$HALF" --name "half-$cs" --chunk-size "$cs" --json >"$D/half-$cs-1.json" || fail "half sync failed"
    sent=$(js "$D/half-$cs-1.json" bytes_sent)
    printf '%-44s %12s %12s %8s\n' "initial half-zero: MiB sent vs non-zero" "$(mib "$sent")" "$(mib $nonzero)" \
        "$(ratio "$sent" $nonzero)"
done

# 3. incremental: the same 1 % random 64 KiB writes for every chunk size and for rsync
cp --sparse=always "$HALF" "$D/rsync-dst.img"
nwrites=$((BYTES / 100 / 65536))
random_writes "$HALF" $nwrites 0 "$BYTES" >"$D/offsets"
t0=$(now)
rsync -I --inplace --no-whole-file --stats "$HALF" "$D/rsync-dst.img" >"$D/rsync.out"
t1=$(now)
rsync_s=$(elapsed "$t0" "$t1")
rsync_bytes=$(awk -F': ' '/^Total bytes (sent|received)/ { gsub(/,/, "", $2); s += $2 } END { print s }' "$D/rsync.out")
cmp -s "$HALF" "$D/rsync-dst.img" || fail "rsync's copy differs"
printf '\n%s writes of 64 KiB (%s MiB); rsync: %s MiB in %.2fs\n' $nwrites "$(mib $((nwrites * 65536)))" \
    "$(mib "$rsync_bytes")" "$rsync_s"
for cs in $SIZES; do
    agent_sync "$D" -q --disk "$HALF" --name "half-$cs" --json >"$D/half-$cs-2.json" || fail "incremental failed"
    [[ $(replica_sha "half-$cs") == $(sha_of "$HALF") ]] || fail "replica half-$cs differs"
    sent=$(js "$D/half-$cs-2.json" bytes_sent)
    secs=$(js "$D/half-$cs-2.json" seconds)
    printf '%-44s %12s %12s %8s\n' "incremental $((cs >> 10)) KiB: MiB sent vs rsync" "$(mib "$sent")" \
        "$(mib "$rsync_bytes")" "$(ratio "$sent" "$rsync_bytes")"
    printf '%-44s %11ss %11ss %8s\n' "incremental $((cs >> 10)) KiB: seconds vs rsync" "$secs" \
        "$(printf %.2f "$rsync_s")" "$(ratio "$secs" "$rsync_s")"
    printf '%-44s %12s\n' "  chunks sent" "$(js "$D/half-$cs-2.json" chunks_sent)"
done
