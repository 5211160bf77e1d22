/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Network configuration in every dialect real fleets use, reduced to what the checks need: per
 * configured interface, how it gets its address and what it is bound to (a MAC, a bus path). Each
 * item keeps the file and line it came from (the MAC binding its own line), so a check can quote it
 * and a remediation can edit exactly that line. Malformed lines land in `bad`; parsing never fails.
 *
 * Dialects: RHEL ifcfg (netcfg-ifcfg.c, SUSE/wicked ifcfg too), Debian ifupdown
 * (netcfg-interfaces.c), netplan YAML (netcfg-netplan.c), NetworkManager keyfiles
 * (netcfg-keyfile.c), systemd-networkd .network/.link (netcfg-networkd.c).
 */
#ifndef PREPCHECK_NETCFG_H
#define PREPCHECK_NETCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct sysroot;

enum netcfg_dialect {
	NETCFG_IFCFG,         /* /etc/sysconfig/network-scripts/ifcfg-* */
	NETCFG_SUSE_IFCFG,    /* /etc/sysconfig/network/ifcfg-* (wicked) */
	NETCFG_INTERFACES,    /* /etc/network/interfaces */
	NETCFG_NETPLAN,       /* {/lib,/etc,/run}/netplan, *.yaml */
	NETCFG_KEYFILE,       /* NetworkManager system-connections */
	NETCFG_NETWORKD,      /* systemd-networkd .network */
	NETCFG_NETWORKD_LINK, /* systemd .link (interface naming) */
	NETCFG__COUNT
};

struct netcfg_iface {
	enum netcfg_dialect dialect;
	char *path; /* the file (inside the inspected root) */
	long line;  /* where the interface's stanza/section starts (0: the whole file) */
	char *text; /* that line as written */
	char *name; /* interface name, connection id or netplan id; NULL when the file does not say */
	bool loopback;
	bool dhcp4, dhcp6; /* addresses from DHCP (or SLAAC/auto for v6) */
	bool static_addr;  /* a fixed address is configured */
	long addr_line;    /* the line that chose DHCP or static, for evidence */
	char *addr_text;
	char *mac;         /* bound to this MAC (HWADDR=, mac-address=, [Match] MACAddress=, match: macaddress:) */
	long mac_line;
	char *mac_text;
	char *mac_path;    /* when the binding is in another file than `path` (netplan merges), else NULL */
	char *bus_path;    /* bound to a bus path ([Match] Path=, netplan match by driver/path) */
	long bus_line;
	char *set_name;    /* renames the interface (.link Name=, netplan set-name:) */
};

struct netcfg_bad {
	char *path;
	long line; /* 0: the file as a whole */
	char *reason;
	char *text;
};

struct netcfg {
	struct netcfg_iface *v;
	size_t n;
	struct netcfg_bad *bad;
	size_t nbad;
};

/* "ifcfg", "suse-ifcfg", "interfaces", "netplan", "nm-keyfile", "networkd", "networkd-link" */
const char *netcfg_dialect_name(enum netcfg_dialect d);

/* Everything found under the root, every dialect. */
void netcfg_load(const struct sysroot *sr, struct netcfg *nc);
void netcfg_free(struct netcfg *nc);

/* Per-dialect parsers on one file's content (BUF may be modified); they append to NC. */
void netcfg_parse_ifcfg(struct netcfg *nc, const char *path, char *buf, size_t len, bool suse);
void netcfg_parse_keyfile(struct netcfg *nc, const char *path, char *buf, size_t len);
void netcfg_parse_networkd(struct netcfg *nc, const char *path, char *buf, size_t len, bool link);
/* SR NULL: `source`/`source-directory` are recorded but not followed (fuzzing, unit tests). */
void netcfg_parse_interfaces(struct netcfg *nc, const struct sysroot *sr, const char *path, char *buf, size_t len);

/* netplan merges every file before interpreting it: collect, then finish. */
struct netplan_state;
struct netplan_state *netplan_new(void);
void netplan_add_file(struct netplan_state *np, struct netcfg *nc, const char *path, const char *buf, size_t len);
void netplan_finish(struct netplan_state *np, struct netcfg *nc); /* emits the merged interfaces and frees NP */

/* Internal to the netcfg-*.c files. */
struct netcfg_iface *netcfg_add(struct netcfg *nc, enum netcfg_dialect d, const char *path, long line,
				const char *text);
void netcfg_add_bad(struct netcfg *nc, const char *path, long line, const char *reason, const char *text);
void netcfg_set_mac(struct netcfg_iface *ifc, const char *mac, long line, const char *text);
void netcfg_set_addr(struct netcfg_iface *ifc, long line, const char *text);
/* INI line ("[Section]", "key=value", comment/blank): 1 section, 2 key, 0 nothing, -EBADMSG garbage. */
int netcfg_ini_line(char *line, char **section, char **key, char **value);
/*
 * Walk an INI-style file (NetworkManager keyfiles, systemd .network/.link): FN is called for every
 * "[section]" (key and val NULL) and every key=value inside one. Malformed lines and NUL bytes are
 * reported as bad entries of PATH; SECTION_WORD names the file's sections in those messages.
 */
typedef void (*netcfg_ini_fn)(void *userdata, const char *section, const char *key, const char *val, long line,
			      const char *text);
void netcfg_ini_walk(struct netcfg *nc, const char *path, char *buf, size_t len, const char *section_word,
		     netcfg_ini_fn fn, void *userdata);
/* Replace *slot with a copy of val; with lslot, also remember where it was set (line, text). */
void netcfg_keep(char **slot, const char *val, long *lslot, char **tslot, long line, const char *text);
/* Files of DIRS (priority order) in name order, a name in a higher-priority dir shadowing the others,
 * filtered by SUFFIX (NULL: any) and skipping backup files. */
void netcfg_list_files(const struct sysroot *sr, const char *const *dirs, const char *suffix, bool by_name,
		       strv *out);

#endif
