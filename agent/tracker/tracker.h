/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel change tracker (design.md §4): a blktrace session on a whole disk, write / discard /
 * write-zeroes completions marked in a dirty bitmap at chunk granularity, gaps declared.
 *
 *   struct tracker *t;
 *   char *err;
 *   r = tracker_start("/dev/sda", 1 << 20, "/var/lib/mobility-agent", NULL, &t, &err);
 *   -EBUSY (someone else traces the disk) / -EOPNOTSUPP (no way to trace here): fall back to hash
 *   mode; err says why, naming the device.
 *   loop: pass:
 *     if (tracker_take_verify(t, &gaps))   -> verify pass: take all chunks, hash everything
 *     else n = tracker_take_dirty(t, &cursor, chunks, max)  -> read those chunks (their bits are
 *          cleared already: a write racing with the read re-marks the chunk for the next pass)
 *   cutover: freeze; tracker_drain(t); final pass; thaw.
 *   tracker_stop(t, true);  tracker_free(t);
 *
 * A partition given as disk is traced on its whole disk: chunks are always offsets on the whole disk.
 * Stacked devices (dm, md) are refused: track the disks under them. Thread-safe: a reader thread marks; take/drain/status may be called
 * from any one other thread.
 */
#ifndef MOBILITY_TRACKER_H
#define MOBILITY_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why the whole disk must be verified (hashed) on the next pass. */
enum tracker_gap {
	TRACKER_GAP_DROPPED = 1 << 0,      /* the relay buffers overflowed: events were lost */
	TRACKER_GAP_NO_MARKER = 1 << 1,    /* no clean-shutdown marker: first start, or a crash */
	TRACKER_GAP_BOOT = 1 << 2,         /* the system rebooted since the bitmap was saved */
	TRACKER_GAP_KERNEL = 1 << 3,       /* another kernel release */
	TRACKER_GAP_DEVICE = 1 << 4,       /* disk size, chunk size or diskseq changed */
	TRACKER_GAP_UNTRACKED = 1 << 5,    /* the disk was written while nobody traced it */
	TRACKER_GAP_CORRUPT = 1 << 6,      /* a malformed or torn record in the event stream */
	TRACKER_GAP_UNPLACED = 1 << 7,     /* a write without a usable location (SG_IO, zone reset-all) */
	TRACKER_GAP_PENDING = 1 << 8,      /* a verify was still due at the last clean stop */
};
/* Comma-separated names of the gap bits ("dropped,boot"), into buf. */
const char *tracker_gap_names(unsigned gaps, char *buf, size_t len);

/* Where completions come from (see docs/tracker.md). */
enum tracker_backend {
	TRACKER_BACKEND_AUTO,      /* blktrace; perf when lockdown or a missing debugfs forbids it */
	TRACKER_BACKEND_BLKTRACE,  /* BLKTRACESETUP + relay files in debugfs */
	TRACKER_BACKEND_PERF,      /* the block:block_rq_complete tracepoint via perf_event_open */
};
const char *tracker_backend_name(enum tracker_backend b);

struct tracker_opts {
	enum tracker_backend backend;
	uint32_t buf_size;      /* blktrace: relay sub-buffer bytes per CPU, 0: 512 KiB;
	                         * perf: ring bytes per CPU are buf_size * buf_nr, 0: 2 MiB
	                         * (all CPUs together at most 16 MiB) */
	uint32_t buf_nr;        /* blktrace: sub-buffers per CPU, 0: 4 */
	int poll_ms;            /* reader wake-up interval; 0: 100 */
	bool reclaim_stale;     /* tear down a trace our own killed predecessor left (owner file) */
	unsigned test_lose_nth; /* tests: ignore every Nth change, as the kernel's perf path may lose one */
};

struct tracker;

/*
 * Start tracking. chunk_size: a power of two >= 4096. state_dir: where the bitmap is saved and
 * reloaded (NULL: nothing is persisted and the start always declares TRACKER_GAP_NO_MARKER).
 * On error *err (if err) is a malloc'ed sentence for the user. Needs root; mounts debugfs on
 * /sys/kernel/debug (and, for the perf backend, tracefs on /sys/kernel/tracing) when not mounted.
 */
int tracker_start(const char *disk, uint64_t chunk_size, const char *state_dir,
		  const struct tracker_opts *opts, struct tracker **ret, char **err);

/* Read everything the kernel has buffered now (cutover: after the freeze). Checks `dropped`. */
int tracker_drain(struct tracker *t);

/*
 * Take (and clear) up to max dirty chunks at or after *cursor, ascending; *cursor moves on. Returns
 * how many; 0 at the end (reset *cursor to 0 for the next pass).
 */
size_t tracker_take_dirty(struct tracker *t, uint64_t *cursor, uint64_t *chunks, size_t max);

/* True if the next pass must verify the whole disk; clears the flag, *gaps gets why. */
bool tracker_take_verify(struct tracker *t, unsigned *gaps);

struct tracker_status {
	const char *disk;          /* the whole disk traced, /dev/NAME */
	uint64_t disk_bytes;
	uint64_t chunk_size;
	uint64_t nchunks;
	uint64_t dirty_chunks;
	uint64_t dropped;          /* as the kernel counts it, this session */
	uint64_t records;          /* records decoded */
	uint64_t marked;           /* completions that marked chunks */
	unsigned gaps;             /* gaps not yet taken by tracker_take_verify */
	enum tracker_backend backend;
	unsigned trace_version;    /* blktrace: 1 (BLKTRACESETUP) or 2 (BLKTRACESETUP2); perf: 0 */
	bool running;
};
void tracker_status(struct tracker *t, struct tracker_status *st);

/* Chunk state without clearing (reports, tests). */
bool tracker_chunk_dirty(struct tracker *t, uint64_t chunk);

/*
 * Stop tracing (the trace is always torn down: a leaked one makes the disk busy for everyone),
 * drain what is left, and when save is true and a state_dir was given, persist the bitmap with the
 * clean-shutdown marker. The tracker can still be queried until tracker_free.
 */
int tracker_stop(struct tracker *t, bool save);
void tracker_free(struct tracker *t);

#endif
