#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end over loopback HTTPS with curl as the agent (docs/protocol.md): a full pass (data, zstd
# chunks, zero declarations, a short last chunk), an incremental pass, a resized pass, resume of an open
# pass, hashes of the committed replica; the replica's sha256 equals the source every time, and the
# fixed VHD beside it is the same bytes plus a valid footer.
source "$SOURCE_DIR/tests/lib/common.sh"
source "$SOURCE_DIR/tests/lib/receiver.sh"
need_cmd jq zstd python3

dir=$(scratch)
rcv_init "$dir"
rcv_start --vhd

cs=$((64 * 1024))
img=$dir/src.img
# 40 chunks + a short one: data in some, zeros elsewhere
truncate -s $((40 * cs + 12345)) "$img"
for i in 0 1 2 7 8 20 33 39 40; do
    dd if=/dev/urandom of="$img" bs="$cs" seek="$i" count=1 conv=notrunc status=none
done
truncate -s $((40 * cs + 12345)) "$img"

expect 404 no_such_disk -- GET /a1/disks/sda
sync_image sda "$img" "$cs"
[[ $(replica_sum sda) == $(file_sum "$img") ]] || fail "full pass: replica differs from the source"
expect 200 -- GET /a1/disks/sda
jq -e --argjson s "$(stat -c %s "$img")" '.committed_pass == 1 and .size == $s and .chunk_size == 65536 and .open_pass == null' "$dir/body" >/dev/null ||
    fail "disk state after the first pass: $(cat "$dir/body")"

# the replica is sparse: zero chunks were never written
(( $(du -k "$dir/store/a1/sda.raw" | cut -f1) < 41 * 64 )) || fail "replica is not sparse"

# hashes of the committed replica equal the source's chunk hashes
expect 200 -- GET "/a1/disks/sda/hashes?first=0&count=41"
python3 - "$img" "$dir/body" "$cs" <<'PY' || fail "hashes differ from the source's chunks"
import hashlib, sys
img, body, cs = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read(), int(sys.argv[3])
want = b''.join(hashlib.sha256(img[i:i + cs]).digest() for i in range(0, len(img), cs))
sys.exit(0 if want == body else 1)
PY
expect 416 out_of_range -- GET "/a1/disks/sda/hashes?first=40&count=2"

# incremental: change 3 chunks, zero one, send only those
for i in 3 8 40; do dd if=/dev/urandom of="$img" bs="$cs" seek="$i" count=1 conv=notrunc status=none; done
truncate -s $((40 * cs + 12345)) "$img"
dd if=/dev/zero of="$img" bs="$cs" seek=20 count=1 conv=notrunc status=none
sync_image sda "$img" "$cs" 3 8 20 40
[[ $SYNC_PASS == 2 ]] || fail "second pass got id $SYNC_PASS"
[[ $(replica_sum sda) == $(file_sum "$img") ]] || fail "incremental pass: replica differs from the source"

# resume: open a pass, stage 2 chunks, "reconnect": the same pass comes back with its bitmap
for i in 1 5; do dd if=/dev/urandom of="$img" bs="$cs" seek="$i" count=1 conv=notrunc status=none; done
size=$(stat -c %s "$img")
expect 201 -- POST /a1/disks/sda/passes -d "{\"size\": $size, \"chunk_size\": $cs}"
pass=$(jq -r .pass "$dir/body")
[[ $(put_chunk sda "$pass" 1 "$img" "$cs") == 204 ]] || fail "PUT chunk 1"
expect 200 -- POST /a1/disks/sda/passes -d "{\"size\": $size, \"chunk_size\": $cs}"
jq -e --argjson p "$pass" '.pass == $p and .resumed == true' "$dir/body" >/dev/null || fail "no resume: $(cat "$dir/body")"
expect 200 -- GET "/a1/disks/sda/passes/$pass/staged"
[[ $(od -An -tx1 -N1 "$dir/body" | tr -d ' ') == 02 && $(stat -c %s "$dir/body") == 6 ]] || fail "staged bitmap wrong"
[[ $(replica_sum sda) != $(file_sum "$img") ]] || fail "open pass leaked into the replica"
[[ $(put_chunk sda "$pass" 5 "$img" "$cs") == 204 ]] || fail "PUT chunk 5"
expect 200 -- POST "/a1/disks/sda/passes/$pass/commit" -d '{"chunks_sent": 2, "zero_ranges": 0}'
[[ $(replica_sum sda) == $(file_sum "$img") ]] || fail "resumed pass: replica differs from the source"
# a commit retried after a lost answer is answered again
expect 200 -- POST "/a1/disks/sda/passes/$pass/commit" -d '{}'
jq -e '.already == true' "$dir/body" >/dev/null || fail "retried commit not recognised"

# grow the disk by 2.5 chunks, then shrink it below its first size
truncate -s $((42 * cs + 32768)) "$img"
dd if=/dev/urandom of="$img" bs="$cs" seek=42 count=1 conv=notrunc status=none
truncate -s $((42 * cs + 32768)) "$img"
sync_image sda "$img" "$cs" 40 42
[[ $(replica_sum sda) == $(file_sum "$img") ]] || fail "grown disk: replica differs"
expect 409 chunk_size_fixed -- POST /a1/disks/sda/passes -d "{\"size\": 4194304, \"chunk_size\": 131072}"
truncate -s $((10 * cs + 1000)) "$img"
sync_image sda "$img" "$cs" 10
[[ $(replica_sum sda) == $(file_sum "$img") ]] || fail "shrunk disk: replica differs"
expect 200 -- GET "/a1/disks/sda/hashes?first=0&count=11"
python3 - "$img" "$dir/body" "$cs" <<'PY' || fail "hashes after resizes differ from the source's chunks"
import hashlib, sys
img, body, cs = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read(), int(sys.argv[3])
want = b''.join(hashlib.sha256(img[i:i + cs]).digest() for i in range(0, len(img), cs))
sys.exit(0 if want == body else 1)
PY

# the VHD: raw data, zero padding to 1 MiB, footer with a valid checksum
python3 - "$dir/store/a1/sda.vhd" "$img" <<'PY' || fail "VHD is not a valid fixed VHD of the replica"
import struct, sys
vhd, img = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
mib = 1 << 20
vsize = (len(img) + mib - 1) // mib * mib
assert len(vhd) == vsize + 512, (len(vhd), vsize)
assert vhd[:len(img)] == img and vhd[len(img):vsize] == bytes(vsize - len(img))
f = vhd[vsize:]
assert f[:8] == b'conectix'
assert struct.unpack('>I', f[60:64])[0] == 2                 # fixed
assert struct.unpack('>QQ', f[40:56]) == (vsize, vsize)
s = sum(f[:64]) + sum(f[68:])
assert struct.unpack('>I', f[64:68])[0] == (~s) & 0xffffffff
c, h, spt = struct.unpack('>HBB', f[56:60])
assert c * h * spt * 512 <= vsize and h >= 4 and spt > 0
PY

rcv_stop
note "ok: full, incremental, resumed, grown and shrunk passes; hashes; VHD"
