#!/bin/bash
# Build the DEB and RPM packages from this source tree into OUTDIR (used by the packaging test and
# by release builds). The tree is copied first (git's files, committed or not), so the work tree is
# never touched by the package build.
#   tests/lib/build-packages.sh OUTDIR [deb|rpm|all]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
what=${2:-all}
version=$(sed -n 's/^project(mobility-agent VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
work=$(mktemp -d /tmp/mobility-pkg.XXXXXX)
trap 'rm -rf "$work"' EXIT

tree=$work/mobility-agent-$version
mkdir -p "$tree"
(cd "$src" && { git ls-files -co --exclude-standard 2>/dev/null || find . -type f -not -path './build*' -not -path './.git/*'; } |
    while read -r f; do [[ -e $f ]] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -C "$tree" -xf -

if [[ $what == deb || $what == all ]]; then
    (cd "$tree" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$out/dpkg-buildpackage.log" 2>&1 ||
        { tail -40 "$out/dpkg-buildpackage.log" >&2; echo "build-packages: dpkg-buildpackage failed" >&2; exit 1; }
    mv "$work"/*.deb "$out/"
fi
if [[ $what == rpm || $what == all ]]; then
    mkdir -p "$work/rpmbuild/SOURCES"
    tar -C "$work" -czf "$work/rpmbuild/SOURCES/mobility-agent-$version.tar.gz" "mobility-agent-$version"
    # --nodeps: this Debian machine has no rpm database of the build dependencies it does have.
    rpmbuild -bb --nodeps --define "_topdir $work/rpmbuild" --define "_smp_mflags -j$(nproc)" \
        "$tree/rpm/mobility-agent.spec" >"$out/rpmbuild.log" 2>&1 ||
        { tail -40 "$out/rpmbuild.log" >&2; echo "build-packages: rpmbuild failed" >&2; exit 1; }
    find "$work/rpmbuild/RPMS" -name '*.rpm' -exec mv {} "$out/" \;
fi
ls "$out"/*.deb "$out"/*.rpm 2>/dev/null || true
