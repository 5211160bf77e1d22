/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dracut.hostonly: dracut's effective hostonly setting. With hostonly="yes" every image dracut builds
 * carries only the drivers of the hardware it runs on, so the first kernel update before the
 * migration (or the rebuild after it) drops the target's drivers.
 */
#include "check.h"
#include "dracut-conf.h"
#include "fileio.h"

static void run(struct check_ctx *ctx, struct result *r)
{
	_cleanup_free_ char *bad = NULL;
	struct conf_value v;
	int rc;

	if (ctx->host->generator != GEN_DRACUT) {
		result_set(r, ST_SKIP, "The initramfs generator is %s, not dracut.", generator_name(ctx->host->generator));
		return;
	}
	rc = dracut_conf_effective(ctx->root, "hostonly", &v, &bad);
	if (rc == -ENOENT) {
		result_detail(r, "No dracut configuration sets hostonly: dracut's default (generic images) applies, "
			      "unless dracut is run with --hostonly.");
		return;
	}
	if (rc < 0) {
		result_file_error(r, bad, rc);
		return;
	}
	cJSON *e = result_evidence(r, v.path, v.line, v.text);

	cJSON_AddStringToObject(e, "setting", "hostonly");
	cJSON_AddStringToObject(e, "value", v.value);
	if (!streq(v.value, "yes")) {
		result_detail(r, "%s:%u sets hostonly=\"%s\": dracut builds generic images.", v.path, v.line, v.value);
		conf_value_free(&v);
		return;
	}
	result_set(r, ST_FAIL, "%s:%u sets hostonly=\"yes\" (the effective value after every dracut configuration "
		   "file): images dracut builds hold only this host's drivers, so the next rebuild leaves out the "
		   "drivers %s needs.", v.path, v.line, ctx->target->pretty);
	/* zz- sorts after every distribution drop-in (the name prepcheck --fix uses when 90- would not). */
	result_remediation(r, true, "Add a dracut drop-in that sets hostonly=\"no\" after %s, then rebuild the "
			   "images.", v.path);
	result_command(r, "echo 'hostonly=\"no\"' > /etc/dracut.conf.d/zz-mobility-%s.conf", ctx->target->name);
	for (size_t i = 0; i < ctx->host->kernels.n; i++)
		result_command(r, "dracut -f -v -N --kver %s", ctx->host->kernels.v[i]);
	conf_value_free(&v);
}

const struct check check_dracut_hostonly = {
	.id = "dracut.hostonly",
	.title = "dracut builds generic (not host-only) images",
	.description = "the effective dracut hostonly setting, with the file and line that set it",
	.run = run,
};
