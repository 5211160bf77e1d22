/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "engine.h"
#include "disks.h"
#include "fstab.h"

#include <time.h>

static bool selected(const struct options *o, const struct check *c)
{
	if (o->only.n && !strv_contains(&o->only, c->id))
		return false;
	return !strv_contains(&o->skip, c->id);
}

int engine_validate_ids(const struct options *o, const char **bad)
{
	const strv *lists[] = { &o->only, &o->skip };

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (!check_find(lists[l]->v[i])) {
				*bad = lists[l]->v[i];
				return -EINVAL;
			}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Why a check does not run here, or NULL when it does. */
static const char *skip_reason(const struct check_ctx *ctx, const struct check *c, char *buf, size_t len)
{
	if (!selected(ctx->opts, c))
		return "not selected (--only/--skip)";
	if (c->targets && !(c->targets & (1u << ctx->target->id))) {
		snprintf(buf, len, "does not apply to the %s target", ctx->target->name);
		return buf;
	}
	if ((c->flags & CHECK_LIVE_ONLY) && !sysroot_is_live(ctx->root))
		return "only meaningful on the running system, not offline (--root)";
	if ((c->flags & CHECK_NETWORK) && ctx->no_network)
		return "network checks disabled (--no-network)";
	return NULL;
}

static void run_one(struct check_ctx *ctx, const struct check *c, struct result *r)
{
	char buf[128];
	const char *why = skip_reason(ctx, c, buf, sizeof(buf));
	double t0 = now_s();

	result_init(r, c);
	if (why) {
		r->status = ST_SKIP;
		r->detail = xstrdup(why);
		return;
	}
	c->run(ctx, r);
	if (!r->detail)
		r->detail = xstrdup(r->status == ST_PASS ? "No problem found." : "");
	r->seconds = now_s() - t0;
}

int engine_run(const struct options *o, struct report *rep, char **why)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	struct check_ctx ctx = { .opts = o };
	time_t now = time(NULL);
	size_t n = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->target = target_find(o->target ? o->target : "azure");
	if (!rep->target) {
		*why = xasprintf("unknown target '%s' (azure, kvm, aws, generic)", o->target);
		return -EINVAL;
	}
	r = sysroot_new(o->root, o->sysroot_flags, &sr);
	if (r < 0) {
		*why = xasprintf("cannot open root directory %s: %s", o->root, strerror(-r));
		return r;
	}
	rep->root = xstrdup(sysroot_path(sr));
	strftime(rep->generated_at, sizeof(rep->generated_at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	host_gather(sr, &rep->host);

	ctx.target = rep->target;
	ctx.root = sr;
	ctx.host = &rep->host;
	ctx.no_network = o->no_network;
	ctx.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;

	while (prepcheck_checks[n])
		n++;
	rep->results = xcalloc(n, sizeof(*rep->results));
	for (size_t i = 0; i < n; i++) {
		run_one(&ctx, prepcheck_checks[i], &rep->results[i]);
		rep->counts[rep->results[i].status]++;
	}
	rep->n = n;
	if (ctx.disks) {
		disks_free(ctx.disks);
		free(ctx.disks);
	}
	if (ctx.fstab) {
		fstab_free(ctx.fstab);
		free(ctx.fstab);
	}
	return 0;
}

void report_free(struct report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		result_free(&rep->results[i]);
	free(rep->results);
	free(rep->root);
	host_free(&rep->host);
	memset(rep, 0, sizeof(*rep));
}

bool report_ready(const struct report *rep)
{
	return !rep->counts[ST_FAIL] && !rep->counts[ST_WARN] && !rep->counts[ST_ERROR];
}

int report_exit_code(const struct report *rep)
{
	if (rep->counts[ST_FAIL])
		return 2;
	/* A check that could not decide (error) is not "ready": the admin must look, as for a warning. */
	if (rep->counts[ST_WARN] || rep->counts[ST_ERROR])
		return 1;
	return 0;
}
