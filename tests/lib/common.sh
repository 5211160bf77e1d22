# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by every integration test: failure reporting, a cleanup stack run on any exit (mounts,
# loop devices and freezes are undone even when an assertion fails), and disk-image helpers.
set -euo pipefail

: "${BUILD_DIR:?BUILD_DIR must point at the cmake build directory}"
: "${SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PREPCHECK=$BUILD_DIR/checks/prepcheck
MOBILITY_AGENT=$BUILD_DIR/agent/mobility-agent
MOBILITY_RECEIVER=$BUILD_DIR/agent/mobility-receiver
TEST_NAME=$(basename "$0" .sh)

# The cleanup stack lives in a file, not in a variable: helpers called as $(attach_loop ...) or
# $(scratch) run in a subshell, and what they register must still be undone by the test's own shell.
_cleanup_file=$(mktemp /tmp/mobility-cleanup.XXXXXX)
on_exit() { printf '%s\n' "$*" >>"$_cleanup_file"; }
_run_cleanups() {
    local rc=$? c
    set +e
    while IFS= read -r c; do
        eval "$c" >/dev/null 2>&1
    done < <(tac "$_cleanup_file")
    rm -f "$_cleanup_file"
    exit "$rc"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
skip() { echo "SKIP [$TEST_NAME]: $* -- this capability is required in CI" >&2; exit 77; }
note() { echo "[$TEST_NAME] $*" >&2; }

need_root() { [[ $(id -u) == 0 ]] || skip "needs root (loop devices, mounts)"; }
need_cmd() { local c; for c; do command -v "$c" >/dev/null || skip "needs '$c' (see packaging/install-build-deps)"; done; }

# A scratch directory removed at exit (after everything mounted in it is unmounted).
scratch() {
    local d
    d=$(mktemp -d "/tmp/mobility-$TEST_NAME.XXXXXX")
    on_exit "rm -rf '$d'"
    echo "$d"
}

# attach_loop IMAGE -> prints /dev/loopN; partitions appear as /dev/loopNpM (partx: this kernel
# does not scan partition tables itself). Detached at exit.
attach_loop() {
    local dev
    dev=$(losetup -f --show "$1")
    on_exit "losetup -d '$dev'"
    # Partitions partx added outlive the detach and would greet the next user of this number.
    partx -d "$dev" 2>/dev/null || true
    on_exit "partx -d '$dev'"
    partx -a "$dev" 2>/dev/null || true
    echo "$dev"
}

# mount_at DEV DIR [mount options...]; unmounted (lazily if busy) at exit.
mount_at() {
    local dev=$1 dir=$2
    shift 2
    mkdir -p "$dir"
    mount "$@" "$dev" "$dir"
    on_exit "umount '$dir' || umount -l '$dir'"
}

# jq assertion: assert_json FILE FILTER [message]; FILTER must yield true.
assert_json() {
    local file=$1 filter=$2 msg=${3:-$2}
    jq -e "$filter" "$file" >/dev/null || { echo "--- $file:" >&2; jq -c '.results[]? | {id,status,detail}' "$file" >&2 || cat "$file" >&2; fail "$msg"; }
}
status_of() { jq -r --arg id "$2" '.results[] | select(.id == $id) | .status' "$1"; }
assert_status() {
    local file=$1 id=$2 want=$3 got
    got=$(status_of "$file" "$id")
    [[ $got =~ ^($want)$ ]] || { jq --arg id "$id" '.results[] | select(.id == $id)' "$file" >&2; fail "$id: status '$got', expected '$want'"; }
}

# The cached debootstrap'd Debian root (read-only: copy it before changing anything).
debian_root() { bash "$SOURCE_DIR/tests/lib/debootstrap-root.sh"; }

# debian_root_copy DIR LABEL: a writable copy of the cached Debian root at DIR/root, on its own 2 GiB
# ext4 loop filesystem labelled LABEL (unmounted and detached at exit). Not for $(...): it registers
# cleanups.
debian_root_copy() {
    local src dev
    src=$(debian_root)
    truncate -s 2G "$1/root.img"
    mkfs.ext4 -q -L "$2" "$1/root.img"
    dev=$(attach_loop "$1/root.img")
    mount_at "$dev" "$1/root"
    cp -a "$src/." "$1/root/"
}

# is_frozen MOUNTPOINT: true when the filesystem is frozen now. Never blocks (a write would hang
# until the thaw): FIFREEZE on a frozen filesystem fails with EBUSY at once.
is_frozen() {
    if fsfreeze -f "$1" 2>/dev/null; then
        fsfreeze -u "$1"
        return 1
    fi
    return 0
}
