/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Facts several checks share but not all need: gathered on first use, once per run. */
#include "engine.h"
#include "disks.h"
#include "fileio.h"
#include "fstab.h"

struct disk_set *ctx_disks(struct check_ctx *ctx)
{
	if (!ctx->disks) {
		ctx->disks = xcalloc(1, sizeof(*ctx->disks));
		disks_probe(sysroot_path(ctx->root), &ctx->opts->disks, ctx->disks);
	}
	return ctx->disks;
}

const struct fstab *ctx_fstab(struct check_ctx *ctx, int *err)
{
	if (!ctx->fstab_loaded) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		ctx->fstab_loaded = true;
		ctx->fstab_err = sysroot_read_file(ctx->root, "/etc/fstab", CONFIG_FILE_MAX, &buf, &len);
		if (ctx->fstab_err == 0) {
			ctx->fstab = xcalloc(1, sizeof(*ctx->fstab));
			fstab_parse(buf, len, ctx->fstab);
		}
	}
	if (err)
		*err = ctx->fstab_err;
	return ctx->fstab;
}
