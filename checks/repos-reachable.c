/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repos.reachable: every enabled remote source answers for its metadata now, through the proxy its
 * package manager would use. The preparation installs packages (drivers, the guest agent); a source
 * that cannot be reached makes that fail. All probes run in parallel under one deadline.
 */
#include "check.h"
#include "guest-arch.h"
#include "repo-probe.h"
#include "repos.h"


/* Which probe(s) belong to which source and URL. */
struct slot {
	size_t repo, url, probe;
};

struct plan {
	struct probe *p;
	size_t np;
	struct slot *s;
	size_t ns;
};

/* Each package manager's own proxy configuration; NULL lets the environment decide. */
struct proxies {
	struct apt_proxy apt;
	struct suse_proxy suse;
	char *yum;
};

static const char *proxy_for(const struct repo *r, const char *url, const struct proxies *px)
{
	if (r->dialect == REPO_APT_LINE || r->dialect == REPO_DEB822)
		return apt_proxy_for(&px->apt, url);
	if (r->dialect == REPO_YUM)
		return r->proxy ? r->proxy : px->yum;
	return r->proxy ? r->proxy : suse_proxy_for(&px->suse, url);
}

/* Identical (url, proxy) pairs are probed once: deb and deb-src lines share their Release file. */
static size_t add_probe(struct plan *pl, char *url, char *fallback, const char *proxy)
{
	for (size_t i = 0; i < pl->np; i++)
		if (streq(pl->p[i].url, url) && ((!proxy && !pl->p[i].proxy) ||
						 (proxy && pl->p[i].proxy && streq(proxy, pl->p[i].proxy)))) {
			free(url);
			free(fallback);
			return i;
		}
	pl->p = xrealloc(pl->p, (pl->np + 1) * sizeof(*pl->p));
	pl->p[pl->np] = (struct probe){ .url = url, .fallback_url = fallback, .proxy = proxy ? xstrdup(proxy) : NULL };
	return pl->np++;
}

static void build_plan(const struct repos *rs, const struct proxies *px, struct plan *pl)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct repo *r = &rs->v[i];

		for (size_t k = 0; r->enabled && k < r->urls.n; k++) {
			char *url;

			if (repo_url_local(r->urls.v[k]) != REPO_REMOTE || !(url = repo_probe_url(r, k, false)))
				continue;
			pl->s = xrealloc(pl->s, (pl->ns + 1) * sizeof(*pl->s));
			pl->s[pl->ns++] = (struct slot){ i, k, add_probe(pl, url, repo_probe_url(r, k, true),
								      proxy_for(r, r->urls.v[k], px)) };
		}
	}
}

static void fail_evidence(struct result *res, const struct repo *r, const struct probe *p)
{
	cJSON *e = result_evidence(res, r->path, r->line, r->text);

	cJSON_AddStringToObject(e, "dialect", repo_dialect_name(r->dialect));
	cJSON_AddStringToObject(e, "url", p->final_url ? p->final_url : p->url);
	cJSON_AddStringToObject(e, "cause", probe_cause_name(p->cause));
	cJSON_AddStringToObject(e, "error", p->error ? p->error : "");
	if (p->http_code)
		cJSON_AddNumberToObject(e, "http_status", p->http_code);
	if (p->proxy_used)
		cJSON_AddStringToObject(e, "proxy", p->proxy_used);
	if (r->id)
		cJSON_AddStringToObject(e, "repo", r->id);
}

/* Per source: reachable when any of its URLs answered. */
static void conclude(struct check_ctx *ctx, struct result *res, const struct repos *rs, const struct plan *pl)
{
	unsigned ok = 0, bad = 0;

	for (size_t i = 0; i < rs->n; i++) {
		bool probed = false, good = false;

		for (size_t s = 0; s < pl->ns; s++)
			if (pl->s[s].repo == i) {
				probed = true;
				good |= pl->p[pl->s[s].probe].cause == PROBE_OK;
			}
		if (!probed)
			continue;
		if (good) {
			ok++;
			continue;
		}
		bad++;
		for (size_t s = 0; s < pl->ns; s++)
			if (pl->s[s].repo == i) {
				const struct probe *p = &pl->p[pl->s[s].probe];

				fail_evidence(res, &rs->v[i], p);
				result_detail(res, "%s:%ld: %s.", rs->v[i].path, rs->v[i].line, p->error);
			}
	}
	if (!ok && !bad) {
		result_set(res, ST_WARN, "No enabled remote package source: the preparation cannot install the "
			   "packages %s needs.", ctx->target->pretty);
		result_remediation(res, false, "Configure the distribution's network repositories.");
	} else if (bad) {
		result_status(res, ok ? ST_WARN : ST_FAIL);
		result_detail(res, "%u of %u remote source(s) unreachable%s.", bad, ok + bad,
			      ok ? "" : ": no package can be installed during the preparation");
		result_remediation(res, false, "Fix the network path (DNS, firewall, proxy settings) or disable the "
				   "sources that are gone; then `apt-get update` / `dnf makecache` must succeed.");
	} else {
		result_detail(res, "All %u remote source(s) answered.", ok);
	}
}

static void report_bad(struct result *res, const struct repos *rs)
{
	for (size_t i = 0; i < rs->nbad; i++) {
		cJSON *e = result_evidence(res, rs->bad[i].path, rs->bad[i].line, rs->bad[i].text);

		cJSON_AddStringToObject(e, "error", rs->bad[i].reason);
		result_set(res, ST_ERROR, "%s:%ld: %s (the package manager refuses to run with it).", rs->bad[i].path,
			   rs->bad[i].line, rs->bad[i].reason);
	}
}

static void run(struct check_ctx *ctx, struct result *res)
{
	struct repo_vars vars;
	struct repos rs = { 0 };
	struct proxies px = { 0 };
	struct plan pl = { 0 };
	_cleanup_free_ char *arch = guest_arch(ctx->root);
	int r;

	repo_vars_init(&vars, ctx->root, ctx->host->os_version_id, arch);
	repos_load(ctx->root, &vars, &rs);
	apt_proxy_load(ctx->root, &px.apt);
	suse_proxy_load(ctx->root, &px.suse);
	px.yum = yum_main_proxy(ctx->root);
	build_plan(&rs, &px, &pl);
	r = repo_probe_all(pl.p, pl.np, ctx->timeout_ms);
	if (r < 0)
		result_set(res, ST_ERROR, "libcurl could not start: %s.", strerror(-r));
	else
		conclude(ctx, res, &rs, &pl);
	report_bad(res, &rs);
	for (size_t i = 0; i < pl.np; i++)
		probe_clear(&pl.p[i]);
	free(pl.p);
	free(pl.s);
	apt_proxy_free(&px.apt);
	suse_proxy_free(&px.suse);
	free(px.yum);
	repos_free(&rs);
	repo_vars_free(&vars);
}

const struct check check_repos_reachable = {
	.id = "repos.reachable",
	.title = "Package sources reachable",
	.description = "every enabled remote package source answers for its metadata (proxies honoured)",
	.flags = CHECK_NETWORK,
	.run = run,
};
