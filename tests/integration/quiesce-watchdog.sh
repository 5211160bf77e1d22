#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The watchdog never leaves a filesystem frozen: kill -9 of the caller while frozen (thawed at
# once, within the timeout + 1 s at worst); a detached freeze thawed by the timer within timeout
# + 1 s; kill -9 of the watchdog itself -> status says orphaned and "thaw" thaws from the state.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/quiesce.sh"

q_scratch
q_mkfs ext4 "$Q/a.img" "$Q/a"
q_mkfs xfs "$Q/b.img" "$Q/b"
q_tmpfs "$Q/t"   # skipped: its placeholder fd in the watchdog must not keep the lock after "done"
q_watch_cleanup
mounts=(--mount "$Q/a" --mount "$Q/b" --mount "$Q/t")

wait_frozen() { # until the state file says both are frozen (the caller stays attached)
    for _ in $(seq 100); do
        [[ $(grep -c '^fs frozen' "$QSTATE/freeze.state" 2>/dev/null) == 2 ]] && return 0
        sleep 0.05
    done
    fail "not frozen after 5 s"
}

# 1. The caller holds the freeze (--hold) and is killed with SIGKILL: the lifeline closes.
timeout=10
"$MOBILITY_AGENT" freeze --hold --timeout $timeout "${mounts[@]}" 2>"$Q/hold.err" &
caller=$!
wait_frozen
w1=$(q_writer "$Q/a/one"); w2=$(q_writer "$Q/b/one")
q_blocked "$w1" && q_blocked "$w2" || fail "writes completed while frozen"
start=$(q_now)
kill -9 "$caller"
wait "$caller" 2>/dev/null || true
q_wait_writer "$w1" $((timeout + 1)) && q_wait_writer "$w2" $((timeout + 1)) ||
    fail "kill -9 of the caller: still frozen after the timeout + 1 s"
t=$(q_elapsed "$start")
note "caller killed: thawed after $t s (timeout $timeout s)"
q_le "$t" 2 || fail "a dead caller must be noticed at once, took $t s"
for _ in $(seq 50); do q_watchdog_pid >/dev/null || break; sleep 0.1; done
"$MOBILITY_AGENT" status --json >"$Q/s1.json"
assert_json "$Q/s1.json" '.freeze.active == false and .freeze.reason == "caller-died"'
assert_json "$Q/s1.json" '[.freeze.filesystems[] | select(.fstype != "tmpfs")] | all(.state == "thawed")'

# 2. --hold ended by SIGTERM: the caller thaws through the watchdog and prints the report.
"$MOBILITY_AGENT" freeze --hold --timeout $timeout "${mounts[@]}" 2>"$Q/hold2.err" &
caller=$!
wait_frozen
[[ ! -s $Q/hold2.err ]] || fail "--hold wrote to stderr while frozen"
kill -TERM "$caller"
wait "$caller" || fail "--hold: exit status $? after SIGTERM"
grep -q "$Q/a (ext4, .*): frozen [0-9.]* s, thawed" "$Q/hold2.err" || { cat "$Q/hold2.err" >&2; fail "--hold: no report"; }

# 2b. --hold outlived by the timer: the watchdog thaws, and the attached caller reports it.
start=$(q_now)
"$MOBILITY_AGENT" freeze --hold --timeout 1 "${mounts[@]}" 2>"$Q/hold3.err" || fail "--hold with a timer: failed"
t=$(q_elapsed "$start")
q_le "$t" 2.5 || fail "--hold: the timer did not end it ($t s)"
grep -q "the watchdog's timer fired" "$Q/hold3.err" || { cat "$Q/hold3.err" >&2; fail "--hold: the timer is not reported"; }
grep -q "$Q/b (xfs, .*): frozen [0-9.]* s, thawed" "$Q/hold3.err" || fail "--hold + timer: no report"

# 3. Detached, nobody thaws: the timer does, within the timeout + 1 s.
timeout=2
start=$(q_now)
"$MOBILITY_AGENT" freeze --timeout $timeout "${mounts[@]}" || fail "freeze failed"
w1=$(q_writer "$Q/a/two"); w2=$(q_writer "$Q/b/two")
q_blocked "$w1" || fail "a write completed while frozen"
q_wait_writer "$w1" $((timeout + 2)) && q_wait_writer "$w2" 1 || fail "the timer did not thaw"
t=$(q_elapsed "$start")
note "detached: thawed by the timer after $t s (timeout $timeout s)"
# Wall clock from before the request (includes starting the command: some slack for a loaded
# machine), and exact from the watchdog's own record: first FIFREEZE to thaw.
q_le "$t" $((timeout + 2)) || fail "thawed after $t s, more than the timeout + 1 s"
q_le $((timeout - 1)) "$t" || fail "thawed after $t s, long before the timeout"
frozen_for=$(awk '$1 == "started" { s = $2 } $1 == "thawed" { t = $2 } END { printf "%.3f", (t - s) / 1000 }' "$QSTATE/freeze.state")
note "watchdog record: thawed $frozen_for s after the first FIFREEZE"
q_le "$frozen_for" $((timeout + 1)) && q_le "$timeout" "$frozen_for" || fail "the timer thawed after $frozen_for s"
for _ in $(seq 50); do q_watchdog_pid >/dev/null || break; sleep 0.1; done
"$MOBILITY_AGENT" status --json >"$Q/s3.json"
assert_json "$Q/s3.json" '.freeze.active == false and .freeze.reason == "timeout"'

# 4. The watchdog itself is killed with SIGKILL (the one thing it cannot handle).
"$MOBILITY_AGENT" freeze --timeout 60 "${mounts[@]}" || fail "freeze failed"
pid=$(q_watchdog_pid) || fail "no watchdog"
kill -9 "$pid"
for _ in $(seq 50); do q_alive "$pid" || break; sleep 0.1; done
"$MOBILITY_AGENT" status --json >"$Q/s4.json"
assert_json "$Q/s4.json" '.freeze.active == true and .freeze.orphaned == true'
"$MOBILITY_AGENT" status | grep -q ORPHANED || fail "status text does not say orphaned"
# A new freeze refuses rather than stacking on an unknown state.
if "$MOBILITY_AGENT" freeze "${mounts[@]}" 2>"$Q/refuse.err"; then fail "freeze over an orphaned freeze"; fi
grep -q "run 'mobility-agent thaw'" "$Q/refuse.err" || fail "orphaned: wrong message"
w1=$(q_writer "$Q/a/three")
q_blocked "$w1" || fail "not frozen after the watchdog was killed?"
"$MOBILITY_AGENT" thaw 2>"$Q/thaw4.err" || { cat "$Q/thaw4.err" >&2; fail "orphan thaw failed"; }
q_wait_writer "$w1" 5 || fail "orphan thaw left $Q/a frozen"
grep -q "watchdog pid $pid was gone" "$Q/thaw4.err" || fail "orphan thaw: no message"
"$MOBILITY_AGENT" status --json >"$Q/s5.json"
assert_json "$Q/s5.json" '.freeze.active == false and .freeze.reason == "orphan"'
note "ok"
