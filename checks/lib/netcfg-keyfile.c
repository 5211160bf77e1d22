/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NetworkManager keyfiles (system-connections, NAME.nmconnection): INI groups [connection], [ethernet],
 * [ipv4], [ipv6]. NetworkManager's default for a missing ipv4.method on an ethernet/wifi profile is
 * "auto", i.e. DHCP; we follow it.
 */
#include "netcfg.h"
#include "fileio.h"

#include <strings.h>

struct kf {
	char *id, *ifname, *type, *mac, *v4, *v6;
	long conn_line, mac_line, v4_line, v6_line, addr_line;
	char *conn_text, *mac_text, *v4_text, *v6_text;
	bool has_addr;
};

static void kv(struct kf *k, const char *sec, const char *key, const char *val, long line, const char *text)
{
	if (streq(sec, "connection")) {
		if (streq(key, "id"))
			netcfg_keep(&k->id, val, NULL, NULL, 0, NULL);
		else if (streq(key, "interface-name"))
			netcfg_keep(&k->ifname, val, NULL, NULL, 0, NULL);
		else if (streq(key, "type"))
			netcfg_keep(&k->type, val, NULL, NULL, 0, NULL);
	} else if ((streq(sec, "ethernet") || streq(sec, "802-3-ethernet") || streq(sec, "wifi") ||
		    streq(sec, "802-11-wireless")) && streq(key, "mac-address") && *val) {
		netcfg_keep(&k->mac, val, &k->mac_line, &k->mac_text, line, text);
	} else if (streq(sec, "ipv4") || streq(sec, "ipv6")) {
		bool v4 = sec[3] == '4';

		if (streq(key, "method")) {
			if (v4)
				netcfg_keep(&k->v4, val, &k->v4_line, &k->v4_text, line, text);
			else
				netcfg_keep(&k->v6, val, &k->v6_line, &k->v6_text, line, text);
		} else if (v4 && startswith(key, "address") && *val) {
			k->has_addr = true;
			k->addr_line = line;
		}
	}
}

static void emit(struct netcfg *nc, const char *path, struct kf *k)
{
	struct netcfg_iface *f = netcfg_add(nc, NETCFG_KEYFILE, path, k->conn_line, k->conn_text);
	bool wired = !k->type || streq(k->type, "ethernet") || streq(k->type, "802-3-ethernet") ||
		     streq(k->type, "wifi") || streq(k->type, "802-11-wireless") || streq(k->type, "bond") ||
		     streq(k->type, "bridge") || streq(k->type, "vlan");
	const char *v4 = k->v4 ? k->v4 : (wired ? "auto" : "disabled");

	f->name = xstrdup(k->ifname ? k->ifname : k->id ? k->id : strrchr(path, '/') + 1);
	f->loopback = k->type && streq(k->type, "loopback");
	if (strcasecmp(v4, "auto") == 0) {
		f->dhcp4 = true;
		netcfg_set_addr(f, k->v4 ? k->v4_line : k->conn_line, k->v4 ? k->v4_text : k->conn_text);
	} else if (strcasecmp(v4, "manual") == 0 && k->has_addr) {
		f->static_addr = true;
		netcfg_set_addr(f, k->v4_line, k->v4_text);
	}
	if (k->v6 && (strcasecmp(k->v6, "auto") == 0 || strcasecmp(k->v6, "dhcp") == 0))
		f->dhcp6 = true;
	if (k->mac)
		netcfg_set_mac(f, k->mac, k->mac_line, k->mac_text);
}

static void on_line(void *userdata, const char *sec, const char *key, const char *val, long line, const char *text)
{
	struct kf *k = userdata;

	if (key) {
		kv(k, sec, key, val, line, text);
	} else if (streq(sec, "connection") && !k->conn_line) {
		k->conn_line = line;
		k->conn_text = xstrdup(text);
	}
}

void netcfg_parse_keyfile(struct netcfg *nc, const char *path, char *buf, size_t len)
{
	struct kf k = { 0 };

	netcfg_ini_walk(nc, path, buf, len, "group", on_line, &k);
	if (!k.conn_line)
		netcfg_add_bad(nc, path, 0, "no [connection] group: NetworkManager ignores this profile", NULL);
	else
		emit(nc, path, &k);
	free(k.id), free(k.ifname), free(k.type), free(k.mac), free(k.v4), free(k.v6);
	free(k.conn_text), free(k.mac_text), free(k.v4_text), free(k.v6_text);
}
