#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mobility-receiver against hostile peers over loopback HTTPS with a test CA: wrong and other agents'
# tokens, oversized, truncated and stalled bodies, bad hashes, zstd bombs, indexes past the end,
# path-like names, old TLS, 2000 idle connections (a legit request still succeeds, memory stays
# bounded), and kill -9 in the middle of a commit (the replica is the previous or the new pass, never
# a mix). Every refusal must be clean: the right status and error code, nothing staged, the receiver
# alive.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/receiver.sh"
need_cmd jq zstd python3

dir=$(scratch)
rcv_init "$dir"
rcv_start --timeout 4 --max-uploads 2 --max-per-ip 32 --max-connections 200

cs=$((64 * 1024))
img=$dir/src.img
head -c $((8 * cs)) /dev/urandom >"$img"
sync_image sda "$img" "$cs"
good=$(replica_sum sda)
size=$(stat -c %s "$img")

# --- authentication -----------------------------------------------------------------------------
API_TOKEN=tok-wrongwrongwrongwrong expect 401 unauthorized -- GET /a1/disks/sda
curl -sS --cacert "$dir/ca.pem" -o "$dir/body" -w '%{http_code}' "$RCV_URL/a1/disks/sda" | grep -qx 401 ||
    fail "no Authorization header: not 401"
API_TOKEN=$TOKEN_B expect 403 forbidden -- GET /a1/disks/sda            # b2's token, claims to be a1
API_TOKEN=$TOKEN_B API_AGENT=b2 expect 403 forbidden -- GET /a1/disks/sda # b2 reaching a1's disks
API_TOKEN=$TOKEN_B API_AGENT=b2 expect 403 forbidden -- POST /a1/disks/sda/passes -d '{"size":65536,"chunk_size":65536}'
API_TOKEN=$TOKEN_B API_AGENT=b2 expect 404 no_such_disk -- GET /b2/disks/sda
curl -sS --cacert "$dir/ca.pem" --tlsv1.1 --tls-max 1.1 -o /dev/null "$RCV_URL/a1/disks/sda" 2>/dev/null &&
    fail "TLS 1.1 accepted"

# --- names and routes ---------------------------------------------------------------------------
# (finished passes are deleted in the background: NAME.pass-dead-P may still be going away)
listing() { (cd "$dir" && find . / -maxdepth 1 -name '*..*' ! -name body | sort; find "$dir/store" -path '*.pass-dead-*' -prune -o -print | sort); }
before_names=$(listing)
expect 400 bad_name -- GET /a1/disks/.. --path-as-is
expect 400 bad_name -- GET /a1/disks/%2e%2e
expect 400 bad_name -- POST /a1/disks/%2e%2e/passes -d "{\"size\": $size, \"chunk_size\": $cs}"
expect 403 forbidden -- GET /../disks/sda --path-as-is
expect 400 bad_name -- GET /a1/disks/..%2F..%2Fetc/passes
expect 404 not_found -- GET /a1/disks/sda/nothing
expect 400 bad_name -- GET "/a1/disks/$(printf 'x%.0s' {1..65})"
expect 405 method_not_allowed -- DELETE /a1/disks/sda
expect 413 too_large -- GET /a1/disks/sda -H "Content-Length: 99999999999"
[[ $(listing) == "$before_names" ]] || fail "path-like names created files: $(diff <(echo "$before_names") <(listing))"

# --- pass parameters and bodies -----------------------------------------------------------------
expect 400 bad_request -- POST /a1/disks/sda/passes -d '{"size": '
expect 400 bad_size -- POST /a1/disks/sda/passes -d '{"size": 100, "chunk_size": 1000}'
expect 400 bad_size -- POST /a1/disks/sda/passes -d '{"size": 0, "chunk_size": 65536}'
expect 400 bad_request -- POST /a1/disks/sda/passes -d '{"size": -5, "chunk_size": 65536}'
expect 201 -- POST /a1/disks/sda/passes -d "{\"size\": $size, \"chunk_size\": $cs}"
pass=$(jq -r .pass "$dir/body")
P=/a1/disks/sda/passes/$pass
sum=$(dd if="$img" bs=$cs count=1 status=none | sha256sum | cut -c1-64)
head -c $cs /dev/urandom >"$dir/other"
head -c $((2 * cs)) /dev/urandom >"$dir/big"
expect 400 hash_mismatch -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: $sum" --data-binary @"$dir/other"
expect 400 bad_header -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: xyz" --data-binary @"$dir/other"
expect 400 bad_header -- PUT "$P/chunks/0" --data-binary @"$dir/other"
expect 413 too_large -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: $sum" --data-binary @"$dir/big"
expect 400 bad_length -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: $sum" --data-binary @"$dir/ext.cnf"
expect 416 out_of_range -- PUT "$P/chunks/8" -H "X-Chunk-Sha256: $sum" --data-binary @"$dir/other"
expect 416 out_of_range -- PUT "$P/chunks/99999999999999999999" -H "X-Chunk-Sha256: $sum" --data-binary @"$dir/other"
expect 411 length_required -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: $sum" -H "Transfer-Encoding: chunked" --data-binary @"$dir/other"
expect 415 unsupported_encoding -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: $sum" -H "Content-Encoding: br" --data-binary @"$dir/other"
head -c $((64 * 1024 * 1024)) /dev/zero | zstd -q -19 >"$dir/bomb.zst"
zsum=$(head -c $cs /dev/zero | sha256sum | cut -c1-64)
expect 400 bad_length -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: $zsum" -H "Content-Encoding: zstd" --data-binary @"$dir/bomb.zst"
expect 400 bad_encoding -- PUT "$P/chunks/0" -H "X-Chunk-Sha256: $zsum" -H "Content-Encoding: zstd" --data-binary @"$dir/other"
expect 416 out_of_range -- POST "$P/zeros" -d '{"ranges": [[7, 2]]}'
expect 416 out_of_range -- POST "$P/zeros" -d '{"ranges": [[0, 0]]}'
expect 400 bad_request -- POST "$P/zeros" -d '{"ranges": [[1]]}'
expect 409 pass_not_open -- PUT "/a1/disks/sda/passes/$((pass + 5))/chunks/0" -H "X-Chunk-Sha256: $sum" --data-binary @"$dir/other"
expect 416 out_of_range -- GET "/a1/disks/sda/hashes?first=0&count=9"
expect 400 bad_request -- GET "/a1/disks/sda/hashes?first=0&count=65537"
expect 400 bad_request -- GET "/a1/disks/sda/hashes?first=x&count=1"
expect 200 -- GET "$P/staged"
[[ $(od -An -tx1 "$dir/body" | tr -d ' ') == 00 ]] || fail "a refused chunk was staged"

# --- truncated, stalled and concurrent bodies (raw TLS from python) -----------------------------
cat >"$dir/peer.py" <<'PY'
import socket, ssl, sys, time
mode, port, ca, token, path = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
def put(n_total, n_sent):
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(port))), server_hostname='127.0.0.1')
    s.sendall(f'PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nX-Mobility-Agent: a1\r\n'
              f'X-Chunk-Sha256: {"0" * 64}\r\nContent-Length: {n_total}\r\n\r\n'.encode() + b'x' * n_sent)
    return s
if mode == 'truncate':            # half a body, then the connection goes away
    put(65536, 30000).close()
elif mode == 'stall':             # half a body, then silence until the receiver gives up
    s = put(65536, 30000)
    t = time.time()
    s.settimeout(30)
    try:
        data = s.recv(100)
    except (ConnectionError, ssl.SSLError):
        data = b''
    print(f'{time.time() - t:.1f} {len(data)}')
elif mode == 'hold':              # two uploads in flight, held open for a while
    socks = [put(65536, 1000) for _ in range(2)]
    time.sleep(float(sys.argv[6]))
PY
peer() { python3 "$dir/peer.py" "$1" "$RCV_PORT" "$dir/ca.pem" "$TOKEN_A" "/v1/agents$P/chunks/1" "${@:2}"; }
peer truncate
read -r secs got < <(peer stall)
[[ $got == 0 ]] && (( ${secs%.*} >= 3 && ${secs%.*} <= 10 )) || fail "stalled body: closed after ${secs}s with $got bytes"
peer hold 3 &
holder=$!
sleep 1
expect 503 busy -- PUT "$P/chunks/2" -H "X-Chunk-Sha256: $sum" --data-binary @"$dir/other"
wait $holder
sleep 0.5
expect 200 -- GET "$P/staged"
[[ $(od -An -tx1 "$dir/body" | tr -d ' ') == 00 ]] || fail "a truncated body was staged"
kill -0 "$RCV_PID" || fail "receiver died"
[[ $(replica_sum sda) == "$good" ]] || fail "the replica changed without a commit"

# --- 2000 idle connections ----------------------------------------------------------------------
cat >"$dir/idle.py" <<'PY'
import socket, sys, time
port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks, refused = [], 0
for i in range(n):
    s = socket.socket()
    s.bind(('127.0.0.2', 0))        # another client address than the legit agent's
    s.setblocking(False)
    try:
        s.connect(('127.0.0.1', port))
    except BlockingIOError:
        pass
    socks.append(s)
print('open', flush=True)
time.sleep(hold)
PY
python3 "$dir/idle.py" "$RCV_PORT" 2000 8 >"$dir/idle.out" &
idle=$!
on_exit "kill $idle"
for ((i = 0; i < 100; i++)); do grep -q open "$dir/idle.out" && break; sleep 0.1; done
sleep 1
t0=$(date +%s%N)
expect 200 -- GET /a1/disks/sda --max-time 5
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
(( ms < 3000 )) || fail "legit request took $ms ms under 2000 idle connections"
fds=$(ls /proc/$RCV_PID/fd | wc -l)
rss=$(awk '/VmRSS/ {print $2}' /proc/$RCV_PID/status)
note "2000 idle connections: legit request in $ms ms, receiver holds $fds fds, RSS $((rss / 1024)) MiB"
(( fds < 250 )) || fail "receiver holds $fds fds: connection limits not applied"
(( rss < 200 * 1024 )) || fail "receiver RSS $rss KiB under idle connections"
kill $idle 2>/dev/null; wait $idle 2>/dev/null || true

# --- kill -9 in the middle of a commit -----------------------------------------------------------
expect 204 -- DELETE "$P"
# commit_killed POINT EXPECT(new|old): pass with new content, receiver paused at POINT, kill -9, restart
commit_killed() {
    local point=$1 want=$2 before after pass st
    before=$(replica_sum sda)
    head -c $((8 * cs)) /dev/urandom >"$img"
    dd if=/dev/zero of="$img" bs=$cs seek=3 count=1 conv=notrunc status=none
    rcv_stop
    MOBILITY_RECEIVER_TEST_PAUSE=commit-$point rcv_start
    # everything staged, then the commit that never returns
    st=$(api POST /a1/disks/sda/passes -d "{\"size\": $size, \"chunk_size\": $cs}")
    pass=$(jq -r .pass "$dir/body")
    for i in 0 1 2 4 5 6 7; do [[ $(put_chunk sda "$pass" $i "$img" $cs) == 204 ]] || fail "PUT $i"; done
    expect 204 -- POST "/a1/disks/sda/passes/$pass/zeros" -d '{"ranges": [[3, 1]]}'
    api POST "/a1/disks/sda/passes/$pass/commit" -d '{}' --max-time 20 >/dev/null &
    local c=$!
    for ((i = 0; i < 100; i++)); do grep -q "test pause at $point" "$dir/receiver.log" && break; sleep 0.1; done
    grep -q "test pause at $point" "$dir/receiver.log" || fail "receiver did not reach $point"
    rcv_kill9
    wait $c 2>/dev/null || true
    rcv_start
    after=$(replica_sum sda)
    if [[ $want == new ]]; then
        [[ $after == $(file_sum "$img") ]] || fail "killed at $point: replica is not the new pass"
    else
        [[ $after == "$before" ]] || fail "killed at $point: replica is not the previous pass"
        expect 200 -- GET /a1/disks/sda
        jq -e --argjson p "$pass" '.open_pass.id == $p and .open_pass.staged == 8' "$dir/body" >/dev/null ||
            fail "killed at $point: open pass lost: $(cat "$dir/body")"
        expect 200 -- POST "/a1/disks/sda/passes/$pass/commit" -d '{}'
        [[ $(replica_sum sda) == $(file_sum "$img") ]] || fail "commit after restart: replica differs"
    fi
    note "kill -9 at $point: replica is the $want pass"
}
commit_killed before-journal old
commit_killed after-journal new
commit_killed mid-apply new
commit_killed after-meta new

rcv_stop
note "ok"
