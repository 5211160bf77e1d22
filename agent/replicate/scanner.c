/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chunk scanner (see scanner.h). Threads: reader threads claim reads (up to 4 MiB of
 * consecutive chunks, whatever the chunk size) and pread them with O_DIRECT into a ring of aligned
 * buffers; hasher threads take the reads in turn, detect zero chunks and hash the others; the
 * consumer (the sync pass) takes chunks in index order. A slot is reused only after the consumer moved
 * past it, so memory is bounded by the ring. Two readers keep a request in flight while the other
 * one's buffer is handed on, and two hashers keep SHA-256 (~1.8 GB/s per core) from capping the rate.
 */
#include "scanner.h"
#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MAX_READERS 4
#define MAX_HASHERS 4
#define SCAN_RING_BYTES (64u << 20)
#define READ_UNIT (4u << 20) /* what dd bs=4M reads at once: the rate to match */

enum slot_state { SLOT_FREE, SLOT_READING, SLOT_READ, SLOT_READY };

/* A slot is one read: up to per_slot consecutive chunks in one buffer, so small chunks still make
 * large reads. */
struct slot {
	struct scan_chunk *c;
	unsigned n;
	uint8_t *buf;
	enum slot_state state;
	int err;
	uint64_t err_index;
};

struct scanner {
	int fd;
	uint64_t size, nchunks;
	uint32_t chunk_size;
	bool is_image;
	unsigned align;
	struct chunk_filter filter;
	EVP_MD *md;
	uint8_t zero_hash[CHUNK_HASH_LEN], zero_hash_last[CHUNK_HASH_LEN];

	/* One condition per kind of waiter: a change wakes only who can use it (a shared condition
	 * woke all five threads for each chunk of a sparse pass). */
	pthread_mutex_t lock;
	pthread_cond_t slot_free;  /* readers: a slot was released */
	pthread_cond_t slot_read;  /* hashers: a read finished */
	pthread_cond_t slot_ready; /* the consumer: a read is hashed */
	struct slot *slots;
	unsigned nslots, per_slot;
	unsigned pos;       /* the consumer's chunk within its slot */
	uint64_t next_pos;  /* filter iterator: next chunk index to look at */
	uint64_t claimed;   /* sequence numbers handed to readers so far */
	uint64_t total;     /* UINT64_MAX until the filter is exhausted */
	uint64_t released;  /* slots the consumer is done with */
	uint64_t consumed;  /* sequence numbers handed to the consumer */
	uint64_t next_hash; /* next sequence number a hasher takes */
	bool holding;       /* the consumer holds slot consumed - 1 */
	bool stop;
	uint64_t bytes_read;
	uint64_t error_index;

	pthread_t readers[MAX_READERS], hashers[MAX_HASHERS];
	unsigned nreaders, nhashers;
};

int disk_open(const char *path, struct disk *d)
{
	struct stat st;
	int fd;

	*d = (struct disk){ .fd = -1, .align = 4096, .direct = true };
	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL) {
		/* tmpfs and a few others refuse O_DIRECT; their page cache is the data itself. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		d->direct = false;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;

		if (ioctl(fd, BLKGETSIZE64, &d->size) < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0 && (unsigned)ssz > d->align)
			d->align = (unsigned)ssz;
		snprintf(d->identity, sizeof(d->identity), "block:%u:%u", major(st.st_rdev), minor(st.st_rdev));
	} else if (S_ISREG(st.st_mode)) {
		d->size = (uint64_t)st.st_size;
		d->is_image = true;
		snprintf(d->identity, sizeof(d->identity), "file:%u:%u:%ju", major(st.st_dev), minor(st.st_dev),
			 (uintmax_t)st.st_ino);
	} else {
		close(fd);
		return -ENOTBLK;
	}
	d->fd = fd;
	d->path = xstrdup(path);
	return 0;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	free(d->path);
	d->path = NULL;
}

bool buffer_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	static const uint8_t zeros[64];

	/* Compare the head against zeros, then the buffer against itself shifted: memcmp is vectorised. */
	if (len <= sizeof(zeros))
		return memcmp(p, zeros, len) == 0;
	return memcmp(p, zeros, sizeof(zeros)) == 0 && memcmp(p, p + sizeof(zeros), len - sizeof(zeros)) == 0;
}

void chunk_zero_hash(uint32_t len, uint8_t out[CHUNK_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const uint8_t zeros[65536];

	if (!ctx)
		abort();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (uint32_t done = 0; done < len;) {
		uint32_t n = len - done < sizeof(zeros) ? len - done : (uint32_t)sizeof(zeros);
		EVP_DigestUpdate(ctx, zeros, n);
		done += n;
	}
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

/* Called with the lock held: the next chunk index the filter selects, or false at the end. */
static bool filter_next(struct scanner *s, uint64_t *index)
{
	if (s->filter.kind == CHUNKS_ALL) {
		if (s->next_pos >= s->nchunks)
			return false;
		*index = s->next_pos++;
		return true;
	}
	uint64_t end = s->filter.nbits < s->nchunks ? s->filter.nbits : s->nchunks;
	while (s->next_pos < end) {
		uint64_t i = s->next_pos;
		if ((i & 7) == 0 && s->filter.bitmap[i >> 3] == 0) {
			s->next_pos += 8;
			continue;
		}
		s->next_pos++;
		if (bitmap_test(s->filter.bitmap, i)) {
			*index = i;
			return true;
		}
	}
	return false;
}

/* True when [off, off+len) of an image file lies entirely in a hole. */
static bool range_is_hole(int fd, uint64_t off, uint64_t len)
{
	off_t data = lseek(fd, (off_t)off, SEEK_DATA);

	if (data < 0)
		return errno == ENXIO; /* no data after off; other errors: just read it */
	return (uint64_t)data >= off + len;
}

static int pread_full(int fd, uint8_t *buf, size_t len, size_t want, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, buf + got, want - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENODATA; /* the disk shrank under us */
		got += (size_t)r;
	}
	return 0;
}

/* Read the slot's chunks (consecutive indices) with one pread over the span that holds data. */
static int read_slot(struct scanner *s, struct slot *sl, uint64_t *bytes)
{
	uint64_t first = sl->c[0].index, off = first * s->chunk_size;
	uint64_t end = off, span_lo = UINT64_MAX, span_hi = 0;
	bool all_hole = false;

	for (unsigned k = 0; k < sl->n; k++) {
		struct scan_chunk *c = &sl->c[k];
		c->len = chunk_len(s->size, s->chunk_size, c->index);
		c->data = sl->buf + (size_t)k * s->chunk_size;
		c->hole = c->zero = false;
		end += c->len;
	}
	*bytes = 0;
	if (s->is_image)
		all_hole = range_is_hole(s->fd, off, end - off);
	for (unsigned k = 0; k < sl->n; k++) {
		struct scan_chunk *c = &sl->c[k];
		uint64_t coff = c->index * s->chunk_size;

		if (all_hole || (s->is_image && range_is_hole(s->fd, coff, c->len))) {
			c->hole = c->zero = true;
			c->data = NULL;
			continue;
		}
		*bytes += c->len;
		span_lo = span_lo < coff ? span_lo : coff;
		span_hi = coff + c->len;
	}
	if (span_lo == UINT64_MAX)
		return 0;
	/* O_DIRECT wants aligned lengths; a read of the disk's last chunk then stops at the end. Holes
	 * inside the span read as zeros without touching the disk. */
	{
		size_t len = (size_t)(span_hi - span_lo);
		size_t want = (len + s->align - 1) / s->align * s->align;
		int r = pread_full(s->fd, sl->buf + (span_lo - off), len, want, span_lo);

		if (r < 0)
			sl->err_index = span_lo / s->chunk_size;
		return r;
	}
}

/* Lock held: the end of the scan (or a stop) concerns every thread. */
static void wake_all(struct scanner *s)
{
	pthread_cond_broadcast(&s->slot_free);
	pthread_cond_broadcast(&s->slot_read);
	pthread_cond_broadcast(&s->slot_ready);
}

/* Called with the lock held: fill a slot with up to per_slot consecutive selected chunks. */
static bool claim_slot(struct scanner *s, struct slot *sl)
{
	uint64_t index;

	sl->n = 0;
	while (sl->n < s->per_slot) {
		uint64_t save = s->next_pos;

		if (!filter_next(s, &index))
			break;
		if (sl->n > 0 && index != sl->c[sl->n - 1].index + 1) {
			s->next_pos = save; /* not contiguous: it starts the next read */
			break;
		}
		sl->c[sl->n++].index = index;
	}
	return sl->n > 0;
}

static void *reader_main(void *arg)
{
	struct scanner *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		uint64_t bytes = 0;
		struct slot *sl;
		int r;

		while (!s->stop && s->total == UINT64_MAX && s->claimed >= s->released + s->nslots)
			pthread_cond_wait(&s->slot_free, &s->lock);
		if (s->stop || s->total != UINT64_MAX)
			break;
		sl = &s->slots[s->claimed % s->nslots];
		if (!claim_slot(s, sl)) {
			s->total = s->claimed;
			wake_all(s);
			break;
		}
		s->claimed++;
		sl->state = SLOT_READING;
		pthread_mutex_unlock(&s->lock);
		r = read_slot(s, sl, &bytes);
		pthread_mutex_lock(&s->lock);
		sl->err = r;
		if (r == 0)
			s->bytes_read += bytes;
		sl->state = SLOT_READ;
		pthread_cond_broadcast(&s->slot_read); /* the hasher whose turn it is */
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void hash_chunk(struct scanner *s, struct scan_chunk *c)
{
	const uint8_t *zh = c->len == s->chunk_size ? s->zero_hash : s->zero_hash_last;

	if (c->hole || buffer_is_zero(c->data, c->len)) {
		c->zero = true;
		memcpy(c->hash, zh, CHUNK_HASH_LEN);
		return;
	}
	if (EVP_Digest(c->data, c->len, c->hash, NULL, s->md, NULL) != 1)
		abort(); /* SHA-256 over memory cannot fail short of a broken libcrypto */
}

static void *hasher_main(void *arg)
{
	struct scanner *s = arg;

	for (;;) {
		struct slot *sl;
		uint64_t seq;

		pthread_mutex_lock(&s->lock);
		seq = s->next_hash++; /* hashers take reads in order, each its own */
		sl = &s->slots[seq % s->nslots];
		while (!s->stop && !(seq < s->claimed && sl->state == SLOT_READ) &&
		       !(s->total != UINT64_MAX && seq >= s->total))
			pthread_cond_wait(&s->slot_read, &s->lock);
		if (s->stop || (s->total != UINT64_MAX && seq >= s->total)) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		pthread_mutex_unlock(&s->lock);
		for (unsigned k = 0; sl->err == 0 && k < sl->n; k++)
			hash_chunk(s, &sl->c[k]);
		pthread_mutex_lock(&s->lock);
		sl->state = SLOT_READY;
		pthread_cond_signal(&s->slot_ready);
		pthread_mutex_unlock(&s->lock);
	}
}

int scanner_new(const struct disk *d, uint32_t chunk_size, const struct chunk_filter *filter,
		const struct scan_opts *opts, struct scanner **out)
{
	struct scanner *s;
	unsigned depth, per_slot, readers = opts && opts->readers ? opts->readers : 2;
	unsigned hashers = opts && opts->hashers ? opts->hashers : 2;

	if (chunk_size == 0 || chunk_size % d->align != 0)
		return -EINVAL;
	per_slot = chunk_size < READ_UNIT ? READ_UNIT / chunk_size : 1;
	if (opts && opts->chunks_per_read)
		per_slot = opts->chunks_per_read;
	depth = opts && opts->depth ? opts->depth : SCAN_RING_BYTES / (chunk_size * per_slot);
	if (depth < 4)
		depth = 4;
	if (per_slot > 1024)
		per_slot = 1024;
	if (depth > 256)
		depth = 256;
	if (readers > MAX_READERS)
		readers = MAX_READERS;
	if (hashers > MAX_HASHERS)
		hashers = MAX_HASHERS;
	s = xcalloc(1, sizeof(*s));
	s->fd = d->fd;
	s->size = d->size;
	s->chunk_size = chunk_size;
	s->nchunks = disk_nchunks(d->size, chunk_size);
	s->is_image = d->is_image;
	s->align = d->align;
	s->filter = filter ? *filter : (struct chunk_filter){ .kind = CHUNKS_ALL };
	s->total = UINT64_MAX;
	s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!s->md)
		abort();
	chunk_zero_hash(chunk_size, s->zero_hash);
	chunk_zero_hash(s->nchunks ? chunk_len(d->size, chunk_size, s->nchunks - 1) : 0, s->zero_hash_last);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->slot_free, NULL);
	pthread_cond_init(&s->slot_read, NULL);
	pthread_cond_init(&s->slot_ready, NULL);
	s->nslots = depth;
	s->per_slot = per_slot;
	s->slots = xcalloc(depth, sizeof(*s->slots));
	for (unsigned i = 0; i < depth; i++) {
		s->slots[i].c = xcalloc(per_slot, sizeof(*s->slots[i].c));
		if (posix_memalign((void **)&s->slots[i].buf, s->align, (size_t)chunk_size * per_slot) != 0)
			abort();
	}
	for (unsigned i = 0; i < readers; i++) {
		if (pthread_create(&s->readers[i], NULL, reader_main, s) != 0)
			break;
		s->nreaders++;
	}
	for (unsigned i = 0; s->nreaders > 0 && i < hashers; i++) {
		if (pthread_create(&s->hashers[i], NULL, hasher_main, s) != 0)
			break;
		s->nhashers++;
	}
	if (s->nhashers == 0) {
		scanner_free(s);
		return -EAGAIN;
	}
	*out = s;
	return 0;
}

int scanner_next(struct scanner *s, struct scan_chunk **c)
{
	struct slot *sl;
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->holding) {
		sl = &s->slots[(s->consumed - 1) % s->nslots];
		if (++s->pos < sl->n) {
			*c = &sl->c[s->pos];
			pthread_mutex_unlock(&s->lock);
			return 1;
		}
		sl->state = SLOT_FREE;
		s->released++;
		s->holding = false;
		pthread_cond_signal(&s->slot_free);
	}
	sl = &s->slots[s->consumed % s->nslots];
	while (!(s->consumed < s->claimed && sl->state == SLOT_READY) &&
	       !(s->total != UINT64_MAX && s->consumed >= s->total))
		pthread_cond_wait(&s->slot_ready, &s->lock);
	if (s->total != UINT64_MAX && s->consumed >= s->total) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	r = sl->err;
	if (r < 0) {
		s->error_index = sl->err_index;
		s->stop = true;
		wake_all(s);
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	s->consumed++;
	s->holding = true;
	s->pos = 0;
	*c = &sl->c[0];
	pthread_mutex_unlock(&s->lock);
	return 1;
}

uint64_t scanner_bytes_read(const struct scanner *s)
{
	uint64_t n;

	pthread_mutex_lock((pthread_mutex_t *)&s->lock);
	n = s->bytes_read;
	pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
	return n;
}

uint64_t scanner_error_index(const struct scanner *s)
{
	return s->error_index;
}

void scanner_free(struct scanner *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	wake_all(s);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->nreaders; i++)
		pthread_join(s->readers[i], NULL);
	for (unsigned i = 0; i < s->nhashers; i++)
		pthread_join(s->hashers[i], NULL);
	for (unsigned i = 0; i < s->nslots; i++) {
		free(s->slots[i].buf);
		free(s->slots[i].c);
	}
	free(s->slots);
	EVP_MD_free(s->md);
	pthread_cond_destroy(&s->slot_ready);
	pthread_cond_destroy(&s->slot_read);
	pthread_cond_destroy(&s->slot_free);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
