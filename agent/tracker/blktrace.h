/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel side of tracking: one blktrace session on a whole-disk device (BLKTRACESETUP2, or the
 * original BLKTRACESETUP on kernels without it), its per-CPU relay files in debugfs, and the
 * `dropped` counter. Internal to the tracker.
 */
#ifndef MOBILITY_TRACKER_BLKTRACE_H
#define MOBILITY_TRACKER_BLKTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRK_DEBUGFS "/sys/kernel/debug"

struct trk_trace {
	int fd;                /* the whole disk, kept open: STOP and TEARDOWN go through it */
	char name[64];         /* the kernel's name for it: debugfs/block/<name>/ */
	uint32_t version;      /* record format: TRK_TRACE_V1 or TRK_TRACE_V2 */
	uint32_t buf_size;     /* relay sub-buffer size, as set up */
	unsigned ncpus;        /* entries in cpu_fd (-1 where the CPU has no file) */
	int *cpu_fd;
	unsigned missing;      /* CPUs without a relay file (offline at start) */
	int dropped_fd;
	uint64_t start_ns;     /* CLOCK_MONOTONIC just before the setup: no record can be older */
	int state;             /* 0 none, 1 set up, 2 running, 3 stopped */
};

/* Mount debugfs on /sys/kernel/debug when it is not (the relay files live there). */
int trk_debugfs_ensure(char *err, size_t errlen);
/*
 * Set up and start tracing of the whole disk devpath (a block device node). -EBUSY: the disk is
 * traced already (blktrace running, or a tracker killed without cleanup); -EOPNOTSUPP: the kernel
 * has no blktrace (CONFIG_BLK_DEV_IO_TRACE); -ENOENT: debugfs or the relay files are missing.
 * err receives a sentence naming the device.
 */
int trk_trace_start(const char *devpath, uint32_t buf_size, uint32_t buf_nr, struct trk_trace *t,
		    char *err, size_t errlen);
/* Open the relay files of CPUs that came online since (their events wait in the buffer). */
void trk_trace_open_missing(struct trk_trace *t);
/* Events lost because the relay buffers were full, so far. */
int trk_trace_dropped(const struct trk_trace *t, uint64_t *dropped);
/* BLKTRACESTOP: no new events; the relay buffers stay readable until teardown. */
int trk_trace_stop(struct trk_trace *t);
/* Stop if running, BLKTRACETEARDOWN, close everything. Idempotent. */
void trk_trace_teardown(struct trk_trace *t);
/* True when some process (not us) has the relay files of debugfs/block/<name>/ open: a live tracer. */
bool trk_trace_in_use(const char *name);
/* Tear down a session left on devpath by a dead process (no files of ours to close). */
int trk_trace_teardown_stale(const char *devpath);

#endif
