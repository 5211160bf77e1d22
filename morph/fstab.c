/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fstab.stable-names: put UUID= (from libblkid, via the check's suggested_spec) in the device field of
 * each flagged line. Only the bytes of that field change: comments, spacing, options stay as written.
 */
#include "plan.h"
#include "disks.h"
#include "engine.h"
#include "fileio.h"
#include "fstab-resolve.h"
#include "fstab.h"
#include "textedit.h"
#include "edits.h"

static const char *const checks[] = { "fstab.stable-names", NULL };

/* The check did not say: ask libblkid ourselves, the way the check resolves entries. */
static char *resolve_spec(const struct morph_ctx *m, const struct fstab *f, const struct fstab_entry *e)
{
	struct disk_set ds = { 0 };
	struct fstab_resolver *res;
	const struct blk_volume *v;
	char *spec = NULL;

	disks_probe(sysroot_path(m->root), &m->opts->disks, &ds);
	res = fstab_resolver_new(f, &ds, sysroot_path(m->root), sysroot_is_live(m->root));
	v = res ? fstab_resolve(res, e) : NULL;
	if (v && v->uuid)
		spec = xasprintf("UUID=%s", v->uuid);
	else if (v && v->partuuid)
		spec = xasprintf("PARTUUID=%s", v->partuuid);
	if (res)
		fstab_resolver_free(res);
	disks_free(&ds);
	return spec;
}

static const struct fstab_entry *entry_at(const struct fstab *f, long line)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].line == line)
			return &f->v[i];
	return NULL;
}

/* Replace the device field of LINE in T by SPEC, after checking the line still names DEVICE. */
int fstab_replace_spec(struct text *t, const struct fstab_entry *e, const char *spec)
{
	size_t s, end;

	if (text_line_span(t, e->line, &s, &end) < 0 || e->spec_off + e->spec_len > end - s)
		return -ERANGE;
	text_splice(t, s + e->spec_off, e->spec_len, spec);
	return 0;
}

static int plan_fstab(const struct morph_ctx *m, const struct result *const *res, size_t n, struct fix *fix,
		      char **why)
{
	_cleanup_free_ char *buf = NULL, *parse = NULL;
	struct fstab f = { 0 };
	struct text t;
	size_t len, changed = 0, unresolved = 0;
	const cJSON *ev;
	long last = -1;
	int r;

	r = sysroot_read_file(m->root, "/etc/fstab", CONFIG_FILE_MAX, &buf, &len);
	if (r < 0) {
		*why = xasprintf("/etc/fstab: %s", errstr(r));
		return r;
	}
	parse = xmalloc(len + 1);
	memcpy(parse, buf, len + 1);
	fstab_parse(parse, len, &f);
	text_init(&t, buf, len);
	/* Bottom-up, so that an edit never moves the offsets of a line still to edit. */
	cJSON_ArrayForEach(ev, res[0]->evidence)
		if (ev_line(ev) > last)
			last = ev_line(ev);
	for (long line = last; line > 0; line--) {
		const cJSON *item = NULL;
		const struct fstab_entry *e;
		_cleanup_free_ char *spec = NULL;

		cJSON_ArrayForEach(ev, res[0]->evidence)
			if (ev_line(ev) == line && ev_str(ev, "device"))
				item = ev;
		if (!item || !(e = entry_at(&f, line)))
			continue;
		if (!streq(e->spec, ev_str(item, "device"))) {
			free(*why);
			*why = xasprintf("/etc/fstab line %ld changed since it was checked (now '%s')", line, e->spec);
			r = -ESTALE;
			break;
		}
		spec = ev_str(item, "suggested_spec") ? xstrdup(ev_str(item, "suggested_spec")) : resolve_spec(m, &f, e);
		if (!spec) {
			/* The others are still fixed; this one stays in the re-check for the admin. */
			free(*why);
			*why = xasprintf("/etc/fstab line %ld: no filesystem UUID found for %s (%s); replace it by hand",
					 line, e->spec, e->file);
			unresolved++;
			continue;
		}
		r = fstab_replace_spec(&t, e, spec);
		if (r < 0) {
			free(*why);
			*why = xasprintf("/etc/fstab line %ld: device field not where it was parsed", line);
			break;
		}
		changed++;
	}
	fstab_free(&f);
	if (r < 0) {
		text_free(&t);
		return r;
	}
	if (!changed) {
		text_free(&t);
		return unresolved ? -ENXIO : 0;
	}
	fix->summary = xasprintf("name %zu fstab device%s by UUID%s%s", changed, changed == 1 ? "" : "s",
				 unresolved ? "; left for the admin: " : "", unresolved ? *why : "");
	free(*why);
	*why = NULL;
	fix_add_edit(fix, "/etc/fstab", buf, len, TAKE_PTR(t.buf), t.len,
		     "device fields only; comments, spacing and options unchanged");
	(void)n;
	return 0;
}

const struct remedy remedy_fstab = { .name = "fstab", .checks = checks, .plan = plan_fstab };
