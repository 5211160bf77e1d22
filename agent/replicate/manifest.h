/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-disk manifest: the SHA-256 of every chunk as of the last pass the receiver committed, kept
 * in the state directory. It is replaced atomically, and only after the commit succeeded, so it never
 * claims more than the replica holds. Its header binds it to a disk (size, chunk size, device
 * identity), a destination (appliance, agent, disk name) and the committed pass number; a manifest
 * that does not match — or is corrupt (trailing checksum) — is ignored and the receiver's hashes are
 * used instead.
 */
#ifndef MOBILITY_MANIFEST_H
#define MOBILITY_MANIFEST_H

#include <stdint.h>

#include "scanner.h"
#include "util.h"

#define MANIFEST_TEXT_MAX 256

struct manifest {
	uint64_t disk_size;
	uint32_t chunk_size;
	uint64_t committed_pass;
	uint64_t nchunks;
	char identity[MANIFEST_TEXT_MAX]; /* struct disk.identity */
	char target[MANIFEST_TEXT_MAX];   /* "URL agent-id disk-name" */
	uint8_t (*hashes)[CHUNK_HASH_LEN];
};

struct manifest *manifest_new(uint64_t disk_size, uint32_t chunk_size, const char *identity, const char *target);
void manifest_free(struct manifest *m);
static inline void manifest_freep(struct manifest **m) { if (*m) manifest_free(*m); }
#define _cleanup_manifest_ _cleanup_(manifest_freep)

/* -ENOENT: none; -EBADMSG: corrupt or truncated (the caller warns and falls back). */
int manifest_load(const char *path, struct manifest **out);
int manifest_save(const char *path, const struct manifest *m);

/* Serialised form, for tests and the loader. */
int manifest_parse(const void *buf, size_t len, struct manifest **out);
void *manifest_serialize(const struct manifest *m, size_t *len);

#endif
