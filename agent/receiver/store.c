/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Disks and their open pass: loading state from the files of docs/protocol.md §8, opening, resuming and
 * aborting passes, staging chunks and zero declarations.
 *
 * Durability of a staged chunk. A chunk is staged by writing its data and hash, then its bit; the
 * commit makes all of them durable at once (one fsync per file instead of one per chunk, which was a
 * third of an incremental pass). In between, a crash of the process loses nothing (the page cache
 * keeps what was written), but a crash of the host can leave a bit on disk whose data is not: so each
 * pass records the boot it was written in ("boot"), and a pass loaded in another boot has every staged
 * chunk re-hashed against its stored hash; a chunk that fails is unstaged and the agent sends it again
 * (protocol §5.4). A hash is proof of the content except for one case: an older upload of the same
 * chunk in this pass, durable with its hash, under a newer bit. So a chunk whose region may already
 * hold an upload ("written"; every chunk of a pass loaded from disk) keeps the strict rule: its bit is
 * cleared durably first, and its data and hash are fdatasync'ed before the bit is set.
 */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "bootid.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "store-internal.h"

bool rstore_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > RSTORE_NAME_MAX || streq(name, ".") || streq(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool rstore_geometry_valid(uint64_t size, uint64_t cs)
{
	if (cs < RSTORE_CHUNK_MIN || cs > RSTORE_CHUNK_MAX || (cs & (cs - 1)))
		return false;
	if (size == 0 || size > RSTORE_SIZE_MAX)
		return false;
	return (size + cs - 1) / cs <= RSTORE_NCHUNKS_MAX;
}

int sha256_buf(const void *data, size_t len, uint8_t out[32])
{
	unsigned n = 32;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

void disk_file(char buf[DISK_FILE_MAX], const struct rdisk *d, const char *suffix)
{
	snprintf(buf, DISK_FILE_MAX, "%s%s", d->name, suffix);
}

int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) { /* past the end of a sparse file: zeros */
			memset(p, 0, len);
			return 0;
		}
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

/* ---- meta ---- */

static int json_u64(const cJSON *o, const char *key, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return -EINVAL;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static int meta_read(struct rdisk *d)
{
	char fn[DISK_FILE_MAX];
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ cJSON *j = NULL;
	_cleanup_close_ int fd = -1;
	uint64_t cs = 0;
	size_t len;
	int r;

	disk_file(fn, d, ".meta");
	fd = openat(d->dirfd, fn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = read_fd_bounded(fd, 4096, &buf, &len);
	if (r < 0)
		return r;
	j = cJSON_ParseWithLength(buf, len);
	if (!j || json_u64(j, "committed_pass", &d->meta.committed_pass) < 0 ||
	    json_u64(j, "last_pass", &d->meta.last_pass) < 0 || json_u64(j, "size", &d->meta.size) < 0 ||
	    json_u64(j, "chunk_size", &cs) < 0 || json_u64(j, "vhd_pass", &d->meta.vhd_pass) < 0 ||
	    (d->meta.committed_pass && !rstore_geometry_valid(d->meta.size, cs)))
		return -EUCLEAN;
	d->meta.chunk_size = (uint32_t)cs;
	return 0;
}

int meta_write(const struct rdisk *d, const struct rmeta *m)
{
	char fn[DISK_FILE_MAX];
	_cleanup_free_ char *txt = xasprintf(
		"{\"committed_pass\": %llu, \"last_pass\": %llu, \"size\": %llu, \"chunk_size\": %u, "
		"\"vhd_pass\": %llu}\n",
		(unsigned long long)m->committed_pass, (unsigned long long)m->last_pass,
		(unsigned long long)m->size, m->chunk_size, (unsigned long long)m->vhd_pass);

	disk_file(fn, d, ".meta");
	return write_file_atomic_at(d->dirfd, fn, txt, strlen(txt), 0600);
}

/* ---- the open pass ---- */

void pass_free(struct rpass *p)
{
	if (!p)
		return;
	int fds[] = { p->data_fd, p->staged_fd, p->zero_fd, p->dirfd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(p->staged);
	free(p->zero);
	free(p->inflight);
	free(p->written);
	free(p);
}
static inline void pass_freep(struct rpass **p) { pass_free(*p); }

static struct rpass *pass_new(uint64_t id, uint64_t size, uint32_t cs)
{
	struct rpass *p = xcalloc(1, sizeof(*p));

	p->id = id, p->size = size, p->chunk_size = cs;
	p->nchunks = (size + cs - 1) / cs;
	p->bmlen = (size_t)((p->nchunks + 7) / 8);
	p->staged = xcalloc(1, p->bmlen);
	p->zero = xcalloc(1, p->bmlen);
	p->inflight = xcalloc(1, p->bmlen);
	p->written = xcalloc(1, p->bmlen);
	p->dirfd = p->data_fd = p->staged_fd = p->zero_fd = -1;
	return p;
}

static int pass_open_files(struct rpass *p, int flags)
{
	if ((p->data_fd = openat(p->dirfd, "data", O_RDWR | O_CLOEXEC | O_NOFOLLOW | flags, 0600)) < 0 ||
	    (p->staged_fd = openat(p->dirfd, "staged", O_RDWR | O_CLOEXEC | O_NOFOLLOW | flags, 0600)) < 0 ||
	    (p->zero_fd = openat(p->dirfd, "zero", O_RDWR | O_CLOEXEC | O_NOFOLLOW | flags, 0600)) < 0)
		return -errno;
	return 0;
}

/* Loads NAME.pass/ if it exists (*ret NULL otherwise). */
int pass_load(struct rdisk *d, struct rpass **ret)
{
	char fn[DISK_FILE_MAX];
	_cleanup_(pass_freep) struct rpass *p = NULL;
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ cJSON *j = NULL;
	uint64_t id, size, cs;
	size_t len;
	int dfd, r;

	*ret = NULL;
	disk_file(fn, d, ".pass");
	dfd = openat(d->dirfd, fn, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	{
		_cleanup_close_ int ifd = openat(dfd, "info", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		r = ifd < 0 ? -errno : read_fd_bounded(ifd, 4096, &buf, &len);
	}
	if (r < 0 || !(j = cJSON_ParseWithLength(buf, len)) || json_u64(j, "pass", &id) < 0 ||
	    json_u64(j, "size", &size) < 0 || json_u64(j, "chunk_size", &cs) < 0 ||
	    !rstore_geometry_valid(size, cs)) {
		close(dfd);
		return r < 0 ? r : -EUCLEAN;
	}
	p = pass_new(id, size, (uint32_t)cs);
	p->dirfd = dfd;
	r = pass_open_files(p, 0);
	if (r < 0)
		return r;
	if ((r = pread_all(p->staged_fd, p->staged, p->bmlen, 0)) < 0 ||
	    (r = pread_all(p->zero_fd, p->zero, p->bmlen, 0)) < 0)
		return r;
	memset(p->written, 0xff, p->bmlen); /* what earlier processes wrote is not known */
	*ret = TAKE_PTR(p);
	return 0;
}

/* Records the boot whose unsynced writes the pass may hold (see the top of this file). */
static int pass_boot_write(const struct rstore *s, const struct rpass *p)
{
	_cleanup_free_ char *txt = xasprintf("%s\n", s->boot_id);

	return write_file_atomic_at(p->dirfd, "boot", txt, strlen(txt), 0600);
}

/* Loaded in another boot than the one that wrote it (or an unknown one): keeps only the staged chunks
 * whose data still matches its hash (see the top of this file), then takes the pass into this boot. */
static int pass_trust(const struct rstore *s, struct rdisk *d)
{
	struct rpass *p = d->pass;
	_cleanup_free_ char *boot = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t kept = 0, lost = 0;
	int r;

	{
		_cleanup_close_ int fd = openat(p->dirfd, "boot", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd >= 0 && read_fd_bounded(fd, 256, &boot, NULL) == 0 && s->boot_id[0] &&
		    streq(strstrip(boot), s->boot_id))
			return 0;
	}
	buf = xmalloc(p->chunk_size);
	for (uint64_t i = 0; i < p->nchunks; i++) {
		uint8_t want[32], got[32];
		uint64_t len = chunk_len(p->size, p->chunk_size, i);

		if (!bit_get(p->staged, i))
			continue;
		if ((r = pread_all(p->data_fd, buf, len, i * p->chunk_size)) < 0 ||
		    (r = pread_all(p->data_fd, want, 32, pass_hash_off(p, i))) < 0 || (r = sha256_buf(buf, len, got)) < 0)
			return r;
		if (CRYPTO_memcmp(want, got, 32) == 0) {
			kept++;
			continue;
		}
		bit_clear(p->staged, i);
		lost++;
	}
	if (lost) {
		if ((r = pwrite_all(p->staged_fd, p->staged, p->bmlen, 0)) < 0)
			return r;
		if (fdatasync(p->staged_fd) < 0)
			return -errno;
	}
	if (kept || lost)
		log_warn("%s/%s: pass %llu was staged before the host restarted: %llu chunks verified, %llu lost "
			 "(the agent sends them again)", d->agent, d->name, (unsigned long long)p->id,
			 (unsigned long long)kept, (unsigned long long)lost);
	return pass_boot_write(s, p);
}

/* Drops the open pass: renamed away first, so a crash halfway never leaves a pass that looks valid;
 * its files are deleted later by the reaper (store-reap.c). */
int pass_remove(struct rstore *s, struct rdisk *d)
{
	char fn[DISK_FILE_MAX], dead[DISK_FILE_MAX + 8];
	unsigned long long id = d->pass ? (unsigned long long)d->pass->id : 0;
	int r;

	pass_free(d->pass);
	d->pass = NULL;
	disk_file(fn, d, ".pass");
	snprintf(dead, sizeof(dead), "%s.pass-dead-%llu", d->name, id);
	if ((r = pass_dir_remove(d->dirfd, dead)) < 0)
		return r;
	if (renameat(d->dirfd, fn, d->dirfd, dead) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fsync(d->dirfd) < 0)
		return -errno;
	reaper_add(s->reaper, d->dirfd, dead);
	return 0;
}

/* Creates NAME.pass/ atomically: built as NAME.pass-new, then renamed. */
static int pass_create_files(const struct rstore *s, struct rdisk *d, struct rpass *p)
{
	char fn[DISK_FILE_MAX], tmp[DISK_FILE_MAX];
	_cleanup_free_ char *info = xasprintf("{\"pass\": %llu, \"size\": %llu, \"chunk_size\": %u}\n",
					      (unsigned long long)p->id, (unsigned long long)p->size,
					      p->chunk_size);
	int r;

	disk_file(fn, d, ".pass");
	disk_file(tmp, d, ".pass-new");
	if ((r = pass_dir_remove(d->dirfd, tmp)) < 0)
		return r;
	if (mkdirat(d->dirfd, tmp, 0700) < 0)
		return -errno;
	p->dirfd = openat(d->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (p->dirfd < 0)
		return -errno;
	if ((r = pass_open_files(p, O_CREAT | O_EXCL)) < 0 ||
	    (r = write_file_atomic_at(p->dirfd, "info", info, strlen(info), 0600)) < 0 ||
	    (r = pass_boot_write(s, p)) < 0)
		return r;
	if (ftruncate(p->data_fd, (off_t)pass_hash_off(p, p->nchunks)) < 0 ||
	    ftruncate(p->staged_fd, (off_t)p->bmlen) < 0 || ftruncate(p->zero_fd, (off_t)p->bmlen) < 0 ||
	    fsync(p->dirfd) < 0)
		return -errno;
	if (renameat(d->dirfd, tmp, d->dirfd, fn) < 0 || fsync(d->dirfd) < 0)
		return -errno;
	return 0;
}

/* ---- disks ---- */

static void disk_free(struct rdisk *d)
{
	pass_free(d->pass);
	if (d->dirfd >= 0)
		close(d->dirfd);
	pthread_rwlock_destroy(&d->lock);
	pthread_mutex_destroy(&d->bm_lock);
	free(d->agent);
	free(d->name);
	free(d);
}

static inline void disk_freep(struct rdisk **d) { if (*d) disk_free(*d); }

static int disk_load(struct rstore *s, const char *agent, const char *name, bool create, struct rdisk **ret)
{
	_cleanup_(disk_freep) struct rdisk *d = xcalloc(1, sizeof(*d));
	char fn[DISK_FILE_MAX];
	struct stat st;
	int r;

	d->agent = xstrdup(agent);
	d->name = xstrdup(name);
	d->dirfd = -1;
	pthread_rwlock_init(&d->lock, NULL);
	pthread_mutex_init(&d->bm_lock, NULL);
	if (create && mkdirat(s->dirfd, agent, 0700) < 0 && errno != EEXIST)
		return -errno;
	d->dirfd = openat(s->dirfd, agent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (d->dirfd < 0)
		return -errno;
	disk_file(fn, d, ".journal");
	if ((r = meta_read(d)) < 0 || (r = pass_load(d, &d->pass)) < 0 ||
	    (fstatat(d->dirfd, fn, &st, AT_SYMLINK_NOFOLLOW) == 0 && (r = replay_locked(s, d)) < 0)) {
		log_err("%s/%s: cannot load the replica's state: %s", agent, name, errstr(r));
		return r;
	}
	pass_leftovers_remove(d);
	if (d->pass && d->pass->id <= d->meta.committed_pass) {
		/* crashed after the journal was deleted, before the staged pass was */
		if ((r = pass_remove(s, d)) < 0)
			return r;
	}
	if (d->pass && (r = pass_trust(s, d)) < 0) {
		log_err("%s/%s: cannot verify the open pass: %s", agent, name, errstr(r));
		return r;
	}
	if (!create && d->meta.last_pass == 0 && !d->pass)
		return -ENOENT;
	*ret = TAKE_PTR(d);
	return 0;
}

static int disk_get(struct rstore *s, const char *agent, const char *name, bool create, struct rdisk **ret)
{
	struct rdisk *d;
	int r = 0;

	if (!rstore_name_valid(agent) || !rstore_name_valid(name))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	for (d = s->disks; d; d = d->next)
		if (streq(d->agent, agent) && streq(d->name, name))
			break;
	if (!d) {
		r = disk_load(s, agent, name, create, &d);
		if (r == 0) {
			d->next = s->disks;
			s->disks = d;
		}
	}
	pthread_mutex_unlock(&s->lock);
	*ret = d;
	return r;
}

/* Disk held with its rwlock; released by the cleanup. */
struct held {
	struct rdisk *d;
};
static inline void held_release(struct held *h) { if (h->d) pthread_rwlock_unlock(&h->d->lock); }
#define _cleanup_held_ _cleanup_(held_release)

static int disk_lock(struct rstore *s, const char *agent, const char *name, bool create, bool write,
		     struct held *h)
{
	struct rdisk *d;
	int r = disk_get(s, agent, name, create, &d);

	if (r < 0)
		return r;
	if (write)
		pthread_rwlock_wrlock(&d->lock);
	else
		pthread_rwlock_rdlock(&d->lock);
	h->d = d;
	if (d->broken) {
		/* a commit failed after its journal (disk full, I/O error): finish it before anything else */
		pthread_rwlock_unlock(&d->lock);
		pthread_rwlock_wrlock(&d->lock);
		if (d->broken && replay_locked(s, d) == 0) {
			log_info("%s/%s: the interrupted commit is now applied", agent, name);
			d->broken = false;
		}
		if (d->broken)
			return -EUCLEAN;
		if (!write) {
			pthread_rwlock_unlock(&d->lock);
			pthread_rwlock_rdlock(&d->lock);
		}
	}
	return 0;
}

static int open_pass_get(struct rdisk *d, uint64_t pass, struct rpass **ret)
{
	if (!d->pass || d->pass->id != pass)
		return -ESRCH;
	*ret = d->pass;
	return 0;
}

/* ---- store ---- */

/* Before serving: journals are replayed, and open passes loaded (one staged before a host crash is
 * verified now rather than while a request holds the store's lock). */
static void replay_all(struct rstore *s)
{
	_cleanup_closedir_ DIR *top = NULL;
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de, *je;

	if (fd < 0 || !(top = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(top))) {
		_cleanup_closedir_ DIR *ad = NULL;
		int afd;

		if (!rstore_name_valid(de->d_name))
			continue;
		afd = openat(s->dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (afd < 0 || !(ad = fdopendir(afd))) {
			if (afd >= 0)
				close(afd);
			continue;
		}
		while ((je = readdir(ad))) {
			const char *suffix = endswith(je->d_name, ".journal") ? ".journal" :
					     endswith(je->d_name, ".pass") ? ".pass" : NULL;
			_cleanup_free_ char *disk = NULL;
			struct rdisk *d;

			if (!suffix)
				continue;
			disk = xstrndup(je->d_name, strlen(je->d_name) - strlen(suffix));
			if (rstore_name_valid(disk) && disk_get(s, de->d_name, disk, false, &d) == 0 &&
			    streq(suffix, ".journal"))
				log_info("%s/%s: pending commit replayed", de->d_name, disk);
		}
	}
}

static void boot_id_set(struct rstore *s)
{
	const char *id = s->opt.boot_id;

	if (id && strlen(id) < sizeof(s->boot_id))
		snprintf(s->boot_id, sizeof(s->boot_id), "%s", id);
	else if (id || boot_id_read(s->boot_id, sizeof(s->boot_id)) < 0)
		log_warn("the boot id is unknown: every staged chunk is synced on its own (slower)");
}

int rstore_open(const char *dir, const struct rstore_options *opt, struct rstore **ret)
{
	struct rstore *s;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	s = xcalloc(1, sizeof(*s));
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		int r = -errno;
		free(s);
		return r;
	}
	if (opt)
		s->opt = *opt;
	boot_id_set(s);
	s->reaper = reaper_new();
	pthread_mutex_init(&s->lock, NULL);
	replay_all(s);
	*ret = s;
	return 0;
}

void rstore_free(struct rstore *s)
{
	if (!s)
		return;
	reaper_free(s->reaper);
	while (s->disks) {
		struct rdisk *d = s->disks;
		s->disks = d->next;
		disk_free(d);
	}
	pthread_mutex_destroy(&s->lock);
	close(s->dirfd);
	free(s);
}

int rstore_dirfd(const struct rstore *s)
{
	return s->dirfd;
}

static uint64_t popcount_or(const struct rpass *p)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->bmlen; i++)
		n += (uint64_t)__builtin_popcount(p->staged[i] | p->zero[i]);
	return n;
}

int rstore_disk_info(struct rstore *s, const char *agent, const char *disk, struct rdisk_info *info)
{
	_cleanup_held_ struct held h = { NULL };
	int r = disk_lock(s, agent, disk, false, false, &h);

	if (r < 0)
		return r;
	memset(info, 0, sizeof(*info));
	info->committed_pass = h.d->meta.committed_pass;
	info->size = info->committed_pass ? h.d->meta.size : 0;
	info->chunk_size = h.d->meta.chunk_size;
	if (h.d->pass) {
		struct rpass *p = h.d->pass;
		info->pass_open = true;
		info->pass_id = p->id, info->pass_size = p->size, info->pass_chunk_size = p->chunk_size;
		if (!info->committed_pass)
			info->chunk_size = p->chunk_size;
		pthread_mutex_lock(&h.d->bm_lock);
		info->pass_staged = popcount_or(p);
		pthread_mutex_unlock(&h.d->bm_lock);
	} else if (!info->committed_pass) {
		return -ENOENT; /* a pass was opened and aborted, nothing left */
	}
	return 0;
}

int rstore_pass_geometry(struct rstore *s, const char *agent, const char *disk, uint64_t pass, uint64_t *size,
			 uint32_t *chunk_size)
{
	_cleanup_held_ struct held h = { NULL };
	struct rpass *p;
	int r = disk_lock(s, agent, disk, false, false, &h);

	if (r == -ENOENT)
		return -ESRCH;
	if (r < 0 || (r = open_pass_get(h.d, pass, &p)) < 0)
		return r;
	*size = p->size;
	*chunk_size = p->chunk_size;
	return 0;
}

int rstore_pass_create(struct rstore *s, const char *agent, const char *disk, uint64_t size,
		       uint32_t chunk_size, uint64_t *pass, bool *resumed)
{
	_cleanup_held_ struct held h = { NULL };
	_cleanup_(pass_freep) struct rpass *p = NULL;
	struct rmeta m;
	int r;

	if (!rstore_geometry_valid(size, chunk_size))
		return -EINVAL;
	if ((r = disk_lock(s, agent, disk, true, true, &h)) < 0)
		return r;
	if (h.d->meta.committed_pass && h.d->meta.chunk_size != chunk_size)
		return -EXDEV;
	if (h.d->pass && h.d->pass->size == size && h.d->pass->chunk_size == chunk_size) {
		*pass = h.d->pass->id;
		*resumed = true;
		return 0;
	}
	if (h.d->pass) {
		log_info("%s/%s: pass %llu discarded: a pass of another geometry is opened", agent, disk,
			 (unsigned long long)h.d->pass->id);
		if ((r = pass_remove(s, h.d)) < 0)
			return r;
	}
	m = h.d->meta;
	m.last_pass = (m.last_pass > m.committed_pass ? m.last_pass : m.committed_pass) + 1;
	/* The id is durable before the pass exists: an id is never handed out twice. */
	if ((r = meta_write(h.d, &m)) < 0)
		return r;
	h.d->meta = m;
	p = pass_new(m.last_pass, size, chunk_size);
	if ((r = pass_create_files(s, h.d, p)) < 0)
		return r;
	h.d->pass = TAKE_PTR(p);
	*pass = m.last_pass;
	*resumed = false;
	return 0;
}

int rstore_pass_staged(struct rstore *s, const char *agent, const char *disk, uint64_t pass,
		       uint8_t **bitmap, size_t *len)
{
	_cleanup_held_ struct held h = { NULL };
	struct rpass *p;
	uint8_t *bm;
	int r;

	if ((r = disk_lock(s, agent, disk, false, false, &h)) < 0 || (r = open_pass_get(h.d, pass, &p)) < 0)
		return r;
	bm = xmalloc(p->bmlen);
	pthread_mutex_lock(&h.d->bm_lock);
	for (size_t i = 0; i < p->bmlen; i++)
		bm[i] = p->staged[i] | p->zero[i];
	pthread_mutex_unlock(&h.d->bm_lock);
	*bitmap = bm;
	*len = p->bmlen;
	return 0;
}

/* Persists the byte of both bitmaps holding bit i (called with bm_lock held). */
static int bitmap_byte_write(struct rpass *p, uint64_t i)
{
	int r = pwrite_all(p->staged_fd, &p->staged[i / 8], 1, i / 8);

	return r < 0 ? r : pwrite_all(p->zero_fd, &p->zero[i / 8], 1, i / 8);
}

/* Claims chunk i for an upload; clears its staged/zero bits durably first if they were set. *rewrite:
 * its region may hold an earlier upload, so the new one must be durable before its bit is set. */
static int chunk_claim(struct rdisk *d, struct rpass *p, uint64_t i, bool *rewrite)
{
	bool was = false;
	int r = 0;

	pthread_mutex_lock(&d->bm_lock);
	if (bit_get(p->inflight, i)) {
		pthread_mutex_unlock(&d->bm_lock);
		return -EBUSY;
	}
	bit_set(p->inflight, i);
	*rewrite = bit_get(p->written, i); /* a staged chunk was written */
	if (bit_get(p->staged, i) || bit_get(p->zero, i)) {
		was = true;
		bit_clear(p->staged, i);
		bit_clear(p->zero, i);
		r = bitmap_byte_write(p, i);
	}
	pthread_mutex_unlock(&d->bm_lock);
	if (r == 0 && was && (fdatasync(p->staged_fd) < 0 || fdatasync(p->zero_fd) < 0))
		r = -errno;
	return r;
}

static int chunk_done(struct rdisk *d, struct rpass *p, uint64_t i, bool ok)
{
	int r = 0;

	pthread_mutex_lock(&d->bm_lock);
	bit_clear(p->inflight, i);
	if (ok) {
		bit_set(p->staged, i);
		r = bitmap_byte_write(p, i);
	}
	pthread_mutex_unlock(&d->bm_lock);
	/* not synced here: the data is, so a bit that reaches the disk is always true; a bit lost
	 * in a crash of the host only makes the agent send the chunk again. Commit syncs them all. */
	return r;
}

int rstore_put_chunk(struct rstore *s, const char *agent, const char *disk, uint64_t pass, uint64_t index,
		     const void *data, size_t len, const uint8_t sha256[32])
{
	_cleanup_held_ struct held h = { NULL };
	uint8_t got[32];
	struct rpass *p;
	bool rewrite;
	int r;

	if ((r = disk_lock(s, agent, disk, false, false, &h)) < 0 || (r = open_pass_get(h.d, pass, &p)) < 0)
		return r;
	if (index >= p->nchunks)
		return -ERANGE;
	if (len != chunk_len(p->size, p->chunk_size, index))
		return -EMSGSIZE;
	if ((r = sha256_buf(data, len, got)) < 0)
		return r;
	if (CRYPTO_memcmp(got, sha256, 32) != 0) {
		/* an older copy of the chunk must not stand in for the one that failed */
		r = chunk_claim(h.d, p, index, &rewrite);
		if (r != -EBUSY)
			chunk_done(h.d, p, index, false);
		return r == 0 || r == -EBUSY ? -EBADMSG : r;
	}
	if ((r = chunk_claim(h.d, p, index, &rewrite)) < 0) {
		if (r != -EBUSY)
			chunk_done(h.d, p, index, false);
		return r;
	}
	pthread_mutex_lock(&h.d->bm_lock);
	bit_set(p->written, index);
	pthread_mutex_unlock(&h.d->bm_lock);
	r = pwrite_all(p->data_fd, data, len, index * p->chunk_size);
	if (r == 0)
		r = pwrite_all(p->data_fd, got, 32, pass_hash_off(p, index));
	/* else made durable by the commit (see the top of this file) */
	if (r == 0 && (rewrite || !s->boot_id[0]) && fdatasync(p->data_fd) < 0)
		r = -errno;
	if (r < 0) {
		chunk_done(h.d, p, index, false);
		return r;
	}
	return chunk_done(h.d, p, index, true);
}

/* Writes bytes [from, to] of a bitmap. */
static int bitmap_span_write(int fd, const uint8_t *bm, size_t from, size_t to)
{
	return pwrite_all(fd, bm + from, to - from + 1, from);
}

int rstore_put_zeros(struct rstore *s, const char *agent, const char *disk, uint64_t pass,
		     const uint64_t (*ranges)[2], size_t nranges)
{
	_cleanup_held_ struct held h = { NULL };
	struct rpass *p;
	size_t lo = SIZE_MAX, hi = 0;
	int r;

	if ((r = disk_lock(s, agent, disk, false, false, &h)) < 0 || (r = open_pass_get(h.d, pass, &p)) < 0)
		return r;
	if (nranges > RSTORE_RANGES_MAX)
		return -EINVAL;
	for (size_t k = 0; k < nranges; k++)
		if (ranges[k][1] == 0 || ranges[k][0] >= p->nchunks || ranges[k][1] > p->nchunks - ranges[k][0])
			return -ERANGE;
	if (nranges == 0)
		return 0;
	pthread_mutex_lock(&h.d->bm_lock);
	for (size_t k = 0; k < nranges; k++) {
		for (uint64_t i = ranges[k][0]; i < ranges[k][0] + ranges[k][1]; i++) {
			if (bit_get(p->inflight, i))
				continue; /* an upload of it is running and wins: it came later */
			bit_clear(p->staged, i);
			bit_set(p->zero, i);
		}
		lo = ranges[k][0] / 8 < lo ? ranges[k][0] / 8 : lo;
		hi = (ranges[k][0] + ranges[k][1] - 1) / 8 > hi ? (ranges[k][0] + ranges[k][1] - 1) / 8 : hi;
	}
	/* Staged bits cleared durably before zero bits are set: both set would be ambiguous. */
	r = bitmap_span_write(p->staged_fd, p->staged, lo, hi);
	if (r == 0 && fdatasync(p->staged_fd) < 0)
		r = -errno;
	if (r == 0)
		r = bitmap_span_write(p->zero_fd, p->zero, lo, hi);
	if (r == 0 && fdatasync(p->zero_fd) < 0)
		r = -errno;
	pthread_mutex_unlock(&h.d->bm_lock);
	return r;
}

int rstore_commit(struct rstore *s, const char *agent, const char *disk, uint64_t pass,
		  struct rcommit_result *res)
{
	_cleanup_held_ struct held h = { NULL };
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = disk_lock(s, agent, disk, false, true, &h)) < 0)
		return r;
	if (h.d->meta.committed_pass == pass && pass != 0) {
		res->already = true;
		return 0;
	}
	if (!h.d->pass || h.d->pass->id != pass)
		return -ESRCH;
	return commit_locked(s, h.d, res);
}

int rstore_abort(struct rstore *s, const char *agent, const char *disk, uint64_t pass)
{
	_cleanup_held_ struct held h = { NULL };
	int r;

	if ((r = disk_lock(s, agent, disk, false, true, &h)) < 0)
		return r;
	if (h.d->meta.committed_pass == pass && pass != 0)
		return -EPERM;
	if (!h.d->pass || h.d->pass->id != pass)
		return 0;
	log_info("%s/%s: pass %llu aborted", agent, disk, (unsigned long long)pass);
	return pass_remove(s, h.d);
}

int rstore_hashes(struct rstore *s, const char *agent, const char *disk, uint64_t first, uint64_t count,
		  uint8_t *out)
{
	_cleanup_held_ struct held h = { NULL };
	_cleanup_close_ int fd = -1;
	char fn[DISK_FILE_MAX];
	uint64_t n;
	int r;

	if ((r = disk_lock(s, agent, disk, false, false, &h)) < 0)
		return r;
	if (!h.d->meta.committed_pass)
		return -ENODATA;
	n = (h.d->meta.size + h.d->meta.chunk_size - 1) / h.d->meta.chunk_size;
	if (count == 0 || count > RSTORE_HASHES_MAX)
		return -EINVAL;
	if (first >= n || count > n - first)
		return -ERANGE;
	disk_file(fn, h.d, ".hashes");
	fd = openat(h.d->dirfd, fn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return pread_all(fd, out, count * 32, first * 32);
}
