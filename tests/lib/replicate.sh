# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the replication tests and benchmark (sourced after common.sh): a test CA and a server
# certificate for 127.0.0.1, a mobility-receiver on a free loopback port, and a sync wrapper.
#   make_pki DIR            -> DIR/ca.pem DIR/server.pem DIR/server.key, DIR/pin (sha256//...)
#   start_receiver DIR [PORT] [extra receiver options]   sets RECEIVER_PID, RECEIVER_PORT, STORE=DIR/store
#   kill_receiver           kill -9 (the crash case); stop_receiver: SIGTERM
#   agent_sync ARGS...      mobility-agent sync with the test's appliance, CA, agent and state dir

make_pki() {
    local d=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=mobility test CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
        -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
    printf 'sha256//%s' "$(openssl x509 -in "$d/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)" >"$d/pin"
}

# One agent "web01" with a random token, and "other" to test cross-agent refusal.
make_agents() {
    local d=$1
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$d/token"
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$d/other-token"
    printf 'web01 %s\nother %s\n' "$(cat "$d/token")" "$(cat "$d/other-token")" >"$d/agents"
}

start_receiver() {
    local d=$1 port=${2:-0} i
    shift 2 || shift $#
    STORE=$d/store
    : >"$d/receiver.log"
    "$MOBILITY_RECEIVER" --listen "127.0.0.1:$port" --store "$STORE" --tls-cert "$d/server.pem" \
        --tls-key "$d/server.key" --agents "$d/agents" "$@" 2>>"$d/receiver.log" &
    RECEIVER_PID=$!
    on_exit "kill -9 $RECEIVER_PID"
    for ((i = 0; i < 100; i++)); do
        RECEIVER_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/receiver.log" | tail -1)
        [[ -n $RECEIVER_PORT ]] && return 0
        kill -0 "$RECEIVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$d/receiver.log" >&2
    fail "mobility-receiver did not start"
}

kill_receiver() { kill -9 "$RECEIVER_PID" 2>/dev/null; wait "$RECEIVER_PID" 2>/dev/null || true; }
stop_receiver() { kill "$RECEIVER_PID" 2>/dev/null; wait "$RECEIVER_PID" 2>/dev/null || true; }

# agent_sync DIR ARGS... (uses DIR/ca.pem, DIR/token, DIR/state)
agent_sync() {
    agent_args "$@"
    "$MOBILITY_AGENT" "${AGENT_ARGS[@]}"
}
# The same command line in AGENT_ARGS, for running the agent itself in the background (a function
# run with & is a subshell: kill -9 of $! would not reach the agent).
agent_args() {
    local d=$1
    shift
    AGENT_ARGS=(sync --appliance "https://127.0.0.1:$RECEIVER_PORT" --ca "$d/ca.pem" --agent-id web01
        --token-file "$d/token" --state-dir "$d/state" "$@")
}

sha_of() { dd if="$1" bs=4M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
replica_sha() { sha256sum "$STORE/web01/$1.raw" | cut -d' ' -f1; }

need_receiver() {
    [[ -x $MOBILITY_RECEIVER ]] || fail "$MOBILITY_RECEIVER is not built"
    [[ -x $MOBILITY_AGENT ]] || fail "$MOBILITY_AGENT is not built"
}

# random_writes FILE|DEV COUNT REGION_START REGION_BYTES: COUNT random 64 KiB writes of random data,
# 4 KiB aligned, inside [REGION_START, REGION_START+REGION_BYTES); prints each offset.
random_writes() {
    local target=$1 count=$2 start=$3 bytes=$4 k off
    for ((k = 0; k < count; k++)); do
        off=$((start + (RANDOM * 32768 + RANDOM) % ((bytes - 65536) / 4096) * 4096))
        dd if=/dev/urandom of="$target" bs=64K count=1 seek="$off" oflag=seek_bytes,direct conv=notrunc status=none
        echo "$off"
    done
}

# changed_chunks CHUNK_SIZE < offsets: number of distinct chunks the 64 KiB writes touched.
changed_chunks() {
    local cs=$1 off
    while read -r off; do
        echo $((off / cs))
        echo $(((off + 65535) / cs))
    done | sort -un | wc -l
}

# disk_state DIR NAME: the receiver's JSON state of disk NAME of web01.
disk_state() {
    curl -sS --cacert "$1/ca.pem" -H "Authorization: Bearer $(cat "$1/token")" -H "X-Mobility-Agent: web01" \
        "https://127.0.0.1:$RECEIVER_PORT/v1/agents/web01/disks/$2"
}
committed_pass() { disk_state "$1" "$2" | jq -r .committed_pass; }
