/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by store.c (disks, passes, uploads) and store-commit.c (journal, apply, replay). */
#ifndef MOBILITY_RECEIVER_STORE_INTERNAL_H
#define MOBILITY_RECEIVER_STORE_INTERNAL_H

#include <pthread.h>

#include "store.h"

/* What NAME.meta holds: the committed state, plus the last pass id handed out. */
struct rmeta {
	uint64_t committed_pass, last_pass, size, vhd_pass;
	uint32_t chunk_size;
};

/* The open pass, files under NAME.pass/: "data" holds chunk i at i*chunk_size and, after the last
 * chunk, the SHA-256 of each staged chunk (one file: one fdatasync makes both durable). */
struct rpass {
	uint64_t id, size, nchunks;
	uint32_t chunk_size;
	int dirfd, data_fd, staged_fd, zero_fd;
	uint8_t *staged, *zero, *inflight; /* bitmaps of nchunks bits */
	uint8_t *written;                  /* may hold an earlier upload of this pass: all set once loaded */
	size_t bmlen;
};

struct rdisk {
	struct rdisk *next;
	char *agent, *name;
	int dirfd;               /* DIR/AGENT */
	pthread_rwlock_t lock;   /* read: uploads, queries; write: create, commit, abort */
	pthread_mutex_t bm_lock; /* the bitmaps of the open pass */
	bool broken;             /* a replay failed: refuse everything rather than guess */
	struct rmeta meta;       /* all zero when no meta file */
	struct rpass *pass;      /* NULL when no pass is open */
};

struct rstore {
	int dirfd;
	struct rstore_options opt;
	char boot_id[64];     /* this boot's id; empty: unknown, so every chunk is synced on its own */
	struct reaper *reaper; /* removes finished passes' files (NULL: in place) */
	pthread_mutex_t lock; /* the disk list */
	struct rdisk *disks;
};

static inline bool bit_get(const uint8_t *bm, uint64_t i) { return bm[i / 8] & (1u << (i % 8)); }
static inline void bit_set(uint8_t *bm, uint64_t i) { bm[i / 8] |= (uint8_t)(1u << (i % 8)); }
static inline void bit_clear(uint8_t *bm, uint64_t i) { bm[i / 8] &= (uint8_t)~(1u << (i % 8)); }

static inline uint64_t pass_hash_off(const struct rpass *p, uint64_t i)
{
	return p->nchunks * p->chunk_size + i * 32;
}

static inline uint64_t chunk_len(uint64_t size, uint32_t cs, uint64_t i)
{
	uint64_t off = i * cs;
	return size - off < cs ? size - off : cs;
}

/* "NAME" + suffix, in a buffer of the caller. */
#define DISK_FILE_MAX (RSTORE_NAME_MAX + 32)
void disk_file(char buf[DISK_FILE_MAX], const struct rdisk *d, const char *suffix);

int meta_write(const struct rdisk *d, const struct rmeta *m);
int pass_load(struct rdisk *d, struct rpass **ret);
void pass_free(struct rpass *p);
int pass_remove(struct rstore *s, struct rdisk *d);
int pread_all(int fd, void *buf, size_t len, uint64_t off);
int pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* store-reap.c */
int pass_dir_remove(int dirfd, const char *name);
void pass_leftovers_remove(const struct rdisk *d);
struct reaper *reaper_new(void);
void reaper_add(struct reaper *rp, int dirfd, const char *name);
void reaper_flush(struct reaper *rp);
void reaper_free(struct reaper *rp);

/* store-commit.c */
int commit_locked(struct rstore *s, struct rdisk *d, struct rcommit_result *res);
int replay_locked(struct rstore *s, struct rdisk *d);
int hook(const struct rstore *s, const char *point);

/* vhd.c */
#define VHD_FOOTER_SIZE 512
uint64_t vhd_rounded_size(uint64_t size);
void vhd_footer(uint8_t out[VHD_FOOTER_SIZE], uint64_t size, const uint8_t uuid[16], uint32_t timestamp);

#endif
