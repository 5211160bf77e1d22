/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The receiver's storage engine (docs/protocol.md §1, §5, §8): per agent and disk, a committed sparse
 * raw replica, one open pass staged beside it, and a commit that is a redo journal: once the journal is
 * durable the pass is committed, applying it is idempotent and is replayed when the store is opened.
 * No HTTP in here; thread-safe (one rwlock per disk: uploads share it, commit/abort/create own it).
 * Errors are negative errno values with a fixed protocol meaning:
 *   -ENOENT  no such disk            -ESRCH   pass not open          -EXDEV   chunk size fixed
 *   -EBADMSG hash mismatch           -EMSGSIZE chunk length wrong    -ERANGE  index/range past the end
 *   -EINVAL  bad size or chunk size  -EBUSY   chunk being uploaded   -ENODATA nothing committed
 *   -EPERM   DELETE of the committed pass; anything else is an I/O error (-ENOSPC: store full).
 */
#ifndef MOBILITY_RECEIVER_STORE_H
#define MOBILITY_RECEIVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSTORE_CHUNK_MIN (64u << 10)
#define RSTORE_CHUNK_MAX (16u << 20)
#define RSTORE_SIZE_MAX (1ull << 46)
#define RSTORE_NCHUNKS_MAX (1ull << 26)
#define RSTORE_HASHES_MAX 65536u
#define RSTORE_RANGES_MAX 65536u
#define RSTORE_NAME_MAX 64

struct rstore;

/*
 * Called at the named points of a commit ("before-journal", "after-journal", "mid-apply",
 * "after-apply", "after-meta", "after-unlink-journal"). A negative return makes the commit stop right
 * there and return it, leaving the files as a crash at that instant would (tests reopen the store to
 * check replay). The server uses it for MOBILITY_RECEIVER_TEST_PAUSE.
 */
typedef int (*rstore_hook_fn)(void *userdata, const char *point);

struct rstore_options {
	bool vhd;              /* also keep NAME.vhd (fixed VHD) beside NAME.raw */
	const char *boot_id;   /* tests only: stands for /proc/sys/kernel/random/boot_id */
	rstore_hook_fn hook;   /* tests only */
	void *hook_userdata;
};

struct rdisk_info {
	uint64_t committed_pass; /* 0: nothing committed yet */
	uint64_t size;
	uint32_t chunk_size;
	bool pass_open;
	uint64_t pass_id, pass_size, pass_staged;
	uint32_t pass_chunk_size;
};

struct rcommit_result {
	uint64_t chunks_applied, zero_chunks;
	bool already; /* the pass was committed before (a retried commit) */
};

/* [A-Za-z0-9._-]{1,64}, not "." or "..": safe as a file name. */
bool rstore_name_valid(const char *name);
/* chunk_size a power of two in [64 KiB, 16 MiB], 1 <= size <= 2^46, nchunks <= 2^26. */
bool rstore_geometry_valid(uint64_t size, uint64_t chunk_size);

/* Opens (creating) the store directory and replays every pending commit journal. */
int rstore_open(const char *dir, const struct rstore_options *opt, struct rstore **ret);
/* Frees memory and fds only: never writes (so a test can "crash" by freeing). */
void rstore_free(struct rstore *s);
/* The store directory (owned by s): per-agent files beside the disks (identity-bind.c). */
int rstore_dirfd(const struct rstore *s);

int rstore_disk_info(struct rstore *s, const char *agent, const char *disk, struct rdisk_info *info);
/* Size and chunk size of the open pass P (-ESRCH if P is not open): cheap, for checking uploads. */
int rstore_pass_geometry(struct rstore *s, const char *agent, const char *disk, uint64_t pass, uint64_t *size,
			 uint32_t *chunk_size);
int rstore_pass_create(struct rstore *s, const char *agent, const char *disk, uint64_t size,
		       uint32_t chunk_size, uint64_t *pass, bool *resumed);
/* *bitmap (malloc'ed, *len = ceil(nchunks/8) bytes): bit i set = chunk i staged as data or zeros. */
int rstore_pass_staged(struct rstore *s, const char *agent, const char *disk, uint64_t pass,
		       uint8_t **bitmap, size_t *len);
/* data: the uncompressed chunk; verified against sha256 before anything is written. */
int rstore_put_chunk(struct rstore *s, const char *agent, const char *disk, uint64_t pass, uint64_t index,
		     const void *data, size_t len, const uint8_t sha256[32]);
int rstore_put_zeros(struct rstore *s, const char *agent, const char *disk, uint64_t pass,
		     const uint64_t (*ranges)[2], size_t nranges);
int rstore_commit(struct rstore *s, const char *agent, const char *disk, uint64_t pass,
		  struct rcommit_result *res);
int rstore_abort(struct rstore *s, const char *agent, const char *disk, uint64_t pass);
/* out: count*32 bytes. */
int rstore_hashes(struct rstore *s, const char *agent, const char *disk, uint64_t first, uint64_t count,
		  uint8_t *out);

/* SHA-256 (OpenSSL EVP); 0 or -EIO. */
int sha256_buf(const void *data, size_t len, uint8_t out[32]);

#endif
