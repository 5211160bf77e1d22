/* SPDX-License-Identifier: GPL-2.0-or-later */
/* File metadata capture/restore and the metadata-preserving atomic replace. */
#include "journal.h"
#include "fileio.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/xattr.h>

static int read_xattrs(int fd, struct file_meta *m)
{
	_cleanup_free_ char *names = NULL;
	ssize_t n = flistxattr(fd, NULL, 0);

	if (n < 0)
		return errno == ENOTSUP ? 0 : -errno;
	if (n == 0)
		return 0;
	names = xmalloc(n + 1);
	n = flistxattr(fd, names, n);
	if (n < 0)
		return -errno;
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		ssize_t vl = fgetxattr(fd, p, NULL, 0);
		char *v;

		if (vl < 0)
			return -errno;
		v = xmalloc(vl + 1);
		vl = fgetxattr(fd, p, v, vl);
		if (vl < 0) {
			free(v);
			return -errno;
		}
		m->xvals = xrealloc(m->xvals, (m->xnames.n + 1) * sizeof(*m->xvals));
		m->xlens = xrealloc(m->xlens, (m->xnames.n + 1) * sizeof(*m->xlens));
		m->xvals[m->xnames.n] = v;
		m->xlens[m->xnames.n] = vl;
		strv_push(&m->xnames, p);
	}
	return 0;
}

int meta_read_fd(int fd, struct file_meta *m)
{
	struct stat st;

	memset(m, 0, sizeof(*m));
	if (fstat(fd, &st) < 0)
		return -errno;
	m->mode = st.st_mode & 07777;
	m->uid = st.st_uid;
	m->gid = st.st_gid;
	m->atime = st.st_atim;
	m->mtime = st.st_mtim;
	return read_xattrs(fd, m);
}

void meta_free(struct file_meta *m)
{
	for (size_t i = 0; i < m->xnames.n; i++)
		free(m->xvals[i]);
	free(m->xvals);
	free(m->xlens);
	strv_free(&m->xnames);
	memset(m, 0, sizeof(*m));
}

int meta_apply_fd(int fd, const struct file_meta *m, bool with_times)
{
	if (fchown(fd, m->uid, m->gid) < 0)
		return -errno;
	if (fchmod(fd, m->mode) < 0)
		return -errno;
	for (size_t i = 0; i < m->xnames.n; i++)
		if (fsetxattr(fd, m->xnames.v[i], m->xvals[i], m->xlens[i], 0) < 0)
			return -errno;
	if (with_times) {
		struct timespec ts[2] = { m->atime, m->mtime };
		if (futimens(fd, ts) < 0)
			return -errno;
	}
	return 0;
}

char *meta_format(const struct file_meta *m)
{
	char *s = xasprintf("mode %o\nuid %u\ngid %u\natime %lld %ld\nmtime %lld %ld\n", (unsigned)m->mode,
			    (unsigned)m->uid, (unsigned)m->gid, (long long)m->atime.tv_sec, m->atime.tv_nsec,
			    (long long)m->mtime.tv_sec, m->mtime.tv_nsec);

	for (size_t i = 0; i < m->xnames.n; i++) {
		size_t l = strlen(s), need = l + strlen(m->xnames.v[i]) + 2 * m->xlens[i] + 16;
		char *p;

		s = xrealloc(s, need);
		p = s + l + sprintf(s + l, "xattr %s ", m->xnames.v[i]);
		for (size_t k = 0; k < m->xlens[i]; k++)
			p += sprintf(p, "%02x", (unsigned char)m->xvals[i][k]);
		strcpy(p, "\n");
	}
	return s;
}

static int unhex(const char *h, char **out, size_t *len)
{
	size_t n = strlen(h);
	char *v;

	if (n % 2 || strspn(h, "0123456789abcdefABCDEF") != n)
		return -EBADMSG;
	v = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned b;
		if (sscanf(h + 2 * i, "%2x", &b) != 1) {
			free(v);
			return -EBADMSG;
		}
		v[i] = (char)b;
	}
	*out = v;
	*len = n / 2;
	return 0;
}

int meta_parse(const char *text, struct file_meta *m)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	unsigned have = 0;

	memset(m, 0, sizeof(*m));
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned u;
		long long sec;
		long nsec;
		char name[256], *sp;

		if (sscanf(l, "mode %o", &u) == 1) {
			m->mode = u;
			have |= 1;
		} else if (sscanf(l, "uid %u", &u) == 1) {
			m->uid = u;
			have |= 2;
		} else if (sscanf(l, "gid %u", &u) == 1) {
			m->gid = u;
			have |= 4;
		} else if (sscanf(l, "atime %lld %ld", &sec, &nsec) == 2) {
			m->atime = (struct timespec){ .tv_sec = sec, .tv_nsec = nsec };
		} else if (sscanf(l, "mtime %lld %ld", &sec, &nsec) == 2) {
			m->mtime = (struct timespec){ .tv_sec = sec, .tv_nsec = nsec };
		} else if (startswith(l, "xattr ") && (sp = strchr(l + 6, ' ')) && sp - (l + 6) < (long)sizeof(name)) {
			char *v;
			size_t vl;

			memcpy(name, l + 6, sp - (l + 6));
			name[sp - (l + 6)] = '\0';
			if (unhex(sp + 1, &v, &vl) < 0) {
				meta_free(m);
				return -EBADMSG;
			}
			m->xvals = xrealloc(m->xvals, (m->xnames.n + 1) * sizeof(*m->xvals));
			m->xlens = xrealloc(m->xlens, (m->xnames.n + 1) * sizeof(*m->xlens));
			m->xvals[m->xnames.n] = v;
			m->xlens[m->xnames.n] = vl;
			strv_push(&m->xnames, name);
		} else {
			meta_free(m);
			return -EBADMSG;
		}
	}
	if (have != 7) {
		meta_free(m);
		return -EBADMSG;
	}
	return 0;
}

static int copy_fd(int src, int dst)
{
	char buf[1 << 16];
	off_t off = 0;

	for (;;) {
		ssize_t r = pread(src, buf, sizeof(buf), off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		int w = write_all(dst, buf, r);
		if (w < 0)
			return w;
		off += r;
	}
}

struct meta_content {
	const void *data;
	size_t len;
	int src_fd;
	const struct file_meta *meta;
	bool with_times;
	mode_t mode;
};

static int fill_with_meta(int fd, void *userdata)
{
	const struct meta_content *c = userdata;
	int r = c->data || c->src_fd < 0 ? write_all(fd, c->data, c->len) : copy_fd(c->src_fd, fd);

	/* Owner, mode and xattrs are set before the rename: the new name never shows other metadata. */
	if (r == 0)
		r = c->meta ? meta_apply_fd(fd, c->meta, c->with_times) : (fchmod(fd, c->mode) < 0 ? -errno : 0);
	return r;
}

int replace_file_at(int dirfd, const char *name, const void *data, size_t len, int src_fd,
		    const struct file_meta *meta, bool with_times, mode_t mode)
{
	struct meta_content c = { data, len, src_fd, meta, with_times, mode };

	return atomic_replace_at(dirfd, name, fill_with_meta, &c);
}

int copy_fd_to(int src_fd, int dirfd, const char *name, mode_t mode)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = copy_fd(src_fd, fd);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	return r;
}

int sysroot_mkdir_p(const struct sysroot *sr, const char *path, mode_t mode, strv *created)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char save = *s;
		*s = '\0';
		if (!sysroot_exists(sr, p)) {
			const char *name;
			_cleanup_close_ int dfd = sysroot_open_parent(sr, p, &name);

			if (dfd < 0)
				return dfd;
			if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
				return -errno;
			if (created)
				strv_push(created, p);
			fsync(dfd);
		}
		*s = save;
		if (!save)
			break;
	}
	return 0;
}
