/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Persisting the bitmap across clean stops; see state.h. */
#include "state.h"
#include "bootid.h"
#include "fileio.h"
#include "tracker.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/utsname.h>

#define STATE_MAGIC "MATRKST1"

/* On-disk header, host endianness (the file never leaves the machine). */
struct state_hdr {
	char magic[8];
	uint32_t version;
	uint32_t chunk_size;
	uint64_t nchunks;
	uint64_t disk_bytes;
	uint64_t diskseq;
	uint64_t write_ios;
	uint64_t discard_ios;
	uint32_t stats_valid;
	uint32_t pending_gaps;
	char boot_id[40];
	char kernel[72];
};

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static char *fname(const char *disk, const char *suffix)
{
	return xasprintf("tracker-%s.%s", disk, suffix);
}

int trk_facts_host(struct trk_facts *f)
{
	struct utsname u;
	int r = boot_id_read(f->boot_id, sizeof(f->boot_id));

	if (r < 0)
		return r;
	if (uname(&u) < 0)
		return -errno;
	snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
	return 0;
}

static int read_u64_file(const char *path, uint64_t *v)
{
	_cleanup_free_ char *txt = NULL;
	unsigned long long x;
	int r = read_file_bounded(path, 4096, &txt, NULL);

	if (r < 0)
		return r;
	if (sscanf(txt, "%llu", &x) != 1)
		return -EBADMSG;
	*v = x;
	return 0;
}

bool trk_stat_parse(const char *text, struct trk_facts *f)
{
	unsigned long long v[15] = { 0 };
	int n = sscanf(text, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12],
		       &v[13], &v[14]);

	if (n < 11)
		return false;
	f->write_ios = v[4] + v[5];                          /* writes completed + merged */
	f->discard_ios = n >= 13 ? v[11] + v[12] : 0;        /* discards (Linux 4.18+) */
	f->write_sectors = v[6];
	f->discard_sectors = n >= 14 ? v[13] : 0;
	return true;
}

int trk_facts_disk(const char *name, struct trk_facts *f)
{
	_cleanup_free_ char *stat = NULL, *p_stat = xasprintf("/sys/block/%s/stat", name);
	_cleanup_free_ char *p_seq = xasprintf("/sys/block/%s/diskseq", name);
	_cleanup_free_ char *p_iostats = xasprintf("/sys/block/%s/queue/iostats", name);
	uint64_t iostats = 1;

	f->diskseq = 0;
	read_u64_file(p_seq, &f->diskseq); /* absent before Linux 5.15: the other facts still hold */
	f->stats_valid = false;
	if (read_u64_file(p_iostats, &iostats) == 0 && !iostats)
		return 0; /* accounting off: the counters prove nothing */
	if (read_file_bounded(p_stat, 4096, &stat, NULL) < 0)
		return 0;
	f->stats_valid = trk_stat_parse(stat, f);
	return 0;
}

int trk_state_save(int dirfd, const char *disk, const struct trk_facts *f, const struct dirty_bitmap *b,
		   unsigned pending_gaps)
{
	_cleanup_free_ char *name = fname(disk, "bitmap"), *marker = fname(disk, "clean");
	size_t words = b->nwords * sizeof(uint64_t), len = sizeof(struct state_hdr) + words + 8;
	_cleanup_free_ unsigned char *buf = xcalloc(1, len);
	struct state_hdr *h = (struct state_hdr *)buf;
	uint64_t sum;
	int r;

	memcpy(h->magic, STATE_MAGIC, 8);
	h->version = 1;
	h->chunk_size = f->chunk_size;
	h->nchunks = f->nchunks;
	h->disk_bytes = f->disk_bytes;
	h->diskseq = f->diskseq;
	h->write_ios = f->write_ios;
	h->discard_ios = f->discard_ios;
	h->stats_valid = f->stats_valid;
	h->pending_gaps = pending_gaps;
	memcpy(h->boot_id, f->boot_id, sizeof(h->boot_id));
	memcpy(h->kernel, f->kernel, sizeof(h->kernel));
	for (uint64_t i = 0; i < b->nwords; i++) {
		uint64_t w = __atomic_load_n(&b->words[i], __ATOMIC_RELAXED);

		memcpy(buf + sizeof(*h) + i * 8, &w, 8);
	}
	sum = fnv1a(FNV_INIT, buf, len - 8);
	memcpy(buf + len - 8, &sum, 8);
	r = write_file_atomic_at(dirfd, name, buf, len, 0600);
	if (r < 0)
		return r;
	/* The marker last: present means the bitmap before it is complete. */
	return write_file_atomic_at(dirfd, marker, "clean\n", 6, 0600);
}

static unsigned compare(const struct state_hdr *h, const struct trk_facts *now)
{
	unsigned gaps = 0;

	if (strncmp(h->boot_id, now->boot_id, sizeof(h->boot_id)))
		gaps |= TRACKER_GAP_BOOT;
	if (strncmp(h->kernel, now->kernel, sizeof(h->kernel)))
		gaps |= TRACKER_GAP_KERNEL;
	if (h->chunk_size != now->chunk_size || h->nchunks != now->nchunks || h->disk_bytes != now->disk_bytes ||
	    h->diskseq != now->diskseq)
		gaps |= TRACKER_GAP_DEVICE;
	/* Counters are per boot: compare them only within one. */
	if (!(gaps & TRACKER_GAP_BOOT) && (!h->stats_valid || !now->stats_valid || h->write_ios != now->write_ios ||
					   h->discard_ios != now->discard_ios))
		gaps |= TRACKER_GAP_UNTRACKED;
	if (h->pending_gaps)
		gaps |= TRACKER_GAP_PENDING;
	return gaps;
}

unsigned trk_state_load(int dirfd, const char *disk, const struct trk_facts *now, struct dirty_bitmap *b)
{
	_cleanup_free_ char *name = fname(disk, "bitmap"), *marker = fname(disk, "clean");
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct state_hdr h;
	uint64_t sum, want;
	size_t len;
	unsigned gaps;

	if (faccessat(dirfd, marker, F_OK, 0) < 0)
		return TRACKER_GAP_NO_MARKER;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || read_fd_bounded(fd, sizeof(h) + b->nwords * 8 + 8, &buf, &len) < 0)
		return TRACKER_GAP_NO_MARKER | TRACKER_GAP_CORRUPT;
	if (len != sizeof(h) + b->nwords * 8 + 8)
		return TRACKER_GAP_DEVICE; /* another geometry, or a truncated file: no use either way */
	memcpy(&want, buf + len - 8, 8);
	sum = fnv1a(FNV_INIT, buf, len - 8);
	memcpy(&h, buf, sizeof(h));
	if (sum != want || memcmp(h.magic, STATE_MAGIC, 8) || h.version != 1)
		return TRACKER_GAP_CORRUPT;
	gaps = compare(&h, now);
	if (gaps & ~TRACKER_GAP_PENDING)
		return gaps; /* the next pass hashes everything: the old bitmap adds nothing */
	for (uint64_t i = 0; i < b->nwords; i++) {
		uint64_t w;

		memcpy(&w, buf + sizeof(h) + i * 8, 8);
		if (w)
			__atomic_fetch_or(&b->words[i], w, __ATOMIC_RELEASE);
	}
	return gaps;
}

int trk_state_disarm(int dirfd, const char *disk)
{
	_cleanup_free_ char *marker = fname(disk, "clean");

	if (unlinkat(dirfd, marker, 0) < 0 && errno != ENOENT)
		return -errno;
	return fsync(dirfd) < 0 ? -errno : 0;
}

int trk_owner_write(int dirfd, const char *disk, const char *boot_id, bool blktrace)
{
	_cleanup_free_ char *name = fname(disk, "owner");
	_cleanup_free_ char *txt = xasprintf("%ld %s %s\n", (long)getpid(), boot_id, blktrace ? "blktrace" : "perf");

	return write_file_atomic_at(dirfd, name, txt, strlen(txt), 0600);
}

void trk_owner_remove(int dirfd, const char *disk)
{
	_cleanup_free_ char *name = fname(disk, "owner");

	unlinkat(dirfd, name, 0);
}

bool trk_owner_is_dead(int dirfd, const char *disk, const char *boot_id)
{
	_cleanup_free_ char *name = fname(disk, "owner"), *txt = NULL;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char boot[64], backend[16];
	long pid;

	if (fd < 0 || read_fd_bounded(fd, 256, &txt, NULL) < 0)
		return false;
	if (sscanf(txt, "%ld %63s %15s", &pid, boot, backend) != 3 || pid <= 0 || strcmp(boot, boot_id))
		return false; /* another boot's trace cannot exist: that busy is someone else's */
	if (strcmp(backend, "blktrace"))
		return false; /* a perf session dies with its process: a busy disk is someone else's */
	return pid != getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}
