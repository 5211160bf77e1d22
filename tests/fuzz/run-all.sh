#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every libFuzzer target of a fuzz build, each for its own budget:
#   tests/fuzz/run-all.sh BUILD_DIR [SECONDS]
# The budgets below are for SECONDS=60 (the default, what CI runs): fuzz-initramfs gets the full 60 s
# (the initramfs reader parses untrusted images of every format), the others 20 s each, about 2 minutes
# in all. Another SECONDS scales every budget by SECONDS/60 (at least 1 s each), e.g. 6 for a quick run.
# Each target BUILD_DIR/tests/fuzz-NAME starts from the committed seeds in tests/fuzz/corpus/NAME/
# (copied to a scratch corpus, so new inputs never land in the tree). Crashes are kept under
# BUILD_DIR/fuzz-artifacts/NAME/ and fail the run.
set -euo pipefail

declare -A budget=([initramfs]=60 [netcfg]=20 [repos]=20 [udev-rules]=20)
default_budget=20 # a fuzzer not in the table yet

build=${1:?usage: run-all.sh BUILD_DIR [SECONDS]}
scale=${2:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
[[ $scale =~ ^[0-9]+$ ]] && ((scale > 0)) || { echo "run-all.sh: SECONDS must be a positive integer" >&2; exit 3; }

mapfile -t fuzzers < <(find "$build/tests" -maxdepth 1 -type f -name 'fuzz-*' -perm -u+x | sort)
if ((${#fuzzers[@]} == 0)); then
    echo "run-all.sh: no fuzz-* binaries in $build/tests (configure with -DMOBILITY_FUZZ=ON)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/mobility-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=()
total=0
for bin in "${fuzzers[@]}"; do
    name=${bin##*/fuzz-}
    [[ -n ${budget[$name]:-} ]] || echo "run-all.sh: fuzz-$name has no budget in run-all.sh, giving it ${default_budget}s" >&2
    secs=$((${budget[$name]:-$default_budget} * scale / 60))
    ((secs > 0)) || secs=1
    total=$((total + secs))
    corpus=$work/$name
    artifacts=$build/fuzz-artifacts/$name
    mkdir -p "$corpus" "$artifacts"
    [[ -d $src/tests/fuzz/corpus/$name ]] && cp -r "$src/tests/fuzz/corpus/$name/." "$corpus/"
    echo "run-all.sh: fuzz-$name for ${secs}s" >&2
    if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
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
echo "run-all.sh: ${#fuzzers[@]} fuzzer(s), ${total}s in all, no crash" >&2
