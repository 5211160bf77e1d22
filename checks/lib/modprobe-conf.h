/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What keeps a kernel module from loading: `blacklist NAME` and `install NAME /bin/true` (or
 * /bin/false) in modprobe.d, and modprobe.blacklist= / module_blacklist= / rd.driver.blacklist= on the
 * kernel command line. modprobe.d directories are read as kmod reads them: /etc, /run,
 * /usr/local/lib, /lib, /usr/lib, a file name in an earlier directory shadowing the same name later.
 */
#ifndef PREPCHECK_MODPROBE_CONF_H
#define PREPCHECK_MODPROBE_CONF_H

#include <stddef.h>

#include "../../agent/common/sysroot.h"

enum modprobe_block { MP_BLACKLIST, MP_INSTALL_NOOP, MP_CMDLINE };

struct modprobe_rule {
	char *module; /* normalised ('_') */
	enum modprobe_block kind;
	char *path;
	unsigned line;
	char *text;
};

struct modprobe_rules {
	struct modprobe_rule *v;
	size_t n;
};

/* One modprobe.d file's buffer (modified); rules for PATH are appended. */
void modprobe_conf_parse(const char *path, char *buf, size_t len, struct modprobe_rules *out);
/* The kernel-command-line blacklists in CMDLINE (one line of PATH, or line 0). */
void modprobe_cmdline_parse(const char *path, unsigned line, const char *cmdline, struct modprobe_rules *out);
/* Every modprobe.d file in the root. Unreadable files are named in *errors ("PATH: reason"). */
void modprobe_conf_load(const struct sysroot *sr, struct modprobe_rules *out, strv *errors);
void modprobe_rules_free(struct modprobe_rules *r);

#endif
