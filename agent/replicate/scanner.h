/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chunk scanner: reads a disk (block device or raw image file) chunk by chunk with O_DIRECT, in a
 * pipeline — reader threads fill a ring of aligned buffers while a hasher thread hashes and detects
 * all-zero chunks, and the caller (compressing and sending) consumes them in index order. On image
 * files, chunks that lie entirely in a hole (SEEK_DATA) are reported as zero without being read.
 */
#ifndef MOBILITY_SCANNER_H
#define MOBILITY_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_HASH_LEN 32

/* Which chunks a pass looks at: all of them, or those whose bit is set (LSB-first; the tracker's
 * dirty bitmap). */
enum chunk_filter_kind { CHUNKS_ALL, CHUNKS_BITMAP };
struct chunk_filter {
	enum chunk_filter_kind kind;
	const uint8_t *bitmap; /* CHUNKS_BITMAP: (nchunks + 7) / 8 bytes */
	uint64_t nbits;        /* bits beyond nbits read as clear */
};

/* An opened source disk. */
struct disk {
	int fd;
	char *path;
	uint64_t size;
	bool is_image;       /* regular file: SEEK_DATA/SEEK_HOLE work */
	bool direct;         /* opened with O_DIRECT */
	unsigned align;      /* O_DIRECT alignment for offsets, lengths and buffers */
	char identity[128];  /* what the manifest is bound to: device number or inode */
};

int disk_open(const char *path, struct disk *d);
void disk_close(struct disk *d);

static inline uint64_t disk_nchunks(uint64_t size, uint32_t chunk_size)
{
	return (size + chunk_size - 1) / chunk_size;
}
static inline uint32_t chunk_len(uint64_t size, uint32_t chunk_size, uint64_t index)
{
	uint64_t off = index * chunk_size;
	return size - off < chunk_size ? (uint32_t)(size - off) : chunk_size;
}
static inline bool bitmap_test(const uint8_t *bm, uint64_t i) { return bm[i >> 3] & (1u << (i & 7)); }
static inline void bitmap_set(uint8_t *bm, uint64_t i) { bm[i >> 3] |= (uint8_t)(1u << (i & 7)); }

/* SHA-256 of len zero bytes. */
void chunk_zero_hash(uint32_t len, uint8_t out[CHUNK_HASH_LEN]);
bool buffer_is_zero(const void *buf, size_t len);

struct scan_chunk {
	uint64_t index;
	uint32_t len;
	bool zero;             /* all zero (data may be NULL when it was a hole) */
	bool hole;             /* not read: SEEK_DATA found no data in it */
	uint8_t hash[CHUNK_HASH_LEN];
	uint8_t *data;         /* len bytes, valid until the next scanner_next(); callers may modify it;
	                        * NULL for a hole */
};

struct scanner;
struct scan_opts {
	unsigned depth;   /* reads in flight (0: 64 MiB worth) */
	unsigned readers; /* reader threads (0: default) */
	unsigned chunks_per_read; /* consecutive chunks read at once (0: 4 MiB worth) */
	unsigned hashers; /* hashing threads (0: default 2) */
};

int scanner_new(const struct disk *d, uint32_t chunk_size, const struct chunk_filter *filter,
		const struct scan_opts *opts, struct scanner **out);
/* 1 and *c set: the next chunk in index order; 0: done; <0: read error (-errno), see scanner_error_index. */
int scanner_next(struct scanner *s, struct scan_chunk **c);
uint64_t scanner_bytes_read(const struct scanner *s);
uint64_t scanner_error_index(const struct scanner *s);
void scanner_free(struct scanner *s);
static inline void scanner_freep(struct scanner **s) { if (*s) scanner_free(*s); }
#define _cleanup_scanner_ _cleanup_(scanner_freep)

#endif
