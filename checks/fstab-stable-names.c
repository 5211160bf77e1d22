/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fstab.stable-names: fstab names devices by what they contain (UUID=, LABEL=, PARTUUID=, LVM or
 * mapper names), not by where the kernel found them. On the target the disks sit on another bus
 * (Hyper-V storvsc, virtio, NVMe): /dev/sdb may become /dev/sda, by-id serials and by-path
 * positions change, and a boot that waits for a missing device ends in an emergency shell.
 */
#include <string.h>

#include "check.h"
#include "disks.h"
#include "fstab-resolve.h"
#include "fstab.h"

static const char *kind_words(enum spec_kind k)
{
	switch (k) {
	case SPEC_KERNEL_NAME:
		return "a kernel device name, which depends on the bus and probe order";
	case SPEC_BY_ID:
		return "a by-id link, which carries the source disk's vendor, model and serial";
	case SPEC_BY_PATH:
		return "a by-path link, which carries the source controller's bus position";
	default:
		return "a name that is not stable";
	}
}

static void report_bad_lines(struct result *r, const struct fstab *f)
{
	for (size_t i = 0; i < f->nbad; i++) {
		cJSON *e = result_evidence(r, "/etc/fstab", f->bad[i].line, f->bad[i].text);
		cJSON_AddStringToObject(e, "problem", f->bad[i].reason);
	}
	if (f->nbad) {
		result_set(r, ST_ERROR, "/etc/fstab has %zu malformed line%s (first: line %ld, %s); mount skips or "
			   "fails on them, so they cannot be judged.", f->nbad, f->nbad == 1 ? "" : "s",
			   f->bad[0].line, f->bad[0].reason);
	}
}

/*
 * The admin pastes these into a shell, so the device must survive both the single-quoted shell word
 * and the sed regular expression unchanged: only characters that mean nothing to either are
 * allowed ('.' is escaped). Anything else (octal escapes for spaces, quotes, brackets) gets a
 * manual instruction instead of a command that might edit the wrong line.
 */
static bool sed_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.:=+,@-", *s))
			return false;
	return true;
}

static char *sed_regex(const char *s)
{
	char *out = xmalloc(strlen(s) * 2 + 1), *p = out;

	for (; *s; s++) {
		if (*s == '.')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

/*
 * One sed per line, anchored on the line number and on the whole first field (so /dev/sda1 never
 * matches inside /dev/sda10), keeping the indentation and the separator. Without a known
 * replacement the UUID is read at fix time, and sed runs only if blkid found one.
 */
static void command_replace(struct result *r, const struct fstab_entry *e, const char *spec)
{
	_cleanup_free_ char *re = NULL;

	if (!sed_safe(e->spec) || (spec && !sed_safe(spec))) {
		result_detail(r, "/etc/fstab line %ld names its device with characters special to the shell or to "
			      "sed, so no command is given for it: edit that line by hand and replace %s with %s.",
			      e->line, e->spec, spec ? spec : "UUID= and the output of blkid -s UUID -o value on it");
		return;
	}
	re = sed_regex(e->spec);
	if (spec)
		result_command(r, "sed -i '%lds|^\\(\\s*\\)%s\\(\\s\\)|\\1%s\\2|' /etc/fstab", e->line, re, spec);
	else
		result_command(r, "u=$(blkid -s UUID -o value %s) && [ -n \"$u\" ] && "
			       "sed -i \"%lds|^\\(\\s*\\)%s\\(\\s\\)|\\1UUID=$u\\2|\" /etc/fstab", e->spec, e->line, re);
}

static void run(struct check_ctx *ctx, struct result *r)
{
	struct fstab_resolver *res = NULL;
	const struct fstab *f;
	size_t unstable = 0;
	int err;

	f = ctx_fstab(ctx, &err);
	if (err == -ENOENT) {
		result_set(r, ST_SKIP, "There is no /etc/fstab: the root comes from the kernel command line "
			   "(see bootloader.cmdline).");
		return;
	}
	if (err < 0) {
		result_file_error(r, "/etc/fstab", err);
		return;
	}
	report_bad_lines(r, f);
	for (size_t i = 0; i < f->n; i++) {
		const struct fstab_entry *e = &f->v[i];
		enum spec_kind k = fstab_spec_kind(e->spec, e->type);
		const struct blk_volume *v;
		bool optional = fstab_has_option(e->opts, "nofail") || fstab_has_option(e->opts, "noauto");
		cJSON *ev;

		if (spec_kind_stable(k))
			continue;
		if (!res)
			res = fstab_resolver_new(f, ctx_disks(ctx), sysroot_path(ctx->root), sysroot_is_live(ctx->root));
		unstable++;
		result_status(r, optional ? ST_WARN : ST_FAIL);
		ev = result_evidence(r, "/etc/fstab", e->line, e->text);
		cJSON_AddStringToObject(ev, "device", e->spec);
		cJSON_AddStringToObject(ev, "mountpoint", e->file);
		v = fstab_resolve(res, e);
		if (v && v->uuid) {
			_cleanup_free_ char *s = xasprintf("UUID=%s", v->uuid);
			cJSON_AddStringToObject(ev, "suggested_spec", s);
			command_replace(r, e, s);
		} else if (v && v->partuuid) {
			_cleanup_free_ char *s = xasprintf("PARTUUID=%s", v->partuuid);
			cJSON_AddStringToObject(ev, "suggested_spec", s);
			command_replace(r, e, s);
		} else {
			command_replace(r, e, NULL);
		}
		if (unstable == 1)
			result_detail(r, "%s (line %ld, %s) is named by %s.", e->spec, e->line, e->file, kind_words(k));
	}
	if (unstable) {
		result_detail(r, "%zu fstab entr%s would not be found reliably on %s.", unstable,
			      unstable == 1 ? "y" : "ies", ctx->target->pretty);
		result_remediation(r, true, "Name each device by UUID= (filesystems, swap) in /etc/fstab; "
				   "prepcheck --fix rewrites only the device field.");
	} else if (result_get_status(r) == ST_PASS && f->n == 0) {
		result_detail(r, "/etc/fstab has no entries.");
	} else if (result_get_status(r) == ST_PASS) {
		result_detail(r, "All %zu fstab entries name their device by content or are not block devices.",
			      f->n);
	}
	if (res)
		fstab_resolver_free(res);
}

const struct check check_fstab_stable_names = {
	.id = "fstab.stable-names",
	.title = "fstab names devices by UUID, LABEL or LVM name",
	.description = "no /dev/sdX, /dev/vdX, /dev/nvmeXnY, by-id or by-path devices in /etc/fstab",
	.run = run,
};
