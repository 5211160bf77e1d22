#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Identity binding (docs/protocol.md §2.1), curl as the agent: the first request with X-Mobility-Machine-Id
# and X-Mobility-Product-Uuid records them in STORE/ID/identity; the same token from another machine
# (a clone: other product UUID; or other machine-id) is 409 identity_mismatch naming both, also after a
# restart; the original machine still works and its replica is untouched; registration binds too;
# requests without the headers (old agents) pass only while nothing is recorded.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/receiver.sh"
need_cmd jq zstd

dir=$(scratch)
rcv_init "$dir"
rcv_start

M1=0123456789abcdef0123456789abcdef
U1=4c4c4544-0042-3510-8044-b4c04f4a3132
M2=fedcba9876543210fedcba9876543210
U2=9b3e1a52-77f0-4d6e-9a55-2f4d0c1e8b07

# api as in receiver.sh, plus the identity headers of machine $API_MID/$API_UUID (none when API_MID is unset)
eval "rcv_$(declare -f api)"
api() {
    if [[ -n ${API_MID+x} ]]; then
        local uh="X-Mobility-Product-Uuid: $API_UUID"
        [[ -z $API_UUID ]] && uh="X-Mobility-Product-Uuid;" # curl's way to send an empty value
        rcv_api "$@" -H "X-Mobility-Machine-Id: $API_MID" -H "$uh"
    else
        rcv_api "$@"
    fi
}
mismatch() { # mismatch WHAT WANT1 WANT2 -- METHOD PATH...: 409 identity_mismatch naming both
    local what=$1 a=$2 b=$3
    shift 4
    expect 409 identity_mismatch -- "$@"
    jq -e --arg a "$a" --arg b "$b" '(.message | contains($a)) and (.message | contains($b))' "$dir/body" >/dev/null ||
        fail "$what: the message does not name $a and $b: $(cat "$dir/body")"
}

cs=$((64 * 1024))
img=$dir/src.img
head -c $((5 * cs + 100)) /dev/urandom >"$img"

# an old agent (no headers): fine while nothing is recorded, and records nothing
expect 404 no_such_disk -- GET /a1/disks/sda
[[ -e $dir/store/a1/identity ]] && fail "a request without identity recorded one"

# machine 1, first use: recorded
API_MID=$M1 API_UUID=${U1^^}   # upper case on the wire: normalised
sync_image sda "$img" "$cs"
sum=$(replica_sum sda)
[[ $sum == $(file_sum "$img") ]] || fail "replica of machine 1 differs from the source"
jq -e --arg m "$M1" --arg u "$U1" '.machine_id == $m and .product_uuid == $u' "$dir/store/a1/identity" >/dev/null ||
    fail "recorded identity: $(cat "$dir/store/a1/identity")"
[[ $(stat -c %a "$dir/store/a1/identity") == 600 ]] || fail "identity record mode"

# a clone (same machine-id, another product UUID) and another machine: refused before anything is read
API_UUID=$U2
mismatch "clone" "$U1" "$U2" -- POST /a1/disks/sda/passes -H 'Content-Type: application/json' -d "{\"size\": 999, \"chunk_size\": $cs}"
mismatch "clone" "$U1" "$U2" -- GET /a1/disks/sda
head -c "$cs" /dev/urandom >"$dir/junk"
mismatch "clone PUT" "$U1" "$U2" -- PUT /a1/disks/sda/passes/2/chunks/0 -H "X-Chunk-Sha256: $(file_sum "$dir/junk")" --data-binary @"$dir/junk"
mismatch "clone commit" "$U1" "$U2" -- POST /a1/disks/sda/passes/1/commit -d '{}'
API_MID=$M2 API_UUID=$U1
mismatch "machine-id" "$M1" "$M2" -- DELETE /a1/disks/sda/passes/1
API_UUID=
mismatch "no product uuid" "$U1" "(none)" -- GET /a1/disks/sda
unset API_MID API_UUID
expect 409 identity_mismatch -- GET /a1/disks/sda   # an old agent, now that an identity is recorded
grep -q "$U2" "$dir/receiver.log" || fail "the receiver does not log the refused identity"

# malformed identities
expect 400 bad_header -- GET /a1/disks/sda -H "X-Mobility-Machine-Id: $M1"
expect 400 bad_header -- GET /a1/disks/sda -H "X-Mobility-Machine-Id: ../../etc" -H "X-Mobility-Product-Uuid: $U1"
expect 400 bad_header -- GET /a1/disks/sda -H "X-Mobility-Machine-Id: $M1$M1$M1" -H "X-Mobility-Product-Uuid: $U1"
# auth is still checked first
API_TOKEN=tok-wrongwrongwrongwrong expect 401 unauthorized -- GET /a1/disks/sda

# nothing of the clone reached the store; machine 1 still works, also after a restart
[[ $(replica_sum sda) == "$sum" ]] || fail "the replica of machine 1 changed"
[[ -e $dir/store/a1/sda.pass ]] && fail "a refused request opened a pass"
rcv_stop
rcv_start
API_MID=$M1 API_UUID=$U1
expect 200 -- GET /a1/disks/sda
jq -e '.committed_pass == 1 and .open_pass == null' "$dir/body" >/dev/null || fail "disk state: $(cat "$dir/body")"
dd if=/dev/urandom of="$img" bs="$cs" seek=2 count=1 conv=notrunc status=none
sync_image sda "$img" "$cs" 2
[[ $(replica_sum sda) == $(file_sum "$img") ]] || fail "machine 1's second pass"
API_UUID=$U2
mismatch "clone after restart" "$U1" "$U2" -- GET /a1/disks/sda

# another agent id is bound on its own
API_AGENT=b2 API_TOKEN=$TOKEN_B API_MID=$M2 API_UUID= expect 404 no_such_disk -- GET /b2/disks/sda
API_AGENT=b2 API_TOKEN=$TOKEN_B API_MID=$M2 API_UUID= expect 404 no_such_disk -- GET /b2/disks/sda
API_AGENT=b2 API_TOKEN=$TOKEN_B API_MID=$M2 API_UUID=$U2 expect 409 identity_mismatch -- GET /b2/disks/sda

# registration binds the new agent at once
key=$("$MOBILITY_RECEIVER" keygen --agents "$dir/agents")
curl -sS --cacert "$dir/ca.pem" -o "$dir/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"registration_key\": \"$key\", \"hostname\": \"vm9\", \"machine_id\": \"$M2\", \"product_uuid\": \"${U2^^}\"}" \
    "https://127.0.0.1:$RCV_PORT/v1/register" >"$dir/st"
[[ $(cat "$dir/st") == 201 ]] || fail "registration: $(cat "$dir/st") $(cat "$dir/body")"
id=$(jq -r .agent_id "$dir/body") tok=$(jq -r .token "$dir/body")
jq -e --arg m "$M2" --arg u "$U2" '.machine_id == $m and .product_uuid == $u and .source == "registration"' \
    "$dir/store/$id/identity" >/dev/null || fail "registration did not record the identity"
unset API_MID API_UUID
API_AGENT=$id API_TOKEN=$tok expect 409 identity_mismatch -- GET "/$id/disks/sda"
API_AGENT=$id API_TOKEN=$tok API_MID=$M1 API_UUID=$U2 mismatch "registered" "$M2" "$M1" -- GET "/$id/disks/sda"
API_AGENT=$id API_TOKEN=$tok API_MID=$M2 API_UUID=$U2 expect 404 no_such_disk -- GET "/$id/disks/sda"

rcv_stop

# the agent's side: `mobility-agent status` shows the identity and warns when it changed since first seen
fake=$dir/machine
mkdir -p "$fake/etc" "$fake/sys/class/dmi/id" "$dir/agent-state"
echo "$M1" >"$fake/etc/machine-id"
echo "${U2^^}" >"$fake/sys/class/dmi/id/product_uuid"
st() { MOBILITY_IDENTITY_ROOT=$fake "$MOBILITY_AGENT" status --agent-state-dir "$dir/agent-state" --state-dir "$dir/q" "$@"; }
st >"$dir/status" || fail "status failed"
grep -q "product UUID $U2" "$dir/status" && grep -q "not recorded yet" "$dir/status" || fail "status: $(cat "$dir/status")"
grep -q WARNING "$dir/status" && fail "a warning without a first-seen identity"
printf '{"machine_id": "%s", "product_uuid": "%s", "first_seen": 1764000000}\n' "$M1" "$U1" >"$dir/agent-state/identity"
st >"$dir/status" || fail "status failed"
grep -qx "  WARNING: product UUID changed from $U1 to $U2: this is a clone or a new VM; replication refuses to mix machines" \
    "$dir/status" || fail "no clone warning: $(cat "$dir/status")"
st --json >"$dir/status.json" || fail "status --json failed"
jq -e --arg u "$U1" '.identity.changed and .identity.first_seen.product_uuid == $u and (.identity.warnings | length == 1)' \
    "$dir/status.json" >/dev/null || fail "status --json: $(cat "$dir/status.json")"
echo "$U1" >"$fake/sys/class/dmi/id/product_uuid"
st >"$dir/status" && ! grep -q WARNING "$dir/status" || fail "warning for the first machine: $(cat "$dir/status")"
note "ok"
