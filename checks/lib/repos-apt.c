/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * apt sources: one-line format (sources.list(5): `deb [opts] URI SUITE [COMPONENT...]`, where a URI
 * may hold a bracketed part with spaces, as `cdrom:[Debian GNU/Linux 12 ...]/` does) and deb822
 * .sources stanzas (`Types:`, `URIs:`, `Suites:`, `Enabled: no`, continuation lines). Also the
 * proxy settings of apt.conf.
 */
#include "repos.h"
#include "fileio.h"
#include "sysroot.h"

#include <ctype.h>
#include <strings.h>

static void add_bad(struct repos *rs, const char *path, long line, const char *reason, const char *text)
{
	rs->bad = xrealloc(rs->bad, (rs->nbad + 1) * sizeof(*rs->bad));
	rs->bad[rs->nbad++] = (struct repo_bad){ xstrdup(path), line, xstrdup(reason), text ? xstrdup(text) : NULL };
}

static struct repo *add_repo(struct repos *rs, enum repo_dialect d, const char *path, long line, const char *text)
{
	struct repo *r;

	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	r = &rs->v[rs->n++];
	*r = (struct repo){ .dialect = d, .path = xstrdup(path), .line = line, .enabled = true };
	r->text = text ? xstrdup(text) : NULL;
	return r;
}

/* Next token of a one-line entry; '[' ... ']' inside a token is part of it (cdrom:[label]/). */
static const char *next_token(const char *p, char **out)
{
	const char *s;
	int depth = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#')
		return NULL;
	s = p;
	while (*p && (depth > 0 || (*p != ' ' && *p != '\t'))) {
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth > 0)
			depth--;
		p++;
	}
	if (depth > 0)
		return NULL;
	*out = xstrndup(s, p - s);
	return p;
}

static int parse_list_line(struct repos *rs, const char *path, long lineno, const char *line, const char **why)
{
	_cleanup_free_ char *type = NULL, *uri = NULL, *suite = NULL;
	const char *p = next_token(line, &type);
	struct repo *r;

	if (!p)
		return 0;
	if (!streq(type, "deb") && !streq(type, "deb-src")) {
		*why = "unknown type (expected deb or deb-src)";
		return -EBADMSG;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') { /* options: [ arch=amd64 signed-by=... ] */
		const char *end = strchr(p, ']');

		if (!end) {
			*why = "unterminated [ options ]";
			return -EBADMSG;
		}
		p = end + 1;
	}
	if (!(p = next_token(p, &uri))) {
		*why = "no URI (or an unterminated [ in it)";
		return -EBADMSG;
	}
	if (!(p = next_token(p, &suite))) {
		*why = "no suite after the URI";
		return -EBADMSG;
	}
	r = add_repo(rs, REPO_APT_LINE, path, lineno, line);
	r->type = TAKE_PTR(type);
	r->suite = TAKE_PTR(suite);
	strv_push_take(&r->urls, TAKE_PTR(uri));
	return 0;
}

void repos_parse_apt_list(struct repos *rs, const char *path, char *buf, size_t len)
{
	struct line_iter it;
	char *line;
	bool nul;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		const char *why = NULL;

		if (nul)
			add_bad(rs, path, it.lineno, "contains a NUL byte (binary garbage)", NULL);
		else if (parse_list_line(rs, path, it.lineno, line, &why) < 0)
			add_bad(rs, path, it.lineno, why, line);
	}
}

/* ---- deb822 ---- */

struct stanza {
	long first;
	char *types, *uris, *suites, *enabled;
	long uris_line;
	char *uris_text;
	char **cur; /* the field continuation lines extend */
};

static void stanza_clear(struct stanza *s)
{
	free(s->types), free(s->uris), free(s->suites), free(s->enabled), free(s->uris_text);
	memset(s, 0, sizeof(*s));
}

static void stanza_emit(struct repos *rs, const char *path, struct stanza *s)
{
	_cleanup_free_ char *uris = NULL, *suites = NULL;
	char *su = NULL, *ss = NULL;
	bool enabled = !s->enabled || !(strcasecmp(s->enabled, "no") == 0 || strcasecmp(s->enabled, "false") == 0);

	if (!s->first)
		return;
	if (!s->types || !s->uris || !s->suites) {
		add_bad(rs, path, s->first, !s->types ? "stanza without Types:" : !s->uris ? "stanza without URIs:"
										   : "stanza without Suites:", NULL);
		stanza_clear(s);
		return;
	}
	uris = xstrdup(s->uris);
	for (char *u = strtok_r(uris, " \t\n", &su); u; u = strtok_r(NULL, " \t\n", &su)) {
		free(suites);
		suites = xstrdup(s->suites);
		for (char *st = strtok_r(suites, " \t\n", &ss); st; st = strtok_r(NULL, " \t\n", &ss)) {
			struct repo *r = add_repo(rs, REPO_DEB822, path, s->uris_line, s->uris_text);
			char *t = xstrdup(s->types), *sp = strpbrk(t, " \t\n");

			if (sp)
				*sp = '\0';
			r->stanza_line = s->first;
			r->enabled = enabled;
			r->type = t;
			r->suite = xstrdup(st);
			strv_push(&r->urls, u);
		}
	}
	stanza_clear(s);
}

static void stanza_field(struct stanza *s, char *line, long lineno, char *colon)
{
	char *key = line, *val;
	char **slot = NULL;

	*colon = '\0';
	val = strstrip(colon + 1);
	if (strcasecmp(key, "Types") == 0)
		slot = &s->types;
	else if (strcasecmp(key, "URIs") == 0)
		slot = &s->uris;
	else if (strcasecmp(key, "Suites") == 0)
		slot = &s->suites;
	else if (strcasecmp(key, "Enabled") == 0)
		slot = &s->enabled;
	if (slot == &s->uris) {
		free(s->uris_text);
		*colon = ':';
		s->uris_text = xstrdup(line);
		s->uris_line = lineno;
	}
	s->cur = slot;
	if (slot) {
		free(*slot);
		*slot = xstrdup(val);
	}
}

static void stanza_continue(struct stanza *s, const char *line)
{
	char *joined;

	if (!s->cur || !*s->cur)
		return;
	joined = xasprintf("%s %s", *s->cur, line);
	free(*s->cur);
	*s->cur = joined;
}

void repos_parse_deb822(struct repos *rs, const char *path, char *buf, size_t len)
{
	struct stanza s = { 0 };
	struct line_iter it;
	char *line;
	bool nul;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		char *colon;

		if (nul) {
			add_bad(rs, path, it.lineno, "contains a NUL byte (binary garbage)", NULL);
			continue;
		}
		if (line[0] == '#')
			continue;
		if (!*strstrip(line)) {
			stanza_emit(rs, path, &s);
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (!s.first)
				add_bad(rs, path, it.lineno, "continuation line outside a stanza", line);
			else
				stanza_continue(&s, strstrip(line));
			continue;
		}
		colon = strchr(line, ':');
		if (!colon || colon == line || strcspn(line, " \t") < (size_t)(colon - line)) {
			add_bad(rs, path, it.lineno, "not a 'Field: value' line", line);
			continue;
		}
		if (!s.first)
			s.first = it.lineno;
		stanza_field(&s, line, it.lineno, colon);
	}
	stanza_emit(rs, path, &s);
}

/* ---- apt.conf proxies ---- */

struct aptconf_lexer {
	const char *p, *end;
};

/* Tokens: a quoted string (returned without quotes, *quoted true), '{', '}', ';', or a word. */
static char *lex(struct aptconf_lexer *lx, bool *quoted)
{
	for (;;) {
		while (lx->p < lx->end && (isspace((unsigned char)*lx->p) || !*lx->p)) /* NUL: garbage, skipped */
			lx->p++;
		if (lx->p >= lx->end)
			return NULL;
		if (*lx->p == '#' || (lx->p + 1 < lx->end && lx->p[0] == '/' && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (lx->p + 1 < lx->end && lx->p[0] == '/' && lx->p[1] == '*') {
			const char *e = memmem(lx->p + 2, lx->end - lx->p - 2, "*/", 2);

			lx->p = e ? e + 2 : lx->end;
			continue;
		}
		break;
	}
	*quoted = false;
	if (*lx->p == '{' || *lx->p == '}' || *lx->p == ';')
		return xstrndup(lx->p++, 1);
	if (*lx->p == '"') {
		const char *s = ++lx->p;

		while (lx->p < lx->end && *lx->p != '"')
			lx->p++;
		*quoted = true;
		char *v = xstrndup(s, lx->p - s);

		if (lx->p < lx->end)
			lx->p++;
		return v;
	}
	const char *s = lx->p;

	while (lx->p < lx->end && *lx->p && !isspace((unsigned char)*lx->p) && !strchr("{};\"", *lx->p))
		lx->p++;
	return xstrndup(s, lx->p - s);
}

static void aptconf_set(struct apt_proxy *p, const char *key, const char *val)
{
	static const char *const schemes[] = { "http", "https" };

	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++) {
		_cleanup_free_ char *base = xasprintf("acquire::%s::proxy", schemes[i]);
		size_t bl = strlen(base);

		if (strncasecmp(key, base, bl) != 0)
			continue;
		if (!key[bl]) {
			char **slot = i == 0 ? &p->http : &p->https;

			free(*slot);
			*slot = xstrdup(val);
		} else if (startswith(key + bl, "::") && key[bl + 2]) {
			strv_push_take(&p->host_names, xasprintf("%s:%s", schemes[i], key + bl + 2));
			strv_push(&p->host_values, val);
		}
	}
}

void apt_proxy_parse(struct apt_proxy *p, const char *buf, size_t len)
{
	struct aptconf_lexer lx = { buf, buf + len };
	_cleanup_strv_ strv scope = { 0 };
	_cleanup_free_ char *name = NULL;
	char *tok;
	bool quoted;

	while ((tok = lex(&lx, &quoted))) {
		_cleanup_free_ char *t = tok;

		if (!quoted && streq(t, "{")) {
			strv_push_take(&scope, name ? TAKE_PTR(name) : xstrdup(""));
		} else if (!quoted && streq(t, "}")) {
			if (scope.n) {
				free(scope.v[--scope.n]);
				scope.v[scope.n] = NULL;
			}
		} else if (!quoted && streq(t, ";")) {
			free(name);
			name = NULL;
		} else if (quoted && name) {
			_cleanup_free_ char *full = NULL;

			for (size_t i = 0; i < scope.n; i++) {
				char *f = full ? xasprintf("%s::%s", full, scope.v[i]) : xstrdup(scope.v[i]);

				free(full);
				full = f;
			}
			char *key = full ? xasprintf("%s::%s", full, name) : xstrdup(name);

			aptconf_set(p, key, t);
			free(key);
		} else if (!quoted) {
			free(name);
			name = TAKE_PTR(t);
		}
	}
}

void apt_proxy_load(const struct sysroot *sr, struct apt_proxy *p)
{
	_cleanup_strv_ strv names = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len;

	/* apt reads apt.conf.d in name order, then apt.conf last. */
	if (sysroot_list_dir(sr, "/etc/apt/apt.conf.d", &names) == 0)
		for (size_t i = 0; i < names.n; i++) {
			_cleanup_free_ char *f = xasprintf("/etc/apt/apt.conf.d/%s", names.v[i]);
			_cleanup_free_ char *b = NULL;

			if (names.v[i][0] != '.' && sysroot_read_file(sr, f, CONFIG_FILE_MAX, &b, &len) == 0)
				apt_proxy_parse(p, b, len);
		}
	if (sysroot_read_file(sr, "/etc/apt/apt.conf", CONFIG_FILE_MAX, &buf, &len) == 0)
		apt_proxy_parse(p, buf, len);
}

const char *apt_proxy_for(const struct apt_proxy *p, const char *url)
{
	bool https = startswith(url, "https://");
	const char *host = strstr(url, "://");
	_cleanup_free_ char *h = NULL;
	const char *v;

	if (!host)
		return NULL;
	host += 3;
	h = xstrndup(host, strcspn(host, "/:"));
	for (size_t i = 0; i < p->host_names.n; i++) {
		const char *n = p->host_names.v[i];

		if (startswith(n, https ? "https:" : "http:") && strcasecmp(strchr(n, ':') + 1, h) == 0)
			return strcasecmp(p->host_values.v[i], "DIRECT") == 0 ? "" : p->host_values.v[i];
	}
	v = https && p->https ? p->https : p->http; /* apt's https method falls back to http::Proxy */
	if (v && strcasecmp(v, "DIRECT") == 0)
		return "";
	return v;
}

void apt_proxy_free(struct apt_proxy *p)
{
	free(p->http);
	free(p->https);
	strv_free(&p->host_names);
	strv_free(&p->host_values);
	memset(p, 0, sizeof(*p));
}
