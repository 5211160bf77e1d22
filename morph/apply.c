/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The executor. For every file: journal (original bytes + metadata, or "absent") BEFORE the change,
 * then an atomic replace that carries the original's owner, mode and xattrs. A kill at any instant
 * leaves each file old or new; the journal's manifest already names it, so --undo restores it.
 */
#include "apply.h"
#include "fileio.h"
#include "initramfs.h"
#include "log.h"
#include "run.h"

#include <fcntl.h>
#include <sys/xattr.h>

#define REBUILD_TIMEOUT_MS (20 * 60 * 1000)

struct apply {
	const struct sysroot *sr;
	struct journal *j;
	FILE *out;
	struct chroot_mounts cm;
	char **why;
};

/* The file still holds what the plan was made from: nobody changed it since it was checked. */
static int still_planned(const struct apply *ap, const struct action *a)
{
	_cleanup_free_ char *cur = NULL;
	size_t len;
	int r = sysroot_read_file(ap->sr, a->path, CONFIG_FILE_MAX, &cur, &len);

	if (r == -ENOENT && !a->orig)
		return 0;
	if (r < 0 && r != -ENOENT) {
		*ap->why = xasprintf("%s: %s", a->path, errstr(r));
		return r;
	}
	if (r == -ENOENT || !a->orig || len != a->orig_len || memcmp(cur, a->orig, len) != 0) {
		*ap->why = xasprintf("%s changed since it was checked; run prepcheck --fix again", a->path);
		return -ESTALE;
	}
	return 0;
}

static char *save_error(const char *path, int r)
{
	if (r == -ELOOP)
		return xasprintf("%s is a symbolic link: --fix does not follow it; change its target by hand", path);
	if (r == -EINVAL)
		return xasprintf("%s is not a regular file: --fix leaves it alone", path);
	return xasprintf("%s: cannot save it in the journal: %s", path, strerror(-r));
}

/* Parent directories of PATH that do not exist: journaled, then made. */
static int make_parents(struct apply *ap, const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);
	int r;

	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (!sysroot_exists(ap->sr, p)) {
			r = journal_note(ap->j, "dir", p);
			if (r == 0)
				r = sysroot_mkdir_p(ap->sr, p, 0755, NULL);
			if (r < 0) {
				*ap->why = xasprintf("%s: cannot create: %s", p, strerror(-r));
				return r;
			}
		}
		*s = '/';
	}
	return 0;
}

/*
 * A file --fix creates: root's, MODE, and the SELinux label of its directory. Online the kernel labels
 * it by policy anyway; offline (--root on a worker without SELinux) it would stay unlabeled, and an
 * enforcing guest would deny dracut reading it.
 */
static void new_file_meta(int dfd, mode_t mode, struct file_meta *m)
{
	char label[512];
	ssize_t n = fgetxattr(dfd, "security.selinux", label, sizeof(label));

	memset(m, 0, sizeof(*m));
	m->mode = mode;
	m->uid = 0;
	m->gid = 0;
	if (n <= 0)
		return;
	m->xvals = xcalloc(1, sizeof(*m->xvals));
	m->xlens = xcalloc(1, sizeof(*m->xlens));
	m->xvals[0] = xmalloc(n);
	memcpy(m->xvals[0], label, n);
	m->xlens[0] = n;
	strv_push(&m->xnames, "security.selinux");
}

static int do_write(struct apply *ap, const struct action *a)
{
	_cleanup_close_ int dfd = -1, cur = -1;
	struct file_meta meta;
	const char *name;
	int r;

	r = still_planned(ap, a);
	if (r == 0)
		r = make_parents(ap, a->path);
	if (r == 0 && (r = journal_save(ap->j, a->path, false)) < 0)
		*ap->why = save_error(a->path, r);
	if (r < 0)
		return r;
	morph_test_pause("after-save");
	dfd = sysroot_open_parent(ap->sr, a->path, &name);
	if (dfd < 0) {
		*ap->why = xasprintf("%s: cannot open its directory: %s", a->path, strerror(-dfd));
		return dfd;
	}
	cur = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (cur >= 0) {
		r = meta_read_fd(cur, &meta);
		if (r == 0) {
			r = replace_file_at(dfd, name, a->data, a->len, -1, &meta, false, 0);
			meta_free(&meta);
		}
	} else {
		new_file_meta(dfd, a->mode, &meta);
		r = replace_file_at(dfd, name, a->data, a->len, -1, &meta, false, 0);
		meta_free(&meta);
	}
	if (r < 0) {
		*ap->why = xasprintf("%s: cannot replace: %s", a->path, strerror(-r));
		return r;
	}
	fprintf(ap->out, "changed %s\n", a->path);
	morph_test_pause("after-replace");
	return 0;
}

static int do_remove(struct apply *ap, const struct action *a)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r;

	r = still_planned(ap, a);
	if (r == 0 && (r = journal_save(ap->j, a->path, false)) < 0)
		*ap->why = save_error(a->path, r);
	if (r < 0)
		return r;
	morph_test_pause("after-save");
	dfd = sysroot_open_parent(ap->sr, a->path, &name);
	if (dfd < 0 || unlinkat(dfd, name, 0) < 0) {
		r = dfd < 0 ? dfd : -errno;
		*ap->why = xasprintf("%s: cannot remove: %s", a->path, strerror(-r));
		return r;
	}
	fsync(dfd);
	fprintf(ap->out, "moved %s into the journal %s\n", a->path, journal_path(ap->j));
	morph_test_pause("after-replace");
	return 0;
}

static int run_in_root(struct apply *ap, char *const *argv)
{
	struct run_opts ro = { .timeout_ms = REBUILD_TIMEOUT_MS, .max_output = 4u << 20 };
	struct run_result res = { 0 };
	_cleanup_free_ char *cmd = argv_to_string(argv);
	char how[128];
	int r;

	if (!sysroot_is_live(ap->sr)) {
		r = chroot_mounts_setup(ap->sr, &ap->cm, ap->why);
		if (r < 0)
			return r;
		ro.chroot_dir = sysroot_path(ap->sr);
	}
	fprintf(ap->out, "running %s\n", cmd);
	fflush(ap->out);
	morph_test_pause("before-command");
	r = run_cmd((const char *const *)argv, &ro, &res);
	journal_log_cmd(ap->j, argv, ro.chroot_dir, &res, r);
	if (r < 0) {
		*ap->why = xasprintf("%s: cannot run: %s", argv[0], strerror(-r));
		return r;
	}
	if (!run_ok(&res)) {
		const char *tail = res.err && *res.err ? res.err : res.out;
		size_t tl = tail ? strlen(tail) : 0;

		run_describe(&res, &ro, how, sizeof(how));
		*ap->why = xasprintf("%s failed (%s)%s%s; full output in %s/commands.log", cmd, how,
				     tl ? ": " : "", tl > 300 ? tail + tl - 300 : (tail ? tail : ""), journal_path(ap->j));
		run_result_free(&res);
		return -EIO;
	}
	run_result_free(&res);
	return 0;
}

/* Prove the freshly built image holds the modules before it may replace the old one. */
static int verify_image(struct apply *ap, const struct action *a, const char *newpath)
{
	_cleanup_close_ int fd = sysroot_open(ap->sr, newpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	struct initramfs_listing l = { 0 };
	_cleanup_free_ char *err = NULL;
	int r;

	if (fd < 0) {
		*ap->why = xasprintf("%s: the generator wrote no image: %s", newpath, strerror(-fd));
		return fd;
	}
	r = initramfs_list_fd(fd, NULL, &l, &err);
	if (r < 0) {
		*ap->why = xasprintf("%s: the rebuilt image cannot be read back: %s", newpath, err ? err : strerror(-r));
		return r;
	}
	for (size_t i = 0; i < a->modules.n && r == 0; i++)
		if (!initramfs_has_module(&l, a->modules.v[i])) {
			*ap->why = xasprintf("%s: the rebuilt image lacks %s; %s is kept", newpath, a->modules.v[i], a->path);
			r = -ENOPKG;
		}
	if (r == 0)
		fprintf(ap->out, "verified %s: %zu modules, has all of the %zu required\n", newpath, l.modules.n,
			a->modules.n);
	initramfs_listing_free(&l);
	return r;
}

static int swap_image(struct apply *ap, const struct action *a, const char *newpath)
{
	_cleanup_close_ int dfd = -1, nfd = -1, ofd = -1;
	const char *name, *newname = strrchr(newpath, '/') + 1;
	struct file_meta meta;
	int r;

	dfd = sysroot_open_parent(ap->sr, a->path, &name);
	if (dfd < 0)
		return dfd;
	nfd = openat(dfd, newname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	ofd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	r = journal_save(ap->j, a->path, true); /* a hard link when the journal shares the filesystem */
	if (r < 0)
		return r;
	if (ofd >= 0) {
		r = meta_read_fd(ofd, &meta);
		if (r == 0) {
			r = meta_apply_fd(nfd, &meta, false);
			meta_free(&meta);
		}
		if (r < 0)
			return r;
	}
	if (fsync(nfd) < 0)
		return -errno;
	if (renameat(dfd, newname, dfd, name) < 0)
		return -errno;
	if (fsync(dfd) < 0)
		return -errno;
	fprintf(ap->out, "replaced %s (the old image is in the journal)\n", a->path);
	morph_test_pause("after-swap");
	return 0;
}

static int do_rebuild(struct apply *ap, const struct action *a)
{
	_cleanup_free_ char *newpath = xasprintf("%s%s", a->path, REBUILD_SUFFIX);
	const char *name;
	int r;

	r = journal_note(ap->j, "temp", newpath);
	if (r < 0) {
		*ap->why = xasprintf("%s: journal: %s", newpath, strerror(-r));
		return r;
	}
	_cleanup_close_ int dfd = sysroot_open_parent(ap->sr, newpath, &name);
	if (dfd >= 0)
		unlinkat(dfd, name, 0); /* a leftover of an interrupted run */
	r = run_in_root(ap, a->argv.v);
	if (r == 0)
		r = verify_image(ap, a, newpath);
	morph_test_pause("after-build");
	if (r == 0 && (r = swap_image(ap, a, newpath)) < 0)
		*ap->why = xasprintf("%s: cannot put the rebuilt image in place: %s", a->path, strerror(-r));
	return r;
}

static int do_action(struct apply *ap, const struct action *a)
{
	switch (a->kind) {
	case ACT_WRITE:
		return do_write(ap, a);
	case ACT_REMOVE:
		return do_remove(ap, a);
	case ACT_RUN:
		return run_in_root(ap, a->argv.v);
	case ACT_REBUILD:
		return do_rebuild(ap, a);
	}
	return -EINVAL;
}

int plan_apply(const struct sysroot *sr, const struct plan *p, struct journal *j, FILE *out, char **why)
{
	struct apply ap = { .sr = sr, .j = j, .out = out, .why = why };
	int r = 0;

	for (size_t i = 0; i < p->n && r == 0; i++)
		for (size_t k = 0; k < p->v[i].n && r == 0; k++)
			r = do_action(&ap, &p->v[i].v[k]);
	chroot_mounts_teardown(&ap.cm);
	return r;
}
