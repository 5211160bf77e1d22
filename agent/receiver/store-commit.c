/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Commit = redo journal. (1) the staged pass is made durable, (2) NAME.journal names it: from that
 * instant the pass is committed, (3) apply: staged chunks, zero declarations and the new size go into
 * NAME.raw (and NAME.vhd), chunk hashes into NAME.hashes, (4) NAME.meta records the pass, (5) the journal
 * and the staged pass are deleted. Step 3 only reads the staged pass and the old size from NAME.meta, both
 * unchanged until step 4, so running it again after a crash at any point gives the same result:
 * that is the replay done when a disk is loaded.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <time.h>

#include "fileio.h"
#include "json.h"
#include "log.h"
#include "store-internal.h"

int hook(const struct rstore *s, const char *point)
{
	return s->opt.hook ? s->opt.hook(s->opt.hook_userdata, point) : 0;
}

static int zero_range(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];

	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	while (len > 0) { /* a filesystem without holes */
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int r = pwrite_all(fd, zeros, n, off);
		if (r < 0)
			return r;
		off += n, len -= n;
	}
	return 0;
}

/* In-kernel copy (a reflink on filesystems that share extents), read/write where unsupported. */
static int copy_range(int from, int to, uint64_t off, uint64_t len, uint8_t *buf)
{
	loff_t in = (loff_t)off, out = (loff_t)off;

	while (len > 0) {
		ssize_t n = copy_file_range(from, &in, to, &out, (size_t)len, 0);
		if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
			int r = pread_all(from, buf, (size_t)len, (uint64_t)in);
			return r < 0 ? r : pwrite_all(to, buf, (size_t)len, (uint64_t)out);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) /* a short staging file cannot happen: it has the pass's size */
			return -EIO;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Writes the pass's staged chunks and zero ranges into fd (the raw image or the VHD). */
static int apply_chunks(struct rstore *s, const struct rpass *p, int fd, uint8_t *buf, bool hooks)
{
	uint64_t done = 0, nstaged = 0;
	int r;

	for (size_t b = 0; b < p->bmlen; b++)
		nstaged += (uint64_t)__builtin_popcount(p->staged[b]);
	for (uint64_t i = 0; i < p->nchunks; i++) {
		uint64_t len = chunk_len(p->size, p->chunk_size, i), off = i * p->chunk_size;

		if (bit_get(p->staged, i)) {
			if ((r = copy_range(p->data_fd, fd, off, len, buf)) < 0)
				return r;
			if (hooks && ++done == (nstaged + 1) / 2 && (r = hook(s, "mid-apply")) < 0)
				return r;
		} else if (bit_get(p->zero, i)) {
			if ((r = zero_range(fd, off, len)) < 0)
				return r;
		}
	}
	return 0;
}

static int sha256_of_zeros(uint64_t len, uint8_t out[32])
{
	_cleanup_free_ uint8_t *z = xcalloc(1, (size_t)len);

	return sha256_buf(z, (size_t)len, out);
}

static int hash_from_fd(int fd, uint8_t *buf, uint64_t off, uint64_t len, uint8_t out[32])
{
	int r = pread_all(fd, buf, len, off);

	return r < 0 ? r : sha256_buf(buf, (size_t)len, out);
}

/* NAME.hashes for the new state. old_n: chunks of the previous recovery point. */
static int apply_hashes(struct rdisk *d, const struct rpass *p, int raw, uint64_t old_size, uint8_t *buf)
{
	char fn[DISK_FILE_MAX];
	_cleanup_close_ int hfd = -1;
	uint64_t cs = p->chunk_size, old_n = (old_size + cs - 1) / cs, last = p->nchunks - 1;
	uint8_t zfull[32], zlast[32], h[32];
	int r;

	disk_file(fn, d, ".hashes");
	hfd = openat(d->dirfd, fn, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (hfd < 0)
		return -errno;
	if (ftruncate(hfd, (off_t)(p->nchunks * 32)) < 0)
		return -errno;
	if ((r = sha256_of_zeros(cs, zfull)) < 0 || (r = sha256_of_zeros(chunk_len(p->size, p->chunk_size, last), zlast)) < 0)
		return r;
	for (uint64_t i = 0; i < p->nchunks; i++) {
		const uint8_t *src;
		bool resized_edge = p->size != old_size && (i == last || i + 1 == old_n);

		if (bit_get(p->staged, i)) {
			if ((r = pread_all(p->data_fd, h, 32, pass_hash_off(p, i))) < 0)
				return r;
			src = h;
		} else if (bit_get(p->zero, i) || i >= old_n) {
			src = i == last ? zlast : zfull;
		} else if (resized_edge) {
			/* an unsent chunk whose length changed with the size: hash what it now holds */
			if ((r = hash_from_fd(raw, buf, i * cs, chunk_len(p->size, p->chunk_size, i), h)) < 0)
				return r;
			src = h;
		} else {
			continue;
		}
		if ((r = pwrite_all(hfd, src, 32, i * 32)) < 0)
			return r;
	}
	return fsync(hfd) < 0 ? -errno : 0;
}

/* Copies the data segments of raw into fd (the VHD made from scratch). */
static int copy_sparse(int raw, int fd, uint64_t size, uint8_t *buf, size_t buflen)
{
	off_t pos = 0;

	while ((uint64_t)pos < size) {
		off_t data = lseek(raw, pos, SEEK_DATA), hole;
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(raw, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (pos = data; pos < hole;) {
			size_t n = (size_t)(hole - pos) < buflen ? (size_t)(hole - pos) : buflen;
			int r = pread_all(raw, buf, n, (uint64_t)pos);
			if (r < 0 || (r = pwrite_all(fd, buf, n, (uint64_t)pos)) < 0)
				return r;
			pos += (off_t)n;
		}
	}
	return 0;
}

static int apply_vhd(struct rdisk *d, const struct rpass *p, int raw, uint64_t old_size, uint8_t *buf,
		     struct rstore *s)
{
	char fn[DISK_FILE_MAX];
	_cleanup_close_ int fd = -1;
	uint64_t rounded = vhd_rounded_size(p->size);
	/* incremental only if the VHD was current at the previous recovery point */
	bool full = !d->meta.committed_pass || d->meta.vhd_pass != d->meta.committed_pass;
	uint8_t footer[VHD_FOOTER_SIZE], digest[32];
	_cleanup_free_ char *id = xasprintf("%s/%s", d->agent, d->name);
	int r;

	disk_file(fn, d, ".vhd");
	fd = openat(d->dirfd, fn, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (full) {
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)rounded) < 0)
			return -errno;
		r = copy_sparse(raw, fd, p->size, buf, p->chunk_size);
	} else {
		/* the old footer (at the old rounded size) may lie inside the new disk: cut it off */
		if (ftruncate(fd, (off_t)(old_size < p->size ? old_size : p->size)) < 0 ||
		    ftruncate(fd, (off_t)rounded) < 0)
			return -errno;
		r = apply_chunks(s, p, fd, buf, false);
	}
	if (r < 0)
		return r;
	/* a stable unique id per replica, so tools see the same disk after each pass */
	if ((r = sha256_buf(id, strlen(id), digest)) < 0)
		return r;
	vhd_footer(footer, p->size, digest, (uint32_t)(time(NULL) - 946684800));
	if ((r = pwrite_all(fd, footer, sizeof(footer), rounded)) < 0)
		return r;
	return fsync(fd) < 0 ? -errno : 0;
}

/* Step 3 to 5; the caller holds the disk's write lock, d->pass is the pass of the journal. */
static int apply(struct rstore *s, struct rdisk *d)
{
	const struct rpass *p = d->pass;
	char fn[DISK_FILE_MAX];
	_cleanup_close_ int raw = -1;
	_cleanup_free_ uint8_t *buf = xmalloc(p->chunk_size);
	uint64_t old_size = d->meta.committed_pass ? d->meta.size : 0;
	struct rmeta m = d->meta;
	int r;

	disk_file(fn, d, ".raw");
	raw = openat(d->dirfd, fn, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (raw < 0)
		return -errno;
	/* down to what both recovery points share, then up: bytes new to the disk read as zeros,
	 * also when a crashed earlier apply already wrote beyond the old end */
	if (ftruncate(raw, (off_t)(old_size < p->size ? old_size : p->size)) < 0 ||
	    ftruncate(raw, (off_t)p->size) < 0)
		return -errno;
	if ((r = apply_chunks(s, p, raw, buf, true)) < 0)
		return r;
	if (fsync(raw) < 0)
		return -errno;
	if ((r = apply_hashes(d, p, raw, old_size, buf)) < 0)
		return r;
	if (s->opt.vhd) {
		if ((r = apply_vhd(d, p, raw, old_size, buf, s)) < 0)
			return r;
		m.vhd_pass = p->id;
	}
	if ((r = hook(s, "after-apply")) < 0)
		return r;
	m.committed_pass = p->id;
	m.last_pass = m.last_pass > p->id ? m.last_pass : p->id;
	m.size = p->size;
	m.chunk_size = p->chunk_size;
	if ((r = meta_write(d, &m)) < 0)
		return r;
	d->meta = m;
	if ((r = hook(s, "after-meta")) < 0)
		return r;
	disk_file(fn, d, ".journal");
	if (unlinkat(d->dirfd, fn, 0) < 0 || fsync(d->dirfd) < 0)
		return -errno;
	if ((r = hook(s, "after-unlink-journal")) < 0)
		return r;
	return pass_remove(s, d);
}

static int pass_sync(const struct rpass *p)
{
	int fds[] = { p->data_fd, p->staged_fd, p->zero_fd, p->dirfd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fsync(fds[i]) < 0)
			return -errno;
	return 0;
}

int commit_locked(struct rstore *s, struct rdisk *d, struct rcommit_result *res)
{
	struct rpass *p = d->pass;
	char fn[DISK_FILE_MAX];
	_cleanup_free_ char *j = xasprintf("{\"pass\": %llu}\n", (unsigned long long)p->id);
	uint64_t id = p->id;
	int r;

	/* uploads are excluded by the write lock: no inflight bits, the bitmaps are final */
	for (uint64_t i = 0; i < p->nchunks; i++) {
		if (bit_get(p->staged, i))
			res->chunks_applied++;
		else if (bit_get(p->zero, i))
			res->zero_chunks++;
	}
	if ((r = pass_sync(p)) < 0 || (r = hook(s, "before-journal")) < 0)
		return r;
	disk_file(fn, d, ".journal");
	if ((r = write_file_atomic_at(d->dirfd, fn, j, strlen(j), 0600)) < 0)
		return r;
	if ((r = hook(s, "after-journal")) < 0)
		return r;
	r = apply(s, d);
	if (r < 0) {
		/* committed (the journal is durable) but not applied: refuse until a restart replays it */
		log_err("%s/%s: pass %llu: applying the commit failed: %s; it is replayed on restart", d->agent,
			d->name, (unsigned long long)id, errstr(r));
		d->broken = true;
		return r;
	}
	log_info("%s/%s: pass %llu committed: %llu chunks, %llu zero chunks", d->agent, d->name,
		 (unsigned long long)id, (unsigned long long)res->chunks_applied,
		 (unsigned long long)res->zero_chunks);
	return 0;
}

static int journal_read(struct rdisk *d, uint64_t *pass)
{
	char fn[DISK_FILE_MAX];
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ cJSON *j = NULL;
	_cleanup_close_ int fd = -1;
	const cJSON *v;
	size_t len;
	int r;

	disk_file(fn, d, ".journal");
	fd = openat(d->dirfd, fn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if ((r = read_fd_bounded(fd, 4096, &buf, &len)) < 0)
		return r;
	j = cJSON_ParseWithLength(buf, len);
	v = cJSON_GetObjectItemCaseSensitive(j, "pass");
	if (!cJSON_IsNumber(v) || v->valuedouble < 1)
		return -EUCLEAN;
	*pass = (uint64_t)v->valuedouble;
	return 0;
}

int replay_locked(struct rstore *s, struct rdisk *d)
{
	char fn[DISK_FILE_MAX];
	uint64_t pass = 0;
	int r = journal_read(d, &pass);

	if (r < 0)
		return r;
	disk_file(fn, d, ".journal");
	if (d->meta.committed_pass == pass && (!d->pass || d->pass->id != pass)) {
		/* crashed after the meta update and the pass removal: only the journal is left */
		if (unlinkat(d->dirfd, fn, 0) < 0 || fsync(d->dirfd) < 0)
			return -errno;
		return 0;
	}
	if (!d->pass || d->pass->id != pass) {
		log_err("%s/%s: journal names pass %llu, but its staged data is gone", d->agent, d->name,
			(unsigned long long)pass);
		return -EUCLEAN;
	}
	log_info("%s/%s: replaying the commit of pass %llu", d->agent, d->name, (unsigned long long)pass);
	if (d->meta.committed_pass == pass) {
		/* meta already updated, journal still there: apply is still safe to rerun only
		 * from the old state, which is gone; finish the cleanup instead */
		if (unlinkat(d->dirfd, fn, 0) < 0 || fsync(d->dirfd) < 0)
			return -errno;
		return pass_remove(s, d);
	}
	return apply(s, d);
}
