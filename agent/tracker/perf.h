/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The second source of completions, for kernels where the blktrace relay files cannot be read:
 * kernel lockdown in "integrity" mode (Secure Boot) forbids opening debugfs files that can be
 * mmap'ed, which the relay files are, while BLKTRACESETUP itself still succeeds. The same
 * completions are then taken from the block:block_rq_complete tracepoint through perf_event_open
 * (one ring buffer per CPU, filtered in the kernel on the disk's dev_t), which lockdown allows.
 * Internal to the tracker.
 */
#ifndef MOBILITY_TRACKER_PERF_H
#define MOBILITY_TRACKER_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "records.h"

/* Where block_rq_complete keeps its fields, from its tracefs "format" file. */
struct trk_tp_format {
	unsigned id;
	int dev_off, dev_size;
	int sector_off, sector_size;
	int nr_off, nr_size;
	int rwbs_off, rwbs_size;
};
int trk_tp_parse_format(const char *text, struct trk_tp_format *f);

/* One decoded sample of the tracepoint. */
struct trk_tp_event {
	uint32_t dev;          /* kernel encoding: major << 20 | minor */
	uint64_t sector;
	uint32_t nr_sector;
	char rwbs[16];
};
int trk_tp_decode(const struct trk_tp_format *f, const uint8_t *raw, size_t len, struct trk_tp_event *ev);
/* What rwbs ("W", "WS", "FWFS", "D", "R", "F"...) means for the bitmap. */
enum trk_effect trk_tp_classify(const struct trk_tp_event *ev);

struct trk_perf {
	struct trk_tp_format fmt;
	uint32_t dev;          /* kernel encoding of the disk */
	unsigned ncpus;
	int *fd;               /* per CPU, -1 for offline ones */
	void **ring;
	size_t ring_bytes;     /* metadata page + data pages */
	size_t page, data_pages;
	unsigned missing;      /* CPUs without an event (offline at start) */
	uint64_t lost;         /* samples the kernel could not store (PERF_RECORD_LOST): a gap */
	bool no_lost_fmt;      /* kernel before 6.0: no PERF_FORMAT_LOST */
	uint64_t samples;
	uint64_t bad;          /* malformed records */
	uint8_t *scratch;      /* one record copied out of a wrapping ring */
};

typedef void (*trk_event_cb)(uint64_t sector, uint32_t bytes, enum trk_effect effect, void *userdata);

/* ring_bytes: data bytes per CPU (rounded up to a power of two of pages). */
int trk_perf_start(dev_t dev, size_t ring_bytes, struct trk_perf *p, char *err, size_t errlen);
/* Consume everything the rings hold. */
void trk_perf_read(struct trk_perf *p, trk_event_cb cb, void *userdata);
/*
 * Open the events of CPUs that were offline. Returns how many came: what ran on them between going
 * online and now was not seen, which the caller declares.
 */
unsigned trk_perf_open_missing(struct trk_perf *p);
/* Samples lost so far, all CPUs. */
uint64_t trk_perf_lost(const struct trk_perf *p);
void trk_perf_stop(struct trk_perf *p);
void trk_perf_close(struct trk_perf *p);

#endif
