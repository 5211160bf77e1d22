#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Crashes and hostile paths of a sync pass: kill -9 of the agent at random points (with the source
# changing between attempts, including back to the committed content) and of the receiver (mid-pass
# and mid-commit) leave the replica at the previous recovery point, and the next sync completes and
# equals the source; a chunk corrupted in transit is rejected and resent; a wrong CA, pin, token or
# agent id is refused with a message that says which.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/replicate.sh"
need_root
need_cmd openssl jq sha256sum dd curl
need_receiver

D=$(scratch)
make_pki "$D"
make_agents "$D"
start_receiver "$D"
MiB=$((1 << 20))
IMG=$D/disk.img
dd if=/dev/urandom of="$IMG" bs=1M count=48 status=none

agent_sync "$D" --disk "$IMG" --name img --chunk-size 1048576 >/dev/null 2>&1 || fail "initial sync failed"
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the initial sync"
dd if="$IMG" of="$D/chunk0" bs=1M count=1 status=none

# --- kill -9 of the agent, three times in one pass, the source changing in between
point=$(replica_sha img)
pass=$(committed_pass "$D" img)
dd if=/dev/urandom of="$IMG" bs=1M count=48 conv=notrunc status=none
for round in 1 2 3; do
    agent_args "$D" --disk "$IMG" --name img
    MOBILITY_SYNC_TEST_DELAY_MS=200 "$MOBILITY_AGENT" "${AGENT_ARGS[@]}" >/dev/null 2>"$D/a$round.err" &
    apid=$!
    sleep "0.$((2 + RANDOM % 5))"
    kill -9 $apid 2>/dev/null || fail "round $round: the agent finished before it was killed"
    wait $apid 2>/dev/null || true
    [[ $(committed_pass "$D" img) == "$pass" ]] || fail "round $round: a killed agent's pass was committed"
    [[ $(replica_sha img) == "$point" ]] || { cat "$D/a$round.err" "$D/receiver.log" >&2; disk_state "$D" img >&2; fail "round $round: the replica is not the previous recovery point"; }
    case $round in
    1) # chunk 0 is staged with new content: put the committed content back; it must be staged again
       dd if="$D/chunk0" of="$IMG" bs=1M count=1 conv=notrunc status=none ;;
    2) dd if=/dev/urandom of="$IMG" bs=1M count=2 seek=1 conv=notrunc status=none ;;
    esac
done
agent_sync "$D" --disk "$IMG" --name img --json >"$D/resume.json" 2>"$D/resume.err" ||
    { cat "$D/resume.err" >&2; fail "the sync after the kills failed"; }
grep -q "resuming pass" "$D/resume.err" || fail "the open pass was not resumed"
assert_json "$D/resume.json" '.disks[0].chunks_sent < 48' "a resumed pass does not resend what is staged"
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs from the source after the resumed pass"

# --- kill -9 of the receiver mid-pass: the agent retries with back-off and completes after the restart
point=$(replica_sha img)
dd if=/dev/urandom of="$IMG" bs=1M count=24 seek=8 conv=notrunc status=none
agent_args "$D" --disk "$IMG" --name img
MOBILITY_SYNC_TEST_DELAY_MS=160 MOBILITY_SYNC_RETRY_SECONDS=60 "$MOBILITY_AGENT" "${AGENT_ARGS[@]}" >/dev/null 2>"$D/r.err" &
apid=$!
sleep "0.$((3 + RANDOM % 5))"
kill_receiver
[[ $(replica_sha img) == "$point" ]] || fail "a killed receiver left a replica other than the recovery point"
sleep 1
start_receiver "$D" "$RECEIVER_PORT"
wait $apid || { cat "$D/r.err" >&2; fail "the agent did not complete after the receiver came back"; }
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the receiver restart"

# --- kill -9 of the receiver in the commit, before and after its journal
for at in before-journal after-journal; do
    stop_receiver
    MOBILITY_RECEIVER_TEST_PAUSE=$at start_receiver "$D" "$RECEIVER_PORT"
    point=$(replica_sha img)
    dd if=/dev/urandom of="$IMG" bs=1M count=3 seek=$((RANDOM % 40)) conv=notrunc status=none
    agent_args "$D" --disk "$IMG" --name img
    MOBILITY_SYNC_RETRY_SECONDS=60 "$MOBILITY_AGENT" "${AGENT_ARGS[@]}" >/dev/null 2>"$D/c.err" &
    apid=$!
    for ((i = 0; i < 100; i++)); do
        grep -q "test pause at $at" "$D/receiver.log" && break
        sleep 0.1
    done
    grep -q "test pause at $at" "$D/receiver.log" || fail "$at: the receiver never reached the commit"
    kill_receiver
    if [[ $at == before-journal ]]; then
        [[ $(replica_sha img) == "$point" ]] || fail "$at: replica is not the previous recovery point"
    fi
    start_receiver "$D" "$RECEIVER_PORT"
    wait $apid || { cat "$D/c.err" >&2; fail "$at: the agent did not complete its commit"; }
    [[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "$at: replica differs after the commit was replayed"
done

# --- a byte flipped in transit: rejected (hash_mismatch), resent, replica exact
dd if=/dev/urandom of="$IMG" bs=1M count=4 seek=20 conv=notrunc status=none
MOBILITY_SYNC_TEST_CORRUPT=2 agent_sync "$D" --disk "$IMG" --name img --json >"$D/x.json" 2>"$D/x.err" ||
    { cat "$D/x.err" >&2; fail "sync with a corrupted chunk failed"; }
grep -q "rejected (hash_mismatch)" "$D/x.err" || fail "the corrupted chunk was not rejected by the receiver"
assert_json "$D/x.json" '.disks[0].chunks_sent == 4'
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the resend"

# --- refusals that say which
point=$(replica_sha img)
dd if=/dev/urandom of="$IMG" bs=1M count=1 conv=notrunc status=none
mkdir "$D/other"
make_pki "$D/other"
expect_refusal() {
    local what=$1 pattern=$2 rc=0
    shift 2
    MOBILITY_SYNC_RETRY_SECONDS=5 "$@" >/dev/null 2>"$D/ref.err" || rc=$?
    [[ $rc == 1 ]] || { cat "$D/ref.err" >&2; fail "$what: exit $rc, expected 1"; }
    grep -q "$pattern" "$D/ref.err" || { cat "$D/ref.err" >&2; fail "$what: message does not say '$pattern'"; }
}
expect_refusal "wrong CA" "not trusted.*CA file $D/other/ca.pem" \
    "$MOBILITY_AGENT" sync --appliance "https://127.0.0.1:$RECEIVER_PORT" --ca "$D/other/ca.pem" --agent-id web01 \
    --token-file "$D/token" --state-dir "$D/state" --disk "$IMG" --name img
expect_refusal "wrong pin" "public key pin mismatch" agent_sync "$D" --disk "$IMG" --name img --pin "$(cat "$D/other/pin")"
head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$D/bad-token"
expect_refusal "wrong token" "refused the token of agent web01" \
    "$MOBILITY_AGENT" sync --appliance "https://127.0.0.1:$RECEIVER_PORT" --ca "$D/ca.pem" --agent-id web01 \
    --token-file "$D/bad-token" --state-dir "$D/state" --disk "$IMG" --name img
expect_refusal "another agent's token" "refused agent id web01" \
    "$MOBILITY_AGENT" sync --appliance "https://127.0.0.1:$RECEIVER_PORT" --ca "$D/ca.pem" --agent-id web01 \
    --token-file "$D/other-token" --state-dir "$D/state" --disk "$IMG" --name img
[[ $(replica_sha img) == "$point" ]] || fail "a refused sync changed the replica"
# the right pin is accepted
agent_sync "$D" --disk "$IMG" --name img --pin "$(cat "$D/pin")" >/dev/null 2>"$D/pin.err" ||
    { cat "$D/pin.err" >&2; fail "the right pin was refused"; }
[[ $(replica_sha img) == $(sha_of "$IMG") ]] || fail "replica differs after the pinned sync"
note "ok"
