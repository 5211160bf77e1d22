/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udev.block-rules: block-device rules keyed on the disk's vendor, model, serial, WWN, bus or path.
 * The target presents different virtual disks (another vendor string, serial, bus: SCSI on Azure,
 * virtio on KVM, NVMe on AWS), so the rule stops matching and its symlink, name or ownership is gone.
 * When /etc/fstab mounts through such a symlink, the boot stops: that is a blocker.
 */
#include "check.h"
#include "fstab.h"
#include "udev-rules.h"

/* The fstab line that mounts /dev/<one of the rule's SYMLINK/NAME values>, or NULL. */
static const struct fstab_entry *fstab_user(struct check_ctx *ctx, const struct udev_rule *u)
{
	int err = 0;
	const struct fstab *f = ctx_fstab(ctx, &err);

	if (!f)
		return NULL;
	for (size_t i = 0; i < u->ntok; i++) {
		const struct udev_token *t = &u->tok[i];
		_cleanup_free_ char *names = NULL;
		char *save = NULL;

		if ((!streq(t->key, "SYMLINK") && !streq(t->key, "NAME")) || udev_op_is_match(t->op))
			continue;
		names = xstrdup(t->value);
		for (char *n = strtok_r(names, " \t", &save); n; n = strtok_r(NULL, " \t", &save))
			for (size_t j = 0; j < f->n; j++)
				if (startswith(f->v[j].spec, "/dev/") && streq(f->v[j].spec + 5, n))
					return &f->v[j];
	}
	return NULL;
}

static void report_bad(struct result *r, const struct udev_rules *rs)
{
	for (size_t i = 0; i < rs->nbad; i++) {
		const struct udev_bad *b = &rs->bad[i];
		cJSON *e = result_evidence(r, b->path, b->line, b->text);

		cJSON_AddStringToObject(e, "error", b->reason);
		if (b->line > 0)
			result_set(r, ST_ERROR, "%s:%ld: %s: udev ignores this line.", b->path, b->line, b->reason);
		else
			result_set(r, ST_ERROR, "%s: cannot be read (%s).", b->path, b->reason);
	}
}

static void run(struct check_ctx *ctx, struct result *r)
{
	struct udev_rules rs = { 0 };
	unsigned found = 0, mounted = 0;

	udev_rules_load(ctx->root, udev_admin_rule_dirs, &rs);
	for (size_t i = 0; i < rs.n; i++) {
		const struct udev_rule *u = &rs.v[i];
		const struct udev_token *t = udev_rule_block_reliance(u);
		const struct fstab_entry *fe;
		_cleanup_free_ char *relies = NULL;
		cJSON *e;

		if (!t)
			continue;
		found++;
		relies = t->attr ? xasprintf("%s{%s}%s\"%s\"", t->key, t->attr, udev_op_str(t->op), t->value)
				 : xasprintf("%s%s\"%s\"", t->key, udev_op_str(t->op), t->value);
		e = result_evidence(r, u->path, u->line, u->text);
		cJSON_AddStringToObject(e, "rule", "block-attr");
		cJSON_AddStringToObject(e, "relies_on", relies);
		if (u->line_end > u->line)
			cJSON_AddNumberToObject(e, "line_end", u->line_end);
		result_command(r, "sed -i '%ld,%lds/^/# /' %s", u->line, u->line_end, u->path);
		fe = fstab_user(ctx, u);
		if (fe) {
			mounted++;
			cJSON_AddStringToObject(e, "fstab", fe->text);
			result_set(r, ST_FAIL, "/etc/fstab line %ld mounts %s, a name only %s:%ld creates (it matches "
				   "%s): the target's disks will not match, the mount fails and the boot stops.",
				   fe->line, fe->spec, u->path, u->line, relies);
		}
	}
	if (found) {
		result_set(r, ST_WARN, "%u block-device rule(s) match on vendor, model, serial, bus or path "
			   "attributes that the target's virtual disks do not share; their names, links and "
			   "ownership will be missing after the move.", found);
		/* Not fixable while fstab mounts a name only such a rule makes: commenting the rule out would
		 * pass the re-check and leave a boot that waits for a device nobody creates. */
		result_remediation(r, mounted == 0, "%sComment out these rules (or rewrite them to match "
				   "ENV{ID_FS_UUID} / ENV{ID_PART_ENTRY_UUID}).",
				   mounted ? "First mount by UUID= in /etc/fstab instead of the rule's names; then " : "");
	} else {
		result_detail(r, "No block-device rule relies on hardware identity.");
	}
	report_bad(r, &rs);
	udev_rules_free(&rs);
}

const struct check check_udev_block_rules = {
	.id = "udev.block-rules",
	.title = "Block-device rules do not depend on the disk hardware",
	.description = "udev rules for disks keyed on vendor, model, serial, bus or path attributes",
	.run = run,
};
