/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What survives a clean stop: the bitmap, saved with the facts that make it trustworthy (boot id,
 * kernel release, disk geometry and diskseq, the disk's write and discard counters at the moment
 * tracing ended), and a separate clean-shutdown marker written after it. A start reloads the bitmap
 * only when the marker is there and every fact still holds; otherwise it names the gaps. Internal.
 *
 * Files in state_dir: tracker-<disk>.bitmap, tracker-<disk>.clean (the marker), tracker-<disk>.owner
 * (pid and boot id of the tracing process, to recognise a trace left behind by a killed one).
 */
#ifndef MOBILITY_TRACKER_STATE_H
#define MOBILITY_TRACKER_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "bitmap.h"

struct trk_facts {
	char boot_id[40];
	char kernel[72];
	uint32_t chunk_size;
	uint64_t nchunks;
	uint64_t disk_bytes;
	uint64_t diskseq;        /* 0 when the kernel has none */
	bool stats_valid;        /* /sys/block/<disk>/stat readable and I/O accounting on */
	uint64_t write_ios, discard_ios;
	uint64_t write_sectors, discard_sectors; /* not saved: the perf backend's completeness check */
};

/* boot_id and kernel release of the running system. */
int trk_facts_host(struct trk_facts *f);
/* Counters and diskseq of /sys/block/<name>. */
int trk_facts_disk(const char *name, struct trk_facts *f);
/* The counters of a /sys/block/<disk>/stat line into f (stats_valid untouched); false if malformed. */
bool trk_stat_parse(const char *text, struct trk_facts *f);

/* Save bitmap + facts atomically, then the marker. pending_gaps: gaps nobody has verified yet. */
int trk_state_save(int dirfd, const char *disk, const struct trk_facts *f, const struct dirty_bitmap *b,
		   unsigned pending_gaps);
/*
 * Load what a clean stop left, compare with now. Returns the TRACKER_GAP_* bits that apply (0: the
 * saved bitmap was loaded into b and is complete). Never fails: whatever is wrong is a gap.
 */
unsigned trk_state_load(int dirfd, const char *disk, const struct trk_facts *now, struct dirty_bitmap *b);
/* Remove the marker (and fsync the directory): from now on a crash must look like one. */
int trk_state_disarm(int dirfd, const char *disk);

/* The owner file: our pid, boot id and backend while we trace. */
int trk_owner_write(int dirfd, const char *disk, const char *boot_id, bool blktrace);
void trk_owner_remove(int dirfd, const char *disk);
/* True when the owner file names a blktrace session of a process of this boot that no longer exists. */
bool trk_owner_is_dead(int dirfd, const char *disk, const char *boot_id);

#endif
