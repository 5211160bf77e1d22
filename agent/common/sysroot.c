/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sysroot.h"
#include "fileio.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#define MAX_SYMLINKS 40 /* the kernel's own limit */

struct sysroot {
	char *path;
	int fd;
	bool live;
	bool use_openat2;
};

int sysroot_new(const char *path, unsigned flags, struct sysroot **out)
{
	_cleanup_free_ char *norm = NULL;
	struct sysroot *sr;
	size_t l;
	int fd;

	norm = xstrdup(path && *path ? path : "/");
	l = strlen(norm);
	while (l > 1 && norm[l - 1] == '/')
		norm[--l] = '\0';
	fd = open(norm, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	sr = xcalloc(1, sizeof(*sr));
	sr->fd = fd;
	sr->path = TAKE_PTR(norm);
	sr->live = streq(sr->path, "/");
	sr->use_openat2 = !(flags & SYSROOT_NO_OPENAT2);
	*out = sr;
	return 0;
}

void sysroot_free(struct sysroot *sr)
{
	if (!sr)
		return;
	if (sr->fd >= 0)
		close(sr->fd);
	free(sr->path);
	free(sr);
}

const char *sysroot_path(const struct sysroot *sr) { return sr->path; }
bool sysroot_is_live(const struct sysroot *sr) { return sr->live; }
int sysroot_fd(const struct sysroot *sr) { return sr->fd; }

char *sysroot_host_path(const struct sysroot *sr, const char *path)
{
	while (*path == '/')
		path++;
	if (sr->live)
		return xasprintf("/%s", path);
	return xasprintf("%s/%s", sr->path, path);
}

static int open_openat2(const struct sysroot *sr, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned)flags | O_CLOEXEC,
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	for (int tries = 0; tries < 8; tries++) {
		long fd = syscall(SYS_openat2, sr->fd, *rel ? rel : ".", &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN) /* EAGAIN: a rename raced with the lookup; the kernel asks to retry */
			return -errno;
	}
	return -EAGAIN;
}

/* The portable walk. A stack of directory fds makes ".." exact and clamps it at the root. */
struct walk {
	int *fds;
	size_t n, cap;
};

static void walk_push(struct walk *w, int fd)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->fds = xrealloc(w->fds, w->cap * sizeof(int));
	}
	w->fds[w->n++] = fd;
}

static void walk_pop_to(struct walk *w, size_t n)
{
	while (w->n > n)
		close(w->fds[--w->n]);
}

static void walk_free(struct walk *w)
{
	walk_pop_to(w, 0);
	free(w->fds);
}

/* Pending components live in one buffer, consumed from the front; a symlink target is prepended. */
static char *prepend(char *rest, const char *target)
{
	char *s = xasprintf("%s/%s", target, rest ? rest : "");

	free(rest);
	return s;
}

static int open_walk(const struct sysroot *sr, const char *rel, int flags, mode_t mode)
{
	struct walk w = { 0 };
	_cleanup_free_ char *rest = xstrdup(rel);
	int links = 0, r;

	walk_push(&w, fcntl(sr->fd, F_DUPFD_CLOEXEC, 3));
	if (w.fds[0] < 0) {
		r = -errno;
		goto out;
	}
	for (;;) {
		char *p = rest, *slash, comp[NAME_MAX + 1];
		size_t clen;
		bool last;
		struct stat st;
		int fd;

		while (*p == '/')
			p++;
		if (!*p) { /* nothing left: the path named a directory */
			r = openat(w.fds[w.n - 1], ".", flags | O_CLOEXEC, mode);
			r = r < 0 ? -errno : r;
			goto out;
		}
		slash = strchr(p, '/');
		clen = slash ? (size_t)(slash - p) : strlen(p);
		if (clen > NAME_MAX) {
			r = -ENAMETOOLONG;
			goto out;
		}
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		memmove(rest, p + clen, strlen(p + clen) + 1);
		last = strspn(rest, "/") == strlen(rest);

		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			if (w.n > 1)
				walk_pop_to(&w, w.n - 1);
			continue;
		}
		fd = openat(w.fds[w.n - 1], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && last && (flags & O_CREAT)) {
			r = openat(w.fds[w.n - 1], comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			r = r < 0 ? -errno : r;
			goto out;
		}
		if (fd < 0) {
			r = -errno;
			goto out;
		}
		if (fstat(fd, &st) < 0) {
			r = -errno;
			close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW) && !(flags & O_PATH))) {
			char target[PATH_MAX];
			ssize_t tl;

			if (last && (flags & O_NOFOLLOW)) { /* O_PATH|O_NOFOLLOW: the link itself */
				r = fd;
				goto out;
			}
			tl = readlinkat(fd, "", target, sizeof(target) - 1);
			close(fd);
			if (tl < 0) {
				r = -errno;
				goto out;
			}
			target[tl] = '\0';
			if (++links > MAX_SYMLINKS) {
				r = -ELOOP;
				goto out;
			}
			if (target[0] == '/')
				walk_pop_to(&w, 1);
			rest = prepend(rest, target);
			continue;
		}
		if (S_ISLNK(st.st_mode)) { /* last component, O_NOFOLLOW without O_PATH */
			close(fd);
			r = -ELOOP;
			goto out;
		}
		if (last) {
			/* Reopen for real relative to the parent; O_NOFOLLOW refuses a symlink swapped in. */
			close(fd);
			r = openat(w.fds[w.n - 1], comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			r = r < 0 ? -errno : r;
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			r = -ENOTDIR;
			goto out;
		}
		walk_push(&w, fd);
	}
out:
	walk_free(&w);
	return r;
}

int sysroot_open(const struct sysroot *sr, const char *path, int flags, mode_t mode)
{
	const char *rel = path;
	int r;

	while (*rel == '/')
		rel++;
	if (sr->use_openat2) {
		r = open_openat2(sr, rel, flags, mode);
		if (r != -ENOSYS && r != -EPERM) /* EPERM: seccomp filters that predate openat2 */
			return r;
	}
	return open_walk(sr, rel, flags, mode);
}

int sysroot_open_parent(const struct sysroot *sr, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = NULL;

	if (!slash) {
		*name = path;
		return sysroot_open(sr, "/", O_RDONLY | O_DIRECTORY, 0);
	}
	*name = slash + 1;
	if (!**name)
		return -EISDIR;
	dir = xstrndup(path, slash - path);
	return sysroot_open(sr, *dir ? dir : "/", O_RDONLY | O_DIRECTORY, 0);
}

int sysroot_read_file(const struct sysroot *sr, const char *path, size_t max, char **buf, size_t *len)
{
	_cleanup_close_ int fd = sysroot_open(sr, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);

	if (fd < 0)
		return fd;
	return read_fd_bounded(fd, max, buf, len);
}

static int stat_common(const struct sysroot *sr, const char *path, int extra, struct stat *st)
{
	_cleanup_close_ int fd = sysroot_open(sr, path, O_PATH | extra, 0);

	if (fd < 0)
		return fd;
	return fstat(fd, st) < 0 ? -errno : 0;
}

int sysroot_stat(const struct sysroot *sr, const char *path, struct stat *st)
{
	return stat_common(sr, path, 0, st);
}

int sysroot_lstat(const struct sysroot *sr, const char *path, struct stat *st)
{
	return stat_common(sr, path, O_NOFOLLOW, st);
}

int sysroot_statvfs(const struct sysroot *sr, const char *path, struct statvfs *st)
{
	_cleanup_close_ int fd = sysroot_open(sr, path, O_RDONLY | O_NONBLOCK, 0);

	if (fd < 0)
		return fd;
	return fstatvfs(fd, st) < 0 ? -errno : 0;
}

bool sysroot_exists(const struct sysroot *sr, const char *path)
{
	struct stat st;

	return sysroot_stat(sr, path, &st) == 0;
}

int sysroot_opendir(const struct sysroot *sr, const char *path, DIR **out)
{
	int fd = sysroot_open(sr, path, O_RDONLY | O_DIRECTORY, 0);
	DIR *d;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	*out = d;
	return 0;
}

int sysroot_list_dir(const struct sysroot *sr, const char *path, strv *names)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r = sysroot_opendir(sr, path, &d);

	if (r < 0)
		return r;
	while ((errno = 0, de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			strv_push(names, de->d_name);
	if (errno)
		return -errno;
	strv_sort(names);
	return 0;
}

int sysroot_readlink(const struct sysroot *sr, const char *path, char **target)
{
	_cleanup_close_ int fd = sysroot_open(sr, path, O_PATH | O_NOFOLLOW, 0);
	char buf[PATH_MAX];
	ssize_t l;

	if (fd < 0)
		return fd;
	l = readlinkat(fd, "", buf, sizeof(buf) - 1);
	if (l < 0)
		return -errno;
	buf[l] = '\0';
	*target = xstrdup(buf);
	return 0;
}
