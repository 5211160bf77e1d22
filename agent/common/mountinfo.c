/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "mountinfo.h"
#include "fileio.h"
#include "util.h"

void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			char c = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			if (c == '\0') /* never decode to a NUL that would cut the string */
				c = '?';
			*w++ = c;
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

bool path_is_under(const char *path, const char *mp)
{
	size_t l = strlen(mp);

	if (streq(mp, "/"))
		return path[0] == '/';
	while (l > 1 && mp[l - 1] == '/')
		l--;
	return strncmp(path, mp, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

static bool has_opt(const char *opts, const char *opt)
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

/* 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue */
static int parse_line(char *line, struct mount_entry *e)
{
	char *f[6], *save = NULL, *tok, *sep;
	int i;

	sep = strstr(line, " - ");
	if (!sep)
		return -EBADMSG;
	*sep = '\0';
	tok = strtok_r(line, " ", &save);
	for (i = 0; i < 6 && tok; i++, tok = strtok_r(NULL, " ", &save))
		f[i] = tok;
	if (i < 6)
		return -EBADMSG;
	if (sscanf(f[0], "%d", &e->id) != 1 || sscanf(f[1], "%d", &e->parent_id) != 1 ||
	    sscanf(f[2], "%u:%u", &e->major, &e->minor) != 2)
		return -EBADMSG;
	e->root = xstrdup(f[3]);
	e->target = xstrdup(f[4]);
	e->options = xstrdup(f[5]);
	save = NULL;
	char *fs = strtok_r(sep + 3, " ", &save), *src = strtok_r(NULL, " ", &save),
	     *sopt = strtok_r(NULL, " ", &save);
	if (!fs)
		return -EBADMSG;
	e->fstype = xstrdup(fs);
	e->source = xstrdup(src ? src : "none");
	e->super_options = xstrdup(sopt ? sopt : "");
	unescape_octal(e->root);
	unescape_octal(e->target);
	unescape_octal(e->source);
	e->read_only = has_opt(e->options, "ro") || has_opt(e->super_options, "ro");
	return 0;
}

static void entry_free(struct mount_entry *e)
{
	free(e->root);
	free(e->target);
	free(e->options);
	free(e->fstype);
	free(e->source);
	free(e->super_options);
}

int mountinfo_parse(const char *text, struct mount_table *t, long *errline)
{
	_cleanup_free_ char *buf = xstrdup(text);
	struct line_iter it;
	size_t cap = 0;
	char *line;

	memset(t, 0, sizeof(*t));
	line_iter_init(&it, buf, strlen(buf));
	while ((line = line_iter_next(&it, NULL))) {
		struct mount_entry e = { 0 };

		if (!*line)
			continue;
		if (parse_line(line, &e) < 0) {
			entry_free(&e);
			mountinfo_free(t);
			if (errline)
				*errline = it.lineno;
			return -EBADMSG;
		}
		if (t->n == cap) {
			cap = cap ? cap * 2 : 32;
			t->v = xrealloc(t->v, cap * sizeof(*t->v));
		}
		t->v[t->n++] = e;
	}
	return 0;
}

int mountinfo_read(const char *path, struct mount_table *t, long *errline)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file_bounded(path ? path : "/proc/self/mountinfo", 64u << 20, &text, NULL);

	if (r < 0)
		return r;
	return mountinfo_parse(text, t, errline);
}

void mountinfo_free(struct mount_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
