/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udev.net-rules: on a target that gives the NIC a new MAC, rules that name interfaces by MAC leave
 * them nameless. A file that holds nothing else (70-persistent-net.rules) is moved into the journal;
 * in a file with other rules only those rules are commented out.
 * udev.block-rules: rules keyed on vendor/model/serial/path attributes are commented out, each below
 * one line saying why.
 */
#include "plan.h"
#include "edits.h"
#include "engine.h"
#include "fileio.h"
#include "target.h"

static const char *const net_checks[] = { "udev.net-rules", NULL };
static const char *const block_checks[] = { "udev.block-rules", NULL };

static long rule_end(const struct text *t, long line, const cJSON *ev)
{
	const cJSON *le = ev ? cJSON_GetObjectItemCaseSensitive(ev, "line_end") : NULL;
	long end = line, nlines = text_nlines(t);

	if (cJSON_IsNumber(le) && le->valuedouble >= line)
		return (long)le->valuedouble;
	for (;;) { /* continuation lines end with a backslash */
		_cleanup_free_ char *l = text_line(t, end);
		size_t n = l ? strlen(l) : 0;

		if (!n || l[n - 1] != '\\' || end >= nlines)
			return end;
		end++;
	}
}

static int comment_span(struct text *t, long line, long end, const char *explanation)
{
	for (long n = end; n >= line; n--) {
		size_t s, e;
		if (text_line_span(t, n, &s, &e) < 0)
			return -ERANGE;
		if (n == line && text_line_is_comment(t, n))
			return 0; /* done already */
		text_splice(t, s, 0, "# ");
	}
	return explanation ? text_insert_line(t, line, explanation) : 0;
}

int udev_comment_rule(struct text *t, long line, const char *explanation)
{
	return comment_span(t, line, rule_end(t, line, NULL), explanation);
}

/* Every rule line of the file is one of the flagged ones: the file holds nothing else. */
static bool only_flagged(const struct text *t, const char *path, const cJSON *evidence, const char *kind)
{
	long nlines = text_nlines(t);

	for (long n = 1; n <= nlines; n++) {
		_cleanup_free_ char *l = text_line(t, n);
		const cJSON *ev;
		bool covered = false;

		if (!*strstrip(l) || *strstrip(l) == '#')
			continue;
		cJSON_ArrayForEach(ev, evidence) {
			const char *p = ev_str(ev, "path"), *k = ev_str(ev, "rule");
			long a = ev_line(ev);

			if (p && k && streq(p, path) && streq(k, kind) && a > 0 && n >= a && n <= rule_end(t, a, ev))
				covered = true;
		}
		if (!covered)
			return false;
	}
	return true;
}

static int plan_file(const struct morph_ctx *m, const char *path, const cJSON *evidence, const char *kind,
		     bool may_remove, const char *explanation, struct fix *fix, char **why)
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
	if (may_remove && only_flagged(&t, path, evidence, kind)) {
		struct action *a = fix_add(fix, ACT_REMOVE, path, "every rule in it pins an interface to a MAC address "
					   "the target will not keep");
		action_set_orig(a, buf, len);
		text_free(&t);
		return 0;
	}
	cJSON_ArrayForEach(ev, evidence)
		if (ev_str(ev, "path") && streq(ev_str(ev, "path"), path) && ev_line(ev) > last)
			last = ev_line(ev);
	for (long line = last; line > 0 && r == 0; line--)
		cJSON_ArrayForEach(ev, evidence) {
			const char *p = ev_str(ev, "path"), *k = ev_str(ev, "rule");

			if (ev_line(ev) != line || !p || !k || !streq(p, path) || !streq(k, kind))
				continue;
			r = comment_span(&t, line, rule_end(&t, line, ev), explanation);
			if (r < 0)
				*why = xasprintf("%s line %ld: no such line (changed since it was checked?)", path, line);
			break;
		}
	if (r == 0)
		fix_add_edit(fix, path, buf, len, TAKE_PTR(t.buf), t.len, "comment out the flagged rules");
	text_free(&t);
	return r;
}

static int plan_rules(const struct morph_ctx *m, const struct result *res, const char *kind, bool may_remove,
		      const char *explanation, struct fix *fix, char **why)
{
	_cleanup_strv_ strv paths = { 0 };
	const cJSON *ev;

	cJSON_ArrayForEach(ev, res->evidence) {
		const char *p = ev_str(ev, "path"), *k = ev_str(ev, "rule");
		if (p && k && streq(k, kind) && ev_line(ev) > 0 && !strv_contains(&paths, p))
			strv_push(&paths, p);
	}
	for (size_t i = 0; i < paths.n; i++) {
		int r = plan_file(m, paths.v[i], res->evidence, kind, may_remove, explanation, fix, why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int plan_net(const struct morph_ctx *m, const struct result *const *res, size_t n, struct fix *fix,
		    char **why)
{
	_cleanup_free_ char *expl = NULL;

	(void)n;
	if (m->target->keeps_mac)
		return 0; /* the check does not flag MAC rules there; nothing of ours to do */
	expl = xasprintf("# prepcheck --fix: disabled, pins an interface to a MAC address %s does not keep",
			 m->target->pretty);
	fix->summary = xstrdup("disable MAC-pinned interface naming rules");
	return plan_rules(m, res[0], "net-mac", true, expl, fix, why);
}

static int plan_block(const struct morph_ctx *m, const struct result *const *res, size_t n, struct fix *fix,
		      char **why)
{
	_cleanup_free_ char *expl = NULL;

	(void)n;
	expl = xasprintf("# prepcheck --fix: disabled, matches disk vendor/model/serial/path attributes that "
			 "change on %s", m->target->pretty);
	fix->summary = xstrdup("comment out block-device rules keyed on disk hardware");
	return plan_rules(m, res[0], "block-attr", false, expl, fix, why);
}

const struct remedy remedy_udev_net = { .name = "udev-net", .checks = net_checks, .plan = plan_net };
const struct remedy remedy_udev_block = { .name = "udev-block", .checks = block_checks, .plan = plan_block };
