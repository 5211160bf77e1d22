/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * os.subscription: sources and tooling bound to a cloud's pay-as-you-go licence (RHUI repositories,
 * SUSE's cloud-regionsrv-client, Ubuntu Pro/ESM sources, cloud-specific kernels). After the move they
 * stop working or bill differently: the licence continuity is the admin's decision, and the
 * preparation stage needs working repositories either way.
 */
#include "check.h"
#include "guest-arch.h"
#include "repos.h"

#include <strings.h>

static bool contains_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

static unsigned payg_repos(struct check_ctx *ctx, struct result *r)
{
	struct repo_vars vars;
	struct repos rs = { 0 };
	_cleanup_free_ char *arch = guest_arch(ctx->root);
	unsigned n = 0;

	repo_vars_init(&vars, ctx->root, ctx->host->os_version_id, arch);
	repos_load(ctx->root, &vars, &rs);
	for (size_t i = 0; i < rs.n; i++) {
		const struct repo *p = &rs.v[i];
		const char *url = p->urls.n ? p->urls.v[0] : "";
		const char *kind = NULL;

		if (contains_ci(p->id, "rhui") || contains_ci(p->path, "rhui") || contains_ci(url, "rhui"))
			kind = "rhui";
		else if (contains_ci(url, "esm.ubuntu.com") || contains_ci(p->path, "ubuntu-esm") ||
			 contains_ci(p->path, "ubuntu-pro"))
			kind = "ubuntu-pro";
		else if (contains_ci(url, "plugin:/susecloud") || contains_ci(url, "susecloud"))
			kind = "suse-cloud";
		if (!kind || !p->enabled)
			continue;
		cJSON *e = result_evidence(r, p->path, p->line, p->text);

		cJSON_AddStringToObject(e, "dialect", repo_dialect_name(p->dialect));
		cJSON_AddStringToObject(e, "kind", kind);
		n++;
	}
	repos_free(&rs);
	repo_vars_free(&vars);
	return n;
}

static unsigned payg_files(struct check_ctx *ctx, struct result *r)
{
	static const struct { const char *path, *kind, *what; } marks[] = {
		{ "/etc/pki/rhui", "rhui", "RHUI client certificates" },
		{ "/usr/sbin/registercloudguest", "suse-cloud", "SUSE cloud-regionsrv-client" },
		{ "/etc/regionserverclnt.cfg", "suse-cloud", "SUSE cloud-regionsrv-client configuration" },
		{ "/var/lib/ubuntu-advantage/private/machine-token.json", "ubuntu-pro", "Ubuntu Pro attachment" },
	};
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(marks); i++)
		if (sysroot_exists(ctx->root, marks[i].path)) {
			cJSON *e = result_evidence(r, marks[i].path, 0, marks[i].what);

			cJSON_AddStringToObject(e, "kind", marks[i].kind);
			n++;
		}
	return n;
}

/* Ubuntu's linux-azure / linux-aws / linux-gcp / linux-oracle kernels: "5.15.0-1050-azure". */
static unsigned cloud_kernels(struct check_ctx *ctx, struct result *r)
{
	static const char *const clouds[] = { "azure", "aws", "gcp", "oracle", "gke", "ibm" };
	unsigned n = 0;

	for (size_t i = 0; i < ctx->host->kernels.n; i++) {
		const char *k = ctx->host->kernels.v[i];

		for (size_t c = 0; c < ARRAY_SIZE(clouds); c++) {
			_cleanup_free_ char *suffix = xasprintf("-%s", clouds[c]);
			cJSON *e;

			if (!endswith(k, suffix))
				continue;
			e = result_evidence(r, NULL, 0, k);
			cJSON_AddStringToObject(e, "kernel", k);
			cJSON_AddStringToObject(e, "kind", "cloud-kernel");
			if (streq(clouds[c], ctx->target->name)) {
				result_detail(r, "Kernel %s is built for %s, the target: fine.", k, ctx->target->pretty);
				continue;
			}
			result_detail(r, "Kernel %s is built for another cloud (%s).", k, clouds[c]);
			n++;
		}
	}
	return n;
}

static void run(struct check_ctx *ctx, struct result *r)
{
	unsigned repos = payg_repos(ctx, r), files = payg_files(ctx, r), kernels = cloud_kernels(ctx, r);

	if (sysroot_exists(ctx->root, "/etc/pki/consumer/cert.pem"))
		result_detail(r, "The system is registered with Red Hat Subscription Management (bring your own "
			      "subscription): it stays valid after the move.");
	if (repos || files) {
		result_set(r, ST_WARN, "%u cloud-bound source(s) and %u pay-as-you-go client marker(s) found: on %s "
			   "these repositories stop answering (or bill elsewhere).", repos, files, ctx->target->pretty);
		result_remediation(r, false, "Decide the licence model before the move: register the system directly "
				   "(subscription-manager register / SUSEConnect / pro attach), or use the target's "
				   "pay-as-you-go image repositories; then remove the old cloud's client package.");
	}
	if (kernels) {
		result_set(r, ST_WARN, "%u kernel(s) tuned for another cloud: install the distribution's generic "
			   "(or the target's) kernel before the move.", kernels);
		if (!repos && !files)
			result_remediation(r, false, "Install the generic kernel flavour and make it the default.");
	}
	if (result_get_status(r) == ST_PASS)
		result_detail(r, "No cloud-bound subscription, repository or kernel found.");
}

const struct check check_os_subscription = {
	.id = "os.subscription",
	.title = "No cloud-bound subscription or pay-as-you-go repositories",
	.description = "RHUI, SUSE cloud-regionsrv-client, Ubuntu Pro/ESM sources, cloud-specific kernels",
	.run = run,
};
