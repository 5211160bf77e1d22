# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Sourced by tests/integration/quiesce-*.sh and tests/bench/quiesce.sh after common.sh.
# Filesystems are made on loop devices from images in the test's own scratch directory; every one
# is thawed (fsfreeze -u, errors ignored) before it is unmounted, and any watchdog is stopped first.
# NEVER pass freeze anything but these mounts (--mount): freezing / or /tmp hangs the machine.

need_root
need_cmd losetup mkfs.ext4 mkfs.xfs fsfreeze jq

# The scratch directory; its own cleanup (common.sh's scratch() registers in a subshell).
q_scratch() {
    Q=$(mktemp -d "/tmp/mobility-$TEST_NAME.XXXXXX")
    on_exit "rm -rf '$Q'"
    QSTATE=$Q/state
    export MOBILITY_QUIESCE_STATE_DIR=$QSTATE
}

# Call once all mounts are made: cleanups run last-in first-out, and the watchdog (which holds
# fds on the mount points and may hold them frozen) must be gone before they are unmounted.
q_watch_cleanup() { on_exit "q_stop_watchdog"; }

# q_mkfs TYPE IMAGE MOUNTPOINT [SIZE_MB]: a fresh filesystem, mounted; undone at exit.
q_mkfs() {
    local type=$1 img=$2 dir=$3 size=${4:-} dev
    [[ -n $size ]] || { [[ $type == xfs ]] && size=300 || size=32; }
    truncate -s "${size}M" "$img"
    case $type in
    ext4) mkfs.ext4 -q -F "$img" ;;
    xfs) mkfs.xfs -q -f "$img" ;;
    *) fail "q_mkfs: unknown type $type" ;;
    esac
    dev=$(losetup -f --show "$img")
    on_exit "losetup -d '$dev'"
    mkdir -p "$dir"
    mount "$dev" "$dir"
    on_exit "umount '$dir' || umount -l '$dir'"
    on_exit "fsfreeze -u '$dir'"
}

q_tmpfs() {
    mkdir -p "$1"
    mount -t tmpfs -o size=8m none "$1"
    on_exit "umount '$1' || umount -l '$1'"
}

q_bind() {
    mkdir -p "$2"
    mount --bind "$1" "$2"
    on_exit "umount '$2' || umount -l '$2'"
}

# q_alive PID: running (a zombie is not: orphans are reaped lazily by this machine's pid 1).
q_alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

# The watchdog of the state directory, if it is alive (checked by name: pids get reused).
q_watchdog_pid() {
    local pid
    pid=$(awk '$1 == "watchdog" { print $2 }' "$QSTATE/freeze.state" 2>/dev/null) || return 1
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == mobility-freeze* ]] && q_alive "$pid" || return 1
    echo "$pid"
}

q_stop_watchdog() {
    local pid
    pid=$(q_watchdog_pid) || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do q_alive "$pid" || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    return 0
}

# q_writer FILE: start a write into FILE in the background; prints its pid.
q_writer() {
    ( echo "written after thaw" >"$1" ) >/dev/null 2>&1 &
    echo $!
}

# q_blocked PID: the writer is still stuck (give it a moment first).
q_blocked() {
    sleep 0.3
    q_alive "$1"
}

# q_wait_writer PID SECONDS: wait until the writer finished; fails after SECONDS.
q_wait_writer() {
    local pid=$1 t=$2 i
    for ((i = 0; i < t * 20; i++)); do
        q_alive "$pid" || return 0
        sleep 0.05
    done
    return 1
}

q_now() { date +%s.%N; }
q_elapsed() { awk -v a="$1" -v b="$(q_now)" 'BEGIN { printf "%.2f", b - a }'; }
q_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# q_lock_holders: every process with the state directory's lock file open (for a failure message:
# "already in progress" then names who really holds it, not only the pid in the state file).
q_lock_holders() {
    local fd t
    for fd in /proc/[0-9]*/fd/*; do
        t=$(readlink "$fd" 2>/dev/null) || continue
        [[ $t == "$QSTATE/freeze.lock" ]] || continue
        fd=${fd#/proc/}
        echo "pid ${fd%%/*} ($(cat "/proc/${fd%%/*}/cmdline" 2>/dev/null | tr '\0' ' ')) fd ${fd##*/}"
    done
}
