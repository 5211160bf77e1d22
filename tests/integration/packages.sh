#!/bin/bash
# The DEB and RPM packages: both build, lintian finds no error, the .deb installs into a real Debian
# root (debootstrap, chroot) where prepcheck runs and the unit verifies; an upgrade keeps config and
# state, removal thaws what the agent froze, purge removes state.
source "$SOURCE_DIR/tests/lib/common.sh"
need_root
need_cmd dpkg-buildpackage rpmbuild lintian chroot debootstrap
S=$(scratch)
if [[ -n ${PACKAGES_DIR:-} ]]; then   # developers: reuse packages built by tests/lib/build-packages.sh
    cp -r "$PACKAGES_DIR" "$S/pkgs"
else
    note "building the packages (a full build each)"
    bash "$SOURCE_DIR/tests/lib/build-packages.sh" "$S/pkgs" all >/dev/null
    mkdir -p "$BUILD_DIR/packages" && cp "$S"/pkgs/*.deb "$S"/pkgs/*.rpm "$BUILD_DIR/packages/"   # for push-install.sh
fi
deb=$(ls "$S"/pkgs/mobility-agent_*.deb)
rdeb=$(ls "$S"/pkgs/mobility-receiver_*.deb)
rpm=$(ls "$S"/pkgs/mobility-agent-[0-9]*.rpm)

lintian --fail-on error "$deb" "$rdeb" >"$S/lintian.txt" 2>&1 || { cat "$S/lintian.txt" >&2; fail "lintian reports errors"; }
dpkg-deb -c "$deb" | awk '{print $6}' >"$S/deb.list"
rpm -qlp "$rpm" >"$S/rpm.list" 2>/dev/null
for f in /usr/sbin/prepcheck /usr/sbin/mobility-agent /usr/lib/systemd/system/mobility-agent.service \
         /usr/share/man/man8/prepcheck.8 /etc/mobility-agent/freeze.d; do
    grep -Eqx "\.$f(\.gz)?/?" "$S/deb.list" || fail "$f missing from $(basename "$deb")"
    grep -Eqx "$f(\.gz)?" "$S/rpm.list" || fail "$f missing from $(basename "$rpm")"
done
dpkg-deb -c "$rdeb" >"$S/rdeb.list"
grep -q ' ./usr/sbin/mobility-receiver$' "$S/rdeb.list" || fail "receiver package lacks its program"
dpkg-deb -I "$deb" >"$S/deb.info"
grep -q 'Depends:.*libcurl' "$S/deb.info" || fail "runtime dependencies are not declared"
rpm -qRp "$rpm" >"$S/rpm.req" 2>/dev/null
grep -q libcurl "$S/rpm.req" || fail "rpm runtime dependencies are not declared"

# Install into a copy of the cached Debian root.
R=$S/root
cp -a "$(debian_root)" "$R"
for d in proc sys dev; do
    mount --bind "/$d" "$R/$d"
    on_exit "umount -l '$R/$d'"
done
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
mkdir -p /var/cache/mobility-agent-tests/apt-archives/partial
mount --bind /var/cache/mobility-agent-tests/apt-archives "$R/var/cache/apt/archives"
on_exit "umount -l '$R/var/cache/apt/archives'"
cp "$deb" "$R/tmp/agent.deb"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -qq >"$S/apt.log" 2>&1 || { tail "$S/apt.log" >&2; fail "apt-get update in the root failed"; }
in_root apt-get install -y -qq --no-install-recommends /tmp/agent.deb >>"$S/apt.log" 2>&1 ||
    { tail -30 "$S/apt.log" >&2; fail "the .deb does not install with its dependencies"; }
in_root prepcheck --version | grep -q "0\." || fail "prepcheck --version does not run in the root"
in_root mobility-agent --version >/dev/null || fail "mobility-agent does not run in the root"
in_root systemd-analyze verify --man=no /usr/lib/systemd/system/mobility-agent.service >"$S/verify.txt" 2>&1 ||
    { cat "$S/verify.txt" >&2; fail "systemd-analyze verify failed"; }
grep -q . "$S/verify.txt" && { cat "$S/verify.txt" >&2; fail "systemd-analyze verify warns"; }
wants=$R/etc/systemd/system/multi-user.target.wants/mobility-agent.service
[[ -e $wants ]] && fail "the service was enabled without a configuration"
in_root prepcheck --root / --no-network --format json >"$S/report.json" || [[ $? -le 2 ]] || fail "prepcheck in the root failed"
jq -e '.schema == "prepcheck/1"' "$S/report.json" >/dev/null || fail "no report in the root"

# As if systemd ran (postinst looks for /run/systemd/system): still not enabled without a configuration.
mkdir -p "$R/run/systemd/system"
in_root dpkg -i /tmp/agent.deb >>"$S/apt.log" 2>&1 || fail "reinstall failed"
[[ -e $wants ]] && fail "the service was enabled without a configuration (systemd present)"

# A real upgrade (the same package rebuilt as a newer version) keeps configuration and state, and
# enables the service now that it is configured.
printf 'agent:\n  id: test\n' >"$R/etc/mobility-agent/agent.yaml"
mkdir -p "$R/var/lib/mobility-agent" && echo keep >"$R/var/lib/mobility-agent/state"
dpkg-deb -R "$deb" "$S/repack"
sed -i 's/^Version: .*/&+1/' "$S/repack/DEBIAN/control"
dpkg-deb -b "$S/repack" "$R/tmp/agent-new.deb" >/dev/null
in_root dpkg -i /tmp/agent-new.deb >>"$S/apt.log" 2>&1 || fail "upgrade failed"
in_root dpkg-query -W -f='${Version}' mobility-agent | grep -q '+1$' || fail "the upgrade did not take place"
grep -q 'id: test' "$R/etc/mobility-agent/agent.yaml" || fail "the upgrade changed the configuration"
[[ $(cat "$R/var/lib/mobility-agent/state") == keep ]] || fail "the upgrade changed the state"
[[ -L $wants ]] || fail "a configured service was not enabled by the upgrade"
rm -rf "$R/run/systemd"

# Removal thaws what the agent froze (a loop filesystem frozen from inside the root).
truncate -s 64M "$S/fs.img"
mkfs.ext4 -q "$S/fs.img"
loopdev=$(attach_loop "$S/fs.img")
mount_at "$loopdev" "$R/mnt"
on_exit "fsfreeze -u '$R/mnt'"
in_root mobility-agent freeze --mount /mnt --timeout 300 >"$S/freeze.txt" 2>&1 || { cat "$S/freeze.txt" >&2; fail "freeze in the root failed"; }
is_frozen "$R/mnt" || fail "/mnt is not frozen"
in_root dpkg -r mobility-agent >>"$S/apt.log" 2>&1 || fail "removal failed"
is_frozen "$R/mnt" && fail "removal left the filesystem frozen"
[[ -e $R/usr/sbin/prepcheck ]] && fail "removal left the program"
[[ -f $R/etc/mobility-agent/agent.yaml ]] || fail "removal (not purge) must keep the configuration"
in_root dpkg -P mobility-agent >>"$S/apt.log" 2>&1 || fail "purge failed"
[[ -e $R/var/lib/mobility-agent ]] && fail "purge left /var/lib/mobility-agent"
[[ -e $R/etc/mobility-agent/agent.yaml ]] && fail "purge left the configuration"
note "ok"
