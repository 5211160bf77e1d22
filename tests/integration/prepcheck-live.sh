#!/bin/bash
# prepcheck on this machine itself (live mode): valid JSON with every check id, a sensible exit code.
source "$SOURCE_DIR/tests/lib/common.sh"
need_cmd jq
S=$(scratch)
rc=0
"$PREPCHECK" --format json --no-network >"$S/live.json" || rc=$?
((rc <= 2)) || fail "live prepcheck exited $rc"
jq -e . "$S/live.json" >/dev/null || fail "live output is not JSON"
assert_json "$S/live.json" '.schema == "prepcheck/1" and .tool.name == "prepcheck" and .root == "/"'
assert_json "$S/live.json" '.host | has("os_id") and has("kernel_running") and has("kernels_installed") and has("initramfs_generator") and has("firmware") and has("secure_boot") and has("machine_id") and has("product_uuid")'
assert_json "$S/live.json" '.host.kernel_running != null'
assert_json "$S/live.json" '.generated_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")'
assert_json "$S/live.json" 'all(.results[]; (.status | IN("pass","warn","fail","skip","error")) and (.title | length > 0) and (.evidence | type == "array") and (.remediation | has("summary") and has("commands") and has("fixable")))'
"$PREPCHECK" --list | awk '{print $1}' | sort >"$S/ids.list"
jq -r '.results[].id' "$S/live.json" | sort >"$S/ids.json"
diff "$S/ids.list" "$S/ids.json" || fail "the report must carry every check of --list"
# Exit code agrees with the summary.
want=0
jq -e '.summary.warn + .summary.error > 0' "$S/live.json" >/dev/null && want=1
jq -e '.summary.fail > 0' "$S/live.json" >/dev/null && want=2
((rc == want)) || fail "exit status $rc does not match the summary (expected $want)"
jq -e --argjson r "$([[ $want == 0 ]] && echo true || echo false)" '.summary.ready == $r' "$S/live.json" >/dev/null || fail "summary.ready disagrees"
# stdout write errors are errors, not silence.
if "$PREPCHECK" --format json --no-network >/dev/full 2>"$S/err"; then fail "writing to /dev/full succeeded"; fi
grep -qi "write" "$S/err" || fail "no message for a failed write to stdout"
"$PREPCHECK" --version | grep -q "0\." || fail "--version"
"$PREPCHECK" --help | grep -q -- "--root" || fail "--help"
note "ok"
