#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The change tracker on real loop devices, for each backend this kernel offers (blktrace relay files;
# perf on block:block_rq_complete when lockdown forbids the relay files): raw writes, discards and
# write-zeroes at known offsets are exactly the dirty chunks; ext4 and xfs file writes (physical
# location from filefrag) are dirty with only a few metadata chunks more; a partition's writes land
# at partition offset + write offset on its disk; a stalled reader with tiny buffers drops events and
# declares verify; a disk traced by someone else is "busy" (exit 4); a kill -9 leaves no marker
# (verify) and, with blktrace, a stale trace the next start reclaims; a clean stop reloads the
# bitmap, a write while nobody tracks is caught by the disk's counters; fstrim on a mounted ext4
# after a file is deleted reports the freed extents dirty (discard completions).
source "$SOURCE_DIR/tests/lib/common.sh"
need_root
need_cmd losetup jq dd blkdiscard fstrim filefrag mkfs.ext4 mkfs.xfs sfdisk partx python3

# Not $(scratch) / $(attach_loop): an on_exit inside $(...) registers in the subshell and is lost,
# leaking the directory and the loop devices. Register in this shell instead.
D=$(mktemp -d "/tmp/mobility-$TEST_NAME.XXXXXX")
on_exit "rm -rf '$D'"
A=$MOBILITY_AGENT
CS=65536
KiB=1024
MiB=$((1 << 20))

if ! grep -q ' /sys/kernel/debug debugfs ' /proc/mounts; then
    mount -t debugfs none /sys/kernel/debug || skip "cannot mount debugfs"   # left mounted (brief)
fi

# track_start NAME DEV [options]: tracker in the background, JSON to $D/NAME.json; waits until it
# traces. Killed at exit whatever happens (and a blktrace session torn down: a leaked one makes the
# disk busy for everyone).
declare -A PID
track_start() {
    local name=$1 dev=$2 i
    shift 2
    "$A" track --disk "$dev" --chunk-size $CS --json "$@" >"$D/$name.json" 2>"$D/$name.err" &
    PID[$name]=$!
    on_exit "kill -9 ${PID[$name]}; blktrace -k -d '$dev'"
    for ((i = 0; i < 100; i++)); do
        grep -qs 'tracking' "$D/$name.err" && return 0
        kill -0 "${PID[$name]}" 2>/dev/null || { cat "$D/$name.err" >&2; fail "$name: tracker exited at start"; }
        sleep 0.1
    done
    fail "$name: tracker did not start: $(cat "$D/$name.err")"
}
# track_stop NAME: SIGINT, wait, the exit status must be 0.
track_stop() {
    local rc=0
    kill -INT "${PID[$1]}"
    wait "${PID[$1]}" || rc=$?
    [[ $rc == 0 ]] || fail "$1: tracker exited $rc: $(cat "$D/$1.err")"
    jq -e . "$D/$1.json" >/dev/null || fail "$1: no JSON output"
}
# The dirty chunks of NAME's report, one per line, sorted.
dirty_list() { jq -r '.ranges[] | range(.first; .first + .count)' "$D/$1.json" | sort; }
# chunks OFFSET LENGTH: the chunks a byte range touches.
chunks() { local s=$(($1 / CS)) e=$((($1 + $2 - 1) / CS)) c; for ((c = s; c <= e; c++)); do echo $c; done; }
wdirect() { dd if=/dev/urandom of="$1" bs="$3" count=1 seek="$2" oflag=direct,seek_bytes conv=fsync,notrunc status=none; }
# new_loop NAME SIZE: a loop device on a sparse image, in $L; detached at exit.
new_loop() {
    truncate -s "$2" "$D/$1.img"
    L=$(losetup -f --show "$D/$1.img")
    on_exit "partx -d '$L'; losetup -d '$L'"
}

# filefrag -v FILE -> "physical_byte_offset length_bytes" of the file's first extent.
phys_of() {
    filefrag -v "$1" | awk '
        /blocks of [0-9]+ bytes/ { for (i = 1; i <= NF; i++) if ($i == "of" && $(i+2) == "bytes)") bs = $(i+1) }
        $1 == "0:" { s = $4; e = $5; sub(/\.\./, "", s); sub(/:/, "", e); print s * bs, (e - s + 1) * bs; exit }'
}

# filefrag -v FILE -> "physical_byte_offset length_bytes" of every extent of the file.
extents_of() {
    filefrag -v "$1" | awk '
        /blocks of [0-9]+ bytes/ { for (i = 1; i <= NF; i++) if ($i == "of" && $(i+2) == "bytes)") bs = $(i+1) }
        $1 ~ /^[0-9]+:$/ { s = $4; e = $5; sub(/\.\./, "", s); sub(/:/, "", e); print s * bs, (e - s + 1) * bs }'
}

# ---- which backends does this kernel offer?
new_loop probe 16M
L0=$L
backends=(perf)
rc=0
"$A" track --disk "$L0" --seconds 1 --backend blktrace >/dev/null 2>"$D/probe.err" || rc=$?
case $rc in
0) backends=(blktrace perf) ;;
5) note "blktrace backend unavailable here: $(cat "$D/probe.err") -- testing the perf backend only"
   grep -q 'lockdown\|debugfs\|blktrace support' "$D/probe.err" || fail "exit 5 without a clear reason" ;;
*) fail "probing blktrace: exit $rc: $(cat "$D/probe.err")" ;;
esac

for B in "${backends[@]}"; do
    note "backend $B"
    # ---- raw device: writes, discards, write-zeroes at known offsets are exactly the dirty set
    new_loop raw-$B 128M
    track_start raw-$B "$L" --backend $B
    wdirect "$L" $((5 * MiB)) 4096
    wdirect "$L" $((37 * MiB + 60 * KiB)) 8192          # straddles two chunks
    blkdiscard -o $((64 * MiB)) -l $((2 * MiB)) "$L"
    blkdiscard -z -o $((100 * MiB)) -l $((64 * KiB)) "$L"  # BLKZEROOUT: write-zeroes
    track_stop raw-$B
    { chunks $((5 * MiB)) 4096; chunks $((37 * MiB + 60 * KiB)) 8192; chunks $((64 * MiB)) $((2 * MiB))
      chunks $((100 * MiB)) $((64 * KiB)); } | sort >"$D/raw-$B.want"
    dirty_list raw-$B >"$D/raw-$B.got"
    diff "$D/raw-$B.want" "$D/raw-$B.got" >&2 || fail "$B raw: dirty chunks differ from the writes/discards"
    assert_json "$D/raw-$B.json" ".backend == \"$B\" and .dropped == 0 and .disk == \"$L\""
    assert_json "$D/raw-$B.json" '.verify == true and .gaps == ["no-marker"]' "no state dir: verify (no-marker)"

    # ---- ext4 and xfs, mounted: a file's physical chunks are dirty, plus a few metadata chunks
    for fs in ext4 xfs; do
        new_loop $fs-$B 320M
        # no lazy inode-table init: its background writes would be "metadata" of no write of ours
        if [[ $fs == ext4 ]]; then mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$L"; else mkfs.xfs -q -f "$L"; fi
        mount_at "$L" "$D/mnt-$fs-$B"
        F=$D/mnt-$fs-$B/data
        dd if=/dev/urandom of="$F" bs=1M count=4 conv=fsync status=none
        sync
        read -r off len < <(phys_of "$F")
        [[ -n $off && $len -ge $((1 * MiB)) ]] || fail "$fs: no extent from filefrag for $F"
        track_start $fs-$B "$L" --backend $B
        dd if=/dev/urandom of="$F" bs=64K count=2 seek=$((512 * KiB)) oflag=direct,seek_bytes conv=fsync,notrunc status=none
        track_stop $fs-$B
        dirty_list $fs-$B >"$D/$fs-$B.got"
        chunks $((off + 512 * KiB)) $((128 * KiB)) | sort >"$D/$fs-$B.want"
        missing=$(comm -23 "$D/$fs-$B.want" "$D/$fs-$B.got")
        [[ -z $missing ]] || fail "$B $fs: written chunks not dirty: $missing (file at $off)"
        extra=$(comm -13 "$D/$fs-$B.want" "$D/$fs-$B.got" | wc -l)
        ((extra <= 16)) || fail "$B $fs: $extra chunks dirty besides the written ones (metadata should be a few)"
        note "$B $fs: written chunks dirty, $extra metadata chunks besides"
    done

    # ---- fstrim: a deleted file's extents are discarded by the filesystem, and dirty. A session
    # without the trim first: the delete alone writes none of them (so the trim is what marks).
    new_loop trim-$B 64M
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$L"
    mount_at "$L" "$D/mnt-trim-$B"
    F=$D/mnt-trim-$B/big
    dd if=/dev/urandom of="$F" bs=1M count=8 conv=fsync status=none
    sync
    extents_of "$F" >"$D/trim-$B.extents"
    [[ -s $D/trim-$B.extents ]] || fail "fstrim: no extents from filefrag for $F"
    fstrim "$D/mnt-trim-$B"            # what was free before: trimmed now, not by the traced run
    while read -r off len; do chunks "$off" "$len"; done <"$D/trim-$B.extents" | sort -u >"$D/trim-$B.want"
    track_start rm-$B "$L" --backend $B
    rm "$F"
    sync
    track_stop rm-$B
    dirty_list rm-$B >"$D/rm-$B.got"
    n=$(comm -12 "$D/trim-$B.want" "$D/rm-$B.got" | wc -l)
    ((n <= 4)) || fail "$B fstrim: the delete alone dirtied $n chunks of the file's extents"
    track_start trim-$B "$L" --backend $B
    fstrim -v "$D/mnt-trim-$B" >"$D/trim-$B.out"
    track_stop trim-$B
    dirty_list trim-$B >"$D/trim-$B.got"
    missing=$(comm -23 "$D/trim-$B.want" "$D/trim-$B.got")
    [[ -z $missing ]] || fail "$B fstrim: freed chunks not dirty: $(echo $missing) ($(cat "$D/trim-$B.out"))"
    note "$B fstrim: $(wc -l <"$D/trim-$B.want") freed chunks dirty ($(cat "$D/trim-$B.out"))"

    # ---- a partition: traced on its disk, at partition offset + write offset
    new_loop part-$B 64M
    # sfdisk's "re-reading the partition table failed": this kernel does not parse them (partx does)
    echo 'start=2048, size=65536, type=83' | sfdisk -q "$L" >/dev/null 2>"$D/sfdisk.err" ||
        fail "sfdisk: $(cat "$D/sfdisk.err")"
    # A loop device detached with partitions added by partx keeps them: drop stale ones first.
    partx -d "$L" 2>/dev/null || true
    partx -a "$L"
    P=${L}p1
    [[ -b $P && $(cat /sys/class/block/${P#/dev/}/start) == 2048 ]] || fail "no partition $P at sector 2048"
    track_start part-$B "$P" --backend $B
    wdirect "$P" $((3 * MiB)) 4096
    track_stop part-$B
    assert_json "$D/part-$B.json" ".disk == \"$L\"" "a partition is traced on its whole disk"
    [[ $(dirty_list part-$B) == "$(chunks $((1 * MiB + 3 * MiB)) 4096)" ]] ||
        { cat "$D/part-$B.json" "$D/part-$B.err" >&2; fail "$B partition: dirty $(dirty_list part-$B | tr "\n" " "), expected chunk at disk offset 4 MiB"; }

    # ---- forced drops: tiny buffers, the reader stalled (SIGSTOP) through a write burst
    new_loop drops-$B 64M
    track_start drops-$B "$L" --backend $B --buf-size 4096 --buf-nr 1
    kill -STOP "${PID[drops-$B]}"
    dd if=/dev/zero of="$L" bs=4k count=3000 oflag=direct status=none
    kill -CONT "${PID[drops-$B]}"
    sleep 0.3
    wdirect "$L" 0 4096
    track_stop drops-$B
    assert_json "$D/drops-$B.json" '.dropped > 0' "$B: no drops detected after a burst into tiny buffers"
    assert_json "$D/drops-$B.json" '.verify == true and (.gaps | index("dropped") != null)' "drops set verify"

    # ---- perf: a sample the kernel loses without counting it (seen on Linux 6.18) is found by the
    # block layer's sector count; the hook loses every 3rd write on purpose, `dropped` stays 0
    if [[ $B == perf ]]; then
        new_loop lose-$B 64M
        MOBILITY_TRACKER_TEST_LOSE_NTH=3 track_start lose-$B "$L" --backend $B --clear-verify
        for ((k = 0; k < 6; k++)); do wdirect "$L" $((k * MiB)) 4096; done
        track_stop lose-$B
        assert_json "$D/lose-$B.json" '.dropped == 0' "lose: the kernel counted drops (the hook should be silent)"
        assert_json "$D/lose-$B.json" '.verify == true and (.gaps | index("dropped") != null)' \
            "perf: samples lost without a trace went unnoticed"
        new_loop keep-$B 64M
        track_start keep-$B "$L" --backend $B --clear-verify
        for ((k = 0; k < 6; k++)); do wdirect "$L" $((k * MiB)) 4096; done
        track_stop keep-$B
        assert_json "$D/keep-$B.json" '.verify == false and .gaps == []' "perf: the sector count declared a gap without a loss"
    fi

    # ---- kill -9, restart without the marker; then clean stops reload the bitmap
    new_loop restart-$B 64M
    S=$D/state-$B
    track_start r1-$B "$L" --backend $B --state-dir "$S" --clear-verify
    wdirect "$L" $((2 * MiB)) 4096
    sleep 0.3
    kill -9 "${PID[r1-$B]}"
    wait "${PID[r1-$B]}" 2>/dev/null || true
    [[ ! -e $S/tracker-${L#/dev/}.clean ]] || fail "a marker exists while tracking"
    track_start r2-$B "$L" --backend $B --state-dir "$S"      # reclaims a stale blktrace session
    track_stop r2-$B
    assert_json "$D/r2-$B.json" '.verify == true and (.gaps | index("no-marker") != null)' "kill -9: restart must verify"

    track_start r3-$B "$L" --backend $B --state-dir "$S" --clear-verify
    wdirect "$L" $((6 * MiB)) 4096
    track_stop r3-$B
    [[ -e $S/tracker-${L#/dev/}.clean ]] || fail "no clean-shutdown marker after a clean stop"
    track_start r4-$B "$L" --backend $B --state-dir "$S"
    track_stop r4-$B
    assert_json "$D/r4-$B.json" '.verify == false and .gaps == []' "clean stop + restart: no verify"
    dirty_list r4-$B | grep -qx $((6 * MiB / CS)) || fail "the saved bitmap was not reloaded"

    wdirect "$L" $((9 * MiB)) 4096    # nobody is tracking now
    track_start r5-$B "$L" --backend $B --state-dir "$S"
    track_stop r5-$B
    assert_json "$D/r5-$B.json" '.verify == true and (.gaps | index("untracked-io") != null)' \
        "a write between two trackers must be caught"
done

# ---- a session left by a tracker killed with -9 (blktrace sessions outlive their process): a
# stand-in sets one up like ours would (BLKTRACESETUP + START, owner file), is killed; the next start
# must reclaim it (owner dead, nobody reading it), and leave nothing behind.
new_loop stale 64M
N=${L#/dev/}
S=$D/state-stale
mkdir -p "$S"
python3 - "$L" "$S/tracker-$N.owner" <<'PY' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
setup = struct.pack("=32sH2xII4xQQI4x", b"", 1 << 7, 65536, 2, 0, 0, 0)   # struct blk_user_trace_setup
fcntl.ioctl(fd, 0xC0481273, bytearray(setup))                            # BLKTRACESETUP
fcntl.ioctl(fd, 0x1274)                                                  # BLKTRACESTART
boot = open("/proc/sys/kernel/random/boot_id").read().strip()
open(sys.argv[2], "w").write("%d %s blktrace\n" % (os.getpid(), boot))
time.sleep(600)
PY
STALE=$!
on_exit "kill -9 $STALE; blktrace -k -d '$L'"
for ((i = 0; i < 50; i++)); do [[ -s $S/tracker-$N.owner ]] && break; sleep 0.1; done
[[ $(cat /sys/block/$N/trace/enable) == 1 ]] || fail "the stand-in did not set up a trace"
kill -9 $STALE
wait $STALE 2>/dev/null || true
[[ $(cat /sys/block/$N/trace/enable) == 1 ]] || fail "a killed tracer's session should outlive it"
track_start stale "$L" --state-dir "$S"
track_stop stale
assert_json "$D/stale.json" '.verify == true and (.gaps | index("no-marker") != null)' "reclaimed: must verify"
[[ $(cat /sys/block/$N/trace/enable) == 0 ]] || fail "a trace is left on $L after the tracker stopped"

# ---- busy: someone else traces the disk -> exit 4, a clear message
new_loop busy 64M
N=${L#/dev/}
if [[ ${backends[0]} == blktrace ]] && command -v blktrace >/dev/null; then
    blktrace -d "$L" -o - >/dev/null 2>"$D/blktrace.err" &
    BT=$!
    on_exit "kill -INT $BT; sleep 0.5; blktrace -k -d '$L'"
    sleep 1
    kill -0 $BT || fail "blktrace did not start: $(cat "$D/blktrace.err")"
else
    # blktrace itself cannot run under lockdown; the ftrace blk tracer holds the disk the same way
    echo 1 >/sys/block/$N/trace/enable
    on_exit "echo 0 > /sys/block/$N/trace/enable"
fi
rc=0
"$A" track --disk "$L" --seconds 1 >/dev/null 2>"$D/busy.err" || rc=$?
[[ $rc == 4 ]] || fail "busy disk: exit $rc, expected 4: $(cat "$D/busy.err")"
grep -q "$L: busy" "$D/busy.err" || fail "busy disk: unclear message: $(cat "$D/busy.err")"
note "busy: $(cat "$D/busy.err")"
exit 0
