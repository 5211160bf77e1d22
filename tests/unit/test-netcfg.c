/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Network configuration parsers, every dialect, on the fixture roots under tests/fixtures/netrepo
 * (RHEL ifcfg, SUSE ifcfg, Debian interfaces with source/source-directory and a source loop, netplan
 * merged across /lib, /etc, /run with shadowing, NetworkManager keyfiles, networkd .network/.link),
 * plus odd-but-valid and malformed buffers: errors carry file and line, nothing crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "netcfg.h"
#include "sysroot.h"
#include "util.h"

#define FIX TEST_SOURCE_DIR "/fixtures/netrepo/"

static const struct netcfg_iface *by_name(const struct netcfg *nc, enum netcfg_dialect d, const char *name)
{
	for (size_t i = 0; i < nc->n; i++)
		if (nc->v[i].dialect == d && nc->v[i].name && streq(nc->v[i].name, name))
			return &nc->v[i];
	return NULL;
}

static bool bad_at(const struct netcfg *nc, const char *file, long line)
{
	for (size_t i = 0; i < nc->nbad; i++)
		if (endswith(nc->bad[i].path, file) && nc->bad[i].line == line)
			return true;
	return false;
}

static void load(const char *root, struct netcfg *nc)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	_cleanup_free_ char *p = xasprintf(FIX "%s", root);

	assert_int_equal(sysroot_new(p, 0, &sr), 0);
	memset(nc, 0, sizeof(*nc));
	netcfg_load(sr, nc);
}

static void test_rhel_ifcfg(void **state)
{
	struct netcfg nc;
	const struct netcfg_iface *f;

	load("rhel-root", &nc);
	f = by_name(&nc, NETCFG_IFCFG, "eth0");
	assert_non_null(f);
	assert_true(f->dhcp4);
	assert_string_equal(f->mac, "00:15:5d:01:02:03");
	assert_int_equal(f->mac_line, 6);
	assert_int_equal(f->addr_line, 3);
	f = by_name(&nc, NETCFG_IFCFG, "eth1");
	assert_non_null(f);
	assert_false(f->dhcp4);
	assert_true(f->static_addr);
	assert_int_equal(f->addr_line, 5);
	assert_string_equal(f->mac, "02:00:00:00:00:09"); /* MACADDR= sets the MAC: also pinned */
	assert_null(by_name(&nc, NETCFG_IFCFG, "eth9"));  /* ifcfg-eth9.bak is a backup */
	assert_null(by_name(&nc, NETCFG_IFCFG, "lo"));
	assert_true(bad_at(&nc, "ifcfg-eth3", 2));
	assert_true(bad_at(&nc, "ifcfg-eth3", 3));
	netcfg_free(&nc);
}

static void test_suse_ifcfg(void **state)
{
	struct netcfg nc;
	const struct netcfg_iface *f;

	load("suse-root", &nc);
	f = by_name(&nc, NETCFG_SUSE_IFCFG, "eth0");
	assert_non_null(f);
	assert_true(f->dhcp4 && f->dhcp6); /* SUSE's plain "dhcp" is both families */
	assert_string_equal(f->mac, "52:54:00:aa:bb:cc");
	f = by_name(&nc, NETCFG_SUSE_IFCFG, "eth1");
	assert_true(f->static_addr);
	assert_int_equal(nc.nbad, 0);
	netcfg_free(&nc);
}

static void test_debian_interfaces(void **state)
{
	struct netcfg nc;
	const struct netcfg_iface *f;

	load("debian-root", &nc);
	f = by_name(&nc, NETCFG_INTERFACES, "ens3");
	assert_non_null(f);
	assert_true(f->dhcp4);
	assert_string_equal(f->mac, "52:54:00:00:00:01");
	assert_int_equal(f->mac_line, 9);
	f = by_name(&nc, NETCFG_INTERFACES, "ens4");
	assert_true(f->static_addr);
	assert_int_equal(f->line, 13); /* the continuation keeps the first line */
	f = by_name(&nc, NETCFG_INTERFACES, "ens5"); /* source with a glob */
	assert_non_null(f);
	assert_true(endswith(f->path, "/etc/network/interfaces.d/ens5"));
	assert_true(f->dhcp4);
	assert_non_null(by_name(&nc, NETCFG_INTERFACES, "ens6"));                     /* source-directory */
	assert_null(by_name(&nc, NETCFG_INTERFACES, "ignored-by-source-directory")); /* skip.cfg: run-parts name */
	assert_true(by_name(&nc, NETCFG_INTERFACES, "lo")->loopback);
	assert_true(bad_at(&nc, "loop.cfg", 1)); /* the include loop stops with an error */
	assert_true(bad_at(&nc, "/etc/network/interfaces", 19));
	assert_true(bad_at(&nc, "/etc/network/interfaces", 20));
	netcfg_free(&nc);
}

static void test_netplan_merge(void **state)
{
	struct netcfg nc;
	const struct netcfg_iface *f;

	load("debian-root", &nc);
	/* /lib/netplan/50-cloud-init.yaml is shadowed by /etc's file of the same name */
	assert_null(by_name(&nc, NETCFG_NETPLAN, "shadowed"));
	f = by_name(&nc, NETCFG_NETPLAN, "eth0");
	assert_non_null(f);
	assert_false(f->dhcp4); /* 60-static.yaml overrides dhcp4: yes of 50-cloud-init.yaml */
	assert_true(f->static_addr);
	assert_true(endswith(f->path, "/etc/netplan/60-static.yaml"));
	assert_string_equal(f->mac, "00:0d:3a:11:22:33");
	assert_int_equal(f->mac_line, 7);
	assert_true(endswith(f->mac_path, "/etc/netplan/50-cloud-init.yaml"));
	assert_string_equal(f->set_name, "eth0");
	f = by_name(&nc, NETCFG_NETPLAN, "eth1");
	assert_true(f->dhcp6 && !f->dhcp4);
	assert_true(bad_at(&nc, "/run/netplan/99-broken.yaml", 4));
	netcfg_free(&nc);
}

static void test_netplan_buffers(void **state)
{
	/* Each buffer and where its one error is (line 0: valid, nothing to report). */
	static const struct {
		const char *yaml;
		long line;
		const char *reason;
	} cases[] = {
		{ "network: [1, 2]\n", 1, "network:" },
		{ "- just\n- a list\n", 1, "network:" },
		{ "network:\n  ethernets: 3\n", 2, "interface ids" },
		{ "network:\n  ethernets:\n    e0: {dhcp4: maybe}\n", 3, "boolean" },
		{ "\t\tnetwork: x: y\n", 1, "YAML" },
		{ "", 0, NULL },
		{ "network:\n  ethernets:\n    e0: [a]\n", 3, "must be a mapping" },
		{ "network: {ethernets: {e0: {match: {macaddress: [1]}}}}\n", 1, "MAC address" },
		{ "network:\n  ethernets:\n    e0:\n      dhcp4: true\n      set-name: {a: b}\n", 5, "interface name" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct netcfg nc = { 0 };
		struct netplan_state *np = netplan_new();

		netplan_add_file(np, &nc, "/x.yaml", cases[i].yaml, strlen(cases[i].yaml));
		netplan_finish(np, &nc);
		if (cases[i].line == 0) {
			assert_int_equal(nc.nbad, 0);
		} else {
			if (nc.nbad != 1)
				fail_msg("case %zu: %zu errors reported, expected 1 at line %ld", i, nc.nbad, cases[i].line);
			assert_string_equal(nc.bad[0].path, "/x.yaml");
			assert_int_equal(nc.bad[0].line, cases[i].line);
			if (!strstr(nc.bad[0].reason, cases[i].reason))
				fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, nc.bad[0].reason, cases[i].reason);
		}
		netcfg_free(&nc);
	}
}

static void test_keyfile_networkd(void **state)
{
	struct netcfg nc;
	const struct netcfg_iface *f;

	load("nm-root", &nc);
	f = by_name(&nc, NETCFG_KEYFILE, "enp1s0");
	assert_non_null(f);
	assert_true(f->dhcp4 && f->dhcp6);
	assert_string_equal(f->mac, "52:54:00:9A:8B:7C");
	assert_int_equal(f->mac_line, 8);
	f = by_name(&nc, NETCFG_KEYFILE, "static");
	assert_true(f->static_addr && !f->dhcp4);
	f = by_name(&nc, NETCFG_KEYFILE, "implicit"); /* no [ipv4]: NetworkManager's default is auto */
	assert_true(f->dhcp4);
	assert_true(bad_at(&nc, "garbage.nmconnection", 1));
	assert_true(bad_at(&nc, "garbage.nmconnection", 2));

	bool mac_network = false, link_path = false;

	for (size_t i = 0; i < nc.n; i++) {
		if (nc.v[i].dialect == NETCFG_NETWORKD && nc.v[i].mac && streq(nc.v[i].mac, "00:0d:3a:44:55:66")) {
			mac_network = true;
			assert_true(nc.v[i].dhcp4 && !nc.v[i].dhcp6);
		}
		if (nc.v[i].dialect == NETCFG_NETWORKD_LINK) {
			assert_string_equal(nc.v[i].set_name, "lan0"); /* 99-default.link names nothing */
			assert_string_equal(nc.v[i].bus_path, "pci-0000:00:05.0");
			link_path = true;
		}
	}
	assert_true(mac_network && link_path);
	assert_true(by_name(&nc, NETCFG_NETWORKD, "eth1")->static_addr);
	assert_true(bad_at(&nc, "30-bad.network", 2));
	netcfg_free(&nc);
}

static void test_odd_buffers(void **state)
{
	struct netcfg nc = { 0 };
	char ifcfg[] = "export BOOTPROTO=\"dh\"'cp'\nHWADDR=aa\\:bb\nX=\nY='a b'\n";
	char ifaces[] = "iface e0 inet dhcp\n  hwaddress 00:11:22:33:44:55\nsource /etc/x\nmapping e*\n  script x\n"
			"iface \\\n e1 inet \\\n static\n\0\n";
	char nd[] = "[Match]\nName=e*\n[Network]\nDHCP=yes\n[Match\n";

	netcfg_parse_ifcfg(&nc, "/ifcfg-odd", ifcfg, strlen(ifcfg), false);
	assert_true(nc.v[0].dhcp4);
	assert_string_equal(nc.v[0].mac, "aa:bb");
	netcfg_parse_interfaces(&nc, NULL, "/ifaces", ifaces, sizeof(ifaces) - 1);
	assert_string_equal(nc.v[1].mac, "00:11:22:33:44:55");
	assert_string_equal(nc.v[2].name, "e1");
	assert_true(nc.v[2].static_addr);
	assert_true(bad_at(&nc, "/ifaces", 9)); /* the NUL byte */
	netcfg_parse_networkd(&nc, "/x.network", nd, strlen(nd), false);
	assert_true(bad_at(&nc, "/x.network", 5));
	netcfg_free(&nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rhel_ifcfg),     cmocka_unit_test(test_suse_ifcfg),
		cmocka_unit_test(test_debian_interfaces), cmocka_unit_test(test_netplan_merge),
		cmocka_unit_test(test_netplan_buffers), cmocka_unit_test(test_keyfile_networkd),
		cmocka_unit_test(test_odd_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
