#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Registration (docs/protocol.md §9): `mobility-receiver keygen` issues one-time keys, POST /v1/register
# exchanges one for an agent id and token that work at once; a key works exactly once, also when raced;
# used, expired and garbage keys are refused cleanly; the agents file stays valid.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/receiver.sh"
need_cmd jq

dir=$(scratch)
rcv_init "$dir"
rcv_start

reg() { # reg KEY [HOSTNAME] -> status, body in $dir/body
    curl -sS --cacert "$dir/ca.pem" -o "$dir/body" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"registration_key\": \"$1\", \"hostname\": \"${2-vm 01.example}\", \"machine_id\": \"m\"}" \
        "https://127.0.0.1:$RCV_PORT/v1/register"
}

mapfile -t keys < <("$MOBILITY_RECEIVER" keygen --agents "$dir/agents" --count 3)
((${#keys[@]} == 3)) || fail "keygen printed ${#keys[@]} keys"
[[ ${keys[0]} =~ ^mrk-[0-9a-f]{64}$ ]] || fail "key format: ${keys[0]}"
grep -q "${keys[0]#mrk-}" "$dir/agents.keys" && fail "a key is stored in clear"
[[ $(stat -c %a "$dir/agents.keys") == 600 ]] || fail "keys file mode"

[[ $(reg "${keys[0]}") == 201 ]] || fail "registration refused: $(cat "$dir/body")"
id=$(jq -r .agent_id "$dir/body")
token=$(jq -r .token "$dir/body")
[[ $id =~ ^vm01example-[0-9a-f]{16}$ ]] || fail "agent id '$id'"
grep -qx "$id $token" "$dir/agents" || fail "agent not in the agents file"
[[ $(stat -c %a "$dir/agents") == 600 ]] || fail "agents file mode"
# the new credentials work right away (from the machine that registered: §2.1)
st=$(curl -sS --cacert "$dir/ca.pem" -o "$dir/body" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H "X-Mobility-Agent: $id" -H "X-Mobility-Machine-Id: m" -H "X-Mobility-Product-Uuid;" "$RCV_URL/$id/disks/sda")
[[ $st == 404 ]] && jq -e '.error == "no_such_disk"' "$dir/body" >/dev/null || fail "new token: $st $(cat "$dir/body")"
# the old agents still work
expect 404 no_such_disk -- GET /a1/disks/sda

# a key works once
[[ $(reg "${keys[0]}") == 401 ]] && jq -e '.error == "bad_registration_key"' "$dir/body" >/dev/null ||
    fail "a used key was accepted"
[[ $(reg "mrk-nonsense") == 401 ]] || fail "a garbage key was accepted"
[[ $(reg "mrk-$(printf '0%.0s' {1..64})") == 401 ]] || fail "an unknown key was accepted"
[[ $(curl -sS --cacert "$dir/ca.pem" -o "$dir/body" -w '%{http_code}' -d '{"x":1}' "https://127.0.0.1:$RCV_PORT/v1/register") == 400 ]] ||
    fail "a body without a key is not 400"
[[ $(curl -sS --cacert "$dir/ca.pem" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$RCV_PORT/v1/register") == 405 ]] ||
    fail "GET /v1/register is not 405"

# raced: 6 registrations with one key, exactly one wins
for i in 1 2 3 4 5 6; do
    curl -sS --cacert "$dir/ca.pem" -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -d "{\"registration_key\": \"${keys[1]}\", \"hostname\": \"race$i\"}" \
        "https://127.0.0.1:$RCV_PORT/v1/register" >>"$dir/race" &
done
wait $(jobs -p | grep -v "^$RCV_PID$") 2>/dev/null || true
sleep 0.5
[[ $(grep -c 201 "$dir/race") == 1 && $(grep -c 401 "$dir/race") == 5 ]] || fail "race: $(sort "$dir/race" | uniq -c)"
(( $(grep -c . "$dir/agents") == 5 )) || fail "agents file: $(cat "$dir/agents")"

# expiry
key=$("$MOBILITY_RECEIVER" keygen --agents "$dir/agents" --ttl 1)
sleep 2.2
[[ $(reg "$key") == 401 ]] || fail "an expired key was accepted"
[[ $(reg "${keys[2]}" "") == 201 ]] || fail "the third key was refused"
[[ $(jq -r .agent_id "$dir/body") =~ ^agent-[0-9a-f]{16}$ ]] || fail "id without hostname: $(cat "$dir/body")"

rcv_stop
note "ok"
