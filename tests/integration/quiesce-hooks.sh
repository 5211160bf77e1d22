#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Freeze hooks: name order on freeze, reverse on thaw, the phase in argv[1] and the environment,
# backup files and non-executables ignored; a failing freeze hook aborts with nothing frozen (and
# the hooks that did freeze are thawed); a slow hook is stopped at its timeout; a freeze right
# after a timeout thaw waits for the watchdog to finish, and no hook inherits the freeze lock.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/quiesce.sh"

q_scratch
q_mkfs ext4 "$Q/a.img" "$Q/a"
# What step 6's hook starts; after the watchdog's cleanup (which may run the thaw hooks once more).
on_exit "kill -9 \$(cat '$Q/daemon.pids' 2>/dev/null) 2>/dev/null; true"
q_watch_cleanup
H=$Q/hooks
mkdir -p "$H"
LOG=$Q/hooks.log   # on /tmp, not on a filesystem we freeze

hook() { # hook NAME [BODY]: an executable hook that logs its name, argv[1] and phase
    printf '#!/bin/sh\necho "%s $1 $MOBILITY_FREEZE_PHASE" >>%s\n%s\n' "$1" "$LOG" "${2:-}" >"$H/$1"
    chmod +x "$H/$1"
}
hook 10-first
hook 20-second
for b in 30-old~ 40-x.rpmnew 41-x.rpmsave 50-x.dpkg-old 51-x.dpkg-dist; do hook "$b" 'exit 1'; done
hook 60-not-executable 'exit 1'; chmod -x "$H/60-not-executable"

# 1. Order and phase.
"$MOBILITY_AGENT" freeze --hooks-dir "$H" --mount "$Q/a" || fail "freeze failed"
"$MOBILITY_AGENT" thaw 2>"$Q/thaw.err" || { cat "$Q/thaw.err" >&2; fail "thaw failed"; }
printf '%s\n' "10-first freeze freeze" "20-second freeze freeze" "20-second thaw thaw" "10-first thaw thaw" >"$Q/want"
diff -u "$Q/want" "$LOG" >&2 || fail "hooks ran in the wrong order, or backup files ran"
grep -q "hook $H/20-second thaw: ok" "$Q/thaw.err" || fail "the thaw hook results are not reported"

# 2. A failing freeze hook aborts before anything is frozen; the hooks before it are thawed.
: >"$LOG"
hook 15-fails 'echo "database refuses" >&2; [ "$1" = freeze ] && exit 4; exit 0'
rc=0; "$MOBILITY_AGENT" freeze --hooks-dir "$H" --mount "$Q/a" 2>"$Q/fail.err" || rc=$?
cat "$Q/fail.err" >&2
[[ $rc == 1 ]] || fail "a failing hook: exit status $rc, expected 1"
grep -q "15-fails freeze: exit status 4: database refuses" "$Q/fail.err" || fail "the error does not name the hook"
printf '%s\n' "10-first freeze freeze" "15-fails freeze freeze" "10-first thaw thaw" >"$Q/want"
diff -u "$Q/want" "$LOG" >&2 || fail "wrong hooks ran around the failing one"
w=$(q_writer "$Q/a/after-fail"); q_wait_writer "$w" 3 || fail "a failing hook left $Q/a frozen"
[[ -z $(q_watchdog_pid) ]] || fail "a watchdog is running after a failed freeze"
rm "$H/15-fails"

# 3. A slow hook is stopped at its timeout and fails the freeze.
: >"$LOG"
hook 15-slow 'sleep 60'
start=$(q_now)
rc=0; "$MOBILITY_AGENT" freeze --hooks-dir "$H" --hook-timeout 1 --mount "$Q/a" 2>"$Q/slow.err" || rc=$?
t=$(q_elapsed "$start")
cat "$Q/slow.err" >&2
note "slow hook: freeze gave up after $t s"
[[ $rc == 1 ]] || fail "a slow hook: exit status $rc"
grep -q "15-slow freeze: timed out" "$Q/slow.err" || fail "the timeout is not reported"
q_le "$t" 6 || fail "the hook timeout did not stop it ($t s)"
w=$(q_writer "$Q/a/after-slow"); q_wait_writer "$w" 3 || fail "a slow hook left $Q/a frozen"
rm "$H/15-slow"

# 4. After a timeout thaw the watchdog runs the thaw hooks itself.
: >"$LOG"
"$MOBILITY_AGENT" freeze --hooks-dir "$H" --timeout 1 --mount "$Q/a" || fail "freeze failed"
for _ in $(seq 50); do grep -q "10-first thaw" "$LOG" && break; sleep 0.1; done
printf '%s\n' "10-first freeze freeze" "20-second freeze freeze" "20-second thaw thaw" "10-first thaw thaw" >"$Q/want"
diff -u "$Q/want" "$LOG" >&2 || fail "the watchdog did not run the thaw hooks after its timer fired"
# 5. The watchdog killed with SIGKILL: "thaw" runs the thaw hooks recorded in the state.
: >"$LOG"
"$MOBILITY_AGENT" freeze --hooks-dir "$H" --mount "$Q/a" || fail "freeze failed"
pid=$(q_watchdog_pid) || fail "no watchdog"
kill -9 "$pid"
for _ in $(seq 50); do q_alive "$pid" || break; sleep 0.1; done
"$MOBILITY_AGENT" thaw 2>"$Q/orphan.err" || { cat "$Q/orphan.err" >&2; fail "orphan thaw failed"; }
diff -u "$Q/want" "$LOG" >&2 || fail "the orphan thaw did not run the thaw hooks"

# 6. The watchdog holds the lock until its thaw hooks are done: a freeze started meanwhile (right
# after a timeout thaw) waits for it instead of "already in progress". And a process a thaw hook
# leaves behind (a restarted daemon) must not inherit the lock, or every later freeze is refused.
: >"$LOG"
hook 25-slow-thaw '[ "$1" = thaw ] && sleep 1; exit 0'
hook 26-daemon "if [ \"\$1\" = thaw ]; then sh -c 'echo \$\$ >>$Q/daemon.pids; exec sleep 30' </dev/null >/dev/null 2>&1 & fi"
"$MOBILITY_AGENT" freeze --hooks-dir "$H" --timeout 1 --mount "$Q/a" || fail "freeze failed"
for _ in $(seq 100); do grep -q "25-slow-thaw thaw" "$LOG" && break; sleep 0.05; done
grep -q "25-slow-thaw thaw" "$LOG" || fail "the watchdog's timer did not run the thaw hooks"
"$MOBILITY_AGENT" freeze --hooks-dir "$H" --mount "$Q/a" 2>"$Q/next.err" ||
    { cat "$Q/next.err" >&2; q_lock_holders >&2; fail "a freeze right after a timeout thaw was refused"; }
holders=$(q_lock_holders | grep -v mobility-freeze-watchdog || true)
[[ -z $holders ]] || fail "a thaw hook's leftover process holds the freeze lock: $holders"
# Nor the watchdog's blocked signals (its signalfd): SIGTERM must reach what a hook started.
read -r daemon <"$Q/daemon.pids"
blk=$(awk '$1 == "SigBlk:" { print $2 }' "/proc/$daemon/status")
[[ $blk == 0000000000000000 ]] || fail "a thaw hook's process inherited blocked signals (SigBlk $blk)"
timeout 30 "$MOBILITY_AGENT" thaw 2>"$Q/thaw6.err" || { cat "$Q/thaw6.err" >&2; q_lock_holders >&2; fail "thaw failed"; }
[[ $(wc -l <"$Q/daemon.pids") == 2 ]] || fail "the daemon-starting thaw hook did not run twice"
[[ -z $(q_lock_holders) ]] || fail "the freeze lock is still held after the thaw: $(q_lock_holders)"
rm "$H/25-slow-thaw" "$H/26-daemon"
note "ok"
