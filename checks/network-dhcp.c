/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * network.dhcp: interfaces that take their address from DHCP, in every dialect. Their addresses can
 * change on the target, which breaks DNS records, firewall rules and licences bound to an address.
 * Where the platform itself hands the address out by DHCP (Azure, AWS), a static address written in
 * the guest is the riskier choice: it must match what the platform assigns, or the VM is unreachable.
 * Live, the NICs udev knows are listed with MAC, driver and addresses.
 */
#include "check.h"
#include "netcfg.h"

#include <ifaddrs.h>
#include <libudev.h>
#include <net/if.h>
#include <netdb.h>

static cJSON *iface_evidence(struct result *r, const struct netcfg_iface *f, const char *kind)
{
	cJSON *e = result_evidence(r, f->path, f->addr_line, f->addr_text);

	cJSON_AddStringToObject(e, "dialect", netcfg_dialect_name(f->dialect));
	cJSON_AddStringToObject(e, "kind", kind);
	if (f->name)
		cJSON_AddStringToObject(e, "interface", f->name);
	return e;
}

static void addresses_of(const struct ifaddrs *all, const char *name, cJSON *arr)
{
	for (const struct ifaddrs *a = all; a; a = a->ifa_next) {
		char host[NI_MAXHOST];
		socklen_t sl;

		if (!a->ifa_addr || !streq(a->ifa_name, name))
			continue;
		if (a->ifa_addr->sa_family == AF_INET)
			sl = sizeof(struct sockaddr_in);
		else if (a->ifa_addr->sa_family == AF_INET6)
			sl = sizeof(struct sockaddr_in6);
		else
			continue;
		if (getnameinfo(a->ifa_addr, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST) == 0)
			cJSON_AddItemToArray(arr, cJSON_CreateString(host));
	}
}

/* The NICs udev knows, with MAC, driver and current addresses. */
static unsigned live_nics(struct result *r)
{
	struct udev *u = udev_new();
	struct udev_enumerate *en;
	struct udev_list_entry *le;
	struct ifaddrs *ifa = NULL;
	unsigned n = 0;

	if (!u)
		return 0;
	en = udev_enumerate_new(u);
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	if (en && udev_enumerate_add_match_subsystem(en, "net") >= 0 && udev_enumerate_scan_devices(en) >= 0)
		udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
			struct udev_device *d = udev_device_new_from_syspath(u, udev_list_entry_get_name(le));
			struct udev_device *parent;
			const char *name, *mac, *drv = NULL;
			cJSON *e;

			if (!d)
				continue;
			name = udev_device_get_sysname(d);
			mac = udev_device_get_sysattr_value(d, "address");
			parent = udev_device_get_parent(d);
			if (parent)
				drv = udev_device_get_driver(parent);
			if (name && !streq(name, "lo")) {
				e = result_evidence(r, NULL, 0, NULL);
				cJSON_AddStringToObject(e, "interface", name);
				cJSON_AddStringToObject(e, "mac", mac ? mac : "");
				cJSON_AddStringToObject(e, "driver", drv ? drv : (parent ? "" : "virtual"));
				addresses_of(ifa, name, cJSON_AddArrayToObject(e, "addresses"));
				n++;
			}
			udev_device_unref(d);
		}
	if (ifa)
		freeifaddrs(ifa);
	udev_enumerate_unref(en);
	udev_unref(u);
	return n;
}

static void report_bad(struct result *r, const struct netcfg *nc)
{
	for (size_t i = 0; i < nc->nbad; i++) {
		const struct netcfg_bad *b = &nc->bad[i];
		cJSON *e = result_evidence(r, b->path, b->line, b->text);

		cJSON_AddStringToObject(e, "error", b->reason);
		if (b->line > 0)
			result_set(r, ST_ERROR, "%s:%ld: %s.", b->path, b->line, b->reason);
		else
			result_set(r, ST_ERROR, "%s: %s.", b->path, b->reason);
	}
}

static void conclude(struct check_ctx *ctx, struct result *r, unsigned dhcp, unsigned stat, unsigned total)
{
	const struct target_profile *t = ctx->target;

	if (dhcp) {
		result_set(r, ST_WARN, "%u interface(s) get their address by DHCP: on %s the address can differ, "
			   "breaking DNS records, firewall rules and anything bound to the old address.", dhcp, t->pretty);
		result_remediation(r, false, t->platform_assigns_ip
			? "Reserve the address on the target NIC (static private IP on the platform) instead of in the guest."
			: "Configure static addresses on the interfaces, matching the target network's subnet.");
	}
	if (stat && t->platform_assigns_ip) {
		result_set(r, ST_WARN, "%u interface(s) have a static address written in the guest: %s assigns the "
			   "NIC's address itself, and a mismatch leaves the VM unreachable.", stat, t->pretty);
		if (!dhcp)
			result_remediation(r, false, "Switch the guest to DHCP and reserve the address on the platform.");
	}
	if (!total && result_get_status(r) == ST_PASS)
		result_set(r, ST_WARN, "No interface configuration found (ifcfg, interfaces, netplan, NetworkManager, "
			   "networkd): the VM may boot without network.");
	else if (result_get_status(r) == ST_PASS)
		result_detail(r, "%u interface(s) configured, none by DHCP.", total);
}

static void run(struct check_ctx *ctx, struct result *r)
{
	struct netcfg nc = { 0 };
	unsigned dhcp = 0, stat = 0, total = 0;

	netcfg_load(ctx->root, &nc);
	for (size_t i = 0; i < nc.n; i++) {
		const struct netcfg_iface *f = &nc.v[i];

		if (f->loopback || f->dialect == NETCFG_NETWORKD_LINK)
			continue;
		total++;
		if (f->dhcp4 || f->dhcp6) {
			dhcp++;
			cJSON_AddStringToObject(iface_evidence(r, f, "dhcp"), "family",
						f->dhcp4 && f->dhcp6 ? "both" : f->dhcp4 ? "ipv4" : "ipv6");
		} else if (f->static_addr) {
			stat++;
			iface_evidence(r, f, "static");
		}
	}
	conclude(ctx, r, dhcp, stat, total);
	if (sysroot_is_live(ctx->root))
		result_detail(r, "%u network interface(s) present now.", live_nics(r));
	report_bad(r, &nc);
	netcfg_free(&nc);
}

const struct check check_network_dhcp = {
	.id = "network.dhcp",
	.title = "Interface addressing survives the move",
	.description = "interfaces configured by DHCP (addresses can change on the target), in every dialect",
	.run = run,
};
