/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ifcfg files: RHEL network-scripts and SUSE wicked share the format (shell variable assignments,
 * sourced by a shell). We do not run a shell: we read KEY=value with the quoting the ifcfg tools
 * themselves write, and call anything else malformed rather than guess.
 */
#include "netcfg.h"
#include "fileio.h"
#include "shell-conf.h"

#include <ctype.h>
#include <strings.h>

/* The value at P, decoded; NULL on an unterminated quote or anything but a comment after it. */
static char *shell_value(const char *p)
{
	const char *end;
	char *w = shell_word(p, &end);

	if (!w)
		return NULL;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end && *end != '#') {
		free(w);
		return NULL;
	}
	return w;
}

struct ifcfg_vars {
	char *bootproto, *hwaddr, *macaddr, *device, *type, *ipaddr, *dhcpv6c;
	long bootproto_line, mac_line, ipaddr_line;
	char *bootproto_text, *mac_text, *ipaddr_text;
};

static void vars_free(struct ifcfg_vars *v)
{
	free(v->bootproto), free(v->hwaddr), free(v->macaddr), free(v->device), free(v->type);
	free(v->ipaddr), free(v->dhcpv6c), free(v->bootproto_text), free(v->mac_text), free(v->ipaddr_text);
}

static void assign(struct ifcfg_vars *v, const char *key, const char *val, long line, const char *text, bool suse)
{
	if (streq(key, "BOOTPROTO"))
		netcfg_keep(&v->bootproto, val, &v->bootproto_line, &v->bootproto_text, line, text);
	else if (streq(key, "HWADDR"))
		netcfg_keep(&v->hwaddr, val, &v->mac_line, &v->mac_text, line, text);
	else if (streq(key, "MACADDR") || (suse && streq(key, "LLADDR")))
		netcfg_keep(&v->macaddr, val, v->hwaddr ? NULL : &v->mac_line, &v->mac_text, line, text);
	else if (streq(key, "DEVICE"))
		netcfg_keep(&v->device, val, NULL, NULL, 0, NULL);
	else if (streq(key, "TYPE"))
		netcfg_keep(&v->type, val, NULL, NULL, 0, NULL);
	else if (startswith(key, "IPADDR") && *val)
		netcfg_keep(&v->ipaddr, val, &v->ipaddr_line, &v->ipaddr_text, line, text);
	else if (streq(key, "DHCPV6C"))
		netcfg_keep(&v->dhcpv6c, val, NULL, NULL, 0, NULL);
}

static int parse_line(struct ifcfg_vars *v, char *line, long lineno, bool suse, const char **why)
{
	char *s = line + strspn(line, " \t"), *eq, *key;
	_cleanup_free_ char *val = NULL;

	if (!*s || *s == '#')
		return 0;
	if (startswith(s, "export ")) /* valid shell; some generators write it */
		s += 7;
	eq = strchr(s, '=');
	key = s;
	for (char *k = s; eq && k < eq; k++)
		if (!isalnum((unsigned char)*k) && *k != '_')
			eq = NULL;
	if (!eq || eq == s) {
		*why = "not a KEY=value assignment";
		return -EBADMSG;
	}
	*eq = '\0';
	val = shell_value(eq + 1);
	if (!val) {
		*eq = '=';
		*why = "unterminated quote or unquoted space in the value";
		return -EBADMSG;
	}
	*eq = '=';
	{
		_cleanup_free_ char *k = xstrndup(key, eq - key);

		assign(v, k, val, lineno, line, suse);
	}
	return 0;
}

static void emit(struct netcfg *nc, const char *path, struct ifcfg_vars *v, bool suse)
{
	const char *base = strrchr(path, '/');
	struct netcfg_iface *f;
	const char *bp = v->bootproto ? v->bootproto : "";

	f = netcfg_add(nc, suse ? NETCFG_SUSE_IFCFG : NETCFG_IFCFG, path, 0, NULL);
	f->name = xstrdup(v->device ? v->device : (base ? base + 1 + strlen("ifcfg-") : path));
	f->loopback = streq(f->name, "lo") || (v->type && strcasecmp(v->type, "Loopback") == 0);
	/* RHEL: dhcp, bootp; SUSE: dhcp, dhcp4, dhcp6, dhcp+autoip. */
	if (strncasecmp(bp, "dhcp", 4) == 0 || strcasecmp(bp, "bootp") == 0) {
		f->dhcp4 = strcasecmp(bp, "dhcp6") != 0;
		f->dhcp6 = suse && (strcasecmp(bp, "dhcp") == 0 || strcasecmp(bp, "dhcp6") == 0);
		netcfg_set_addr(f, v->bootproto_line, v->bootproto_text);
	} else if (v->ipaddr) {
		f->static_addr = true;
		netcfg_set_addr(f, v->ipaddr_line, v->ipaddr_text);
	}
	if (v->dhcpv6c && strcasecmp(v->dhcpv6c, "yes") == 0)
		f->dhcp6 = true;
	if (v->hwaddr || v->macaddr)
		netcfg_set_mac(f, v->hwaddr ? v->hwaddr : v->macaddr, v->mac_line, v->mac_text);
	f->line = f->addr_line;
	f->text = f->addr_text ? xstrdup(f->addr_text) : NULL;
}

void netcfg_parse_ifcfg(struct netcfg *nc, const char *path, char *buf, size_t len, bool suse)
{
	struct ifcfg_vars v = { 0 };
	struct line_iter it;
	char *line;
	bool nul;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		const char *why = NULL;

		if (nul)
			netcfg_add_bad(nc, path, it.lineno, "contains a NUL byte (binary garbage)", NULL);
		else if (parse_line(&v, line, it.lineno, suse, &why) < 0)
			netcfg_add_bad(nc, path, it.lineno, why, line);
	}
	emit(nc, path, &v, suse);
	vars_free(&v);
}
