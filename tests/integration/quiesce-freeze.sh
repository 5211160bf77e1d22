#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mobility-agent freeze/status/thaw on real ext4 and xfs on loop devices, nested, with a bind
# mount, a loop filesystem whose image lives on another one, and a tmpfs: the order of freezing,
# writes blocking while frozen and completing after the thaw, and the report after the thaw.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/quiesce.sh"

q_scratch
q_mkfs ext4 "$Q/a.img" "$Q/a"              # A
q_mkfs xfs "$Q/b.img" "$Q/a/b"             # B, nested in A
q_mkfs ext4 "$Q/a/c.img" "$Q/c"            # C, its image on A: must be frozen before A
q_bind "$Q/a" "$Q/bind"                    # A again: one superblock, frozen once
q_tmpfs "$Q/t"                             # cannot be frozen: skipped and listed
q_mkfs ext4 "$Q/r.img" "$Q/r"              # read-only: skipped (by the plan) and listed
mount -o remount,ro "$Q/r"
q_watch_cleanup
mounts=(--mount "$Q/a" --mount "$Q/a/b" --mount "$Q/c" --mount "$Q/bind" --mount "$Q/t" --mount "$Q/r")

# Never during: a freeze that returns prints nothing to stderr.
"$MOBILITY_AGENT" freeze --timeout 30 "${mounts[@]}" --json >"$Q/freeze.json" 2>"$Q/freeze.err" ||
    { cat "$Q/freeze.err" >&2; fail "freeze failed"; }
[[ ! -s $Q/freeze.err ]] || { cat "$Q/freeze.err" >&2; fail "freeze wrote to stderr while frozen"; }

jq -r '.filesystems[].mount' "$Q/freeze.json" >"$Q/order"
note "order: $(tr '\n' ' ' <"$Q/order")"
line() { grep -nxF "$1" "$Q/order" | cut -d: -f1; }
[[ $(wc -l <"$Q/order") == 5 ]] || fail "expected 5 superblocks (the bind mount is A), got $(wc -l <"$Q/order")"
(($(line "$Q/a/b") < $(line "$Q/a"))) || fail "nested B must be frozen before A"
(($(line "$Q/c") < $(line "$Q/a"))) || fail "C (image on A) must be frozen before A"
assert_json "$Q/freeze.json" '.frozen == true'
assert_json "$Q/freeze.json" "[.filesystems[] | select(.mount == \"$Q/t\")][0] | .state == \"skipped\" and .reason == \"memory filesystem\""
assert_json "$Q/freeze.json" "[.filesystems[] | select(.mount == \"$Q/r\")][0] | .state == \"skipped\" and .reason == \"read-only\""
assert_json "$Q/freeze.json" "[.filesystems[] | select(.fstype != \"tmpfs\" and .mount != \"$Q/r\")] | all(.reason == null)"
assert_json "$Q/freeze.json" "[.filesystems[] | select(.fstype != \"tmpfs\" and .mount != \"$Q/r\")] | all(.state == \"frozen\")"

# Frozen: writes block, on every filesystem and through the bind mount.
wa=$(q_writer "$Q/a/file"); wb=$(q_writer "$Q/a/b/file"); wc=$(q_writer "$Q/c/file"); wbind=$(q_writer "$Q/bind/file2")
wt=$(q_writer "$Q/t/file")
for w in "$wa" "$wb" "$wc" "$wbind"; do q_blocked "$w" || fail "a write completed while frozen"; done
q_wait_writer "$wt" 5 || fail "the write to the tmpfs (not frozen) blocked"

"$MOBILITY_AGENT" status --json >"$Q/status.json"
assert_json "$Q/status.json" '.freeze.active == true and .freeze.watchdog_alive == true'
assert_json "$Q/status.json" "[.freeze.filesystems[] | select(.state == \"frozen\")] | length == 3"
pid=$(q_watchdog_pid) || fail "no watchdog running while frozen"
# The watchdog is mlockall'ed (reclaim must never make it wait on a frozen filesystem); not in
# sanitizer builds, where locking ASan's shadow memory is impossible (watchdog.c).
lck=$(awk '$1 == "VmLck:" { print $2 }' "/proc/$pid/status")
if grep -q libasan "/proc/$pid/maps"; then
    note "sanitizer build: the watchdog does not mlockall (VmLck $lck kB)"
else
    ((${lck:-0} > 0)) || fail "the watchdog $pid is not mlockall'ed (VmLck ${lck:-?} kB)"
fi
# What the watchdog saved lists the skipped ones too, with the reason.
assert_json "$Q/status.json" "[.freeze.filesystems[] | select(.mount == \"$Q/t\")][0] | .state == \"skipped\" and .reason == \"memory filesystem\""
assert_json "$Q/status.json" "[.freeze.filesystems[] | select(.mount == \"$Q/r\")][0] | .state == \"skipped\" and .reason == \"read-only\""
# A second freeze while one is in progress is refused, naming the owner.
if "$MOBILITY_AGENT" freeze "${mounts[@]}" 2>"$Q/second.err"; then fail "a second freeze succeeded"; fi
grep -q "already in progress (watchdog pid $pid" "$Q/second.err" || { cat "$Q/second.err" >&2; fail "second freeze: wrong message"; }

"$MOBILITY_AGENT" thaw --json >"$Q/thaw.json" 2>"$Q/thaw.err" || { cat "$Q/thaw.err" >&2; fail "thaw failed"; }
cat "$Q/thaw.err" >&2
for w in "$wa" "$wb" "$wc" "$wbind"; do q_wait_writer "$w" 5 || fail "a write did not complete after the thaw"; done
for f in a/file a/b/file c/file a/file2; do
    [[ $(cat "$Q/$f") == "written after thaw" ]] || fail "$f: write lost"
done
# One line per filesystem and the frozen duration, after the thaw.
for m in "$Q/a" "$Q/a/b" "$Q/c"; do
    grep -qE "^mobility-agent: $m \((ext4|xfs), [0-9]+:[0-9]+\): frozen [0-9.]+ s, thawed$" "$Q/thaw.err" ||
        fail "no thaw line for $m"
done
grep -q "^mobility-agent: $Q/t (tmpfs, .*skipped: memory filesystem$" "$Q/thaw.err" ||
    fail "the tmpfs is not listed as skipped"
grep -q "^mobility-agent: $Q/r (ext4, .*skipped: read-only$" "$Q/thaw.err" || fail "the read-only mount is not listed as skipped"
grep -qE "filesystems were frozen for [0-9.]+ s" "$Q/thaw.err" || fail "no frozen duration"
assert_json "$Q/thaw.json" '.active == false and .reason == "request"'

"$MOBILITY_AGENT" status --json >"$Q/status2.json"
assert_json "$Q/status2.json" '.freeze.active == false and .freeze.watchdog_alive == false'
"$MOBILITY_AGENT" thaw 2>"$Q/thaw2.err" || fail "a thaw with nothing frozen must succeed"
grep -q "nothing is frozen" "$Q/thaw2.err" || fail "second thaw: wrong message"

# Refusals: not a mount point; the state directory on a filesystem to be frozen.
rc=0; "$MOBILITY_AGENT" freeze --mount "$Q/a/nonexistent" 2>"$Q/nm.err" || rc=$?
[[ $rc == 3 ]] && grep -q "$Q/a/nonexistent: not a mount point" "$Q/nm.err" || fail "not a mount point: rc $rc"
rc=0; "$MOBILITY_AGENT" freeze --mount "$Q/c" --state-dir "$Q/c/state" 2>"$Q/sd.err" || rc=$?
[[ $rc == 1 ]] && grep -q "state directory is on a filesystem to be frozen" "$Q/sd.err" || fail "state dir on frozen fs: rc $rc"
rc=0; "$MOBILITY_AGENT" freeze --mount "$Q/c" >"$Q/c/out" 2>"$Q/out.err" || rc=$?
[[ $rc == 1 ]] && grep -q "standard output is a file on a filesystem to be frozen" "$Q/out.err" || fail "stdout on frozen fs: rc $rc"
# No watchdog, no freeze: missing, or one that dies before it is ready.
rc=0; MOBILITY_FREEZE_WATCHDOG=$Q/none "$MOBILITY_AGENT" freeze --mount "$Q/c" 2>"$Q/nowd.err" || rc=$?
[[ $rc == 1 ]] && grep -q "freeze watchdog is needed" "$Q/nowd.err" || fail "missing watchdog: rc $rc"
rc=0; MOBILITY_FREEZE_WATCHDOG=$(type -P false) "$MOBILITY_AGENT" freeze --mount "$Q/c" 2>"$Q/badwd.err" || rc=$?
[[ $rc == 1 ]] && grep -q "did not start: it exited before it was ready" "$Q/badwd.err" || { cat "$Q/badwd.err" >&2; fail "dying watchdog: rc $rc"; }
wc_=$(q_writer "$Q/c/probe"); q_wait_writer "$wc_" 5 || fail "a refused freeze left $Q/c frozen"
note "ok"
