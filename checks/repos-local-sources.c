/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repos.local-sources: enabled package sources on a CD-ROM, mounted media or a local path. On the
 * target there is no such disc (and apt may stop to ask for it), so the preparation stage, which
 * installs packages, fails or hangs. Local paths may work if the files move with the disk: a warning.
 */
#include "check.h"
#include "guest-arch.h"
#include "repos.h"


/* The command that disables R, in its package manager's own terms. */
static void disable_command(struct result *res, const struct repo *r)
{
	switch (r->dialect) {
	case REPO_APT_LINE:
		result_command(res, "sed -i '%lds/^/# /' %s", r->line, r->path);
		break;
	case REPO_DEB822:
		result_command(res, "sed -i '%ldi Enabled: no' %s", r->stanza_line, r->path);
		break;
	case REPO_YUM:
		result_command(res, "dnf config-manager --set-disabled %s  # or yum-config-manager --disable", r->id);
		break;
	default:
		result_command(res, "zypper modifyrepo --disable %s", r->id);
		break;
	}
}

static cJSON *repo_evidence(struct result *res, const struct repo *r, const char *url)
{
	cJSON *e = result_evidence(res, r->path, r->line, r->text);

	cJSON_AddStringToObject(e, "dialect", repo_dialect_name(r->dialect));
	cJSON_AddStringToObject(e, "url", url);
	if (r->id)
		cJSON_AddStringToObject(e, "repo", r->id);
	if (r->stanza_line)
		cJSON_AddNumberToObject(e, "stanza_line", r->stanza_line);
	return e;
}

static void report_bad(struct result *res, const struct repos *rs)
{
	for (size_t i = 0; i < rs->nbad; i++) {
		const struct repo_bad *b = &rs->bad[i];
		cJSON *e = result_evidence(res, b->path, b->line, b->text);

		cJSON_AddStringToObject(e, "error", b->reason);
		if (b->line > 0)
			result_set(res, ST_ERROR, "%s:%ld: %s.", b->path, b->line, b->reason);
		else
			result_set(res, ST_ERROR, "%s: cannot be read (%s).", b->path, b->reason);
	}
}

static void run(struct check_ctx *ctx, struct result *res)
{
	struct repo_vars vars;
	struct repos rs = { 0 };
	_cleanup_free_ char *arch = guest_arch(ctx->root);
	unsigned media = 0, files = 0;

	repo_vars_init(&vars, ctx->root, ctx->host->os_version_id, arch);
	repos_load(ctx->root, &vars, &rs);
	for (size_t i = 0; i < rs.n; i++) {
		const struct repo *r = &rs.v[i];

		for (size_t k = 0; r->enabled && k < r->urls.n; k++) {
			enum repo_local l = repo_url_local(r->urls.v[k]);

			if (l != REPO_LOCAL_MEDIA && l != REPO_LOCAL_FILE)
				continue;
			cJSON_AddStringToObject(repo_evidence(res, r, r->urls.v[k]), "kind",
						l == REPO_LOCAL_MEDIA ? "media" : "file");
			disable_command(res, r);
			if (l == REPO_LOCAL_MEDIA)
				media++;
			else
				files++;
			break;
		}
	}
	if (media)
		result_set(res, ST_FAIL, "%u enabled source(s) on a CD-ROM/DVD or mounted media: the disc is not "
			   "there on %s, and installing packages fails or waits for it.", media, ctx->target->pretty);
	if (files)
		result_set(res, ST_WARN, "%u enabled source(s) on a local path: they only work if the path moves "
			   "with the disks and stays current.", files);
	if (media || files)
		result_remediation(res, true, "Disable the local sources (comment them out / Enabled: no / "
				   "enabled=0) and keep a network source for the distribution.");
	else
		result_detail(res, "%zu source(s) found, none local.", rs.n);
	report_bad(res, &rs);
	repos_free(&rs);
	repo_vars_free(&vars);
}

const struct check check_repos_local_sources = {
	.id = "repos.local-sources",
	.title = "No package source on local media",
	.description = "enabled apt/yum/dnf/zypper sources on a CD-ROM, local path or mounted media",
	.run = run,
};
