# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers shared by the replication benchmarks (sourced after tests/lib/common.sh).
now() { date +%s.%N; }
# elapsed T0 T1: seconds between two now() readings, 3 decimals
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1048576 }'; }
# random_image FILE BYTES: incompressible data, fast (AES-CTR keystream)
random_image() {
    { openssl enc -aes-128-ctr -pass pass:bench -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } | head -c "$2" >"$1"
}
