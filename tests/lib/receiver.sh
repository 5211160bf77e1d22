# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the receiver's integration tests (after common.sh): a test CA and server certificate for
# 127.0.0.1, an agents file, starting/stopping mobility-receiver on a free port, and `api` to talk the
# protocol (docs/protocol.md) with curl as the agent.

TOKEN_A=tok-aaaaaaaaaaaaaaaaaaaaaaaa
TOKEN_B=tok-bbbbbbbbbbbbbbbbbbbbbbbb

# rcv_init DIR: CA, certificate, agents file (agents "a1" and "b2") under DIR.
rcv_init() {
    RCV_DIR=$1
    need_cmd openssl curl sha256sum
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mobility test CA" \
        -keyout "$RCV_DIR/ca.key" -out "$RCV_DIR/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$RCV_DIR/server.key" -out "$RCV_DIR/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >"$RCV_DIR/ext.cnf"
    openssl x509 -req -in "$RCV_DIR/server.csr" -CA "$RCV_DIR/ca.pem" -CAkey "$RCV_DIR/ca.key" \
        -CAcreateserial -days 2 -extfile "$RCV_DIR/ext.cnf" -out "$RCV_DIR/server.pem" 2>/dev/null
    printf '# test agents\na1 %s\nb2 %s\n' "$TOKEN_A" "$TOKEN_B" >"$RCV_DIR/agents"
    mkdir -p "$RCV_DIR/store"
}

# rcv_start [extra receiver options...]: starts it, sets RCV_PID and RCV_URL; stopped at exit.
rcv_start() {
    local i
    : >"$RCV_DIR/receiver.log"
    "$MOBILITY_RECEIVER" --listen 127.0.0.1:0 --store "$RCV_DIR/store" --tls-cert "$RCV_DIR/server.pem" \
        --tls-key "$RCV_DIR/server.key" --agents "$RCV_DIR/agents" "$@" 2>>"$RCV_DIR/receiver.log" &
    RCV_PID=$!
    on_exit "kill -9 $RCV_PID"
    for ((i = 0; i < 100; i++)); do
        RCV_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$RCV_DIR/receiver.log")
        [[ -n $RCV_PORT ]] && break
        kill -0 "$RCV_PID" 2>/dev/null || { cat "$RCV_DIR/receiver.log" >&2; fail "receiver died at start"; }
        sleep 0.1
    done
    [[ -n $RCV_PORT ]] || fail "receiver did not start listening"
    RCV_URL=https://127.0.0.1:$RCV_PORT/v1/agents
}

rcv_kill9() { kill -9 "$RCV_PID" 2>/dev/null || true; wait "$RCV_PID" 2>/dev/null || true; }
rcv_stop() {
    kill "$RCV_PID" 2>/dev/null || true
    wait "$RCV_PID" || fail "receiver exited with status $? on SIGTERM"
}

# api METHOD PATH [curl args...]: as agent a1 (override with API_AGENT/API_TOKEN); the body lands in
# $RCV_DIR/body, the status code is printed.
api() {
    local method=$1 path=$2
    shift 2
    curl -sS --cacert "$RCV_DIR/ca.pem" -X "$method" -o "$RCV_DIR/body" -w '%{http_code}' \
        -H "Authorization: Bearer ${API_TOKEN:-$TOKEN_A}" -H "X-Mobility-Agent: ${API_AGENT:-a1}" \
        "$@" "$RCV_URL$path"
}

# expect STATUS [ERROR_CODE] -- METHOD PATH [curl args...]
expect() {
    local want=$1 code= got
    shift
    [[ $1 != -- ]] && { code=$1; shift; }
    shift
    got=$(api "$@") || true
    [[ $got == "$want" ]] || { cat "$RCV_DIR/body" >&2; echo >&2; fail "$1 $2: status $got, expected $want"; }
    if [[ -n $code ]]; then
        jq -e --arg c "$code" '.error == $c and (.message | length > 0)' "$RCV_DIR/body" >/dev/null ||
            { cat "$RCV_DIR/body" >&2; fail "$1 $2: expected error '$code'"; }
    fi
}

# put_chunk DISK PASS INDEX FILE CHUNK_SIZE [zstd]: PUT chunk INDEX of image FILE; prints the status.
put_chunk() {
    local disk=$1 pass=$2 i=$3 img=$4 cs=$5 enc=${6:-} sum
    dd if="$img" of="$RCV_DIR/chunk" bs="$cs" skip="$i" count=1 status=none
    sum=$(sha256sum <"$RCV_DIR/chunk" | cut -c1-64)
    if [[ $enc == zstd ]]; then
        zstd -q -f -3 "$RCV_DIR/chunk" -o "$RCV_DIR/chunk.zst"
        api PUT "/a1/disks/$disk/passes/$pass/chunks/$i" -H "X-Chunk-Sha256: $sum" \
            -H "Content-Encoding: zstd" --data-binary @"$RCV_DIR/chunk.zst"
    else
        api PUT "/a1/disks/$disk/passes/$pass/chunks/$i" -H "X-Chunk-Sha256: $sum" \
            -H "Content-Type: application/octet-stream" --data-binary @"$RCV_DIR/chunk"
    fi
}

# sync_image DISK FILE CHUNK_SIZE [CHUNKS...]: one pass as a simple agent: the listed chunks (all by
# default) are sent as data, or declared as zeros when they are all zero; then commit.
sync_image() {
    local disk=$1 img=$2 cs=$3 size n pass i st zeros=()
    shift 3
    size=$(stat -c %s "$img")
    n=$(((size + cs - 1) / cs))
    st=$(api POST "/a1/disks/$disk/passes" -H 'Content-Type: application/json' \
        -d "{\"size\": $size, \"chunk_size\": $cs}")
    [[ $st == 201 || $st == 200 ]] || { cat "$RCV_DIR/body" >&2; fail "open pass: $st"; }
    pass=$(jq -r .pass "$RCV_DIR/body")
    local list=("$@")
    ((${#list[@]})) || list=($(seq 0 $((n - 1))))
    for i in "${list[@]}"; do
        # (wc: a first non-zero byte that is a newline must not vanish in a $(...))
        if (( $(dd if="$img" bs="$cs" skip="$i" count=1 status=none | tr -d '\0' | head -c1 | wc -c) == 0 )); then
            zeros+=("[$i,1]")
            continue
        fi
        st=$(put_chunk "$disk" "$pass" "$i" "$img" "$cs" $( ((i % 3 == 1)) && echo zstd))
        [[ $st == 204 ]] || { cat "$RCV_DIR/body" >&2; fail "PUT chunk $i: $st"; }
    done
    if ((${#zeros[@]})); then
        st=$(api POST "/a1/disks/$disk/passes/$pass/zeros" -H 'Content-Type: application/json' \
            -d "{\"ranges\": [$(IFS=,; echo "${zeros[*]}")]}")
        [[ $st == 204 ]] || { cat "$RCV_DIR/body" >&2; fail "zeros: $st"; }
    fi
    st=$(api POST "/a1/disks/$disk/passes/$pass/commit" -H 'Content-Type: application/json' -d '{}')
    [[ $st == 200 ]] || { cat "$RCV_DIR/body" >&2; fail "commit: $st"; }
    SYNC_PASS=$pass
}

replica_sum() { sha256sum <"$RCV_DIR/store/a1/$1.raw" | cut -c1-64; }
file_sum() { sha256sum <"$1" | cut -c1-64; }
