#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every libFuzzer target of a fuzz build for a total of SECONDS, shared evenly between them:
#   tests/fuzz/run-all.sh BUILD_DIR SECONDS
# Each target BUILD_DIR/tests/fuzz-NAME starts from the committed seeds in tests/fuzz/corpus/NAME/
# (copied to a scratch corpus, so new inputs never land in the tree). Crashes are kept under
# BUILD_DIR/fuzz-artifacts/NAME/ and fail the run.
set -euo pipefail

build=${1:?usage: run-all.sh BUILD_DIR SECONDS}
total=${2:?usage: run-all.sh BUILD_DIR SECONDS}
src=$(cd "$(dirname "$0")/../.." && pwd)
[[ $total =~ ^[0-9]+$ ]] && ((total > 0)) || { echo "run-all.sh: SECONDS must be a positive integer" >&2; exit 3; }

mapfile -t fuzzers < <(find "$build/tests" -maxdepth 1 -type f -name 'fuzz-*' -perm -u+x | sort)
if ((${#fuzzers[@]} == 0)); then
    echo "run-all.sh: no fuzz-* binaries in $build/tests (configure with -DMOBILITY_FUZZ=ON)" >&2
    exit 1
fi
each=$((total / ${#fuzzers[@]}))
((each > 0)) || each=1

work=$(mktemp -d /tmp/mobility-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=()
for bin in "${fuzzers[@]}"; do
    name=${bin##*/fuzz-}
    corpus=$work/$name
    artifacts=$build/fuzz-artifacts/$name
    mkdir -p "$corpus" "$artifacts"
    [[ -d $src/tests/fuzz/corpus/$name ]] && cp -r "$src/tests/fuzz/corpus/$name/." "$corpus/"
    echo "run-all.sh: fuzz-$name for ${each}s" >&2
    if ! "$bin" -max_total_time="$each" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
            -artifact_prefix="$artifacts/" "$corpus" >"$work/$name.log" 2>&1; then
        tail -n 40 "$work/$name.log" >&2
        failed+=("$name")
    else
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$work/$name.log" | sed "s/^/  fuzz-$name /" >&2 || true
    fi
done
if ((${#failed[@]})); then
    echo "run-all.sh: FAILED: ${failed[*]} (inputs under $build/fuzz-artifacts/)" >&2
    exit 1
fi
echo "run-all.sh: ${#fuzzers[@]} fuzzer(s), ${each}s each, no crash" >&2
