/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * yum/dnf .repo files (INI; zypper's .repo shares the reader): sections [id] with baseurl= (several
 * URLs, separated by white space or commas, continued on indented lines), mirrorlist=, metalink=,
 * enabled= (default on), proxy=. Variables ($releasever, $basearch, $releasever_major, custom ones
 * from /etc/dnf/vars) are substituted as dnf does before a URL is probed.
 */
#include "repos.h"
#include "fileio.h"
#include "sysroot.h"

#include <ctype.h>
#include <strings.h>

void repo_vars_set(struct repo_vars *vars, const char *name, const char *value)
{
	for (size_t i = 0; i < vars->names.n; i++)
		if (streq(vars->names.v[i], name)) {
			free(vars->values.v[i]);
			vars->values.v[i] = xstrdup(value);
			return;
		}
	strv_push(&vars->names, name);
	strv_push(&vars->values, value);
}

static void vars_from_dir(struct repo_vars *vars, const struct sysroot *sr, const char *dir)
{
	_cleanup_strv_ strv names = { 0 };

	if (sysroot_list_dir(sr, dir, &names) < 0)
		return;
	for (size_t i = 0; i < names.n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names.v[i]), *buf = NULL;
		size_t len;

		if (names.v[i][0] == '.' || sysroot_read_file(sr, p, 4096, &buf, &len) < 0)
			continue;
		buf[strcspn(buf, "\n")] = '\0'; /* dnf uses the first line */
		repo_vars_set(vars, names.v[i], strstrip(buf));
	}
}

void repo_vars_init(struct repo_vars *vars, const struct sysroot *sr, const char *version_id, const char *arch)
{
	memset(vars, 0, sizeof(*vars));
	if (version_id) {
		_cleanup_free_ char *major = xstrndup(version_id, strcspn(version_id, "."));

		repo_vars_set(vars, "releasever", version_id);
		repo_vars_set(vars, "releasever_major", major);
	}
	if (arch) {
		repo_vars_set(vars, "basearch", arch);
		repo_vars_set(vars, "arch", arch);
	}
	if (sr) {
		vars_from_dir(vars, sr, "/etc/yum/vars");
		vars_from_dir(vars, sr, "/etc/dnf/vars");
		vars_from_dir(vars, sr, "/etc/zypp/vars.d");
	}
	/* A releasever override in a vars file also decides its major part. */
	for (size_t i = 0; i < vars->names.n; i++)
		if (streq(vars->names.v[i], "releasever")) {
			_cleanup_free_ char *m = xstrndup(vars->values.v[i], strcspn(vars->values.v[i], "."));

			repo_vars_set(vars, "releasever_major", m);
			break;
		}
}

void repo_vars_free(struct repo_vars *vars)
{
	strv_free(&vars->names);
	strv_free(&vars->values);
}

static const char *var_value(const struct repo_vars *vars, const char *name, size_t len)
{
	for (size_t i = 0; vars && i < vars->names.n; i++)
		if (strlen(vars->names.v[i]) == len && strncmp(vars->names.v[i], name, len) == 0)
			return vars->values.v[i];
	return NULL;
}

char *repo_vars_expand(const struct repo_vars *vars, const char *s)
{
	size_t cap = strlen(s) + 1, n = 0;
	char *out = xmalloc(cap);

	while (*s) {
		const char *name = NULL, *val = NULL, *next = s + 1;
		size_t nl = 0;

		if (*s == '$' && s[1] == '{' && strchr(s, '}')) {
			name = s + 2;
			nl = strchr(s, '}') - name;
			next = name + nl + 1;
		} else if (*s == '$') {
			name = s + 1;
			while (isalnum((unsigned char)name[nl]) || name[nl] == '_')
				nl++;
			next = name + nl;
		}
		if (name && nl)
			val = var_value(vars, name, nl);
		if (!val) {
			val = s;
			nl = 1;
			next = s + 1;
		} else {
			nl = strlen(val);
		}
		if (n + nl + 1 > cap) {
			cap = (n + nl + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + n, val, nl);
		n += nl;
		s = next;
	}
	out[n] = '\0';
	return out;
}

static void add_bad(struct repos *rs, const char *path, long line, const char *reason, const char *text)
{
	rs->bad = xrealloc(rs->bad, (rs->nbad + 1) * sizeof(*rs->bad));
	rs->bad[rs->nbad++] = (struct repo_bad){ xstrdup(path), line, xstrdup(reason), text ? xstrdup(text) : NULL };
}

/* One [section] being read. */
struct section {
	char *id, *text;
	long line;
	char *baseurl, *mirrorlist, *metalink, *enabled, *proxy;
	char **cur; /* the value continuation lines extend */
};

static void section_clear(struct section *s)
{
	free(s->id), free(s->text), free(s->baseurl), free(s->mirrorlist), free(s->metalink);
	free(s->enabled), free(s->proxy);
	memset(s, 0, sizeof(*s));
}

static bool ini_bool(const char *v, bool dflt)
{
	if (!v || !*v)
		return dflt;
	if (streq(v, "1") || strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0)
		return true;
	if (streq(v, "0") || strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0)
		return false;
	return dflt;
}

static void section_emit(struct repos *rs, enum repo_dialect d, const char *path, struct section *s,
			 const struct repo_vars *vars)
{
	const char *src = s->baseurl ? s->baseurl : s->metalink ? s->metalink : s->mirrorlist;
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;
	struct repo *r;

	if (!s->id || streq(s->id, "main")) {
		section_clear(s);
		return;
	}
	if (!src || !*src) {
		add_bad(rs, path, s->line, "no baseurl, mirrorlist or metalink", s->text);
		section_clear(s);
		return;
	}
	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	r = &rs->v[rs->n++];
	*r = (struct repo){ .dialect = d, .path = xstrdup(path), .line = s->line, .text = xstrdup(s->text),
			    .id = xstrdup(s->id) };
	r->enabled = ini_bool(s->enabled, true);
	/* dnf prefers metalink, then mirrorlist, then baseurl; any working one is enough. */
	r->kind = s->baseurl ? REPO_URL_BASE : s->metalink ? REPO_URL_METALINK : REPO_URL_MIRRORLIST;
	r->proxy = s->proxy ? xstrdup(s->proxy) : NULL;
	copy = xstrdup(src);
	for (char *u = strtok_r(copy, " \t,\n", &save); u; u = strtok_r(NULL, " \t,\n", &save))
		strv_push_take(&r->urls, repo_vars_expand(vars, u));
	section_clear(s);
}

static void section_key(struct section *s, const char *key, const char *val)
{
	static const struct { const char *k; size_t off; } keys[] = {
		{ "baseurl", offsetof(struct section, baseurl) }, { "mirrorlist", offsetof(struct section, mirrorlist) },
		{ "metalink", offsetof(struct section, metalink) }, { "enabled", offsetof(struct section, enabled) },
		{ "proxy", offsetof(struct section, proxy) },
	};

	s->cur = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcasecmp(key, keys[i].k) == 0) {
			char **slot = (char **)((char *)s + keys[i].off);

			free(*slot);
			*slot = xstrdup(val);
			s->cur = slot;
		}
}

static void ini_line(struct repos *rs, enum repo_dialect d, const char *path, struct section *s, char *line,
		     long lineno, const struct repo_vars *vars)
{
	_cleanup_free_ char *text = xstrdup(line);
	char *t, *eq;

	if ((line[0] == ' ' || line[0] == '\t') && s->cur && *strstrip(line)) {
		char *j = xasprintf("%s %s", *s->cur, strstrip(line)); /* continuation of a multi-line value */

		free(*s->cur);
		*s->cur = j;
		return;
	}
	t = strstrip(line);
	if (!*t || *t == '#' || *t == ';')
		return;
	if (*t == '[') {
		char *end = strchr(t, ']');

		if (!end || end == t + 1 || *strstrip(end + 1)) {
			add_bad(rs, path, lineno, "malformed [section] header", text);
			return;
		}
		section_emit(rs, d, path, s, vars);
		s->id = xstrndup(t + 1, end - t - 1);
		s->text = xstrdup(text);
		s->line = lineno;
		return;
	}
	eq = strchr(t, '=');
	if (!eq || eq == t) {
		add_bad(rs, path, lineno, "neither [section] nor key=value", text);
		return;
	}
	if (!s->id) {
		add_bad(rs, path, lineno, "key=value before any [section]", text);
		return;
	}
	*eq = '\0';
	section_key(s, strstrip(t), strstrip(eq + 1));
}

void repos_parse_ini(struct repos *rs, enum repo_dialect d, const char *path, char *buf, size_t len,
		     const struct repo_vars *vars)
{
	struct section s = { 0 };
	struct line_iter it;
	char *line;
	bool nul;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		if (nul)
			add_bad(rs, path, it.lineno, "contains a NUL byte (binary garbage)", NULL);
		else
			ini_line(rs, d, path, &s, line, it.lineno, vars);
	}
	section_emit(rs, d, path, &s, vars);
}

void repos_parse_yum(struct repos *rs, const char *path, char *buf, size_t len, const struct repo_vars *vars)
{
	repos_parse_ini(rs, REPO_YUM, path, buf, len, vars);
}

char *yum_main_proxy(const struct sysroot *sr)
{
	static const char *const files[] = { "/etc/dnf/dnf.conf", "/etc/yum.conf" };

	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		_cleanup_free_ char *buf = NULL;
		struct line_iter it;
		bool main_sec = false, nul;
		size_t len;
		char *line;

		if (sysroot_read_file(sr, files[f], CONFIG_FILE_MAX, &buf, &len) < 0)
			continue;
		line_iter_init(&it, buf, len);
		while ((line = line_iter_next(&it, &nul))) {
			char *t = strstrip(line), *eq = strchr(t, '=');

			if (*t == '[') {
				main_sec = startswith(t, "[main]");
				continue;
			}
			if (!main_sec || !eq)
				continue;
			*eq = '\0';
			if (strcasecmp(strstrip(t), "proxy") == 0)
				return xstrdup(strstrip(eq + 1));
		}
		return NULL; /* dnf reads only the first that exists */
	}
	return NULL;
}
