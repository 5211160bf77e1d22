#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The network, repository and guest-agent checks on the cached debootstrap'd Debian root (a real
# bookworm tree: ifupdown with `source interfaces.d/*`, dpkg status, systemd units), first as
# installed, then with defects planted the way real fleets carry them. The cached root is never
# written: an overlay (upper layer in scratch) takes the changes.
source "$SOURCE_DIR/tests/lib/common.sh"
need_root
need_cmd jq

BASE=$(debian_root) || skip "the cached Debian root could not be built (debootstrap, mirror)"
S=$(scratch)
on_exit "rm -rf '$S'" # scratch() runs in a $(...) subshell: its own on_exit is lost there
R=$S/root
mkdir -p "$S/upper" "$S/work" "$R"
if mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$S/upper,workdir=$S/work" "$R" 2>/dev/null; then
    on_exit "umount '$R' || umount -l '$R'"
else
    note "overlayfs unavailable: copying the root"
    rmdir "$R"
    cp -a "$BASE" "$R"
fi
MINE=os.subscription,udev.net-rules,udev.block-rules,network.dhcp,repos.local-sources,guest-agent.present
check() { # check OUT TARGET [extra args]
    local out=$1 target=$2 rc=0
    shift 2
    "$PREPCHECK" --root "$R" --target "$target" --format json --output "$out" --no-network --only "$MINE" "$@" || rc=$?
    [[ $rc -le 2 ]] || fail "prepcheck exit status $rc"
}
ev() { jq -c --arg id "$2" '.results[] | select(.id == $id) | .evidence[]' "$1"; }

# --- 1. as debootstrap left it
check "$S/pristine.json" azure
for id in udev.net-rules udev.block-rules repos.local-sources os.subscription; do
    assert_status "$S/pristine.json" "$id" pass
done
assert_status "$S/pristine.json" network.dhcp warn # only lo, via `source interfaces.d/*`
assert_json "$S/pristine.json" '.results[] | select(.id == "network.dhcp") | .detail | test("No interface configuration")'
assert_status "$S/pristine.json" guest-agent.present warn
assert_json "$S/pristine.json" '.results[] | select(.id == "guest-agent.present") | .remediation.commands[0] == "apt-get install -y walinuxagent"'

# --- 2. planted defects
cat >"$R/etc/udev/rules.d/70-persistent-net.rules" <<'RULES'
# written by the old persistent-net generator
SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", \
  ATTR{address}=="00:50:56:8a:01:02", ATTR{type}=="1", KERNEL=="eth*", NAME="eth0"
RULES
cat >"$R/etc/udev/rules.d/60-app-disk.rules" <<'RULES'
SUBSYSTEM=="block", ENV{DEVTYPE}=="disk", ENV{ID_SERIAL}=="36000c2912345678", SYMLINK+="appdisk", OWNER="app"
RULES
printf 'UUID=0a1b2c3d-0000-4000-8000-000000000001 / ext4 errors=remount-ro 0 1\n/dev/appdisk /srv ext4 defaults 0 2\n' >"$R/etc/fstab"
cat >"$R/etc/network/interfaces.d/eth0" <<'IF'
allow-hotplug eth0
iface eth0 inet dhcp
    hwaddress ether 00:50:56:8a:01:02
IF
printf 'deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD Binary-1]/ bookworm main\n' >>"$R/etc/apt/sources.list"
mkdir -p "$R/etc/netplan"
printf 'network:\n  ethernets:\n    eth1: {dhcp4: true\n' >"$R/etc/netplan/01-broken.yaml"
printf 'deb https://esm.ubuntu.com/infra/ubuntu jammy-infra-security main\n' >"$R/etc/apt/sources.list.d/ubuntu-esm-infra.list"
mkdir -p "$R/lib/modules/6.1.0-1009-aws/kernel" # a cloud-specific kernel flavour

check "$S/defects.json" azure
assert_status "$S/defects.json" udev.net-rules fail
ev "$S/defects.json" udev.net-rules | jq -se 'any(.path == "/etc/udev/rules.d/70-persistent-net.rules" and .line == 2
    and .line_end == 3 and .rule == "net-mac")' >/dev/null || fail "MAC rule evidence: $(ev "$S/defects.json" udev.net-rules)"
ev "$S/defects.json" udev.net-rules | jq -se 'any(.path == "/etc/network/interfaces.d/eth0" and .line == 3 and
    .dialect == "interfaces" and .kind == "mac-match")' >/dev/null || fail "hwaddress evidence missing"
# --fix comments out udev rules only: the ifupdown hwaddress binding stays, so not fixable, and its
# exact manual command is given; once the admin ran it, only the udev rule is left: fixable.
assert_json "$S/defects.json" '.results[] | select(.id == "udev.net-rules") | .remediation.fixable == false'
nr_cmds() { jq -r '.results[] | select(.id == "udev.net-rules") | .remediation.commands[]' "$1"; }
nr_cmds "$S/defects.json" | grep -qxF "sed -i '3s/^/# /' /etc/network/interfaces.d/eth0" ||
    fail "no exact command for the hwaddress line: $(nr_cmds "$S/defects.json")"
nr_cmds "$S/defects.json" | grep -qxF "sed -i '2,3s/^/# /' /etc/udev/rules.d/70-persistent-net.rules" ||
    fail "no command for the udev rule: $(nr_cmds "$S/defects.json")"
cp -a "$R/etc/network/interfaces.d/eth0" "$S/eth0.saved"
(cd "$R" && sed -i '3s/^/# /' etc/network/interfaces.d/eth0)
check "$S/udev-only.json" azure
assert_status "$S/udev-only.json" udev.net-rules fail
assert_json "$S/udev-only.json" '.results[] | select(.id == "udev.net-rules") | .remediation.fixable == true' \
    "only a udev MAC rule is left: --fix handles it"
assert_json "$S/udev-only.json" '[.results[] | select(.id == "udev.net-rules") | .evidence[] | select(.kind == "mac-match")] | length == 0'
# A NetworkManager profile as NetworkManager names it (spaces, here a quote too): the command is
# still one shell word per file, and running it removes the binding.
nm_file="$R/etc/NetworkManager/system-connections/Wired connection 1 (Bob's).nmconnection"
mkdir -p "$R/etc/NetworkManager/system-connections"
printf '[connection]\nid=Wired connection 1\ntype=ethernet\ninterface-name=eth0\n[ethernet]\nmac-address=00:50:56:8A:01:02\n[ipv4]\nmethod=auto\n' >"$nm_file"
chmod 600 "$nm_file"
check "$S/nm.json" azure
assert_json "$S/nm.json" '.results[] | select(.id == "udev.net-rules") | .remediation.fixable == false'
nm_cmd=$(nr_cmds "$S/nm.json" | grep nmconnection) || fail "no command for the NetworkManager profile: $(nr_cmds "$S/nm.json")"
[[ $nm_cmd == "sed -i '6s/^/# /' '/etc/NetworkManager/system-connections/Wired connection 1 (Bob'\\''s).nmconnection'" ]] ||
    fail "badly quoted command: $nm_cmd"
bash -ec "${nm_cmd/ \'\/etc\// \'$R/etc/}" || fail "the command did not run: $nm_cmd"
grep -qx '# mac-address=00:50:56:8A:01:02' "$nm_file" || fail "the command did not comment out the binding"
check "$S/nm2.json" azure
assert_json "$S/nm2.json" '.results[] | select(.id == "udev.net-rules") | .remediation.fixable == true'
rm -f "$nm_file"
cp -a "$S/eth0.saved" "$R/etc/network/interfaces.d/eth0"
assert_status "$S/defects.json" udev.block-rules fail # fstab mounts the rule's symlink
ev "$S/defects.json" udev.block-rules | jq -se 'any(.path == "/etc/udev/rules.d/60-app-disk.rules" and .line == 1 and
    .rule == "block-attr" and (.relies_on | test("ID_SERIAL")))' >/dev/null || fail "block rule evidence"
# fstab mounts the rule's own name: --fix must not comment the rule out and leave that mount dangling.
assert_json "$S/defects.json" '.results[] | select(.id == "udev.block-rules") | .remediation.fixable == false'
assert_status "$S/defects.json" repos.local-sources fail
ev "$S/defects.json" repos.local-sources | jq -se 'any(.path == "/etc/apt/sources.list" and .line == 2 and
    .dialect == "apt-line" and .kind == "media")' >/dev/null || fail "cdrom evidence"
assert_json "$S/defects.json" '.results[] | select(.id == "repos.local-sources") | .remediation.fixable == true'
assert_status "$S/defects.json" network.dhcp error # the broken netplan file
ev "$S/defects.json" network.dhcp | jq -se 'any(.path == "/etc/network/interfaces.d/eth0" and .line == 2 and .kind == "dhcp")
    and any(.path == "/etc/netplan/01-broken.yaml" and .line >= 3 and (.error | test("YAML")))' >/dev/null ||
    fail "network.dhcp evidence: $(ev "$S/defects.json" network.dhcp)"

assert_status "$S/defects.json" os.subscription warn
ev "$S/defects.json" os.subscription | jq -se 'any(.kind == "ubuntu-pro" and .dialect == "apt-line" and .line == 1)
    and any(.kind == "cloud-kernel" and .kernel == "6.1.0-1009-aws")' >/dev/null ||
    fail "os.subscription evidence: $(ev "$S/defects.json" os.subscription)"
check "$S/aws.json" aws
assert_json "$S/aws.json" '.results[] | select(.id == "os.subscription") | .detail | test("6.1.0-1009-aws is built for Amazon EC2, the target")'

# the same VM moving to KVM keeps its MAC: the MAC rule is the right way there
check "$S/kvm.json" kvm
assert_status "$S/kvm.json" udev.net-rules pass
assert_json "$S/kvm.json" '.results[] | select(.id == "udev.net-rules") | .detail | test("keeps the MAC")'
assert_status "$S/kvm.json" guest-agent.present warn

# --- 3. the Azure agent installed and enabled, a VMware agent left behind
mkdir -p "$R/usr/sbin" "$R/usr/bin" "$R/etc/systemd/system/multi-user.target.wants"
printf '#!/bin/sh\n' >"$R/usr/sbin/waagent" && chmod +x "$R/usr/sbin/waagent"
ln -sf /lib/systemd/system/walinuxagent.service "$R/etc/systemd/system/multi-user.target.wants/walinuxagent.service"
printf '#!/bin/sh\n' >"$R/usr/bin/vmtoolsd"
check "$S/agent.json" azure
assert_status "$S/agent.json" guest-agent.present pass
assert_json "$S/agent.json" '.results[] | select(.id == "guest-agent.present") | .detail | test("open-vm-tools")'
rm "$R/etc/systemd/system/multi-user.target.wants/walinuxagent.service"
check "$S/agent2.json" azure
assert_status "$S/agent2.json" guest-agent.present warn
assert_json "$S/agent2.json" '.results[] | select(.id == "guest-agent.present") | .detail | test("not enabled")'

# --- 4. the real mirror, when this machine reaches it (CI does: it is the one host it can reach)
sed -i '/cdrom:/d' "$R/etc/apt/sources.list"
rm "$R/etc/apt/sources.list.d/ubuntu-esm-infra.list"
if curl -sf -m 5 -o /dev/null "http://deb.debian.org/debian/dists/bookworm/InRelease"; then
    "$PREPCHECK" --root "$R" --format json --output "$S/mirror.json" --only repos.reachable || true
    assert_status "$S/mirror.json" repos.reachable pass
else
    note "deb.debian.org not reachable from here: the live-mirror part is not run"
fi
# --- 5. live: network.dhcp lists the NICs udev knows, with MAC, driver and addresses
nic=$(ls /sys/class/net | grep -vx lo | head -n1 || true)
if [[ -n $nic ]]; then
    "$PREPCHECK" --format json --output "$S/live.json" --only network.dhcp || true
    mac=$(cat "/sys/class/net/$nic/address")
    drv=$(basename "$(readlink -f "/sys/class/net/$nic/device/driver" 2>/dev/null)" 2>/dev/null || true)
    ev "$S/live.json" network.dhcp | jq -se --arg n "$nic" --arg m "$mac" --arg d "${drv:-virtual}" \
        'any(.interface == $n and .mac == $m and .driver == $d and (.addresses | type == "array"))' >/dev/null ||
        fail "live NIC $nic ($mac, $drv) missing: $(ev "$S/live.json" network.dhcp)"
    for a in $(ip -o addr show dev "$nic" 2>/dev/null | awk '$3 == "inet" {split($4, x, "/"); print x[1]}'); do
        ev "$S/live.json" network.dhcp | jq -se --arg n "$nic" --arg a "$a" 'any(.interface == $n and (.addresses | index($a)))' >/dev/null ||
            fail "address $a of $nic missing from the evidence"
    done
fi
note "ok"
