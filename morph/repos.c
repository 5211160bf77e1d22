/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repos.local-sources: disable CD-ROM / local-path package sources, each dialect its own way:
 * a one-line apt source is commented out with '#', a deb822 stanza gets "Enabled: no", a yum or
 * zypper section gets "enabled=0". Nothing is deleted, so the admin sees what was there.
 */
#include "plan.h"
#include "edits.h"
#include "engine.h"
#include "fileio.h"

#include <ctype.h>
#include <strings.h>

static const char *const checks[] = { "repos.local-sources", NULL };

static bool blank_line(const struct text *t, long n)
{
	_cleanup_free_ char *l = text_line(t, n);

	return !l || !*strstrip(l);
}

int repo_disable_apt_line(struct text *t, long line)
{
	size_t s, e;

	if (text_line_span(t, line, &s, &e) < 0)
		return -ERANGE;
	if (text_line_is_comment(t, line))
		return 0;
	text_splice(t, s, 0, "# ");
	return 0;
}

/* The value of "KEY:" (deb822) or "KEY=" (ini) on line N, or NULL when the line is another key. */
static char *key_value(const struct text *t, long n, const char *key, char sep)
{
	_cleanup_free_ char *l = text_line(t, n);
	char *p, *q;
	size_t kl = strlen(key);

	if (!l)
		return NULL;
	p = l + strspn(l, " \t");
	if (strncasecmp(p, key, kl) != 0)
		return NULL;
	q = p + kl + strspn(p + kl, " \t");
	if (*q != sep)
		return NULL;
	return xstrdup(strstrip(q + 1));
}

int repo_disable_deb822(struct text *t, long line)
{
	long first = line, last = line, nlines = text_nlines(t);

	if (line < 1 || line > nlines || blank_line(t, line))
		return -ERANGE;
	while (first > 1 && !blank_line(t, first - 1))
		first--;
	while (last < nlines && !blank_line(t, last + 1))
		last++;
	bool seen = false;

	/* Every Enabled: field of the stanza (the last one would win), so none can say yes. */
	for (long n = first; n <= last; n++) {
		_cleanup_free_ char *v = key_value(t, n, "Enabled", ':');

		if (!v)
			continue;
		seen = true;
		if (strcasecmp(v, "no") != 0 && text_replace_line(t, n, "Enabled: no") < 0)
			return -ERANGE;
	}
	return seen ? 0 : text_insert_line(t, last + 1, "Enabled: no");
}

static bool section_header(const struct text *t, long n)
{
	_cleanup_free_ char *l = text_line(t, n);

	return l && *strstrip(l) == '[';
}

int repo_disable_ini(struct text *t, long line)
{
	long hdr = line, nlines = text_nlines(t);

	if (line < 1 || line > nlines)
		return -ERANGE;
	while (hdr >= 1 && !section_header(t, hdr))
		hdr--;
	if (hdr < 1)
		return -EBADMSG; /* a key before any [section]: not a repo definition we understand */
	bool seen = false;

	/* Every enabled= of the section: with two, the last one wins. */
	for (long n = hdr + 1; n <= nlines && !section_header(t, n); n++) {
		_cleanup_free_ char *v = key_value(t, n, "enabled", '=');

		if (!v)
			continue;
		seen = true;
		if (!streq(v, "0") && text_replace_line(t, n, "enabled=0") < 0)
			return -ERANGE;
	}
	return seen ? 0 : text_insert_line(t, hdr + 1, "enabled=0");
}

static int disable_one(struct text *t, const char *dialect, long line)
{
	if (streq(dialect, "apt-line"))
		return repo_disable_apt_line(t, line);
	if (streq(dialect, "deb822"))
		return repo_disable_deb822(t, line);
	if (streq(dialect, "yum") || streq(dialect, "zypper"))
		return repo_disable_ini(t, line);
	return -EPROTONOSUPPORT;
}

/* Same line as the check saw it? Compared without surrounding blanks. */
static bool line_matches(const struct text *t, long line, const char *text)
{
	_cleanup_free_ char *l = text_line(t, line), *want = text ? xstrdup(text) : NULL;

	return !want || (l && streq(strstrip(l), strstrip(want)));
}

static int plan_file(const struct morph_ctx *m, const char *path, const cJSON *evidence, struct fix *fix, char **why)
{
	_cleanup_free_ char *buf = NULL;
	struct text t;
	const cJSON *ev;
	size_t len;
	long last = 0;
	int r;

	r = sysroot_read_file(m->root, path, CONFIG_FILE_MAX, &buf, &len);
	if (r < 0) {
		*why = xasprintf("%s: %s", path, errstr(r));
		return r;
	}
	text_init(&t, buf, len);
	cJSON_ArrayForEach(ev, evidence)
		if (ev_str(ev, "path") && streq(ev_str(ev, "path"), path) && ev_line(ev) > last)
			last = ev_line(ev);
	/* Bottom-up: inserting "Enabled: no" or "enabled=0" moves the lines below, not those above. */
	for (long line = last; line > 0 && r == 0; line--)
		cJSON_ArrayForEach(ev, evidence) {
			const char *d = ev_str(ev, "dialect");

			if (ev_line(ev) != line || !ev_str(ev, "path") || !streq(ev_str(ev, "path"), path))
				continue;
			if (!line_matches(&t, line, ev_str(ev, "text"))) {
				*why = xasprintf("%s line %ld changed since it was checked", path, line);
				r = -ESTALE;
				break;
			}
			r = disable_one(&t, d ? d : "", line);
			if (r < 0) {
				*why = xasprintf("%s line %ld: cannot disable a '%s' source automatically", path, line,
						 d ? d : "unknown");
				break;
			}
			break;
		}
	if (r == 0)
		fix_add_edit(fix, path, buf, len, TAKE_PTR(t.buf), t.len, "disable the local/CD-ROM source");
	text_free(&t);
	return r;
}

static int plan_repos(const struct morph_ctx *m, const struct result *const *res, size_t n, struct fix *fix,
		      char **why)
{
	_cleanup_strv_ strv paths = { 0 };
	const cJSON *ev;

	(void)n;
	cJSON_ArrayForEach(ev, res[0]->evidence) {
		const char *p = ev_str(ev, "path");
		if (p && ev_line(ev) > 0 && ev_str(ev, "dialect") && !strv_contains(&paths, p))
			strv_push(&paths, p);
	}
	for (size_t i = 0; i < paths.n; i++) {
		int r = plan_file(m, paths.v[i], res[0]->evidence, fix, why);
		if (r < 0)
			return r;
	}
	fix->summary = xasprintf("disable local package sources in %zu file%s", fix->n, fix->n == 1 ? "" : "s");
	return 0;
}

const struct remedy remedy_repos = { .name = "repos", .checks = checks, .plan = plan_repos };
