/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prepcheck --fix / --undo: check, plan, refuse early with the reason (read-only root, no room in
 * /boot, another --fix running), apply with a journal, roll back a failed action, check again and
 * show before/after.
 */
#include "morph.h"
#include "apply.h"
#include "cli.h"
#include "engine.h"
#include "journal.h"
#include "log.h"
#include "plan.h"

#include <fcntl.h>
#include <sys/statvfs.h>

#define MiB (1024.0 * 1024.0)

/* The nearest existing ancestor of PATH (itself when it exists), for statvfs. */
static char *existing_ancestor(const struct sysroot *sr, const char *path)
{
	char *p = xstrdup(path);

	while (!sysroot_exists(sr, p)) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p) {
			strcpy(p, "/");
			break;
		}
		*slash = '\0';
	}
	return p;
}

static void check_writable(const struct sysroot *sr, const char *path, strv *problems)
{
	_cleanup_free_ char *at = existing_ancestor(sr, path), *host = NULL, *msg = NULL;
	struct statvfs sv;

	if (sysroot_statvfs(sr, at, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return;
	host = sysroot_host_path(sr, at);
	msg = xasprintf("%s is on a read-only filesystem (remount it read-write, e.g. mount -o remount,rw, "
			"and run --fix again)", host);
	if (!strv_contains(problems, msg))
		strv_push(problems, msg);
}

static char *removal_hint(const struct host_facts *h, const char *kver)
{
	switch (h->family) {
	case FAMILY_DEBIAN:
		return xasprintf("apt-get purge linux-image-%s", kver);
	case FAMILY_RHEL:
		return xasprintf("dnf remove kernel-core-%s", kver);
	default:
		return xasprintf("remove the package of kernel %s", kver);
	}
}

/*
 * Room for the rebuilt images: each new image is written beside its old one (estimated at the old
 * size, twice that when dracut drops hostonly). The journal keeps the old images: free when it shares
 * /boot's filesystem (hard links), their full size on its own filesystem otherwise.
 */
static void check_boot_room(const struct sysroot *sr, const struct plan *p, const struct host_facts *h,
			    strv *problems)
{
	_cleanup_free_ char *state = existing_ancestor(sr, MORPH_STATE_DIR);
	double growth = h->generator == GEN_DRACUT ? 2.0 : 1.25, need_boot = 0, need_state = 0, biggest = 0;
	struct stat bst, sst;
	struct statvfs bv, svv;
	size_t images = 0;

	if (sysroot_statvfs(sr, "/boot", &bv) < 0 || sysroot_stat(sr, "/boot", &bst) < 0 ||
	    sysroot_stat(sr, state, &sst) < 0 || sysroot_statvfs(sr, state, &svv) < 0)
		return;
	bool shared = bst.st_dev == sst.st_dev;
	for (size_t i = 0; i < p->n; i++)
		for (size_t k = 0; k < p->v[i].n; k++) {
			const struct action *a = &p->v[i].v[k];
			struct stat st;
			double old, est;

			if (a->kind != ACT_REBUILD)
				continue;
			images++;
			old = sysroot_stat(sr, a->path, &st) == 0 ? (double)st.st_size : 64 * MiB;
			est = old * growth;
			biggest = est > biggest ? est : biggest;
			need_boot += shared ? est : (est > old ? est - old : 0);
			need_state += shared ? 0 : old;
		}
	if (!images)
		return;
	if (!shared)
		need_boot += biggest; /* one new image at a time sits beside its old one */
	double free_boot = (double)bv.f_bavail * bv.f_frsize, free_state = (double)svv.f_bavail * svv.f_frsize;
	if (free_boot < need_boot) {
		_cleanup_free_ char *hint = xstrdup(""), *msg = NULL;
		size_t newest = h->kernels.n ? h->kernels.n - 1 : 0;

		for (size_t i = 0; i + 1 < h->kernels.n; i++) {
			if (i == newest || (h->kernel_running && streq(h->kernels.v[i], h->kernel_running)))
				continue;
			_cleanup_free_ char *cmd = removal_hint(h, h->kernels.v[i]);
			char *n = xasprintf("%s%s %s (%s)", hint, *hint ? "," : "", h->kernels.v[i], cmd);
			free(hint);
			hint = n;
		}
		msg = xasprintf("/boot has %.1f MiB free; rebuilding %zu initramfs image%s needs about %.1f MiB there. %s%s",
				free_boot / MiB, images, images == 1 ? "" : "s", need_boot / MiB,
				*hint ? "Remove the obsolete kernels first:" : "Free space in /boot first",
				*hint ? hint : ".");
		strv_push(problems, msg);
	}
	if (free_state < need_state) {
		_cleanup_free_ char *msg = xasprintf("%s has %.1f MiB free; the journal must keep %.1f MiB of old images",
						     state, free_state / MiB, need_state / MiB);
		strv_push(problems, msg);
	}
}

static void preflight(const struct sysroot *sr, const struct plan *p, const struct host_facts *h, strv *problems)
{
	check_writable(sr, MORPH_STATE_DIR, problems);
	for (size_t i = 0; i < p->n; i++)
		for (size_t k = 0; k < p->v[i].n; k++)
			if (p->v[i].v[k].path)
				check_writable(sr, p->v[i].v[k].path, problems);
	if (plan_rebuilds(p))
		check_boot_room(sr, p, h, problems);
}

static const struct result *find_result(const struct report *rep, const char *id)
{
	for (size_t i = 0; i < rep->n; i++)
		if (streq(rep->results[i].check->id, id))
			return &rep->results[i];
	return NULL;
}

static void print_before_after(FILE *out, const struct report *before, const struct report *after)
{
	fputs("\nBefore -> after:\n", out);
	for (size_t i = 0; i < before->n; i++) {
		const struct result *b = &before->results[i], *a = find_result(after, b->check->id);

		if (b->status == ST_PASS || b->status == ST_SKIP)
			continue;
		fprintf(out, "  %-24s %s -> %s\n", b->check->id, status_name(b->status),
			a ? status_name(a->status) : "?");
	}
	fprintf(out, "Now: %u pass, %u warn, %u fail, %u error, %u skip.\n", after->counts[ST_PASS],
		after->counts[ST_WARN], after->counts[ST_FAIL], after->counts[ST_ERROR], after->counts[ST_SKIP]);
}

static int refuse(const strv *problems)
{
	for (size_t i = 0; i < problems->n; i++)
		log_err("--fix refused: %s", problems->v[i]);
	log_err("nothing was changed");
	return EXIT_USAGE;
}

static int apply_and_recheck(const struct options *o, const struct sysroot *sr, const struct plan *p,
			     const struct report *before)
{
	_cleanup_journal_ struct journal *j = NULL;
	_cleanup_free_ char *why = NULL;
	struct report after;
	bool found;
	int r;

	r = journal_create(sr, &j);
	if (r < 0) {
		log_err("%s%s: cannot create the journal: %s; nothing was changed", sysroot_path(sr), MORPH_STATE_DIR,
			strerror(-r));
		return EXIT_USAGE;
	}
	printf("Journal: %s (undo with prepcheck --undo%s%s)\n", journal_path(j), sysroot_is_live(sr) ? "" : " --root ",
	       sysroot_is_live(sr) ? "" : sysroot_path(sr));
	morph_test_pause("journal-created");
	r = plan_apply(sr, p, j, stdout, &why);
	if (r < 0) {
		log_err("%s", why ? why : strerror(-r));
		fflush(stdout);
		if (journal_undo(sr, journal_path(j), stdout, &found) < 0) {
			log_err("the rollback failed too: run prepcheck --undo%s%s", sysroot_is_live(sr) ? "" : " --root ",
				sysroot_is_live(sr) ? "" : sysroot_path(sr));
			return EXIT_USAGE;
		}
		log_err("the changes made so far were rolled back; the system is as it was");
		return EXIT_USAGE;
	}
	free(why);
	why = NULL;
	if (engine_run(o, &after, &why) < 0) {
		log_err("re-check failed: %s", why);
		return EXIT_USAGE;
	}
	print_before_after(stdout, before, &after);
	r = report_exit_code(&after) == 0 ? EXIT_SUCCESS : 1;
	if (r)
		printf("Some findings are left for the admin: see prepcheck%s%s.\n", sysroot_is_live(sr) ? "" : " --root ",
		       sysroot_is_live(sr) ? "" : sysroot_path(sr));
	report_free(&after);
	return r;
}

static int fix_with(const struct options *o, const struct sysroot *sr, const struct report *rep, bool dry_run)
{
	struct morph_ctx m = { .root = sr, .rep = rep, .target = rep->target, .opts = o };
	_cleanup_strv_ strv problems = { 0 };
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int lockfd = -1;
	struct plan p;
	int rc;

	plan_build(&m, &p);
	if (dry_run || plan_actions(&p) == 0) {
		if (plan_actions(&p))
			preflight(sr, &p, &rep->host, &problems);
		plan_print(stdout, &p, sr);
		for (size_t i = 0; i < problems.n; i++)
			printf("--fix would refuse: %s\n", problems.v[i]);
		rc = problems.n ? EXIT_USAGE : p.left.n ? 1 : EXIT_SUCCESS;
		plan_free(&p);
		return rc;
	}
	preflight(sr, &p, &rep->host, &problems);
	if (problems.n) {
		plan_free(&p);
		return refuse(&problems);
	}
	if (morph_lock(sr, &lockfd, &why) < 0) {
		plan_free(&p);
		strv_push(&problems, why);
		return refuse(&problems);
	}
	morph_test_pause("locked");
	plan_print(stdout, &p, sr);
	rc = apply_and_recheck(o, sr, &p, rep);
	plan_free(&p);
	return rc;
}

int morph_fix(const struct options *o, bool dry_run)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	_cleanup_free_ char *why = NULL;
	struct report rep;
	int r;

	r = sysroot_new(o->root, o->sysroot_flags, &sr);
	if (r < 0) {
		log_err("cannot open root directory %s: %s", o->root, strerror(-r));
		return EXIT_USAGE;
	}
	if (engine_run(o, &rep, &why) < 0) {
		log_err("%s", why);
		return EXIT_USAGE;
	}
	r = fix_with(o, sr, &rep, dry_run);
	report_free(&rep);
	return r;
}

int morph_undo(const struct options *o)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	_cleanup_strv_ strv problems = { 0 };
	_cleanup_free_ char *why = NULL;
	_cleanup_close_ int lockfd = -1;
	bool found;
	int r;

	r = sysroot_new(o->root, o->sysroot_flags, &sr);
	if (r < 0) {
		log_err("cannot open root directory %s: %s", o->root, strerror(-r));
		return EXIT_USAGE;
	}
	check_writable(sr, MORPH_STATE_DIR, &problems);
	if (problems.n) {
		log_err("--undo refused: %s", problems.v[0]);
		return EXIT_USAGE;
	}
	if (morph_lock(sr, &lockfd, &why) < 0) {
		log_err("--undo refused: %s", why);
		return EXIT_USAGE;
	}
	r = journal_undo(sr, NULL, stdout, &found);
	if (r < 0) {
		log_err("undo stopped; the journal is kept, run --undo again once the cause is fixed");
		return EXIT_USAGE;
	}
	if (!found)
		printf("Nothing to undo: no pending journal in %s%s.\n", sysroot_is_live(sr) ? "" : sysroot_path(sr),
		       MORPH_STATE_DIR);
	else
		printf("Undo complete.\n");
	return EXIT_SUCCESS;
}
