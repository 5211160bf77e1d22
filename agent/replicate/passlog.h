/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pass log: what the agent knows the receiver staged in the open pass, so a resumed pass skips
 * chunks whose staged copy still equals the disk (docs/protocol.md §6: a chunk that changed since it
 * was staged must be sent again — only the agent can know). One 32-byte entry per chunk, the hash that
 * the receiver acknowledged (204); all zero = unknown, send again.
 * Invariant: an entry, if present, equals what the receiver holds. Entries are written after the 204
 * (losing them only costs a resend), and an entry is erased durably *before* the chunk is staged again.
 */
#ifndef MOBILITY_PASSLOG_H
#define MOBILITY_PASSLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "scanner.h"

struct passlog;

/* Open the log for pass `pass` of a disk, or start an empty one if the file describes another pass. */
int passlog_open(const char *path, uint64_t pass, uint64_t size, uint32_t chunk_size, const char *target,
		 struct passlog **out);
bool passlog_has(const struct passlog *pl, uint64_t index, const uint8_t hash[CHUNK_HASH_LEN]);
bool passlog_any(const struct passlog *pl, uint64_t index);
int passlog_record(struct passlog *pl, uint64_t index, const uint8_t hash[CHUNK_HASH_LEN]);
int passlog_erase(struct passlog *pl, uint64_t index);
void passlog_close(struct passlog *pl);
/* The pass is committed: the log has no meaning any more. */
int passlog_remove(const char *path);

#endif
