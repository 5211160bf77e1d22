/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --undo and the rollback of a failed --fix: replay a journal's manifest backwards. */
#include "journal.h"
#include "fileio.h"
#include "log.h"

#include <fcntl.h>

/* The newest journal directory without an "undone" marker, or NULL. */
static char *newest_pending(const struct sysroot *sr)
{
	_cleanup_strv_ strv names = { 0 };

	if (sysroot_list_dir(sr, MORPH_STATE_DIR, &names) < 0)
		return NULL;
	for (size_t i = names.n; i-- > 0;) {
		_cleanup_free_ char *m = NULL, *u = NULL;

		if (names.v[i][0] == '.')
			continue;
		m = xasprintf("%s/%s/manifest", MORPH_STATE_DIR, names.v[i]);
		u = xasprintf("%s/%s/undone", MORPH_STATE_DIR, names.v[i]);
		if (sysroot_exists(sr, m) && !sysroot_exists(sr, u))
			return xasprintf("%s/%s", MORPH_STATE_DIR, names.v[i]);
	}
	return NULL;
}

static void describe_meta(const struct file_meta *m, char *buf, size_t len)
{
	snprintf(buf, len, "mode %04o, owner %u:%u, %zu xattr%s", (unsigned)m->mode, (unsigned)m->uid,
		 (unsigned)m->gid, m->xnames.n, m->xnames.n == 1 ? "" : "s");
}

static int restore_file(const struct sysroot *sr, const char *jdir, const char *num, const char *path, FILE *out)
{
	_cleanup_free_ char *bpath = xasprintf("%s/files/%s", jdir, num);
	_cleanup_free_ char *mpath = xasprintf("%s/files/%s.meta", jdir, num);
	_cleanup_free_ char *mtext = NULL, *parent = NULL;
	_cleanup_close_ int src = -1, dfd = -1;
	struct file_meta meta;
	const char *name;
	char desc[128];
	size_t mlen;
	int r;

	src = sysroot_open(sr, bpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (src < 0) {
		log_err("%s: the saved copy of %s is missing: %s", bpath, path, strerror(-src));
		return src;
	}
	r = sysroot_read_file(sr, mpath, 1 << 20, &mtext, &mlen);
	if (r < 0 || meta_parse(mtext, &meta) < 0) {
		log_err("%s: metadata of %s unreadable", mpath, path);
		return r < 0 ? r : -EBADMSG;
	}
	parent = xstrdup(path);
	*strrchr(parent, '/') = '\0';
	if (*parent)
		sysroot_mkdir_p(sr, parent, 0755, NULL);
	dfd = sysroot_open_parent(sr, path, &name);
	if (dfd >= 0)
		r = replace_file_at(dfd, name, NULL, 0, src, &meta, true, 0);
	else
		r = dfd;
	describe_meta(&meta, desc, sizeof(desc));
	meta_free(&meta);
	if (r < 0) {
		log_err("%s: cannot restore: %s", path, strerror(-r));
		return r;
	}
	fprintf(out, "restored %s (%s)\n", path, desc);
	return 0;
}

static int remove_path(const struct sysroot *sr, const char *path, bool dir, const char *what, FILE *out)
{
	const char *name;
	_cleanup_close_ int dfd = sysroot_open_parent(sr, path, &name);

	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, name, dir ? AT_REMOVEDIR : 0) < 0) {
		if (errno == ENOENT || (dir && (errno == ENOTEMPTY || errno == EEXIST)))
			return 0;
		log_err("%s: cannot remove: %s", path, strerror(errno));
		return -errno;
	}
	fsync(dfd);
	if (what)
		fprintf(out, "removed %s (%s)\n", path, what);
	return 0;
}

static int undo_record(const struct sysroot *sr, const char *jdir, char *rec, FILE *out)
{
	char *sp = strchr(rec, ' ');

	if (!sp)
		return -EBADMSG;
	*sp = '\0';
	char *arg = sp + 1;
	if (streq(rec, "file")) {
		char *p = strchr(arg, ' ');
		if (!p || p[1] != '/')
			return -EBADMSG;
		*p = '\0';
		return restore_file(sr, jdir, arg, p + 1, out);
	}
	if (arg[0] != '/')
		return -EBADMSG;
	if (streq(rec, "new"))
		return remove_path(sr, arg, false, "created by --fix", out);
	if (streq(rec, "temp"))
		return remove_path(sr, arg, false, "left over by an interrupted --fix", out);
	if (streq(rec, "dir"))
		return remove_path(sr, arg, true, "directory created by --fix", out);
	return -EBADMSG;
}

int journal_undo(const struct sysroot *sr, const char *dir, FILE *out, bool *found)
{
	_cleanup_free_ char *jdir = dir ? xstrdup(dir) : newest_pending(sr);
	_cleanup_free_ char *mpath = NULL, *text = NULL, *upath = NULL;
	_cleanup_strv_ strv recs = { 0 };
	size_t len;
	int r;

	*found = jdir != NULL;
	if (!jdir)
		return 0;
	mpath = xasprintf("%s/manifest", jdir);
	r = sysroot_read_file(sr, mpath, 64u << 20, &text, &len);
	if (r < 0) {
		log_err("%s: %s", mpath, errstr(r));
		return r;
	}
	/* Only whole lines: a line cut by a kill announced a change that never started. */
	for (char *p = text, *nl; (nl = memchr(p, '\n', text + len - p)); p = nl + 1) {
		*nl = '\0';
		if (*p)
			strv_push(&recs, p);
	}
	fprintf(out, "undoing %s (%zu change%s)\n", jdir, recs.n, recs.n == 1 ? "" : "s");
	for (size_t i = recs.n; i-- > 0;) {
		_cleanup_free_ char *copy = xstrdup(recs.v[i]);

		r = undo_record(sr, jdir, recs.v[i], out);
		if (r == -EBADMSG)
			log_err("%s: unknown record '%s'", mpath, copy);
		if (r < 0)
			return r; /* stop: the journal stays pending, a second --undo retries */
	}
	const char *name;
	upath = xasprintf("%s/undone", jdir);
	_cleanup_close_ int dfd = sysroot_open_parent(sr, upath, &name);
	if (dfd < 0)
		return dfd;
	return write_file_atomic_at(dfd, name, "", 0, 0600);
}
