#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# repos.reachable against real servers on 127.0.0.1, started here: an HTTP repository that answers
# (apt InRelease, a flat repo with only Release, a yum repodata/repomd.xml behind $releasever_major/
# $basearch), one answering 404, a closed port, a socket that never answers (the check must still end
# at the timeout: its wall time is measured), HTTPS with a self-signed certificate (must fail TLS
# verification), and tinyproxy as a real forward proxy: used when configured (environment, apt.conf,
# yum proxy=), bypassed for no_proxy hosts and proxy=_none_ — proved by the proxy's own log.
source "$SOURCE_DIR/tests/lib/common.sh"
need_cmd python3 openssl tinyproxy jq curl

S=$(scratch)
on_exit "rm -rf '$S'" # scratch() runs in a $(...) subshell: its own on_exit is lost there
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port PORT: until something accepts on it
    local i
    for ((i = 0; i < 50; i++)); do
        python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $1)))" && return 0
        sleep 0.1
    done
    fail "nothing listens on 127.0.0.1:$1"
}
# start_bg PIDFILE CMD...: run in the background, killed (then reaped) at exit.
start_bg() {
    local pidfile=$1
    shift
    "$@" &
    echo $! >"$pidfile"
    on_exit "kill \$(cat '$pidfile') 2>/dev/null; sleep 0.2; kill -9 \$(cat '$pidfile') 2>/dev/null"
}

HTTP=$(free_port) CLOSED=$(free_port) HANG=$(free_port) TLS=$(free_port) PROXY=$(free_port)
# --- the repository tree
W=$S/www
mkdir -p "$W/debian/dists/bookworm" "$W/flat" "$W/el/9/aarch64/repodata" "$W/suse/repodata"
echo "Origin: test" >"$W/debian/dists/bookworm/InRelease"
echo "Origin: flat" >"$W/flat/Release" # no InRelease: apt falls back to Release
echo "<repomd/>" >"$W/el/9/aarch64/repodata/repomd.xml"
echo "<repomd/>" >"$W/suse/repodata/repomd.xml"
start_bg "$S/http.pid" python3 -m http.server "$HTTP" --bind 127.0.0.1 -d "$W"
# a socket that accepts connections in the kernel backlog but never answers
start_bg "$S/hang.pid" python3 -c "import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $HANG)); s.listen(64); time.sleep(3600)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$S/key.pem" -out "$S/cert.pem" -days 1 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
start_bg "$S/tls.pid" openssl s_server -quiet -www -accept "$TLS" -cert "$S/cert.pem" -key "$S/key.pem"
chmod 777 "$S"
cat >"$S/tinyproxy.conf" <<CONF
Port $PROXY
Listen 127.0.0.1
Timeout 30
LogFile "$S/tinyproxy.log"
LogLevel Info
PidFile "$S/tinyproxy.pidfile"
MaxClients 50
Allow 127.0.0.1
CONF
start_bg "$S/proxy.pid" tinyproxy -d -c "$S/tinyproxy.conf"
for p in "$HTTP" "$HANG" "$TLS" "$PROXY"; do wait_port "$p"; done
# the fixture is sound: the "answers" URL answers, the self-signed one fails verification in curl too
curl -sf "http://127.0.0.1:$HTTP/debian/dists/bookworm/InRelease" >/dev/null || fail "test HTTP server broken"
curl -s "https://127.0.0.1:$TLS/" >/dev/null 2>&1 && fail "curl accepted the self-signed certificate"

# --- the guest root
R=$S/root
mkdir -p "$R/etc/apt/sources.list.d" "$R/etc/apt/apt.conf.d" "$R/etc/yum.repos.d"
# The guest is aarch64 (an ELF header as its /usr/bin/env) on this x86_64 host: $basearch must come
# from the guest, not from the host's uname.
mkdir -p "$R/usr/bin"
printf '\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\2\0\267\0' >"$R/usr/bin/env"
printf 'ID=rocky\nVERSION_ID="9.3"\nPRETTY_NAME="test"\n' >"$R/etc/os-release"
cat >"$R/etc/apt/sources.list" <<LIST
deb http://127.0.0.1:$HTTP/debian bookworm main
deb-src http://127.0.0.1:$HTTP/debian bookworm main
deb http://127.0.0.1:$HTTP/debian missing main
deb http://127.0.0.1:$CLOSED/debian bookworm main
deb http://127.0.0.1:$HANG/debian bookworm main
deb https://127.0.0.1:$TLS/debian bookworm main
deb http://localhost:$HTTP/flat ./
LIST
# forty more silent sources: probed in parallel, they must not stretch the deadline
for i in $(seq 1 40); do echo "deb http://127.0.0.1:$HANG/many$i bookworm main"; done >"$R/etc/apt/sources.list.d/many.list"
cat >"$R/etc/yum.repos.d/test.repo" <<REPO
[el]
name=EL \$releasever
baseurl=http://127.0.0.1:$HTTP/el/\$releasever_major/\$basearch/

[disabled-closed]
baseurl=http://127.0.0.1:$CLOSED/el/
enabled=0
REPO

TIMEOUT=2
run_check() { # run_check OUT [env...]: prepcheck --root on the fixture, wall time in $WALL
    local out=$1 t0 t1 rc=0
    shift
    t0=$(date +%s.%N)
    env "$@" "$PREPCHECK" --root "$R" --format json --output "$out" --timeout "$TIMEOUT" \
        --only repos.reachable,repos.local-sources || rc=$?
    t1=$(date +%s.%N)
    WALL=$(echo "$t1 - $t0" | bc -l 2>/dev/null || python3 -c "print($t1 - $t0)")
    [[ $rc == 2 || $rc == 1 ]] || fail "prepcheck exit status $rc (expected 1 or 2)"
}
cause_of() { # cause_of FILE URL-SUBSTRING
    jq -r --arg u "$2" '[.results[] | select(.id == "repos.reachable") | .evidence[] |
        select(.url != null and (.url | contains($u)))][0].cause // "none"' "$1"
}
ev() { jq -c --arg u "$2" '.results[] | select(.id == "repos.reachable") | .evidence[] | select(.url | contains($u))' "$1"; }

# --- 1. direct: every cause named, the whole check within the timeout plus a little
env_clean=(-u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY)
run_check "$S/direct.json" "${env_clean[@]}"
note "direct run: ${WALL}s (timeout ${TIMEOUT}s)"
python3 -c "import sys; sys.exit(0 if $WALL < $TIMEOUT + 1.5 else 1)" ||
    fail "the check took ${WALL}s with a --timeout of ${TIMEOUT}s"
python3 -c "import sys; sys.exit(0 if $WALL >= $TIMEOUT - 0.3 else 1)" ||
    fail "the check ended after ${WALL}s: it did not wait for the silent server"
assert_status "$S/direct.json" repos.reachable warn
[[ $(cause_of "$S/direct.json" "/missing/") == http ]] || fail "404: $(ev "$S/direct.json" /missing/)"
ev "$S/direct.json" /missing/Release | jq -e '.http_status == 404' >/dev/null ||
    fail "404 must be reported after the Release fallback: $(ev "$S/direct.json" /missing/)"
[[ $(cause_of "$S/direct.json" ":$CLOSED/") == connect ]] || fail "closed port: $(ev "$S/direct.json" ":$CLOSED/")"
[[ $(cause_of "$S/direct.json" ":$HANG/") == timeout ]] || fail "silent server: $(ev "$S/direct.json" ":$HANG/")"
[[ $(cause_of "$S/direct.json" ":$TLS/") == tls ]] || fail "self-signed HTTPS: $(ev "$S/direct.json" ":$TLS/")"
for ok in ":$HTTP/debian/dists/bookworm/" "/flat/" "/el/9/aarch64/"; do
    [[ $(cause_of "$S/direct.json" "$ok") == none ]] || fail "$ok should be reachable: $(ev "$S/direct.json" "$ok")"
done
assert_json "$S/direct.json" '[.results[] | select(.id == "repos.reachable") | .evidence[] | select(.line == 2 and .path == "/etc/apt/sources.list")] | length == 0' \
    "the deb-src line shares the deb line's probe and is reachable"
assert_json "$S/direct.json" '[.results[] | select(.id == "repos.reachable") | .evidence[] | select(.cause and .path == "/etc/apt/sources.list")] | length == 4' \
    "exactly four sources of sources.list unreachable"
assert_json "$S/direct.json" '[.results[] | select(.id == "repos.reachable") | .evidence[] | select(.path == "/etc/apt/sources.list.d/many.list" and .cause == "timeout")] | length == 40' \
    "the forty silent sources each time out"
assert_json "$S/direct.json" '[.results[] | select(.id == "repos.reachable") | .evidence[] | select(.dialect == "apt-line" and .path == "/etc/apt/sources.list" and (.text | startswith("deb ")))] | length == 4'
[[ -s $S/tinyproxy.log ]] && grep -q "Request" "$S/tinyproxy.log" && fail "a direct run went through the proxy"
rm "$R/etc/apt/sources.list.d/many.list"

# --- 2. environment proxy with a no_proxy bypass for localhost
: >"$S/tinyproxy.log"
run_check "$S/env.json" "${env_clean[@]}" "http_proxy=http://127.0.0.1:$PROXY" "no_proxy=localhost"
note "env-proxy run: ${WALL}s"
grep -q "GET http://127.0.0.1:$HTTP/debian/dists/bookworm/InRelease" "$S/tinyproxy.log" ||
    fail "the apt source did not go through the proxy: $(cat "$S/tinyproxy.log")"
grep -q "GET http://127.0.0.1:$HTTP/el/9/aarch64/repodata/repomd.xml" "$S/tinyproxy.log" ||
    fail "the yum source did not go through the proxy"
grep -q "localhost:$HTTP" "$S/tinyproxy.log" && fail "no_proxy=localhost was not bypassed"
[[ $(cause_of "$S/env.json" "/flat/") == none ]] || fail "the bypassed flat repo failed"
ev "$S/env.json" ":$CLOSED/" | jq -e --arg p "http://127.0.0.1:$PROXY" '.proxy == $p and .cause == "proxy"' >/dev/null ||
    fail "a failure through the proxy must name it: $(ev "$S/env.json" ":$CLOSED/")"

# --- 3. the package managers' own settings: apt Acquire::http::Proxy, yum proxy= and proxy=_none_,
#        SUSE /etc/sysconfig/proxy for zypper
: >"$S/tinyproxy.log"
cat >"$R/etc/apt/apt.conf.d/90proxy" <<CONF
Acquire { http { Proxy "http://127.0.0.1:$PROXY/"; }; };
Acquire::http::Proxy::localhost "DIRECT";
CONF
sed -i "s|^baseurl=http://127.0.0.1:$HTTP/el/.*|&\nproxy=_none_|" "$R/etc/yum.repos.d/test.repo"
cat >>"$R/etc/yum.repos.d/test.repo" <<REPO

[el-proxied]
baseurl=http://127.0.0.1:$HTTP/el/9/\$basearch/
proxy=http://127.0.0.1:$PROXY
REPO
mkdir -p "$R/etc/zypp/repos.d" "$R/etc/sysconfig"
printf '[suse]\nbaseurl=http://127.0.0.1:%s/suse/\n' "$HTTP" >"$R/etc/zypp/repos.d/suse.repo"
printf 'PROXY_ENABLED="yes"\nHTTP_PROXY="http://127.0.0.1:%s"\nNO_PROXY="localhost"\n' "$PROXY" >"$R/etc/sysconfig/proxy"
run_check "$S/conf.json" "${env_clean[@]}"
grep -q "GET http://127.0.0.1:$HTTP/suse/repodata/repomd.xml" "$S/tinyproxy.log" ||
    fail "zypper: /etc/sysconfig/proxy was not used"
grep -q "GET http://127.0.0.1:$HTTP/debian/dists/bookworm/InRelease" "$S/tinyproxy.log" ||
    fail "Acquire::http::Proxy was not used"
grep -q "localhost:$HTTP" "$S/tinyproxy.log" && fail "Acquire::http::Proxy::localhost DIRECT was not honoured"
[[ $(grep -c "GET http://127.0.0.1:$HTTP/el/9/aarch64/repodata/repomd.xml" "$S/tinyproxy.log") == 1 ]] ||
    fail "yum: proxy= must be used by [el-proxied] only, proxy=_none_ bypasses it"

# --- 4. a configured proxy that is down: cause "proxy"
sed -i "s|127.0.0.1:$PROXY|127.0.0.1:$CLOSED|" "$R/etc/apt/apt.conf.d/90proxy"
run_check "$S/down.json" "${env_clean[@]}"
ev "$S/down.json" ":$HTTP/debian/dists/bookworm/" | jq -e '.cause == "proxy"' >/dev/null ||
    fail "an unreachable proxy must be named as the cause: $(ev "$S/down.json" ":$HTTP/debian/dists/bookworm/")"

# --- 5. --no-network skips with the reason
"$PREPCHECK" --root "$R" --format json --output "$S/nonet.json" --no-network --only repos.reachable || true
assert_status "$S/nonet.json" repos.reachable skip
assert_json "$S/nonet.json" '.results[] | select(.id == "repos.reachable") | .detail | test("no-network")'
note "ok"
