/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fstab.resolvable: every UUID=/LABEL=/PARTUUID=/PARTLABEL= in fstab matches a filesystem or
 * partition on the disks that move. A stale UUID (a reformatted disk, a cloned template) boots today
 * only because something else mounts it; on the target it stops the boot.
 */
#include "check.h"
#include "disks.h"
#include "fstab-resolve.h"
#include "fstab.h"

static bool tagged(const struct fstab_entry *e)
{
	enum spec_kind k = fstab_spec_kind(e->spec, e->type);

	return k == SPEC_UUID || k == SPEC_LABEL || k == SPEC_PARTUUID || k == SPEC_PARTLABEL;
}

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct fstab *f = NULL;
	struct disk_set *ds;
	struct fstab_resolver *res;
	size_t checked = 0, missing = 0;
	int err;

	f = ctx_fstab(ctx, &err);
	if (err == -ENOENT) {
		result_set(r, ST_SKIP, "There is no /etc/fstab.");
		return;
	}
	if (err < 0) {
		result_file_error(r, "/etc/fstab", err);
		return;
	}
	for (size_t i = 0; i < f->n; i++)
		checked += tagged(&f->v[i]);
	if (!checked) {
		result_detail(r, "No fstab entry names a device by UUID, LABEL or PARTUUID.");
		return;
	}
	checked = 0;
	ds = ctx_disks(ctx);
	if (ds->error || ds->n == 0) {
		result_set(r, ST_ERROR, "No disks to resolve fstab against (%s); name them with --disk.",
			   ds->error ? ds->error : "none found behind the root's mounts");
		return;
	}
	for (size_t i = 0; i < ds->n; i++) {
		cJSON *e = result_evidence(r, NULL, 0, NULL);
		cJSON_AddStringToObject(e, "device", ds->v[i].path);
		if (ds->v[i].error)
			cJSON_AddStringToObject(e, "problem", ds->v[i].error);
	}
	res = fstab_resolver_new(f, ds, sysroot_path(ctx->root), sysroot_is_live(ctx->root));
	for (size_t i = 0; i < f->n; i++) {
		const struct fstab_entry *e = &f->v[i];
		bool optional = fstab_has_option(e->opts, "nofail") || fstab_has_option(e->opts, "noauto");
		cJSON *ev;

		if (!tagged(e))
			continue;
		checked++;
		if (fstab_resolve(res, e))
			continue;
		missing++;
		result_status(r, optional ? ST_WARN : ST_FAIL);
		ev = result_evidence(r, "/etc/fstab", e->line, e->text);
		cJSON_AddStringToObject(ev, "device", e->spec);
		cJSON_AddStringToObject(ev, "mountpoint", e->file);
		if (missing == 1)
			result_detail(r, "%s (line %ld, %s) matches no filesystem or partition on %zu disk%s%s.", e->spec,
				      e->line, e->file, ds->n, ds->n == 1 ? "" : "s",
				      optional ? " (marked nofail/noauto, so the boot goes on without it)" : "");
	}
	fstab_resolver_free(res);
	if (missing) {
		result_detail(r, "%zu of %zu tagged entries are unresolvable.", missing, checked);
		result_remediation(r, false, "Correct or remove the stale entries; list what exists with blkid, or "
				   "mark data volumes that may be absent with nofail.");
		result_command(r, "blkid -o full");
	} else {
		result_detail(r, "%zu tagged fstab entr%s found on the disks.", checked, checked == 1 ? "y" : "ies");
	}
}

const struct check check_fstab_resolvable = {
	.id = "fstab.resolvable",
	.title = "fstab's UUID/LABEL entries exist on the disks",
	.description = "every UUID=, LABEL=, PARTUUID= in /etc/fstab matches a filesystem on the disks",
	.run = run,
};
