/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-replicate's entry point: one sync pass of one disk to the appliance (docs/replication.md).
 * The pass reads the chunks `which` selects (all of them — hash compare against the manifest or the
 * appliance's hashes — or the tracker's dirty bitmap), sends the changed ones (zstd) and declares the
 * zero ones, commits, and only then records the new hashes in the manifest.
 */
#ifndef MOBILITY_REPLICATE_H
#define MOBILITY_REPLICATE_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "scanner.h"

/*
 * Chunk size of a disk new to the appliance, chosen by measurement (docs/replication.md): the smallest
 * (64 KiB: what a random write costs on the wire) that keeps the disk at most SYNC_TARGET_CHUNKS
 * chunks (manifest and hash table <= 16 MiB, a few hashes requests), up to the protocol's 16 MiB.
 */
#define SYNC_MIN_CHUNK_SIZE (64u << 10)
#define SYNC_MAX_CHUNK_SIZE (16u << 20)
#define SYNC_TARGET_CHUNKS (1ull << 19)
uint32_t sync_default_chunk_size(uint64_t disk_size);
/* Kept for callers written before the size-dependent default: prefer sync_default_chunk_size(). */
#define SYNC_DEFAULT_CHUNK_SIZE (1u << 20)

struct sync_progress {
	const char *name;
	uint64_t done, total;        /* chunks looked at / to look at */
	uint64_t bytes_read, bytes_sent;
};

struct sync_opts {
	const char *state_dir;       /* manifest and pass log live here */
	const char *url;             /* appliance URL, part of the manifest's identity */
	const char *agent_id;
	uint32_t chunk_size;         /* for a disk the appliance does not have yet (0: default) */
	bool full;                   /* trust no manifest or appliance hash: send every non-zero chunk */
	unsigned connections;        /* parallel uploads (0: default 4) */
	void (*progress)(void *userdata, const struct sync_progress *p);
	void *userdata;
	unsigned test_corrupt_put;   /* test hook: flip a byte of the Nth chunk sent (once) */
	unsigned test_delay_ms;      /* test hook: pause after every chunk sent */
};

struct sync_stats {
	uint64_t bytes_read;         /* read from the source disk */
	uint64_t bytes_sent;         /* chunk payload on the wire, after compression, resends included */
	uint64_t chunks_sent;
	uint64_t zero_chunks;        /* chunks declared as zeros */
	uint64_t chunks_skipped;     /* unchanged, or already staged in a resumed pass */
	uint64_t committed_pass;
	uint32_t chunk_size;         /* the disk's chunk size at the appliance (a bitmap's granularity) */
	bool read_all;               /* every chunk was read (no bitmap, or it could not be used) */
	double seconds;
};

/*
 * Returns 0 when the pass is committed, else -errno (logged, naming the disk). A CHUNKS_BITMAP filter
 * is in units of o->chunk_size; when the appliance fixed another chunk size for the disk (or no base
 * hashes exist for the chunks it leaves out) the pass reads every chunk instead, never fewer.
 */
int sync_pass(struct client *c, const struct disk *d, const char *name, const struct chunk_filter *which,
	      const struct sync_opts *o, struct sync_stats *st);

/* Disk names and agent ids as the protocol accepts them ([A-Za-z0-9._-]{1,64}, not . or ..). */
bool sync_name_valid(const char *name);

#endif
