/* SPDX-License-Identifier: GPL-2.0-or-later */
/* os.release: the distribution is identified and supported on the target. */
#include "check.h"
#include "kver.h"

/* Oldest version each target supports (Azure's endorsed list; KVM/AWS vendor images). */
static const struct supported {
	const char *id;
	const char *min_version;
	unsigned targets;
} supported[] = {
	{ "rhel", "7", TGT_CLOUDS },      { "centos", "7", TGT_CLOUDS },   { "ol", "7", TGT_CLOUDS },
	{ "rocky", "8", TGT_CLOUDS },     { "almalinux", "8", TGT_CLOUDS }, { "fedora", "36", TGT_KVM | TGT_AWS },
	{ "debian", "10", TGT_CLOUDS },   { "ubuntu", "18.04", TGT_CLOUDS }, { "sles", "12", TGT_CLOUDS },
	{ "sles_sap", "12", TGT_CLOUDS }, { "opensuse-leap", "15", TGT_CLOUDS }, { "amzn", "2", TGT_AWS },
	{ "flatcar", "3000", TGT_CLOUDS }, { "mariner", "2", TGT_AZURE },   { "azurelinux", "3", TGT_AZURE },
};

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct host_facts *h = ctx->host;
	const char *path = h->os_release_path ? h->os_release_path : "/etc/os-release";
	const struct supported *s = NULL;

	if (h->os_release_err == -EBADMSG) {
		result_set(r, ST_FAIL, "%s is malformed at line %ld: the distribution cannot be identified.", path,
			   h->os_release_errline);
		result_evidence(r, path, h->os_release_errline, NULL);
		result_remediation(r, false, "Restore %s from the distribution's base package.", path);
		return;
	}
	if (h->os_release_err < 0) {
		result_set(r, ST_FAIL, "Neither /etc/os-release nor /usr/lib/os-release can be read (%s): the "
			   "distribution cannot be identified, so no preparation step can be chosen.",
			   strerror(-h->os_release_err));
		result_evidence(r, path, 0, NULL);
		result_remediation(r, false, "Restore os-release from the distribution's base package.");
		return;
	}
	cJSON *e = result_evidence(r, path, 0, h->os_pretty_name ? h->os_pretty_name : h->os_id);
	cJSON_AddStringToObject(e, "os_id", h->os_id);
	if (h->os_version_id)
		cJSON_AddStringToObject(e, "version_id", h->os_version_id);

	for (size_t i = 0; i < ARRAY_SIZE(supported) && !s; i++)
		if (streq(supported[i].id, h->os_id) && (supported[i].targets & (1u << ctx->target->id)))
			s = &supported[i];
	if (ctx->target->id == TARGET_GENERIC) {
		result_detail(r, "%s identified.", h->os_pretty_name ? h->os_pretty_name : h->os_id);
		return;
	}
	if (!s) {
		result_set(r, ST_WARN, "%s (ID=%s) is not on the list of distributions %s supports; it may work, "
			   "but the platform's support will not cover it.",
			   h->os_pretty_name ? h->os_pretty_name : h->os_id, h->os_id, ctx->target->pretty);
		result_remediation(r, false, "Check the target's list of supported distributions before migrating.");
		return;
	}
	if (!h->os_version_id) {
		result_set(r, ST_WARN, "%s has no VERSION_ID: the release cannot be compared with the minimum (%s).",
			   path, s->min_version);
		return;
	}
	if (kver_cmp(h->os_version_id, s->min_version) < 0) {
		result_set(r, ST_FAIL, "%s %s is older than the oldest release %s supports (%s %s).", h->os_id,
			   h->os_version_id, ctx->target->pretty, s->id, s->min_version);
		result_remediation(r, false, "Upgrade the distribution to %s %s or newer before migrating.", s->id,
				   s->min_version);
		return;
	}
	result_detail(r, "%s is supported on %s (minimum %s).", h->os_pretty_name ? h->os_pretty_name : h->os_id,
		      ctx->target->pretty, s->min_version);
}

const struct check check_os_release = {
	.id = "os.release",
	.title = "Distribution identified and supported on the target",
	.description = "os-release names a distribution and version the target supports",
	.run = run,
};
