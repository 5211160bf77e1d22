/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udev.net-rules: interface naming that would break on the target. Where the target gives the NIC a new
 * MAC (Azure, AWS), anything pinned to the old MAC (a udev NAME rule, ifcfg HWADDR=, a NetworkManager
 * mac-address=, a networkd or netplan MAC match) leaves the interface unnamed or unconfigured: no
 * network after boot. Where the MAC is kept (KVM), pinning by MAC is the robust choice and names tied
 * to the kernel's probe order or the bus position are what breaks.
 */
#include <string.h>

#include "check.h"
#include "netcfg.h"
#include "udev-rules.h"

static void rule_evidence(struct result *r, const struct udev_rule *u, enum udev_net_kind k)
{
	cJSON *e = result_evidence(r, u->path, u->line, u->text);

	cJSON_AddStringToObject(e, "rule", udev_net_kind_name(k));
	if (u->line_end > u->line)
		cJSON_AddNumberToObject(e, "line_end", u->line_end);
}

static void bad_evidence(struct result *r, const struct udev_rules *rs)
{
	for (size_t i = 0; i < rs->nbad; i++) {
		const struct udev_bad *b = &rs->bad[i];
		cJSON *e = result_evidence(r, b->path, b->line, b->text);

		cJSON_AddStringToObject(e, "error", b->reason);
		if (b->line > 0)
			result_set(r, ST_ERROR, "%s:%ld: %s: udev ignores this line, so a naming rule may be hidden "
				   "in it.", b->path, b->line, b->reason);
		else
			result_set(r, ST_ERROR, "%s: cannot be read (%s).", b->path, b->reason);
	}
}

/* A path as one shell word: NetworkManager names its files "Wired connection 1.nmconnection". */
static char *shell_word(const char *s)
{
	size_t n = 3;
	char *out, *p;

	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.,:=+@%-") == strlen(s))
		return xstrdup(s);
	for (const char *c = s; *c; c++)
		n += *c == '\'' ? 4 : 1;
	p = out = xmalloc(n);
	*p++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = '\0';
	return out;
}

struct tally {
	unsigned mac, path, kernel, cfg_mac;
	strv manual; /* steps with no command, reported after the verdict */
};

static void scan_rules(struct check_ctx *ctx, struct result *r, const struct udev_rules *rs, struct tally *t)
{
	bool keeps = ctx->target->keeps_mac;

	for (size_t i = 0; i < rs->n; i++) {
		const struct udev_rule *u = &rs->v[i];
		enum udev_net_kind k = udev_rule_net_kind(u);

		if (k == UDEV_NET_NONE || k == UDEV_NET_OTHER)
			continue;
		if (k == UDEV_NET_MAC) {
			t->mac++;
			rule_evidence(r, u, k);
			if (!keeps) {
				_cleanup_free_ char *w = shell_word(u->path);

				result_command(r, "sed -i '%ld,%lds/^/# /' %s", u->line, u->line_end, w);
			}
		} else if (k == UDEV_NET_PATH) {
			t->path++;
			rule_evidence(r, u, k);
		} else if (keeps) {
			t->kernel++;
			rule_evidence(r, u, k);
		}
	}
}

/*
 * prepcheck --fix (morph/udev.c) only comments out udev rules; a MAC binding in a network
 * configuration is the admin's, with the exact step for its dialect. Where the line only adds the
 * MAC to a match or setting that still stands without it, commenting it out is the whole fix; where
 * it is the only thing a match holds (networkd, .link, netplan), dropping it would match every NIC,
 * so the admin replaces it with a match on the name.
 */
static void manual_unbind(struct result *r, const struct netcfg_iface *f, struct tally *t)
{
	const char *path = f->mac_path ? f->mac_path : f->path;
	bool comment_out;

	switch (f->dialect) {
	case NETCFG_IFCFG:
	case NETCFG_SUSE_IFCFG:
	case NETCFG_INTERFACES:
	case NETCFG_KEYFILE:
		comment_out = true;
		break;
	case NETCFG_NETWORKD:
		comment_out = f->name != NULL; /* [Match] Name= still selects the interface */
		break;
	default:
		comment_out = false;
		break;
	}
	if (comment_out && f->mac_line > 0) {
		_cleanup_free_ char *w = shell_word(path);

		result_command(r, "sed -i '%lds/^/# /' %s", f->mac_line, w);
		return;
	}
	switch (f->dialect) {
	case NETCFG_NETPLAN:
		strv_push_take(&t->manual, xasprintf("%s:%ld: in the netplan entry %s, replace \"macaddress: %s\" with "
			       "\"name: <interface>\" (the name the interface gets on the target), then run netplan "
			       "generate.", path, f->mac_line, f->name ? f->name : "", f->mac));
		break;
	case NETCFG_NETWORKD_LINK:
		strv_push_take(&t->manual, xasprintf("%s:%ld: this .link file names the interface by MAC %s: replace "
			       "MACAddress= with OriginalName=<kernel name> in [Match], or remove the file.", path,
			       f->mac_line, f->mac));
		break;
	default:
		strv_push_take(&t->manual, xasprintf("%s:%ld: replace the MAC match %s with a match on the interface name "
			       "(networkd: Name=<interface> in [Match]).", path, f->mac_line, f->mac));
		break;
	}
}

static void scan_netcfg(struct check_ctx *ctx, struct result *r, const struct netcfg *nc, struct tally *t)
{
	for (size_t i = 0; i < nc->n; i++) {
		const struct netcfg_iface *f = &nc->v[i];
		cJSON *e;

		if (f->mac && !ctx->target->keeps_mac) {
			t->cfg_mac++;
			e = result_evidence(r, f->mac_path ? f->mac_path : f->path, f->mac_line, f->mac_text);
			cJSON_AddStringToObject(e, "dialect", netcfg_dialect_name(f->dialect));
			cJSON_AddStringToObject(e, "kind", "mac-match");
			cJSON_AddStringToObject(e, "mac", f->mac);
			if (f->name)
				cJSON_AddStringToObject(e, "interface", f->name);
			manual_unbind(r, f, t);
		}
		if (f->bus_path) {
			t->path++;
			e = result_evidence(r, f->path, f->bus_line, f->bus_path);
			cJSON_AddStringToObject(e, "dialect", netcfg_dialect_name(f->dialect));
			cJSON_AddStringToObject(e, "kind", "path-match");
		}
	}
}

/* --fix comments out the udev rules only: fixable when nothing else is left for the admin. */
static void mac_remediation(struct result *r, const struct tally *t)
{
	result_remediation(r, t->mac > 0 && !t->cfg_mac && !t->path, "%s%s%s%s%s",
			   t->mac ? "Comment out the MAC-pinned udev NAME rules (prepcheck --fix does this)." : "",
			   t->mac && t->cfg_mac ? " " : "",
			   t->cfg_mac ? "Remove the MAC bindings from the network configurations (HWADDR=, LLADDR=, "
					"hwaddress, mac-address=, MACAddress=, macaddress:) by hand, with the commands and "
					"steps given, so interfaces are matched by name." : "",
			   t->path ? " " : "", t->path ? "Rename the interfaces named by bus position by hand." : "");
}

static void conclude(struct check_ctx *ctx, struct result *r, const struct tally *t)
{
	const char *pretty = ctx->target->pretty;
	bool have_rem = false;

	if (!ctx->target->keeps_mac && (t->mac || t->cfg_mac)) {
		have_rem = true;
		result_set(r, ST_FAIL, "%u udev naming rule(s) and %u network configuration(s) are pinned to the "
			   "current MAC address; %s gives the NIC a new MAC, so the interface would get no name or no "
			   "configuration: no network after boot.", t->mac, t->cfg_mac, pretty);
		mac_remediation(r, t);
		for (size_t i = 0; i < t->manual.n; i++)
			result_detail(r, "%s", t->manual.v[i]);
	}
	if (t->path) {
		result_set(r, ST_WARN, "%u rule(s) or configuration(s) name an interface by its bus position, which "
			   "differs on %s.", t->path, pretty);
		if (!have_rem)
			result_remediation(r, false, ctx->target->keeps_mac
				? "Name interfaces by MAC address (the target keeps it), not by bus path."
				: "Remove bus-path pinned naming; let the platform's driver name the interface.");
		have_rem = true;
	}
	if (t->kernel) {
		result_set(r, ST_WARN, "%u rule(s) rename an interface chosen by its kernel name, which depends on "
			   "probe order; %s keeps the MAC, so match on ATTR{address} instead.", t->kernel, pretty);
		if (!have_rem)
			result_remediation(r, false, "Rewrite the rules to match ATTR{address}==\"<mac>\".");
	}
	if (ctx->target->keeps_mac && t->mac)
		result_detail(r, "%u MAC-pinned naming rule(s): fine, %s keeps the MAC address.", t->mac, pretty);
	if (result_get_status(r) == ST_PASS && !t->mac)
		result_detail(r, "No interface-naming rule or MAC binding that would break on %s.", pretty);
}

static void run(struct check_ctx *ctx, struct result *r)
{
	struct udev_rules rs = { 0 };
	struct netcfg nc = { 0 };
	struct tally t = { 0 };

	udev_rules_load(ctx->root, udev_admin_rule_dirs, &rs);
	netcfg_load(ctx->root, &nc);
	scan_rules(ctx, r, &rs, &t);
	scan_netcfg(ctx, r, &nc, &t);
	conclude(ctx, r, &t);
	bad_evidence(r, &rs);
	strv_free(&t.manual);
	udev_rules_free(&rs);
	netcfg_free(&nc);
}

const struct check check_udev_net_rules = {
	.id = "udev.net-rules",
	.title = "Interface naming survives the move",
	.description = "udev rules and network configs pinned to a MAC or bus path the target will not keep",
	.run = run,
};
