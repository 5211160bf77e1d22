#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mobility-agent sync against mobility-receiver over loopback HTTPS: full then incremental sync of an
# image and of a loop device, replica == source each time, bytes sent after 1 % random writes within 5 %
# of the changed chunks, the lost-manifest path (the receiver's hashes), proxies, and the --json shape.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/replicate.sh"
need_root
need_cmd openssl jq losetup sha256sum dd
need_receiver

D=$(scratch)
make_pki "$D"
make_agents "$D"
start_receiver "$D"
CS=$((1 << 20))
MiB=$((1 << 20))

# 96 MiB image: 40 MiB random, a hole, 4 MiB of written zeros, a hole, 8 MiB random, a hole;
# then an odd tail so the last chunk is short.
IMG=$D/disk.img
truncate -s $((96 * MiB + 12345)) "$IMG"
dd if=/dev/urandom of="$IMG" bs=1M count=40 conv=notrunc status=none
dd if=/dev/zero of="$IMG" bs=1M count=4 seek=50 conv=notrunc status=none
dd if=/dev/urandom of="$IMG" bs=1M count=8 seek=64 conv=notrunc status=none
dd if=/dev/urandom of="$IMG" bs=12345 count=1 seek=$((96 * MiB)) oflag=seek_bytes conv=notrunc status=none
data_chunks=$((40 + 8 + 1))
all_chunks=97

# --- full sync
agent_sync "$D" --disk "$IMG" --name img --chunk-size $CS --json >"$D/s1.json" || fail "first sync failed"
assert_json "$D/s1.json" '.disks | length == 1'
assert_json "$D/s1.json" '.disks[0] | keys == ["bytes_read","bytes_sent","chunks_sent","name","seconds","zero_chunks"]' \
    "--json keys are exactly name, bytes_read, bytes_sent, chunks_sent, zero_chunks, seconds"
assert_json "$D/s1.json" ".disks[0].name == \"img\""
assert_json "$D/s1.json" ".disks[0].chunks_sent == $data_chunks" "first sync sends every non-zero chunk"
assert_json "$D/s1.json" ".disks[0].zero_chunks == $((all_chunks - data_chunks))" "zero chunks declared, not sent"
nonzero=$((48 * MiB + 12345))
assert_json "$D/s1.json" ".disks[0].bytes_sent <= $nonzero * 1.02" "bytes sent <= 1.02 x non-zero data"
# holes are skipped (SEEK_DATA): only data and the written zeros are read
assert_json "$D/s1.json" ".disks[0].bytes_read == $nonzero + 4 * $MiB" "holes are not read"
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs from the image after the full sync"
[[ -s $D/state/img.manifest ]] || fail "no manifest after a committed pass"

# --- nothing changed: nothing sent
agent_sync "$D" --disk "$IMG" --name img --json >"$D/s2.json" || fail "second sync failed"
assert_json "$D/s2.json" '.disks[0].chunks_sent == 0 and .disks[0].bytes_sent == 0 and .disks[0].zero_chunks == 0' \
    "an unchanged disk sends nothing"

# --- 1 % random 64 KiB writes of random data inside the random regions: bytes sent within 5 % of
# the changed chunks' size (random chunks do not compress)
{ random_writes "$IMG" 8 0 $((40 * MiB)); random_writes "$IMG" 8 $((64 * MiB)) $((8 * MiB)); } >"$D/offs"
changed=$(changed_chunks $CS <"$D/offs")
agent_sync "$D" --disk "$IMG" --name img --connections 16 --json >"$D/s3.json" || fail "incremental sync (16 uploads) failed"
assert_json "$D/s3.json" ".disks[0].chunks_sent == $changed" "incremental sends exactly the $changed changed chunks"
assert_json "$D/s3.json" "(.disks[0].bytes_sent - $changed * $CS) | fabs <= 0.05 * $changed * $CS" \
    "bytes sent within 5% of the changed chunks' size"
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the incremental sync"

# --- writes into a hole and zeroing a data range (a discard): both reach the replica
dd if=/dev/urandom of="$IMG" bs=64K count=1 seek=$((80 * 16)) conv=notrunc status=none
fallocate -p -o $((8 * MiB)) -l $((2 * MiB)) "$IMG"
agent_sync "$D" --disk "$IMG" --name img --json >"$D/s4.json" || fail "sync after punch failed"
assert_json "$D/s4.json" '.disks[0].chunks_sent == 1 and .disks[0].zero_chunks == 2'
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after hole punch"

# --- manifest lost: the receiver's hashes stand in, only the changed chunks go
rm -f "$D/state/img.manifest"
random_writes "$IMG" 4 0 $((40 * MiB)) >"$D/offs2"
changed=$(changed_chunks $CS <"$D/offs2")
agent_sync "$D" --disk "$IMG" --name img --json >"$D/s5.json" 2>"$D/s5.err" || { cat "$D/s5.err" >&2; fail "sync without manifest failed"; }
assert_json "$D/s5.json" ".disks[0].chunks_sent == $changed" "without a manifest only changed chunks are sent (receiver hashes)"
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the manifest-less sync"
# a manifest of another pass (agent crashed between commit and manifest write) is not trusted either
# (the dangerous case: a chunk changed in the pass the manifest missed, then changed back)
cp "$D/state/img.manifest" "$D/old.manifest"
dd if="$IMG" of="$D/chunk2" bs=1M skip=2 count=1 status=none
dd if=/dev/urandom of="$IMG" bs=1M count=1 seek=2 conv=notrunc status=none
agent_sync "$D" --disk "$IMG" --name img >/dev/null 2>&1 || fail "sync failed"
cp "$D/old.manifest" "$D/state/img.manifest"      # stale: names the previous pass
dd if="$D/chunk2" of="$IMG" bs=1M seek=2 count=1 conv=notrunc status=none
agent_sync "$D" --disk "$IMG" --name img >/dev/null 2>"$D/s6.err" || fail "sync with a stale manifest failed"
grep -q "using the appliance's hashes" "$D/s6.err" || fail "stale manifest not detected"
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the stale-manifest sync"

# --- --full resends every non-zero chunk
agent_sync "$D" --disk "$IMG" --name img --full --connections 1 --json >"$D/s7.json" || fail "--full (1 upload) failed"
agent_sync "$D" --disk "$IMG" --name img --connections 17 >/dev/null 2>"$D/conn.err" && fail "--connections 17 accepted"
grep -q "connections" "$D/conn.err" || fail "--connections 17: the error does not name the option"
nz=0
for ((i = 0; i < all_chunks; i++)); do
    if [[ $(dd if="$IMG" bs=1M skip=$i count=1 status=none | tr -d '\0' | head -c1 | wc -c) == 1 ]]; then
        nz=$((nz + 1))
    fi
done
assert_json "$D/s7.json" ".disks[0].chunks_sent == $nz and .disks[0].zero_chunks == $all_chunks - $nz" \
    "--full sends every non-zero chunk ($nz) and declares every zero one"
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after --full"

# --- a loop device (block device path: BLKGETSIZE64, O_DIRECT, all-zero detection without SEEK_DATA),
# with the default chunk size (64 KiB for a disk this small)
LIMG=$D/loop.img
truncate -s 32M "$LIMG"
dd if=/dev/urandom of="$LIMG" bs=1M count=12 conv=notrunc status=none
LOOP=$(attach_loop "$LIMG")
agent_sync "$D" --disk "$LOOP" --name loop0 --disk "$IMG" --name img --json >"$D/l1.json" || fail "loop device sync failed"
assert_json "$D/l1.json" '.disks | length == 2 and .[0].name == "loop0" and .[0].chunks_sent == 192 and .[0].zero_chunks == 320'
assert_json "$D/l1.json" '.disks[0].bytes_read == 32 * 1048576' "a device is read in full (zeros found by content)"
[[ $(replica_sha loop0) == $(sha_of "$LOOP") ]] || fail "replica differs from the loop device"
random_writes "$LOOP" 4 0 $((32 * MiB)) >"$D/offs3"
changed=$(changed_chunks 65536 <"$D/offs3")
agent_sync "$D" --disk "$LOOP" --name loop0 --json >"$D/l2.json" || fail "loop incremental failed"
assert_json "$D/l2.json" ".disks[0].chunks_sent == $changed"
[[ $(replica_sha loop0) == $(sha_of "$LOOP") ]] || fail "replica differs from the loop device after writes"

# --- proxies: a dead proxy bypassed by --no-proxy and by no_proxy; a real one (tinyproxy) if present
random_writes "$IMG" 1 0 $((40 * MiB)) >/dev/null
agent_sync "$D" --disk "$IMG" --name img --proxy http://127.0.0.1:9 --no-proxy 127.0.0.1 >/dev/null 2>&1 ||
    fail "--no-proxy did not bypass --proxy"
random_writes "$IMG" 1 0 $((40 * MiB)) >/dev/null
https_proxy=http://127.0.0.1:9 no_proxy=127.0.0.1 agent_sync "$D" --disk "$IMG" --name img >/dev/null 2>&1 ||
    fail "no_proxy from the environment not honoured"
MOBILITY_SYNC_RETRY_SECONDS=1 agent_sync "$D" --disk "$IMG" --name img --proxy http://127.0.0.1:9 \
    >/dev/null 2>"$D/p.err" && fail "a dead proxy cannot work"
if command -v tinyproxy >/dev/null; then
    PP=$((30000 + RANDOM % 20000))
    printf 'Port %s\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nLogFile "%s"\nLogLevel Connect\nMaxClients 10\n' \
        "$PP" "$D/tinyproxy.log" >"$D/tinyproxy.conf"
    tinyproxy -d -c "$D/tinyproxy.conf" >/dev/null 2>&1 &
    on_exit "kill $!"
    sleep 0.5
    random_writes "$IMG" 1 0 $((40 * MiB)) >/dev/null
    https_proxy=http://127.0.0.1:$PP agent_sync "$D" --disk "$IMG" --name img >/dev/null 2>"$D/tp.err" ||
        { cat "$D/tp.err" >&2; fail "sync through tinyproxy failed"; }
    grep -q "CONNECT" "$D/tinyproxy.log" || fail "the proxy from https_proxy was not used"
    [[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the proxied sync"
else
    note "tinyproxy not installed: proxied sync not exercised"
fi

# --- one pass per disk at a time: a held lock refuses a second sync of the same disk
agent_args "$D" --disk "$IMG" --name img
rc=0; flock "$D/state/img.lock" "$MOBILITY_AGENT" "${AGENT_ARGS[@]}" >/dev/null 2>"$D/lock.err" || rc=$?
[[ $rc == 1 ]] && grep -q "another sync of this disk is running" "$D/lock.err" || { cat "$D/lock.err" >&2; fail "a concurrent sync was not refused (exit $rc)"; }

# --- usage errors exit 3
rc=0; "$MOBILITY_AGENT" sync --disk "$IMG" >/dev/null 2>&1 || rc=$?
[[ $rc == 3 ]] || fail "missing options: exit $rc, expected 3"
rc=0; agent_sync "$D" --disk "$IMG" --name "../x" >/dev/null 2>&1 || rc=$?
[[ $rc == 3 ]] || fail "bad disk name: exit $rc, expected 3"
rc=0; "$MOBILITY_AGENT" sync --appliance http://127.0.0.1:1 --ca x --agent-id a --token-file x --disk x >/dev/null 2>&1 || rc=$?
[[ $rc == 3 ]] || fail "http:// URL: exit $rc, expected 3"
note "ok"
