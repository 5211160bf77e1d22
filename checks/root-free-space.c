/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * root.free-space: / and /var have room for what the preparation installs (guest agent, kernel
 * modules, package metadata). Azure Site Recovery asks for 2 GB on /; the numbers per target live in
 * the target profile.
 */
#include "check.h"

#define MiB (1024.0 * 1024.0)

static int free_of(const struct sysroot *sr, const char *path, uint64_t *avail, dev_t *dev)
{
	struct statvfs vfs;
	struct stat st;
	int err = sysroot_statvfs(sr, path, &vfs);

	if (err < 0)
		return err;
	err = sysroot_stat(sr, path, &st);
	if (err < 0)
		return err;
	*avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	*dev = st.st_dev;
	return 0;
}

static void evidence(struct result *r, const char *path, uint64_t avail, uint64_t need)
{
	cJSON *e = result_evidence(r, path, 0, NULL);

	cJSON_AddNumberToObject(e, "free", (double)avail);
	cJSON_AddNumberToObject(e, "needed", (double)need);
}

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct target_profile *t = ctx->target;
	uint64_t root_free, var_free;
	dev_t root_dev, var_dev;
	int err;

	err = free_of(ctx->root, "/", &root_free, &root_dev);
	if (err < 0) {
		result_file_error(r, "/", err);
		return;
	}
	err = free_of(ctx->root, "/var", &var_free, &var_dev);
	if (err == -ENOENT) {
		var_free = root_free;
		var_dev = root_dev;
	} else if (err < 0) {
		result_file_error(r, "/var", err);
		return;
	}
	if (var_dev == root_dev) {
		uint64_t need = t->root_free_min + t->var_free_min;

		evidence(r, "/", root_free, need);
		if (root_free < need)
			result_set(r, ST_FAIL, "/ (with /var on it) has %.0f MiB free; %s preparation needs %.0f MiB.",
				   root_free / MiB, t->pretty, need / MiB);
		else
			result_detail(r, "/ (with /var) has %.0f MiB free of the %.0f MiB needed.", root_free / MiB,
				      need / MiB);
	} else {
		evidence(r, "/", root_free, t->root_free_min);
		evidence(r, "/var", var_free, t->var_free_min);
		if (root_free < t->root_free_min)
			result_set(r, ST_FAIL, "/ has %.0f MiB free; %s preparation needs %.0f MiB.", root_free / MiB,
				   t->pretty, t->root_free_min / MiB);
		if (var_free < t->var_free_min)
			result_set(r, ST_WARN, "/var has %.0f MiB free; package installation needs about %.0f MiB.",
				   var_free / MiB, t->var_free_min / MiB);
		if (result_get_status(r) == ST_PASS)
			result_detail(r, "/ has %.0f MiB and /var %.0f MiB free.", root_free / MiB, var_free / MiB);
	}
	if (result_get_status(r) != ST_PASS) {
		result_remediation(r, false, "Free space (package caches, old logs) or grow the filesystem.");
		result_command(r, "%s", ctx->host->family == FAMILY_DEBIAN ? "apt-get clean" : "dnf clean all");
		result_command(r, "journalctl --vacuum-size=200M");
	}
}

const struct check check_root_free_space = {
	.id = "root.free-space",
	.title = "/ and /var have room for the preparation",
	.description = "free space on / and /var for the packages the preparation installs",
	.run = run,
};
