/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd-networkd .network files ([Match] + [Network] DHCP=/Address=) and systemd .link files
 * ([Match] + [Link] Name=), which name interfaces for udev. Section and key names are
 * case-sensitive in systemd's parser; we match them the same way.
 */
#include "netcfg.h"
#include "fileio.h"

#include <strings.h>

struct nd {
	char *names, *mac, *path_match, *dhcp, *link_name;
	long first_line, mac_line, path_line, dhcp_line, addr_line, name_line;
	char *first_text, *mac_text, *dhcp_text, *addr_text;
	bool has_addr;
};

static void dup_to(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
}

static void kv(struct nd *n, const char *sec, const char *key, const char *val, long line, const char *text)
{
	if (streq(sec, "Match")) {
		if (streq(key, "Name") || streq(key, "OriginalName")) {
			dup_to(&n->names, val);
		} else if ((streq(key, "MACAddress") || streq(key, "PermanentMACAddress")) && *val) {
			dup_to(&n->mac, val);
			dup_to(&n->mac_text, text);
			n->mac_line = line;
		} else if (streq(key, "Path") && *val) {
			dup_to(&n->path_match, val);
			n->path_line = line;
		}
	} else if (streq(sec, "Network") && streq(key, "DHCP")) {
		dup_to(&n->dhcp, val);
		dup_to(&n->dhcp_text, text);
		n->dhcp_line = line;
	} else if ((streq(sec, "Network") || streq(sec, "Address")) && streq(key, "Address") && *val &&
		   !n->has_addr && !startswith(val, "0.0.0.0") && !startswith(val, "::/")) {
		/* 0.0.0.0/N asks networkd to pick a free range from a pool: not a fixed address */
		n->has_addr = true;
		n->addr_line = line;
		dup_to(&n->addr_text, text);
	} else if (streq(sec, "Link") && streq(key, "Name") && *val) {
		dup_to(&n->link_name, val);
		n->name_line = line;
	}
}

static void emit(struct netcfg *nc, const char *path, struct nd *n, bool link)
{
	struct netcfg_iface *f;
	const char *d = n->dhcp ? n->dhcp : "no";

	if (link && (!n->link_name || !*n->link_name))
		return; /* a .link that does not name anything (NamePolicy=, offloads) */
	f = netcfg_add(nc, link ? NETCFG_NETWORKD_LINK : NETCFG_NETWORKD, path, n->first_line, n->first_text);
	f->name = n->names ? xstrdup(n->names) : NULL;
	f->loopback = n->names && streq(n->names, "lo");
	if (link)
		f->set_name = xstrdup(n->link_name);
	if (strcasecmp(d, "yes") == 0 || strcasecmp(d, "true") == 0 || strcasecmp(d, "both") == 0 ||
	    strcasecmp(d, "ipv4") == 0 || strcasecmp(d, "v4") == 0 || strcasecmp(d, "ipv6") == 0 ||
	    strcasecmp(d, "v6") == 0 || strcasecmp(d, "1") == 0 || strcasecmp(d, "on") == 0) {
		f->dhcp4 = strcasecmp(d, "ipv6") != 0 && strcasecmp(d, "v6") != 0;
		f->dhcp6 = strcasecmp(d, "ipv4") != 0 && strcasecmp(d, "v4") != 0;
		netcfg_set_addr(f, n->dhcp_line, n->dhcp_text);
	} else if (n->has_addr) {
		f->static_addr = true;
		netcfg_set_addr(f, n->addr_line, n->addr_text);
	}
	if (n->mac)
		netcfg_set_mac(f, n->mac, n->mac_line, n->mac_text);
	if (n->path_match) {
		f->bus_path = xstrdup(n->path_match);
		f->bus_line = n->path_line;
	}
}

static void on_line(void *userdata, const char *sec, const char *key, const char *val, long line, const char *text)
{
	struct nd *n = userdata;

	if (key) {
		kv(n, sec, key, val, line, text);
	} else if (!n->first_text) {
		n->first_line = line;
		n->first_text = xstrdup(text);
	}
}

void netcfg_parse_networkd(struct netcfg *nc, const char *path, char *buf, size_t len, bool link)
{
	struct nd n = { 0 };

	netcfg_ini_walk(nc, path, buf, len, "Section", on_line, &n);
	emit(nc, path, &n, link);
	free(n.names), free(n.mac), free(n.path_match), free(n.dhcp), free(n.link_name);
	free(n.first_text), free(n.mac_text), free(n.dhcp_text), free(n.addr_text);
}
