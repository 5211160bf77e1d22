/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fstab.h"
#include "fileio.h"
#include "mountinfo.h"
#include "util.h"

#include <ctype.h>

static const char *next_field(const char *p, const char **start, size_t *len)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#') /* a '#' after the fields starts a comment, as libmount reads it */
		return NULL;
	*start = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*len = p - *start;
	return p;
}

static void add_bad(struct fstab *f, long line, const char *reason, const char *text)
{
	f->bad = xrealloc(f->bad, (f->nbad + 1) * sizeof(*f->bad));
	f->bad[f->nbad++] = (struct fstab_bad){ line, xstrdup(reason), xstrdup(text) };
}

static bool parse_int_field(const char *s, size_t len, int *out)
{
	int v = 0;

	if (len == 0 || len > 6)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static void parse_line(struct fstab *f, char *line, long lineno)
{
	const char *fs[7], *p = line;
	size_t fl[7];
	int n = 0;
	struct fstab_entry e = { .line = lineno };

	while (n < 7 && (p = next_field(p, &fs[n], &fl[n])))
		n++;
	if (n == 0)
		return; /* blank or comment */
	if (n < 3) {
		add_bad(f, lineno, n == 1 ? "only a device field: mount point and type missing"
				      : "no filesystem type field", line);
		return;
	}
	if (n > 6) {
		add_bad(f, lineno, "more than six fields (an unescaped space in a path? use \\040)", line);
		return;
	}
	if ((n > 4 && !parse_int_field(fs[4], fl[4], &e.freq)) ||
	    (n > 5 && !parse_int_field(fs[5], fl[5], &e.passno))) {
		add_bad(f, lineno, "dump or pass field is not a number", line);
		return;
	}
	e.spec = xstrndup(fs[0], fl[0]);
	e.file = xstrndup(fs[1], fl[1]);
	e.type = xstrndup(fs[2], fl[2]);
	e.opts = n > 3 ? xstrndup(fs[3], fl[3]) : xstrdup("defaults");
	unescape_octal(e.spec);
	unescape_octal(e.file);
	e.spec_off = fs[0] - line;
	e.spec_len = fl[0];
	e.text = xstrdup(line);
	f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	f->v[f->n++] = e;
}

void fstab_parse(char *text, size_t len, struct fstab *f)
{
	struct line_iter it;
	char *line;
	bool nul;

	memset(f, 0, sizeof(*f));
	line_iter_init(&it, text, len);
	while ((line = line_iter_next(&it, &nul))) {
		if (nul) {
			add_bad(f, it.lineno, "contains a NUL byte (binary garbage)", line);
			continue;
		}
		parse_line(f, line, it.lineno);
	}
}

void fstab_free(struct fstab *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].spec);
		free(f->v[i].file);
		free(f->v[i].type);
		free(f->v[i].opts);
		free(f->v[i].text);
	}
	for (size_t i = 0; i < f->nbad; i++) {
		free(f->bad[i].reason);
		free(f->bad[i].text);
	}
	free(f->v);
	free(f->bad);
	memset(f, 0, sizeof(*f));
}

static bool matches_kernel_name(const char *name)
{
	static const char *const prefixes[] = { "sd", "vd", "xvd", "hd" };

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t l = strlen(prefixes[i]);
		const char *p = name + l;

		if (strncmp(name, prefixes[i], l) != 0 || !islower((unsigned char)*p))
			continue;
		while (islower((unsigned char)*p))
			p++;
		while (isdigit((unsigned char)*p))
			p++;
		if (!*p)
			return true;
	}
	/* nvme0n1, nvme0n1p2, mmcblk0p1 */
	if (startswith(name, "nvme") || startswith(name, "mmcblk")) {
		const char *p = name + (name[0] == 'n' ? 4 : 6);

		if (!isdigit((unsigned char)*p))
			return false;
		while (*p && (isdigit((unsigned char)*p) || *p == 'n' || *p == 'p'))
			p++;
		return !*p;
	}
	return false;
}

char *fstab_tag_value(const char *spec, const char *tag)
{
	size_t l = strlen(tag);
	char *v;
	size_t vl;

	if (strncmp(spec, tag, l) != 0 || spec[l] != '=')
		return NULL;
	v = xstrdup(spec + l + 1);
	vl = strlen(v);
	if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
		memmove(v, v + 1, vl - 2);
		v[vl - 2] = '\0';
	}
	return v;
}

enum spec_kind fstab_spec_kind(const char *spec, const char *type)
{
	static const struct { const char *prefix; enum spec_kind kind; } tags[] = {
		{ "UUID=", SPEC_UUID }, { "LABEL=", SPEC_LABEL }, { "PARTUUID=", SPEC_PARTUUID },
		{ "PARTLABEL=", SPEC_PARTLABEL }, { "/dev/disk/by-uuid/", SPEC_UUID },
		{ "/dev/disk/by-label/", SPEC_LABEL }, { "/dev/disk/by-partuuid/", SPEC_PARTUUID },
		{ "/dev/disk/by-partlabel/", SPEC_PARTLABEL }, { "/dev/disk/by-id/", SPEC_BY_ID },
		{ "/dev/disk/by-path/", SPEC_BY_PATH }, { "/dev/mapper/", SPEC_MAPPER },
		{ "/dev/md", SPEC_MAPPER }, { "/dev/dm-", SPEC_KERNEL_NAME },
	};
	static const char *const pseudo_types[] = { "proc", "sysfs", "tmpfs", "devpts", "devtmpfs",
		"cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "efivarfs", "hugetlbfs",
		"mqueue", "binfmt_misc", "fusectl", "configfs", "pstore", "bpf", "ramfs", "autofs",
		"overlay", "squashfs", "none" };
	static const char *const net_types[] = { "nfs", "nfs4", "cifs", "smb3", "smbfs", "glusterfs",
		"ceph", "sshfs", "fuse.sshfs", "9p", "virtiofs" };

	for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
		if (startswith(spec, tags[i].prefix))
			return tags[i].kind;
	for (size_t i = 0; i < ARRAY_SIZE(net_types); i++)
		if (type && streq(type, net_types[i]))
			return SPEC_NETWORK;
	if (startswith(spec, "//") || (spec[0] != '/' && strstr(spec, ":/")))
		return SPEC_NETWORK;
	for (size_t i = 0; i < ARRAY_SIZE(pseudo_types); i++)
		if ((type && streq(type, pseudo_types[i])) || streq(spec, pseudo_types[i]))
			return SPEC_PSEUDO;
	if (startswith(spec, "/dev/")) {
		const char *name = spec + 5;
		const char *slash = strchr(name, '/');

		if (matches_kernel_name(name))
			return SPEC_KERNEL_NAME;
		if (slash && !strchr(slash + 1, '/') && !startswith(name, "disk/"))
			return SPEC_MAPPER; /* /dev/VG/LV */
	}
	return SPEC_OTHER;
}

bool spec_kind_stable(enum spec_kind k)
{
	return k != SPEC_KERNEL_NAME && k != SPEC_BY_ID && k != SPEC_BY_PATH;
}

bool fstab_has_option(const char *opts, const char *opt)
{
	size_t l = strlen(opt);

	for (const char *p = opts; p && *p;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n == l && strncmp(p, opt, l) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}
