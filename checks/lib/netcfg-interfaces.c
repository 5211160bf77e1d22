/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Debian ifupdown: /etc/network/interfaces, with `source PATTERN` (a shell glob, relative paths
 * relative to /etc/network) and `source-directory DIR` (files named [A-Za-z0-9_-]+ only, as
 * run-parts picks them). Includes are followed inside the inspected root with a depth bound, so an
 * include loop is an error item instead of a hang.
 */
#include "netcfg.h"
#include "fileio.h"
#include "sysroot.h"

#include <ctype.h>
#include <fnmatch.h>

#define INCLUDE_DEPTH_MAX 8

struct ifp {
	struct netcfg *nc;
	const struct sysroot *sr;
	const char *path;
	int depth;
	long cur; /* index of the iface stanza options belong to, -1 none (the array may move) */
};

static void parse_buf(struct netcfg *nc, const struct sysroot *sr, const char *path, char *buf, size_t len,
		      int depth);

static void include_file(struct ifp *p, const char *file, long line, const char *text)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	if (p->depth >= INCLUDE_DEPTH_MAX) {
		netcfg_add_bad(p->nc, p->path, line, "includes nested too deeply (a source loop?)", text);
		return;
	}
	r = sysroot_read_file(p->sr, file, CONFIG_FILE_MAX, &buf, &len);
	if (r < 0) {
		_cleanup_free_ char *why = xasprintf("cannot read included %s: %s", file, errstr(r));

		netcfg_add_bad(p->nc, p->path, line, why, text);
		return;
	}
	parse_buf(p->nc, p->sr, file, buf, len, p->depth + 1);
}

static bool run_parts_name(const char *n)
{
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '_' && *n != '-')
			return false;
	return true;
}

/* `source PATTERN` or `source-directory DIR`. The glob is expanded in the last component only. */
static void do_source(struct ifp *p, const char *arg, bool directory, long line, const char *text)
{
	_cleanup_free_ char *abs = arg[0] == '/' ? xstrdup(arg) : xasprintf("/etc/network/%s", arg);
	_cleanup_strv_ strv names = { 0 };
	_cleanup_free_ char *dir = NULL;
	const char *pat = "*";
	char *slash;

	if (!p->sr)
		return;
	if (directory) {
		dir = TAKE_PTR(abs);
	} else if (!strpbrk(abs, "*?[")) {
		include_file(p, abs, line, text);
		return;
	} else {
		slash = strrchr(abs, '/');
		*slash = '\0';
		dir = xstrdup(*abs ? abs : "/");
		pat = slash + 1;
		if (strpbrk(dir, "*?[")) {
			netcfg_add_bad(p->nc, p->path, line, "glob in a directory component is not followed", text);
			return;
		}
	}
	if (sysroot_list_dir(p->sr, dir, &names) < 0)
		return; /* ifupdown ignores a pattern that matches nothing */
	for (size_t i = 0; i < names.n; i++) {
		_cleanup_free_ char *f = xasprintf("%s/%s", dir, names.v[i]);
		struct stat st;

		if (directory ? !run_parts_name(names.v[i]) : fnmatch(pat, names.v[i], FNM_PERIOD) != 0)
			continue;
		if (sysroot_stat(p->sr, f, &st) == 0 && S_ISREG(st.st_mode))
			include_file(p, f, line, text);
	}
}

static void iface_stanza(struct ifp *p, char **w, int n, long line, const char *text)
{
	struct netcfg_iface *f;

	if (n < 4) {
		netcfg_add_bad(p->nc, p->path, line, "iface needs NAME FAMILY METHOD", text);
		p->cur = -1;
		return;
	}
	f = netcfg_add(p->nc, NETCFG_INTERFACES, p->path, line, text);
	f->name = xstrdup(w[1]);
	f->loopback = streq(w[3], "loopback");
	if (streq(w[3], "dhcp") || streq(w[3], "bootp") || (streq(w[2], "inet6") && streq(w[3], "auto"))) {
		f->dhcp4 = streq(w[2], "inet");
		f->dhcp6 = streq(w[2], "inet6");
		netcfg_set_addr(f, line, text);
	} else if (streq(w[3], "static") || streq(w[3], "v4tunnel")) {
		f->static_addr = true;
		netcfg_set_addr(f, line, text);
	}
	p->cur = (long)(p->nc->n - 1);
}

static void option_line(struct ifp *p, char **w, int n, long line, const char *text)
{
	/* hwaddress [ether] MAC sets the interface's MAC: on a target with new MACs it must go. */
	if (p->cur >= 0 && streq(w[0], "hwaddress") && n >= 2)
		netcfg_set_mac(&p->nc->v[p->cur], n >= 3 ? w[2] : w[1], line, text);
}

static int split_words(char *s, char **w, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(s, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	return n;
}

static void logical_line(struct ifp *p, char *text, long line)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *w[8];
	int n = split_words(copy, w, (int)ARRAY_SIZE(w));

	if (n == 0 || w[0][0] == '#')
		return;
	if (streq(w[0], "iface")) {
		iface_stanza(p, w, n, line, text);
	} else if (streq(w[0], "source") || streq(w[0], "source-directory")) {
		p->cur = -1;
		if (n < 2)
			netcfg_add_bad(p->nc, p->path, line, "source without a path", text);
		else
			do_source(p, w[1], w[0][6] == '-', line, text);
	} else if (streq(w[0], "auto") || startswith(w[0], "allow-") || streq(w[0], "mapping") ||
		   streq(w[0], "no-auto-down") || streq(w[0], "no-scripts") || streq(w[0], "rename")) {
		p->cur = streq(w[0], "mapping") ? -1 : p->cur;
	} else if (p->cur >= 0 || (text[0] == ' ' || text[0] == '\t')) {
		option_line(p, w, n, line, text);
	} else {
		netcfg_add_bad(p->nc, p->path, line, "unknown keyword outside an iface stanza", text);
	}
}

static void parse_buf(struct netcfg *nc, const struct sysroot *sr, const char *path, char *buf, size_t len,
		      int depth)
{
	struct ifp p = { .nc = nc, .sr = sr, .path = path, .depth = depth, .cur = -1 };
	struct joined_line j = { 0 };
	struct line_iter it;
	char *line;
	bool nul;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		if (nul) {
			netcfg_add_bad(nc, path, it.lineno, "contains a NUL byte (binary garbage)", NULL);
			continue;
		}
		if (!joined_line_pending(&j) && line[strspn(line, " \t")] == '#')
			continue;
		if (!joined_line_add(&j, line, it.lineno))
			continue;
		logical_line(&p, j.text, j.first);
		joined_line_clear(&j);
	}
	if (joined_line_pending(&j))
		logical_line(&p, j.text, j.first);
	joined_line_clear(&j);
}

void netcfg_parse_interfaces(struct netcfg *nc, const struct sysroot *sr, const char *path, char *buf, size_t len)
{
	parse_buf(nc, sr, path, buf, len, 0);
}
