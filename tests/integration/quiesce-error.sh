#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A FIFREEZE that fails with a real error (EIO: the filesystem's loop image lives on a full tmpfs,
# so the freeze's writeback fails) after another filesystem was frozen: the freeze fails naming
# the mount and the reason, and what was already frozen is thawed again.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/quiesce.sh"

q_scratch
q_tmpfs "$Q/t"
mount -o remount,size=24m "$Q/t"
truncate -s 64M "$Q/t/e.img"
mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 "$Q/t/e.img"
dev=$(losetup -f --show "$Q/t/e.img")
on_exit "losetup -d '$dev'"
mkdir -p "$Q/e"
mount -o errors=continue "$dev" "$Q/e"
on_exit "umount '$Q/e' || umount -l '$Q/e'"
on_exit "fsfreeze -u '$Q/e'"
q_mkfs ext4 "$Q/a.img" "$Q/a"   # mounted last: frozen first
q_watch_cleanup

dd if=/dev/zero of="$Q/t/filler" bs=1M 2>/dev/null || true   # the tmpfs is full now
dd if=/dev/urandom of="$Q/e/data" bs=1M count=8 2>/dev/null  # dirty data that cannot be written back

rc=0
"$MOBILITY_AGENT" freeze --mount "$Q/e" --mount "$Q/a" --json >"$Q/freeze.json" 2>"$Q/freeze.err" || rc=$?
cat "$Q/freeze.err" >&2
[[ $rc == 1 ]] || fail "freeze: exit status $rc, expected 1"
grep -q "error: freeze failed: $Q/e (ext4, [0-9:]*): Input/output error" "$Q/freeze.err" ||
    fail "the error does not name the mount and the reason"
grep -q "$Q/a (ext4, .*): frozen [0-9.]* s, thawed" "$Q/freeze.err" || fail "$Q/a was not frozen first and thawed"
w=$(q_writer "$Q/a/after"); q_wait_writer "$w" 3 || fail "$Q/a left frozen after the failure"
[[ -z $(q_watchdog_pid) ]] || fail "a watchdog is still running"
"$MOBILITY_AGENT" status --json >"$Q/status.json"
assert_json "$Q/status.json" '.freeze.active == false'
note "ok"
