#!/bin/bash
# The daemon with the kernel tracker (issue: track changed blocks, converge, cut over frozen):
# tracked incremental passes read only what was written, discards replicate as zeros, --cutover with a
# writer running gives a replica equal to the source, forced drops and kill -9 are declared gaps that
# a verify pass repairs.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/replicate.sh"
need_root
need_cmd mkfs.ext4 mkfs.xfs blkdiscard jq openssl
need_receiver

S=$(scratch)
make_pki "$S"
make_agents "$S"
start_receiver "$S"
mkdir -p "$S/hooks" "$S/state" "$S/run"

truncate -s 256M "$S/d1.img"
dev1=$(attach_loop "$S/d1.img")
mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "$dev1"
mount_at "$dev1" "$S/m1"
on_exit "fsfreeze -u '$S/m1'"
truncate -s 320M "$S/d3.img"
dev3=$(attach_loop "$S/d3.img")
mkfs.xfs -q "$dev3"
mount_at "$dev3" "$S/m4"
on_exit "fsfreeze -u '$S/m4'"
# The agent's state directory lives on a filesystem the cutover freezes too (as /var/lib on / does).
truncate -s 64M "$S/st.img"
devst=$(attach_loop "$S/st.img")
mkfs.ext4 -q "$devst"
mount_at "$devst" "$S/m3"
on_exit "fsfreeze -u '$S/m3'"
head -c 64M /dev/urandom >"$S/d2.img"
dev2=$(attach_loop "$S/d2.img")

write_config() { # write_config [tracker yaml lines]
    cat >"$S/agent.yaml" <<YAML
appliance:
  url: https://127.0.0.1:$RECEIVER_PORT
  ca: $S/ca.pem
  connections: 8
agent:
  id: web01
  token_file: $S/token
disks:
  - device: $dev1
    name: d1
  - device: $dev2
    name: d2
  - device: $dev3
    name: d3
state_dir: $S/m3/state
control_socket: $S/run/control
freeze:
  timeout: 30
  hooks_dir: $S/hooks
${1:-}
YAML
}

start_daemon() {
    MOBILITY_CUTOVER_TEST_PAUSE=$S/pause "$MOBILITY_AGENT" run --foreground --config "$S/agent.yaml" 2>>"$S/daemon.log" &
    DAEMON_PID=$!
    on_exit "kill -9 $DAEMON_PID"
    for ((i = 0; i < 100; i++)); do
        # Without a daemon, status --config answers on its own: wait for the daemon's socket first.
        [[ -S $S/run/control ]] && "$MOBILITY_AGENT" status --config "$S/agent.yaml" --json >"$S/status.json" 2>/dev/null &&
            jq -e 'has("disks")' "$S/status.json" >/dev/null && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$S/daemon.log" >&2; fail "the daemon died at start"; }
        sleep 0.1
    done
    cat "$S/daemon.log" >&2
    fail "the daemon does not answer on its control socket"
}
stop_daemon() { kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" || fail "the daemon exited $? on SIGTERM"; }
status() { "$MOBILITY_AGENT" status --config "$S/agent.yaml" --json >"$S/status.json" || fail "status failed"; }
dsync() { # dsync OUT [args]: a pass through the daemon, JSON stats in OUT
    local out=$1
    shift
    "$MOBILITY_AGENT" sync --config "$S/agent.yaml" --json "$@" >"$out" 2>>"$S/sync.log" ||
        { cat "$S/sync.log" "$S/daemon.log" >&2; fail "sync $* failed"; }
}
read_of() { jq -r --arg n "$2" '.disks[] | select(.name == $n) | .bytes_read' "$1"; }
equal() { # equal NAME DEV
    [[ $(replica_sha "$1") == $(sha_of "$2") ]] || fail "replica $1 differs from $2"
}

write_config
start_daemon
jq -e 'all(.disks[]; .tracker == "tracking")' "$S/status.json" >/dev/null ||
    { cat "$S/status.json" "$S/daemon.log" >&2; fail "the tracker did not start (blktrace and debugfs are needed)"; }

note "step 1"
# 1. The first pass verifies (hashes everything) and makes the replicas equal.
dsync "$S/p1.json"
equal d1 "$dev1"
equal d2 "$dev2"

note "step 2"
# 2. Tracked: with nothing written to d2 the pass reads nothing of it; a write and a discard are
#    read back as exactly the chunks they touched.
dsync "$S/p2.json"
[[ $(read_of "$S/p2.json" d2) == 0 ]] || { cat "$S/p2.json" >&2; fail "an idle disk was read: $(read_of "$S/p2.json" d2) bytes (hash mode?)"; }
dd if=/dev/urandom of="$dev2" bs=64K count=2 seek=80 oflag=direct conv=notrunc status=none   # chunk 5
blkdiscard -o $((20 << 20)) -l $((4 << 20)) "$dev2"                                          # chunks 20-23
dsync "$S/p3.json"
equal d2 "$dev2"
r=$(read_of "$S/p3.json" d2)
status
cs=$(jq -r '.disks[] | select(.name == "d2") | .chunk_size' "$S/status.json")
want=$(( ((131072 + cs - 1) / cs + (4 << 20) / cs) * cs ))   # the chunks the 128 KiB write and 4 MiB discard touch
((r == want)) || fail "the write + discard should read $want bytes ($cs-byte chunks), read $r"
cmp -n $((4 << 20)) -i $((20 << 20)) "$STORE/web01/d2.raw" /dev/zero >/dev/null || fail "the discarded range is not zero in the replica"

note "step 3"
# 3. Cutover with a writer running: converge, freeze (a hook stops the writer first), final pass, thaw.
# One writer group on the ext4 and the xfs filesystem.
setsid bash -c 'i=0; while :; do for m; do dd if=/dev/urandom of="$m/f$((i % 16))" bs=64K count=16 conv=fsync status=none; done; i=$((i + 1)); done' _ "$S/m1" "$S/m4" &
WRITER=$!
on_exit "kill -9 -- -$WRITER"
cat >"$S/hooks/10-stop-writer" <<HOOK
#!/bin/bash
[ "\$1" = freeze ] || exit 0
kill -9 -- -$WRITER 2>/dev/null
while kill -0 -- -$WRITER 2>/dev/null; do sleep 0.05; done
exit 0
HOOK
chmod +x "$S/hooks/10-stop-writer"
sleep 2
dsync "$S/p4.json"
# The daemon holds the committed, frozen state while $S/pause exists (ext4 rewrites its superblock on
# thaw, so the replica is compared with the source at the frozen instant).
dsync "$S/cut.json" --cutover --mount "$S/m1" --mount "$S/m3" --mount "$S/m4" &
CUT=$!
for ((i = 0; i < 600; i++)); do [[ -e $S/pause ]] && break; sleep 0.1; done
[[ -e $S/pause ]] || { kill $CUT; cat "$S/daemon.log" >&2; fail "the cutover did not reach its frozen final state"; }
is_frozen "$S/m1" || fail "$S/m1 is not frozen during the final pass"
kill -0 -- -$WRITER 2>/dev/null && { rm -f "$S/pause"; fail "the freeze hook did not stop the writer"; }
equal d1 "$dev1"
equal d2 "$dev2"
equal d3 "$dev3"
is_frozen "$S/m4" || fail "the xfs filesystem is not frozen during the final pass"
is_frozen "$S/m3" || fail "the state directory's filesystem is not frozen during the final pass"
rm -f "$S/pause"
wait $CUT || fail "sync --cutover failed"
jq -e '.disks | length == 3' "$S/cut.json" >/dev/null || fail "cutover printed no statistics"
"$MOBILITY_AGENT" status --config "$S/agent.yaml" --json >"$S/after-cut.json"
jq -e '.freeze.reason != "timeout"' "$S/after-cut.json" >/dev/null ||
    fail "the final pass blocked on the frozen state directory until the watchdog thawed"
# The frozen pass reads the dirty chunks only (the VM is frozen for what changed, not for the size of
# its disks), unless the drain found a gap: then that disk was verified, and says so.
for k in 0 1 2; do
    name=$(jq -r ".disks[$k].name" "$S/after-cut.json")
    if jq -e ".disks[$k].last_pass_verified" "$S/after-cut.json" >/dev/null; then
        note "$name: the final pass verified every chunk (gaps: $(jq -r ".disks[$k].gaps" "$S/after-cut.json"))"
        continue
    fi
    jq -e --arg n "$name" --argjson size "$(jq ".disks[$k].chunks * .disks[$k].chunk_size" "$S/after-cut.json")" \
        '.disks[] | select(.name == $n) | .bytes_read < $size / 4' "$S/cut.json" >/dev/null ||
        fail "$name: the frozen final pass read $(jq --arg n "$name" '.disks[] | select(.name == $n) | .bytes_read' "$S/cut.json") bytes without a gap"
done

# A cutover whose watchdog fires before the frozen pass is done is a failure, never a success.
(sleep 4; rm -f "$S/pause") &
RELEASE=$!
if "$MOBILITY_AGENT" sync --config "$S/agent.yaml" --cutover --timeout 2 --mount "$S/m1" --mount "$S/m3" --mount "$S/m4" \
    >/dev/null 2>"$S/cut-timeout.err"; then
    fail "a cutover that outlived its freeze timeout reported success"
fi
grep -q "timed out" "$S/cut-timeout.err" || { cat "$S/cut-timeout.err" >&2; fail "the timeout is not named"; }
wait "$RELEASE"
is_frozen "$S/m1" && fail "$S/m1 left frozen after a timed-out cutover"
is_frozen "$S/m1" && fail "$S/m1 was left frozen"
rm -f "$S/hooks/10-stop-writer"

note "step 4"
# 4. Forced drops: a tiny relay buffer and a burst -> the gap is declared and a verify pass repairs.
stop_daemon
write_config "tracker:
  buffer_kib: 4
  buffers: 1"
start_daemon
dsync "$S/p5.json"   # may verify: the clean stop saved the bitmap
# The daemon stalled (as a reader starved of CPU would be) while 4 KiB writes fill the 4 KiB buffer.
kill -STOP "$DAEMON_PID"
dd if=/dev/urandom of="$dev2" bs=4K count=4096 oflag=direct conv=notrunc status=none
kill -CONT "$DAEMON_PID"
sleep 1
status
jq -e '.disks[] | select(.name == "d2") | (.dropped > 0 or (.gaps | test("dropped")))' "$S/status.json" >/dev/null ||
    { cat "$S/status.json" >&2; fail "the burst did not overflow the tiny buffer (no drop declared)"; }
dsync "$S/p6.json"
[[ $(read_of "$S/p6.json" d2) == $((64 << 20)) ]] || fail "after a drop the pass must read the whole disk"
equal d2 "$dev2"

note "step 5"
# 5. kill -9 of the daemon: no clean-shutdown marker -> the restart verifies.
write_config
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
dd if=/dev/urandom of="$dev2" bs=64K count=1 seek=300 oflag=direct conv=notrunc status=none  # written untracked
start_daemon
jq -e 'all(.disks[]; .verify_pending == true)' "$S/status.json" >/dev/null ||
    { cat "$S/status.json" >&2; fail "a restart after kill -9 must declare a gap"; }
jq -e 'all(.disks[]; .last_committed_pass > 0 and .tracker == "tracking")' "$S/status.json" >/dev/null ||
    { cat "$S/status.json" >&2; fail "status after a restart must show the last committed pass"; }
dsync "$S/p7.json"
equal d2 "$dev2"
equal d1 "$dev1"
stop_daemon

note "step 5b"
# 5b. The frozen drain finds that a tracker missed a write (simulated for every tracked disk): the
#     cutover thaws, verifies thawed, freezes again; the frozen pass then reads only dirty chunks.
export MOBILITY_CUTOVER_TEST_GAP=1
start_daemon
unset MOBILITY_CUTOVER_TEST_GAP
dsync "$S/p9.json"   # may verify: the clean stop saved the bitmap
dd if=/dev/urandom of="$S/m1/after-gap" bs=1M count=3 conv=fsync status=none
dd if=/dev/urandom of="$dev2" bs=64K count=3 seek=500 oflag=direct conv=notrunc status=none
dsync "$S/cut2.json" --cutover --mount "$S/m1" --mount "$S/m3" --mount "$S/m4" &
CUT=$!
for ((i = 0; i < 600; i++)); do [[ -e $S/pause ]] && break; sleep 0.1; done
[[ -e $S/pause ]] || { kill $CUT; cat "$S/daemon.log" >&2; fail "the second cutover did not reach its frozen final state"; }
is_frozen "$S/m1" || fail "$S/m1 is not frozen during the final pass after a refreeze"
equal d1 "$dev1"
equal d2 "$dev2"
equal d3 "$dev3"
rm -f "$S/pause"
wait $CUT || fail "sync --cutover with a gap at the freeze failed"
grep -q "thawed to verify, freezing again" "$S/daemon.log" || { tail -20 "$S/daemon.log" >&2; fail "no refreeze after a gap at the freeze"; }
status
verified=0
for k in 0 1 2; do
    name=$(jq -r ".disks[$k].name" "$S/status.json")
    jq -e ".disks[$k].last_pass_verified" "$S/status.json" >/dev/null &&
        { note "$name: a real gap at the second freeze too (gaps: $(jq -r ".disks[$k].gaps" "$S/status.json"))"
          verified=$((verified + 1)); continue; }
    r=$(read_of "$S/cut2.json" "$name")
    (( r < $(jq ".disks[$k].chunks * .disks[$k].chunk_size" "$S/status.json") / 4 )) ||
        fail "$name: the frozen pass after the refreeze read $r bytes: the verify was not done thawed"
done
# real gaps on all three at once (d2 is not even written meanwhile): the refreeze did not verify
(( verified < 3 )) || fail "every disk was verified again while frozen after the refreeze"

is_frozen "$S/m1" && fail "$S/m1 left frozen"
stop_daemon

note "step 6"
# 6. Someone else traces the disk (the ftrace blk tracer): that disk falls back to hash mode, says
#    why, and still replicates. And the daemon tells systemd it is ready (Type=notify, by hand).
echo 1 >"/sys/block/$(basename "$dev2")/trace/enable"
on_exit "echo 0 >'/sys/block/$(basename "$dev2")/trace/enable'"
python3 - "$S/notify" >"$S/notify.txt" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
print(s.recv(4096).decode())
PY
NOTIFY=$!
for ((i = 0; i < 50; i++)); do [[ -S $S/notify ]] && break; sleep 0.1; done
export NOTIFY_SOCKET=$S/notify MOBILITY_SYNC_TEST_DELAY_MS=50
start_daemon
unset NOTIFY_SOCKET MOBILITY_SYNC_TEST_DELAY_MS
wait "$NOTIFY" || fail "no readiness notification reached NOTIFY_SOCKET"
grep -qx "READY=1" "$S/notify.txt" || { cat "$S/notify.txt" >&2; fail "the notification lacks READY=1"; }
jq -e '.disks[] | select(.name == "d2") | .tracker == "hash mode" and (.tracker_error | test("busy|trac"; "i"))' \
    "$S/status.json" >/dev/null || { cat "$S/status.json" >&2; fail "a disk traced by someone else must fall back to hash mode, saying why"; }
jq -e '.disks[] | select(.name == "d1") | .tracker == "tracking"' "$S/status.json" >/dev/null || fail "d1 stopped tracking"
dd if=/dev/urandom of="$dev2" bs=1M count=32 seek=24 oflag=direct conv=notrunc status=none
# status answers while a (slowed) pass runs: it does not wait for the sync.
dsync "$S/p8.json" &
SYNC=$!
sleep 0.5
kill -0 $SYNC 2>/dev/null || fail "the slowed sync ended at once: the test delay does not work"
t0=$(date +%s.%N)
timeout 5 "$MOBILITY_AGENT" status --config "$S/agent.yaml" --json >"$S/during.json" || fail "status hung during a sync"
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a < 2) }' || fail "status waited for the sync"
wait $SYNC || fail "the slowed sync failed"
[[ $(read_of "$S/p8.json" d2) == $((64 << 20)) ]] || fail "hash mode must read the whole disk"
equal d2 "$dev2"
stop_daemon
# Without a daemon, sync --config runs standalone in hash mode, with the config's appliance settings.
echo 0 >"/sys/block/$(basename "$dev2")/trace/enable"
dd if=/dev/urandom of="$dev2" bs=64K count=1 seek=700 oflag=direct conv=notrunc status=none
dsync "$S/p10.json"
[[ $(read_of "$S/p10.json" d2) == $((64 << 20)) ]] || fail "standalone sync --config must read the whole disk (hash mode)"
grep -q "standalone" "$S/sync.log" || fail "sync --config without a daemon does not say it runs standalone"
equal d2 "$dev2"
note "ok"
