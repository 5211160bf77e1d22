#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A filesystem frozen by someone else (fsfreeze -f) before us is reported busy and left to its
# owner: still frozen after our thaw. The others are frozen and thawed as usual.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/quiesce.sh"

q_scratch
q_mkfs ext4 "$Q/a.img" "$Q/a"
q_mkfs xfs "$Q/b.img" "$Q/b"
q_watch_cleanup

fsfreeze -f "$Q/b"   # the owner; thawed by the cleanup registered in q_mkfs
"$MOBILITY_AGENT" freeze --mount "$Q/a" --mount "$Q/b" --json >"$Q/freeze.json" || fail "freeze failed"
assert_json "$Q/freeze.json" "[.filesystems[] | select(.mount == \"$Q/b\")][0].state == \"busy\""
assert_json "$Q/freeze.json" "[.filesystems[] | select(.mount == \"$Q/a\")][0].state == \"frozen\""
wa=$(q_writer "$Q/a/f"); wb=$(q_writer "$Q/b/f")
q_blocked "$wa" && q_blocked "$wb" || fail "writes completed while frozen"

"$MOBILITY_AGENT" thaw 2>"$Q/thaw.err" || { cat "$Q/thaw.err" >&2; fail "thaw failed"; }
cat "$Q/thaw.err" >&2
grep -q "$Q/b (xfs, .*): already frozen by someone else: left to its owner" "$Q/thaw.err" || fail "busy not reported"
q_wait_writer "$wa" 5 || fail "$Q/a not thawed"
q_blocked "$wb" || fail "we thawed $Q/b, which someone else had frozen"
fsfreeze -u "$Q/b"
q_wait_writer "$wb" 5 || fail "$Q/b still blocked after its owner thawed it"
note "ok"
