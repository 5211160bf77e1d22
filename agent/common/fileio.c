/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fileio.h"
#include "util.h"

#include <fcntl.h>
#include <stdint.h>
#include <libgen.h>
#include <sys/random.h>
#include <sys/stat.h>

int read_fd_bounded(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	_cleanup_free_ char *b = NULL;
	size_t cap, n = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uintmax_t)st.st_size > max)
		return -EFBIG;
	/* /proc and /sys report size 0 or 4096: grow as needed, never past max. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	b = xmalloc(cap + 1);
	for (;;) {
		ssize_t r;

		if (n == cap) {
			if (cap > max)
				return -EFBIG;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			b = xrealloc(b, cap + 1);
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		n += r;
		if (n > max)
			return -EFBIG;
	}
	b[n] = '\0';
	*buf = TAKE_PTR(b);
	if (len)
		*len = n;
	return 0;
}

int read_file_bounded(const char *path, size_t max, char **buf, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return read_fd_bounded(fd, max, buf, len);
}

void line_iter_init(struct line_iter *it, char *buf, size_t len)
{
	it->pos = buf;
	it->end = buf + len;
	it->lineno = 0;
}

char *line_iter_next(struct line_iter *it, bool *has_nul)
{
	char *start = it->pos, *nl;

	if (!start || start >= it->end)
		return NULL;
	nl = memchr(start, '\n', it->end - start);
	if (nl) {
		*nl = '\0';
		it->pos = nl + 1;
	} else {
		nl = it->end; /* the buffer is NUL-terminated one past end */
		it->pos = it->end;
	}
	it->lineno++;
	if (has_nul)
		*has_nul = strlen(start) != (size_t)(nl - start);
	if (nl > start && nl[-1] == '\r')
		nl[-1] = '\0';
	return start;
}

bool joined_line_add(struct joined_line *j, const char *line, long lineno)
{
	size_t l = strlen(line);
	bool cont = l > 0 && line[l - 1] == '\\';

	if (!j->text)
		j->first = lineno;
	if (cont)
		l--;
	j->text = xrealloc(j->text, j->len + l + 1);
	memcpy(j->text + j->len, line, l);
	j->len += l;
	j->text[j->len] = '\0';
	return !cont;
}

void joined_line_clear(struct joined_line *j)
{
	free(j->text);
	j->text = NULL;
	j->len = 0;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t r = write(fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= r;
	}
	return 0;
}

static int open_temp(int dirfd, const char *name, char *tmp, size_t tmplen)
{
	for (int tries = 0; tries < 16; tries++) {
		unsigned rnd = 0;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) < 0)
			rnd ^= (unsigned)getpid() * 2654435761u + tries;
		if (snprintf(tmp, tmplen, ".%s.%08x.tmp", name, rnd) >= (int)tmplen)
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int atomic_replace_at(int dirfd, const char *name, atomic_fill_fn fill, void *userdata)
{
	char tmp[512];
	int fd, r;

	fd = open_temp(dirfd, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	r = fill(fd, userdata);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return fsync(dirfd) < 0 ? -errno : 0;
}

struct plain_content {
	const void *data;
	size_t len;
	mode_t mode;
};

static int fill_plain(int fd, void *userdata)
{
	const struct plain_content *c = userdata;
	int r = write_all(fd, c->data, c->len);

	/* fchmod, not the open mode: umask must neither weaken nor widen the mode asked for. */
	return r < 0 ? r : fchmod(fd, c->mode) < 0 ? -errno : 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	struct plain_content c = { data, len, mode };

	return atomic_replace_at(dirfd, name, fill_plain, &c);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *d = xstrdup(path), *b = xstrdup(path);
	_cleanup_close_ int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -errno;
	return write_file_atomic_at(dfd, basename(b), data, len, mode);
}

const char *errstr(int neg_errno)
{
	switch (-neg_errno) {
	case EFBIG:
		return "file too large to be what it claims to be";
	case EINVAL:
		return "not a regular file or invalid content";
	case ELOOP:
		return "too many levels of symbolic links";
	default:
		return strerror(-neg_errno);
	}
}
