#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prepcheck --root on the dialect fixture trees (tests/fixtures/netrepo): RHEL (ifcfg, yum with
# variables, RHUI), SUSE (wicked ifcfg, zypper, cloud-regionsrv plugin URLs), NetworkManager and
# networkd, and a udev tree; per target, the statuses and the evidence `prepcheck --fix` relies on
# (path, line, text and dialect/rule). Malformed files give "error" naming file and line.
source "$SOURCE_DIR/tests/lib/common.sh"
need_cmd jq

FIX=$SOURCE_DIR/tests/fixtures/netrepo
S=$(scratch)
on_exit "rm -rf '$S'" # scratch() runs in a $(...) subshell: its own on_exit is lost there
MINE=os.subscription,udev.net-rules,udev.block-rules,network.dhcp,repos.local-sources,guest-agent.present
run() { # run NAME ROOT TARGET
    local rc=0
    "$PREPCHECK" --root "$FIX/$2" --target "$3" --no-network --format json --output "$S/$1.json" --only "$MINE" || rc=$?
    [[ $rc -le 2 ]] || fail "$2 ($3): exit status $rc"
}
ev() { jq -c --arg id "$2" '.results[] | select(.id == $id) | .evidence[]' "$S/$1.json"; }
has() { # has NAME ID JQ-PREDICATE
    ev "$1" "$2" | jq -se "any($3)" >/dev/null || fail "$1 $2: no evidence with $3; got: $(ev "$1" "$2")"
}

run rhel rhel-root azure
assert_status "$S/rhel.json" udev.net-rules fail
has rhel udev.net-rules '.dialect == "ifcfg" and .path == "/etc/sysconfig/network-scripts/ifcfg-eth0" and .line == 6 and .text == "HWADDR=00:15:5d:01:02:03"'
# --fix edits udev rules only: an ifcfg HWADDR= is the admin's, with its exact command
assert_json "$S/rhel.json" '.results[] | select(.id == "udev.net-rules") | .remediation.fixable == false and
    (.remediation.commands | index("sed -i '"'"'6s/^/# /'"'"' /etc/sysconfig/network-scripts/ifcfg-eth0") != null)'
assert_status "$S/rhel.json" network.dhcp error
has rhel network.dhcp '.dialect == "ifcfg" and .kind == "dhcp" and .line == 3 and .interface == "eth0"'
has rhel network.dhcp '.path == "/etc/sysconfig/network-scripts/ifcfg-eth3" and .line == 2 and .error'
assert_status "$S/rhel.json" repos.local-sources fail # file:///media/cdrom is a disc
has rhel repos.local-sources '.dialect == "yum" and .repo == "media-baseos" and .line == 2 and .kind == "media"'
has rhel repos.local-sources '.path == "/etc/yum.repos.d/media.repo" and .line == 7 and .error'
assert_json "$S/rhel.json" '.results[] | select(.id == "repos.local-sources") | .remediation.commands | any(test("--set-disabled media-baseos"))'
assert_status "$S/rhel.json" os.subscription warn
has rhel os.subscription '.kind == "rhui" and .dialect == "yum" and .line == 1'

assert_status "$S/rhel.json" guest-agent.present pass # unit file (rpm systems) + wants link
assert_json "$S/rhel.json" '.results[] | select(.id == "guest-agent.present") | .evidence[0].agent == "waagent"'

run suse suse-root azure
assert_status "$S/suse.json" guest-agent.present warn # cloud-init limited to NoCloud
assert_json "$S/suse.json" '.results[] | select(.id == "guest-agent.present") | .detail | test("90-datasource.cfg limits datasource_list without Azure")'
assert_json "$S/suse.json" '.results[] | select(.id == "guest-agent.present") | .remediation.commands[0] == "zypper install -y WALinuxAgent"' 
has suse udev.net-rules '.dialect == "suse-ifcfg" and .text == "LLADDR='"'"'52:54:00:aa:bb:cc'"'"'"'
assert_status "$S/suse.json" repos.local-sources fail
has suse repos.local-sources '.dialect == "zypper" and .repo == "SLES15-SP5-DVD" and .kind == "media"'
assert_json "$S/suse.json" '.results[] | select(.id == "repos.local-sources") | .remediation.fixable == true'
assert_status "$S/suse.json" os.subscription warn
has suse os.subscription '.kind == "suse-cloud" and .dialect == "zypper"'

run nm nm-root azure
assert_status "$S/nm.json" udev.net-rules fail
has nm udev.net-rules '.dialect == "nm-keyfile" and .line == 8 and .text == "mac-address=52:54:00:9A:8B:7C"'
has nm udev.net-rules '.dialect == "networkd" and .text == "MACAddress=00:0d:3a:44:55:66"'
assert_json "$S/nm.json" '.results[] | select(.id == "udev.net-rules") | .remediation.fixable == false and
    (.remediation.commands | index("sed -i '"'"'8s/^/# /'"'"' /etc/NetworkManager/system-connections/Wired.nmconnection") != null) and
    (.detail | test("10-eth.network:2: replace the MAC match 00:0d:3a:44:55:66 with a match on the interface name"))'
has nm udev.net-rules '.dialect == "networkd-link" and .kind == "path-match"'
assert_status "$S/nm.json" network.dhcp error
has nm network.dhcp '.dialect == "nm-keyfile" and .kind == "dhcp" and .interface == "implicit"'
has nm network.dhcp '.dialect == "networkd" and .kind == "static" and .text == "Address=192.0.2.10/24"'
has nm network.dhcp '.path == "/etc/systemd/network/30-bad.network" and .line == 2 and .error'
assert_status "$S/nm.json" guest-agent.present pass # the last datasource_list (90-azure.cfg) has Azure
assert_json "$S/nm.json" '.results[] | select(.id == "guest-agent.present") | .detail | test("open-vm-tools")'
run nm-aws nm-root aws
assert_status "$S/nm-aws.json" guest-agent.present warn # no Ec2 in the list
# KVM keeps the MAC: MAC bindings are fine there, the bus-path .link is not
run nm-kvm nm-root kvm
assert_status "$S/nm-kvm.json" udev.net-rules warn
ev nm-kvm udev.net-rules | jq -se 'all(.kind != "mac-match")' >/dev/null || fail "kvm: MAC bindings reported"
assert_status "$S/nm-kvm.json" network.dhcp error
assert_json "$S/nm-kvm.json" '.results[] | select(.id == "network.dhcp") | .remediation.summary | test("static addresses")'

run udev udev-root azure
assert_status "$S/udev.json" udev.net-rules fail
has udev udev.net-rules '.rule == "net-mac" and .line == 8 and .line_end == 9'
has udev udev.net-rules '.rule == "net-path" and .line == 11'
has udev udev.net-rules '.path == "/etc/udev/rules.d/99-broken.rules" and .line == 2 and .error'
ev udev udev.net-rules | jq -se 'all(.text == null or (.text | test("masked0|SHOULD-NOT") | not))' >/dev/null ||
    fail "a masked or shadowed rules file was read"
assert_status "$S/udev.json" udev.block-rules fail
has udev udev.block-rules '.rule == "block-attr" and .line == 2 and .fstab == "/dev/data0 /data xfs defaults 0 2"'
has udev udev.block-rules '.rule == "block-attr" and .line == 4 and (.relies_on | test("KERNELS"))'
run udev-kvm udev-root kvm
assert_status "$S/udev-kvm.json" udev.net-rules error # 99-broken.rules; otherwise warn
has udev-kvm udev.net-rules '.rule == "net-kernel" and .line == 12'
assert_json "$S/udev-kvm.json" '.results[] | select(.id == "udev.net-rules") | .detail | test("keeps the MAC")'
note "ok"
