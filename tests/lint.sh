#!/bin/bash
# cppcheck over every C file of the project; any finding fails (ctest: lint/cppcheck).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
command -v cppcheck >/dev/null || { echo "SKIP: cppcheck not installed (apt-get install cppcheck)" >&2; exit 77; }
mapfile -t files < <(git ls-files '*.c' 2>/dev/null || find . -name '*.c' -not -path './build*')
((${#files[@]})) || mapfile -t files < <(find . -name '*.c' -not -path './build*')
incs=()
for d in $(find agent checks morph -type d); do incs+=(-I "$d"); done
cppcheck --enable=warning,performance,portability --inline-suppr --quiet --error-exitcode=1 --std=c11 \
    -D_GNU_SOURCE -D__linux__ --library="$src/tests/cppcheck/mobility.cfg" \
    --suppress=missingIncludeSystem --suppress=unmatchedSuppression \
    "${incs[@]}" "${files[@]}"
echo "cppcheck: ${#files[@]} files, no findings"
