/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsing the blktrace relay stream: a packed sequence of struct blk_io_trace (v1, 48 bytes, version 7)
 * or struct blk_io_trace2 (v2, 64 bytes, version 8) headers, each followed by pdu_len bytes of payload.
 * The kernel never splits a record across relay sub-buffers, but our read() boundaries do, so a partial
 * record is carried over to the next feed. Internal to the tracker; the unit tests use it directly.
 */
#ifndef MOBILITY_TRACKER_RECORDS_H
#define MOBILITY_TRACKER_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Our own copy of the uapi numbers: the build host's <linux/blktrace_api.h> may predate v2. */
#define TRK_TRACE_MAGIC 0x65617400u
#define TRK_TRACE_V1 0x07u
#define TRK_TRACE_V2 0x08u
#define TRK_HDR_V1 48u
#define TRK_HDR_V2 64u

/* Category bits, as the kernel puts them above bit 16 of the action (BLK_TC_ACT). */
#define TRK_TC_WRITE (1ull << 1)
#define TRK_TC_COMPLETE (1ull << 7)
#define TRK_TC_PC (1ull << 9)
#define TRK_TC_NOTIFY (1ull << 10)
#define TRK_TC_DISCARD (1ull << 13)
#define TRK_TC_ZONE_APPEND (1ull << 16)  /* v2 only */
#define TRK_TC_ZONE_RESET (1ull << 17)
#define TRK_TC_ZONE_RESET_ALL (1ull << 18)
#define TRK_TC_ZONE_FINISH (1ull << 19)
#define TRK_TC_WRITE_ZEROES (1ull << 22) /* v2 only; a v1 trace drops these events (kernel >= 6.18) */
#define TRK_TC_SHIFT 16
#define TRK_TA_COMPLETE 8u               /* __BLK_TA_COMPLETE */
#define TRK_TA_MASK 0xffu                /* the action proper; bit 8 is __BLK_TA_CGROUP */

/* One decoded record header (the fields we use). */
struct trk_record {
	uint32_t version;
	uint32_t sequence;
	uint64_t time;     /* CLOCK_MONOTONIC ns */
	uint64_t sector;   /* 512-byte units, relative to the traced (whole) disk */
	uint32_t bytes;
	uint64_t action;   /* low 16 bits: action; above: categories << 16 */
	uint32_t device;
	uint32_t cpu;
	uint16_t error;
	uint16_t pdu_len;
};

/* What a record means to the dirty bitmap. */
enum trk_effect {
	TRK_IGNORE,        /* reads, queue/issue events, notes, flushes without data */
	TRK_DIRTY,         /* [sector, sector + bytes) may have changed */
	TRK_DIRTY_ALL,     /* changed data we cannot place (zone reset-all, passthrough write) */
};
enum trk_effect trk_classify(const struct trk_record *r);

/*
 * One CPU's stream. The parser owns a linear buffer: the caller reads into trk_parser_space() and
 * hands the count to trk_parser_commit(); the undecoded tail (a record cut by the read boundary)
 * moves to the front and is completed by the next read.
 */
struct trk_parser {
	uint32_t version;          /* the stream's expected version: TRK_TRACE_V1 or TRK_TRACE_V2 */
	uint32_t hdr_size;
	uint32_t max_pdu;          /* a larger pdu_len is corruption */
	uint8_t *buf;
	size_t cap, len;           /* len: bytes held (the carried-over tail after a commit) */
	uint64_t records, bad;     /* counters: records decoded, corrupt spots skipped */
	/*
	 * Order check. The kernel numbers the records of each CPU's buffer 1, 2, 3... (notes excepted)
	 * and stamps them with a non-decreasing time. read() of a relay file may return a record the
	 * kernel has reserved but not finished writing (stale bytes from an earlier use of the buffer):
	 * such a record breaks the sequence or goes back in time, and is treated as corruption.
	 */
	bool check_order, rebase;
	uint32_t last_seq;
	uint64_t last_time;
};

typedef void (*trk_record_cb)(const struct trk_record *r, void *userdata);

/* read_size: how much one read may bring. max_pdu: bound on pdu_len (the kernel's are small). */
void trk_parser_init(struct trk_parser *p, uint32_t version, uint32_t max_pdu, size_t read_size);
void trk_parser_free(struct trk_parser *p);
/* Enable the order check: the first record must be sequence 1, no earlier than start_ns. */
void trk_parser_expect_order(struct trk_parser *p, uint64_t start_ns);
void *trk_parser_space(struct trk_parser *p, size_t *avail);
/*
 * Decode what the buffer holds after n more bytes arrived. Calls cb for each complete record. Returns
 * 0, or -EBADMSG when corruption was found (wrong magic or version, pdu_len above max_pdu): the parser
 * skips to the next plausible header and goes on, and the caller must declare a gap — what the skipped
 * bytes described is unknown.
 */
int trk_parser_commit(struct trk_parser *p, size_t n, trk_record_cb cb, void *userdata);
/* Copying convenience for tests and small inputs: space + memcpy + commit, in pieces. */
int trk_parser_feed(struct trk_parser *p, const void *data, size_t len, trk_record_cb cb, void *userdata);

#endif
