/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plan: built from the report by the remediations, printed for --dry-run. */
#include "plan.h"
#include "engine.h"
#include "fileio.h"
#include "log.h"
#include "run.h"

#include <fcntl.h>

const struct remedy *const morph_remedies[] = {
	&remedy_fstab, &remedy_initramfs, &remedy_udev_net, &remedy_udev_block, &remedy_repos, NULL,
};

const char *ev_str(const cJSON *item, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

long ev_line(const cJSON *item)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "line");

	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

struct action *fix_add(struct fix *f, enum action_kind kind, const char *path, const char *why)
{
	struct action *a;

	f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	a = &f->v[f->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->path = path ? xstrdup(path) : NULL;
	a->why = why ? xstrdup(why) : NULL;
	a->mode = 0644;
	return a;
}

void action_set_orig(struct action *a, const char *orig, size_t len)
{
	free(a->orig);
	a->orig = NULL;
	a->orig_len = 0;
	if (orig) {
		a->orig = xmalloc(len + 1);
		memcpy(a->orig, orig, len);
		a->orig[len] = '\0';
		a->orig_len = len;
	}
}

bool fix_add_edit(struct fix *f, const char *path, const char *orig, size_t orig_len, char *data, size_t len,
		  const char *why)
{
	struct action *a;

	if (orig && len == orig_len && memcmp(orig, data, len) == 0) {
		free(data);
		return false;
	}
	a = fix_add(f, ACT_WRITE, path, why);
	action_set_orig(a, orig, orig_len);
	a->data = data;
	a->len = len;
	return true;
}

static void action_free(struct action *a)
{
	free(a->path);
	free(a->data);
	free(a->orig);
	free(a->kver);
	free(a->why);
	strv_free(&a->argv);
	strv_free(&a->modules);
}

void fix_free(struct fix *f)
{
	for (size_t i = 0; i < f->n; i++)
		action_free(&f->v[i]);
	free(f->v);
	free(f->remedy);
	free(f->summary);
	strv_free(&f->checks);
	memset(f, 0, sizeof(*f));
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		fix_free(&p->v[i]);
	free(p->v);
	strv_free(&p->left);
	memset(p, 0, sizeof(*p));
}

size_t plan_actions(const struct plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->v[i].n;
	return n;
}

bool plan_rebuilds(const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		for (size_t k = 0; k < p->v[i].n; k++)
			if (p->v[i].v[k].kind == ACT_REBUILD)
				return true;
	return false;
}

static bool failing(const struct result *r) { return r->status == ST_WARN || r->status == ST_FAIL; }

static bool handles(const struct remedy *rm, const char *id)
{
	for (size_t i = 0; rm->checks[i]; i++)
		if (streq(rm->checks[i], id))
			return true;
	return false;
}

/* A path two remediations both want to change: the later one is left to the admin. */
static const char *conflict(const struct plan *p, const struct fix *f)
{
	for (size_t a = 0; a < f->n; a++)
		for (size_t i = 0; i < p->n; i++)
			for (size_t b = 0; b < p->v[i].n; b++)
				if (f->v[a].path && p->v[i].v[b].path && streq(f->v[a].path, p->v[i].v[b].path))
					return f->v[a].path;
	return NULL;
}

/* A file the executor would refuse to replace (symlink, device...): better left to the admin now than
 * a rollback of everything later. */
static char *unsafe_target(const struct sysroot *sr, const struct fix *f)
{
	for (size_t a = 0; a < f->n; a++) {
		struct stat st;

		if ((f->v[a].kind != ACT_WRITE && f->v[a].kind != ACT_REMOVE) || sysroot_lstat(sr, f->v[a].path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode))
			return xasprintf("%s is a symbolic link: --fix does not follow it; change its target by hand",
					 f->v[a].path);
		if (!S_ISREG(st.st_mode))
			return xasprintf("%s is not a regular file: --fix leaves it alone", f->v[a].path);
	}
	return NULL;
}

static void leave(struct plan *p, const char *id, const char *why)
{
	_cleanup_free_ char *s = xasprintf("%s: %s", id, why);

	strv_push(&p->left, s);
}

static void plan_remedy(const struct morph_ctx *m, const struct remedy *rm, struct plan *p, strv *done)
{
	const struct report *rep = m->rep;
	const struct result **res = xcalloc(rep->n + 1, sizeof(*res));
	_cleanup_free_ char *why = NULL;
	struct fix f = { 0 };
	size_t n = 0;
	_cleanup_free_ char *unsafe = NULL;
	const char *clash;
	int r;

	for (size_t i = 0; i < rep->n; i++)
		if (failing(&rep->results[i]) && rep->results[i].fixable && handles(rm, rep->results[i].check->id))
			res[n++] = &rep->results[i];
	if (!n) {
		free(res);
		return;
	}
	f.remedy = xstrdup(rm->name);
	for (size_t i = 0; i < n; i++) {
		strv_push(&f.checks, res[i]->check->id);
		strv_push(done, res[i]->check->id);
	}
	r = rm->plan(m, (const struct result *const *)res, n, &f, &why);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			leave(p, res[i]->check->id, why ? why : strerror(-r));
		fix_free(&f);
	} else if (f.n == 0) {
		fix_free(&f);
	} else if ((unsafe = unsafe_target(m->root, &f))) {
		for (size_t i = 0; i < n; i++)
			leave(p, res[i]->check->id, unsafe);
		fix_free(&f);
	} else if ((clash = conflict(p, &f))) {
		_cleanup_free_ char *msg = xasprintf("%s is also changed by another remediation; fix it by hand", clash);
		for (size_t i = 0; i < n; i++)
			leave(p, res[i]->check->id, msg);
		fix_free(&f);
	} else {
		p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
		p->v[p->n++] = f;
	}
	free(res);
}

void plan_build(const struct morph_ctx *m, struct plan *p)
{
	_cleanup_strv_ strv done = { 0 };

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; morph_remedies[i]; i++)
		plan_remedy(m, morph_remedies[i], p, &done);
	for (size_t i = 0; i < m->rep->n; i++) {
		const struct result *r = &m->rep->results[i];

		if ((!failing(r) && r->status != ST_ERROR) || strv_contains(&done, r->check->id))
			continue;
		_cleanup_free_ char *why = xasprintf("%s%s%s", r->status == ST_ERROR ? "the check could not decide"
						     : r->fixable ? "no automatic remediation in this version"
								  : "not fixable automatically",
						     r->rem_summary ? ": " : "", r->rem_summary ? r->rem_summary : "");
		leave(p, r->check->id, why);
	}
}

char *argv_to_string(char *const *argv)
{
	size_t cap = 64, len = 0;
	char *s = xmalloc(cap);

	s[0] = '\0';
	for (size_t i = 0; argv && argv[i]; i++) {
		const char *a = argv[i];
		bool plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == strlen(a);
		_cleanup_free_ char *q = NULL;

		if (plain) {
			q = xstrdup(a);
		} else {
			q = xmalloc(4 * strlen(a) + 3);
			char *o = q;
			*o++ = '\'';
			for (; *a; a++) {
				if (*a == '\'') {
					memcpy(o, "'\\''", 4);
					o += 4;
				} else {
					*o++ = *a;
				}
			}
			*o++ = '\'';
			*o = '\0';
		}
		size_t need = len + strlen(q) + 2;
		if (need > cap) {
			cap = need * 2;
			s = xrealloc(s, cap);
		}
		len += sprintf(s + len, "%s%s", i ? " " : "", q);
	}
	return s;
}

static int temp_with(const char *dir, const char *name, const char *data, size_t len, char **path)
{
	*path = xasprintf("%s/%s", dir, name);
	return write_file_atomic(*path, data, len, 0600);
}

int unified_diff(const char *path, const char *a, size_t alen, const char *b, size_t blen, char **out)
{
	char tmpl[] = "/tmp/prepcheck-diff.XXXXXX";
	_cleanup_free_ char *fa = NULL, *fb = NULL, *la = NULL, *lb = NULL;
	struct run_result res = { 0 };
	struct run_opts ro = { .timeout_ms = 30000, .max_output = 16u << 20 };
	int r = 0;

	*out = NULL;
	if (!mkdtemp(tmpl))
		return -errno;
	if (a)
		r = temp_with(tmpl, "a", a, alen, &fa);
	if (r == 0 && b)
		r = temp_with(tmpl, "b", b, blen, &fb);
	la = xasprintf("a%s", path);
	lb = xasprintf("b%s", path);
	if (r == 0) {
		const char *argv[] = { "diff", "-u", "--label", a ? la : "/dev/null", "--label", b ? lb : "/dev/null",
				       fa ? fa : "/dev/null", fb ? fb : "/dev/null", NULL };
		r = run_cmd(argv, &ro, &res);
		if (r == 0 && !res.signo && (res.exit_code == 0 || res.exit_code == 1))
			*out = TAKE_PTR(res.out);
		else if (r == 0)
			r = -EIO;
		run_result_free(&res);
	}
	if (fa)
		unlink(fa);
	if (fb)
		unlink(fb);
	rmdir(tmpl);
	return r;
}

static void print_action(FILE *out, const struct action *a, const struct sysroot *sr)
{
	_cleanup_free_ char *diff = NULL, *cmd = NULL;
	const char *in_root = sysroot_is_live(sr) ? "" : " (in a chroot of the root)";

	if (a->why)
		fprintf(out, "  # %s\n", a->why);
	switch (a->kind) {
	case ACT_WRITE:
	case ACT_REMOVE:
		if (a->kind == ACT_REMOVE)
			fprintf(out, "  remove %s (its content is kept in the journal)\n", a->path);
		if (unified_diff(a->path, a->orig, a->orig_len, a->kind == ACT_WRITE ? a->data : NULL, a->len, &diff) < 0)
			fprintf(out, "  (diff unavailable: is diff(1) installed?)\n");
		else
			fputs(diff, out);
		break;
	case ACT_RUN:
		cmd = argv_to_string(a->argv.v);
		fprintf(out, "  run%s: %s\n", in_root, cmd);
		break;
	case ACT_REBUILD:
		cmd = argv_to_string(a->argv.v);
		fprintf(out, "  run%s: %s\n", in_root, cmd);
		fprintf(out, "    (it writes %s.mobility-new, which replaces %s once it is proven to hold:", a->path, a->path);
		for (size_t i = 0; i < a->modules.n; i++)
			fprintf(out, " %s", a->modules.v[i]);
		fputs(")\n", out);
		break;
	}
}

int plan_print(FILE *out, const struct plan *p, const struct sysroot *sr)
{
	if (!p->n)
		fputs("Nothing to fix automatically.\n", out);
	for (size_t i = 0; i < p->n; i++) {
		const struct fix *f = &p->v[i];

		for (size_t c = 0; c < f->checks.n; c++)
			fprintf(out, "%s%s", c ? ", " : "== ", f->checks.v[c]);
		fprintf(out, ": %s\n", f->summary ? f->summary : f->remedy);
		for (size_t k = 0; k < f->n; k++)
			print_action(out, &f->v[k], sr);
		fputc('\n', out);
	}
	if (p->left.n) {
		fputs("Left for the admin:\n", out);
		for (size_t i = 0; i < p->left.n; i++)
			fprintf(out, "  %s\n", p->left.v[i]);
	}
	return fflush(out) == EOF || ferror(out) ? -EIO : 0;
}
