/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tracker's pure parts on synthetic input: blk_io_trace v1/v2 streams (valid, wrong magic,
 * wrong version, truncated, huge pdu_len, split across reads at every byte, order broken), what a
 * record means, the block_rq_complete tracepoint format and samples, the dirty bitmap's
 * take-and-clear (also against a concurrently marking thread), and the saved state with its marker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bitmap.h"
#include "perf.h"
#include "records.h"
#include "state.h"
#include "tracker.h"
#include "util.h"

/* ---- stream building ---- */

struct stream {
	uint8_t buf[8192];
	size_t len;
	uint32_t seq;
	uint64_t time;
};

#define ACT(cats, act) (((uint64_t)(cats) << TRK_TC_SHIFT) | (act))
#define W_DONE ACT(TRK_TC_WRITE | TRK_TC_COMPLETE, TRK_TA_COMPLETE)
#define R_DONE ACT(TRK_TC_COMPLETE, TRK_TA_COMPLETE)
#define D_DONE ACT(TRK_TC_WRITE | TRK_TC_DISCARD | TRK_TC_COMPLETE, TRK_TA_COMPLETE)
#define WZ_DONE ACT(TRK_TC_WRITE | TRK_TC_WRITE_ZEROES | TRK_TC_COMPLETE, TRK_TA_COMPLETE)
#define W_ISSUE ACT(TRK_TC_WRITE | TRK_TC_ISSUE_BIT, 7)
#define TRK_TC_ISSUE_BIT (1u << 6)
#define NOTE ACT(TRK_TC_NOTIFY, 0)

static void put(struct stream *s, size_t off, const void *v, size_t n) { memcpy(s->buf + s->len + off, v, n); }

/* Append one record; magic_version 0 means the right one for the version. */
static void add(struct stream *s, uint32_t version, uint64_t action, uint64_t sector, uint32_t bytes,
		uint16_t pdu_len, uint32_t magic)
{
	size_t hdr = version == TRK_TRACE_V2 ? TRK_HDR_V2 : TRK_HDR_V1;
	bool note = (action >> TRK_TC_SHIFT) & TRK_TC_NOTIFY;
	uint32_t m = magic ? magic : (TRK_TRACE_MAGIC | version);
	uint32_t seq = note ? 0xdeadbeef : ++s->seq, a32 = (uint32_t)action;

	memset(s->buf + s->len, 0, hdr + pdu_len);
	s->time += 1000;
	put(s, 0, &m, 4);
	put(s, 4, &seq, 4);
	put(s, 8, &s->time, 8);
	put(s, 16, &sector, 8);
	put(s, 24, &bytes, 4);
	if (version == TRK_TRACE_V2) {
		put(s, 32, &action, 8);
		put(s, 50, &pdu_len, 2);
	} else {
		put(s, 28, &a32, 4);
		put(s, 46, &pdu_len, 2);
	}
	memset(s->buf + s->len + hdr, 0xa5, pdu_len);
	s->len += hdr + pdu_len;
}

struct seen {
	size_t n, dirty, all;
	uint64_t sectors[32];
	uint32_t bytes[32];
};

static void collect(const struct trk_record *r, void *userdata)
{
	struct seen *s = userdata;
	enum trk_effect e = trk_classify(r);

	if (s->n < 32) {
		s->sectors[s->n] = r->sector;
		s->bytes[s->n] = r->bytes;
	}
	s->n++;
	if (e == TRK_DIRTY)
		s->dirty++;
	else if (e == TRK_DIRTY_ALL)
		s->all++;
}

static void sample_stream(struct stream *s, uint32_t v)
{
	memset(s, 0, sizeof(*s));
	add(s, v, NOTE, 0, 0, 16, 0);          /* a process note with a name */
	add(s, v, W_DONE, 2048, 4096, 0, 0);   /* write of 4 KiB at 1 MiB */
	add(s, v, R_DONE, 4096, 8192, 0, 0);   /* read: not dirty */
	add(s, v, W_ISSUE, 8192, 4096, 0, 0);  /* an issue event: not a completion */
	add(s, v, D_DONE, 16384, 1 << 20, 8, 0); /* discard, with a cgroup id pdu */
}

/* ---- records ---- */

static void test_valid_v1(void **state)
{
	struct stream s;
	struct trk_parser p;
	struct seen seen = { 0 };

	(void)state;
	sample_stream(&s, TRK_TRACE_V1);
	trk_parser_init(&p, TRK_TRACE_V1, 1024, 4096);
	trk_parser_expect_order(&p, 0);
	assert_int_equal(trk_parser_feed(&p, s.buf, s.len, collect, &seen), 0);
	assert_int_equal(seen.n, 5);
	assert_int_equal(seen.dirty, 2);
	assert_int_equal(seen.sectors[1], 2048);
	assert_int_equal(seen.bytes[4], 1 << 20);
	assert_int_equal(p.len, 0);
	assert_int_equal(p.bad, 0);
	trk_parser_free(&p);
}

static void test_valid_v2_write_zeroes(void **state)
{
	struct stream s;
	struct trk_parser p;
	struct seen seen = { 0 };

	(void)state;
	sample_stream(&s, TRK_TRACE_V2);
	add(&s, TRK_TRACE_V2, WZ_DONE, 99, 512, 0, 0);
	/* write-zeroes without the WRITE bit still marks (a v2-only category) */
	add(&s, TRK_TRACE_V2, ACT(TRK_TC_WRITE_ZEROES | TRK_TC_COMPLETE, TRK_TA_COMPLETE), 100, 512, 0, 0);
	trk_parser_init(&p, TRK_TRACE_V2, 1024, 4096);
	trk_parser_expect_order(&p, 0);
	assert_int_equal(trk_parser_feed(&p, s.buf, s.len, collect, &seen), 0);
	assert_int_equal(seen.n, 7);
	assert_int_equal(seen.dirty, 4);
	trk_parser_free(&p);
}

static void test_wrong_magic_resyncs(void **state)
{
	struct stream s = { 0 };
	struct trk_parser p;
	struct seen seen = { 0 };

	(void)state;
	add(&s, TRK_TRACE_V1, W_DONE, 1, 512, 0, 0);
	add(&s, TRK_TRACE_V1, W_DONE, 2, 512, 0, 0x12345607);
	add(&s, TRK_TRACE_V1, W_DONE, 3, 512, 0, 0);
	trk_parser_init(&p, TRK_TRACE_V1, 1024, 4096);
	assert_int_equal(trk_parser_feed(&p, s.buf, s.len, collect, &seen), -EBADMSG);
	assert_int_equal(seen.n, 2); /* the bad one skipped, the next one found again */
	assert_int_equal(seen.sectors[1], 3);
	assert_true(p.bad >= 1);
	trk_parser_free(&p);
}

static void test_wrong_version(void **state)
{
	struct stream s = { 0 };
	struct trk_parser p;
	struct seen seen = { 0 };

	(void)state;
	add(&s, TRK_TRACE_V1, W_DONE, 1, 512, 0, 0);
	trk_parser_init(&p, TRK_TRACE_V2, 1024, 4096); /* we asked for v2, a v1 record arrives */
	assert_int_equal(trk_parser_feed(&p, s.buf, s.len, collect, &seen), -EBADMSG);
	assert_int_equal(seen.n, 0);
	trk_parser_free(&p);
}

static void test_truncated_then_completed(void **state)
{
	struct stream s = { 0 };
	struct trk_parser p;
	struct seen seen = { 0 };

	(void)state;
	add(&s, TRK_TRACE_V2, W_DONE, 7, 4096, 24, 0);
	trk_parser_init(&p, TRK_TRACE_V2, 1024, 4096);
	assert_int_equal(trk_parser_feed(&p, s.buf, 30, collect, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(p.len, 30);
	assert_int_equal(trk_parser_feed(&p, s.buf + 30, TRK_HDR_V2 + 10 - 30, collect, &seen), 0);
	assert_int_equal(seen.n, 0); /* header complete, pdu not yet */
	assert_int_equal(trk_parser_feed(&p, s.buf + TRK_HDR_V2 + 10, s.len - TRK_HDR_V2 - 10, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(p.len, 0);
	trk_parser_free(&p);
}

static void test_huge_pdu(void **state)
{
	struct stream s = { 0 };
	struct trk_parser p;
	struct seen seen = { 0 };

	(void)state;
	add(&s, TRK_TRACE_V1, W_DONE, 1, 512, 0, 0);
	add(&s, TRK_TRACE_V1, W_DONE, 2, 512, 2000, 0);
	add(&s, TRK_TRACE_V1, W_DONE, 3, 512, 0, 0);
	trk_parser_init(&p, TRK_TRACE_V1, 1024, 4096); /* 2000 > max_pdu */
	assert_int_equal(trk_parser_feed(&p, s.buf, s.len, collect, &seen), -EBADMSG);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.sectors[1], 3);
	trk_parser_free(&p);
}

static void test_split_everywhere(void **state)
{
	struct stream s;

	(void)state;
	for (uint32_t v = TRK_TRACE_V1; v <= TRK_TRACE_V2; v++) {
		sample_stream(&s, v);
		for (size_t piece = 1; piece <= s.len; piece++) {
			struct trk_parser p;
			struct seen seen = { 0 };

			trk_parser_init(&p, v, 1024, 64);
			trk_parser_expect_order(&p, 0);
			for (size_t off = 0; off < s.len; off += piece) {
				size_t n = s.len - off < piece ? s.len - off : piece;

				assert_int_equal(trk_parser_feed(&p, s.buf + off, n, collect, &seen), 0);
			}
			assert_int_equal(seen.n, 5);
			assert_int_equal(seen.dirty, 2);
			assert_int_equal(p.len, 0);
			trk_parser_free(&p);
		}
	}
}

static void test_order_broken(void **state)
{
	struct stream s = { 0 };
	struct trk_parser p;
	struct seen seen = { 0 };

	(void)state;
	add(&s, TRK_TRACE_V1, W_DONE, 1, 512, 0, 0);
	s.seq += 5; /* a record that is not the next one: stale bytes read from a relay buffer */
	add(&s, TRK_TRACE_V1, W_DONE, 2, 512, 0, 0);
	add(&s, TRK_TRACE_V1, W_DONE, 3, 512, 0, 0);
	trk_parser_init(&p, TRK_TRACE_V1, 1024, 4096);
	trk_parser_expect_order(&p, 0);
	assert_int_equal(trk_parser_feed(&p, s.buf, s.len, collect, &seen), -EBADMSG);
	assert_int_equal(seen.n, 2);  /* the out-of-order one is not believed ... */
	assert_int_equal(seen.sectors[1], 3);
	assert_int_equal(p.bad, 1);   /* ... and the one after it re-bases the check */
	trk_parser_free(&p);

	memset(&s, 0, sizeof(s));
	s.time = 5000;
	add(&s, TRK_TRACE_V1, W_DONE, 1, 512, 0, 0);
	trk_parser_init(&p, TRK_TRACE_V1, 1024, 4096);
	trk_parser_expect_order(&p, 10000); /* older than the session */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(trk_parser_feed(&p, s.buf, s.len, collect, &seen), -EBADMSG);
	assert_int_equal(seen.n, 0);
	trk_parser_free(&p);
}

static void test_classify(void **state)
{
	struct trk_record r = { .bytes = 4096 };

	(void)state;
	r.action = W_DONE;
	assert_int_equal(trk_classify(&r), TRK_DIRTY);
	r.action = W_DONE | 0x100; /* the cgroup flag */
	assert_int_equal(trk_classify(&r), TRK_DIRTY);
	r.action = R_DONE;
	assert_int_equal(trk_classify(&r), TRK_IGNORE);
	r.action = ACT(TRK_TC_PC | TRK_TC_WRITE | TRK_TC_COMPLETE, TRK_TA_COMPLETE);
	assert_int_equal(trk_classify(&r), TRK_DIRTY_ALL);
	r.action = ACT(TRK_TC_PC | TRK_TC_COMPLETE, TRK_TA_COMPLETE);
	assert_int_equal(trk_classify(&r), TRK_IGNORE);
	r.action = ACT(TRK_TC_ZONE_RESET_ALL | TRK_TC_WRITE | TRK_TC_COMPLETE, TRK_TA_COMPLETE);
	assert_int_equal(trk_classify(&r), TRK_DIRTY_ALL);
	r.action = W_DONE;
	r.bytes = 0; /* an empty flush */
	assert_int_equal(trk_classify(&r), TRK_IGNORE);
}

/* ---- the tracepoint ---- */

static const char rq_complete_format[] =
	"name: block_rq_complete\nID: 2107\nformat:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
	"\tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:sector_t sector;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:unsigned int nr_sector;\toffset:24;\tsize:4;\tsigned:0;\n"
	"\tfield:int error;\toffset:28;\tsize:4;\tsigned:1;\n"
	"\tfield:unsigned short ioprio;\toffset:32;\tsize:2;\tsigned:0;\n"
	"\tfield:char rwbs[10];\toffset:34;\tsize:10;\tsigned:0;\n"
	"\tfield:__data_loc char[] cmd;\toffset:44;\tsize:4;\tsigned:0;\n";

static void test_tracepoint(void **state)
{
	struct trk_tp_format f = { 0 };
	struct trk_tp_event ev;
	uint8_t raw[48] = { 0 };
	uint32_t dev = (7u << 20) | 3, nr = 8;
	uint64_t sector = 123456;

	(void)state;
	assert_int_equal(trk_tp_parse_format(rq_complete_format, &f), 0);
	assert_int_equal(f.sector_off, 16);
	assert_int_equal(f.rwbs_off, 34);
	assert_int_equal(f.rwbs_size, 10);
	assert_int_equal(trk_tp_parse_format("name: x\nformat:\n\tfield:int a;\toffset:0;\tsize:4;\n", &f), -EBADMSG);
	assert_int_equal(trk_tp_parse_format(rq_complete_format, &f), 0);

	memcpy(raw + 8, &dev, 4);
	memcpy(raw + 16, &sector, 8);
	memcpy(raw + 24, &nr, 4);
	memcpy(raw + 34, "WS", 2);
	assert_int_equal(trk_tp_decode(&f, raw, sizeof(raw), &ev), 0);
	assert_int_equal(ev.dev, dev);
	assert_int_equal(ev.sector, sector);
	assert_string_equal(ev.rwbs, "WS");
	assert_int_equal(trk_tp_classify(&ev), TRK_DIRTY);
	assert_int_equal(trk_tp_decode(&f, raw, 40, &ev), -EBADMSG); /* short sample */

	static const struct {
		const char *rwbs;
		uint32_t nr;
		enum trk_effect want;
	} cases[] = {
		{ "R", 8, TRK_IGNORE },	  { "RA", 8, TRK_IGNORE }, { "FWFS", 8, TRK_DIRTY }, { "D", 2048, TRK_DIRTY },
		{ "DE", 8, TRK_DIRTY },	  { "F", 0, TRK_IGNORE },  { "FR", 8, TRK_IGNORE },  { "N", 16, TRK_DIRTY },
		{ "N", 0, TRK_DIRTY_ALL }, { "WS", 0, TRK_IGNORE }, { "", 8, TRK_IGNORE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&ev, 0, sizeof(ev));
		strcpy(ev.rwbs, cases[i].rwbs);
		ev.nr_sector = cases[i].nr;
		assert_int_equal(trk_tp_classify(&ev), cases[i].want);
	}
}

/* A perf ring in plain memory: metadata page, then 2 data pages; records written at any position. */
struct fake_ring {
	struct trk_perf p;
	uint8_t *mem;
	uint64_t head;
	struct { size_t n, all; uint64_t sector[16]; uint32_t bytes[16]; } seen;
};

static void ring_put(struct fake_ring *r, const void *data, size_t len)
{
	size_t size = 2 * r->p.page;

	for (size_t i = 0; i < len; i++)
		r->mem[r->p.page + (r->head + i) % size] = ((const uint8_t *)data)[i];
	r->head += len;
}

static void ring_sample(struct fake_ring *r, uint32_t dev, uint64_t sector, uint32_t nr, const char *rwbs,
			uint32_t rawlen_claim)
{
	uint8_t raw[52] = { 0 }; /* 48 bytes of tracepoint + 4 to keep the record 8-aligned */
	uint32_t rawlen = rawlen_claim ? rawlen_claim : 48;
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = sizeof(h) + 4 + sizeof(raw) };

	memcpy(raw + 8, &dev, 4);
	memcpy(raw + 16, &sector, 8);
	memcpy(raw + 24, &nr, 4);
	memcpy(raw + 34, rwbs, strlen(rwbs));
	ring_put(r, &h, sizeof(h));
	ring_put(r, &rawlen, 4);
	ring_put(r, raw, sizeof(raw));
}

static void ring_cb(uint64_t sector, uint32_t bytes, enum trk_effect e, void *userdata)
{
	struct fake_ring *r = userdata;

	if (e == TRK_DIRTY_ALL) {
		r->seen.all++;
		return;
	}
	if (e != TRK_DIRTY)
		return;
	r->seen.sector[r->seen.n] = sector;
	r->seen.bytes[r->seen.n++] = bytes;
}

static void test_perf_ring(void **state)
{
	struct fake_ring r = { 0 };
	struct perf_event_mmap_page *mp;
	int fd = -1;
	void *ring;
	uint32_t dev = (7u << 20) | 5;

	(void)state;
	r.p.page = 4096;
	r.p.ring_bytes = 3 * r.p.page;
	r.mem = calloc(1, r.p.ring_bytes);
	mp = (struct perf_event_mmap_page *)r.mem;
	mp->data_offset = r.p.page;
	mp->data_size = 2 * r.p.page;
	ring = r.mem;
	r.p.ncpus = 1;
	r.p.fd = &fd;
	r.p.ring = &ring;
	r.p.scratch = malloc(65536);
	r.p.dev = dev;
	r.p.no_lost_fmt = true;
	assert_int_equal(trk_tp_parse_format(rq_complete_format, &r.p.fmt), 0);

	/* start near the end of the data area: records wrap around it */
	r.head = mp->data_tail = 2 * r.p.page - 40;
	ring_sample(&r, dev, 100, 8, "WS", 0);
	ring_sample(&r, dev, 200, 8, "R", 0);
	ring_sample(&r, dev + 1, 300, 8, "W", 0);       /* another disk */
	{
		struct perf_event_header h = { .type = PERF_RECORD_LOST, .size = 24 };
		uint64_t id = 1, lost = 7;

		ring_put(&r, &h, sizeof(h));
		ring_put(&r, &id, 8);
		ring_put(&r, &lost, 8);
	}
	ring_sample(&r, dev, 400, 16, "NS", 0);          /* write-zeroes */
	ring_sample(&r, dev, 500, 8, "W", 4000);         /* raw size beyond the record */
	__atomic_store_n(&mp->data_head, r.head, __ATOMIC_RELEASE);

	trk_perf_read(&r.p, ring_cb, &r);
	assert_int_equal(r.seen.n, 2);
	assert_int_equal(r.seen.sector[0], 100);
	assert_int_equal(r.seen.bytes[0], 4096);
	assert_int_equal(r.seen.sector[1], 400);
	assert_int_equal(r.seen.bytes[1], 8192);
	assert_int_equal(r.seen.all, 1);                 /* the malformed sample: cannot be placed */
	assert_int_equal(r.p.bad, 1);
	assert_int_equal(trk_perf_lost(&r.p), 7);
	assert_int_equal(mp->data_tail, r.head);         /* consumed */

	/* a header whose size runs past head: the rest of the ring is unreadable, declared as lost */
	{
		struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = 200 };

		ring_put(&r, &h, sizeof(h));
		__atomic_store_n(&mp->data_head, r.head, __ATOMIC_RELEASE);
	}
	trk_perf_read(&r.p, ring_cb, &r);
	assert_int_equal(r.p.bad, 2);
	assert_true(trk_perf_lost(&r.p) > 7);
	assert_int_equal(mp->data_tail, r.head);
	free(r.p.scratch);
	free(r.mem);
}

/* ---- bitmap ---- */

static void test_bitmap_take(void **state)
{
	struct dirty_bitmap b;
	uint64_t out[300], cursor = 0;
	size_t n;

	(void)state;
	assert_int_equal(bitmap_init(&b, 1000), 0);
	bitmap_mark(&b, 60, 10);    /* across a word boundary */
	bitmap_mark(&b, 995, 100);  /* clamped at the end */
	bitmap_mark(&b, 2000, 1);   /* beyond: ignored */
	assert_int_equal(bitmap_count(&b), 15);
	n = bitmap_take(&b, &cursor, out, 3);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 60);
	assert_int_equal(out[2], 62);
	assert_false(bitmap_test(&b, 61)); /* cleared before the caller reads */
	assert_true(bitmap_test(&b, 63));
	bitmap_mark(&b, 61, 1);            /* a write racing with the read re-marks... */
	n = bitmap_take(&b, &cursor, out, 300);
	assert_int_equal(n, 12);           /* ...the rest from the cursor on... */
	assert_int_equal(out[0], 63);
	assert_int_equal(out[11], 999);
	assert_int_equal(bitmap_take(&b, &cursor, out, 300), 0);
	cursor = 0;                        /* ...and the next pass sends it again */
	assert_int_equal(bitmap_take(&b, &cursor, out, 300), 1);
	assert_int_equal(out[0], 61);
	assert_int_equal(bitmap_count(&b), 0);
	bitmap_mark_all(&b);
	assert_int_equal(bitmap_count(&b), 1000);
	bitmap_free(&b);

	/* 1 TiB at 64 KiB chunks: 2 MiB, mostly never touched */
	assert_int_equal(bitmap_init(&b, (1ull << 40) / 65536), 0);
	assert_int_equal(b.nwords * 8, 2u << 20);
	bitmap_free(&b);
}

/*
 * A marking thread against a taking one. Every chunk of a known set is marked exactly once while
 * the taker takes: what was taken plus what is left at the end must be exactly the set, each chunk
 * once - a take that clears a bit it did not report (a lost write) or reports one twice fails. The
 * taker mostly takes the word the marker is writing to (its published position), so the two
 * collide on the same word all the time, not once per sweep.
 */
#define RACE_CHUNKS (1u << 21)
#define RACE_IN_SET(c) ((c) % 3 != 1)

struct race {
	struct dirty_bitmap *b;
	uint64_t pos;   /* the chunk the marker is at */
	unsigned beat;  /* the taker's iterations: the marker goes on only while the taker runs */
	int done;
};

static void *marker(void *arg)
{
	struct race *r = arg;

	unsigned seen_beat = 0;

	for (uint64_t c = 0; c < RACE_CHUNKS; c++) {
		/* On a loaded machine the whole marking fits in one time slice: wait for the taker. */
		if (c % 4096 == 0) {
			while (__atomic_load_n(&r->beat, __ATOMIC_ACQUIRE) == seen_beat)
				sched_yield();
			seen_beat = __atomic_load_n(&r->beat, __ATOMIC_ACQUIRE);
		}
		if (RACE_IN_SET(c)) {
			__atomic_store_n(&r->pos, c, __ATOMIC_RELAXED);
			bitmap_mark(r->b, c, 1);
		}
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Take up to MAX chunks from *CURSOR; each must be of the set and taken for the first time. */
static size_t take_some(struct dirty_bitmap *b, uint64_t *cursor, size_t max, uint8_t *seen)
{
	uint64_t out[256];
	size_t n = bitmap_take(b, cursor, out, max < ARRAY_SIZE(out) ? max : ARRAY_SIZE(out));

	for (size_t i = 0; i < n; i++) {
		assert_true(out[i] < RACE_CHUNKS);
		assert_true(RACE_IN_SET(out[i])); /* never a chunk nobody marked */
		assert_int_equal(seen[out[i]]++, 0); /* marked once: taken once */
	}
	return n;
}

static size_t take_all(struct dirty_bitmap *b, uint8_t *seen)
{
	uint64_t cursor = 0;
	size_t n, total = 0;

	while ((n = take_some(b, &cursor, SIZE_MAX, seen)) > 0)
		total += n;
	return total;
}

static void test_bitmap_concurrent(void **state)
{
	_cleanup_free_ uint8_t *seen = xcalloc(RACE_CHUNKS, 1);
	struct dirty_bitmap b;
	struct race r = { .b = &b };
	size_t during = 0, expected = 0;
	pthread_t th;

	(void)state;
	assert_int_equal(bitmap_init(&b, RACE_CHUNKS), 0);
	assert_int_equal(pthread_create(&th, NULL, marker, &r), 0);
	for (unsigned i = 1; !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE); i++) {
		__atomic_store_n(&r.beat, i, __ATOMIC_RELEASE);
		uint64_t cursor = __atomic_load_n(&r.pos, __ATOMIC_RELAXED) & ~63ull;

		during += take_some(&b, &cursor, 4, seen); /* in the word being marked */
		if (i % 4096 == 0)
			during += take_all(&b, seen);
	}
	pthread_join(th, NULL);
	size_t after = take_all(&b, seen); /* what is left once the marker is done */
	for (uint64_t c = 0; c < RACE_CHUNKS; c++) {
		expected += RACE_IN_SET(c);
		if (seen[c] != RACE_IN_SET(c))
			fail_msg("chunk %llu: taken %u times, marked %d times", (unsigned long long)c, seen[c],
				 RACE_IN_SET(c));
	}
	assert_int_equal(during + after, expected);
	assert_int_equal(bitmap_count(&b), 0);
	print_message("concurrent: %zu taken during the marking, %zu after\n", during, after);
	assert_true(during > 0); /* or the test raced nothing */
	bitmap_free(&b);
}

/* ---- persistence ---- */

static void facts(struct trk_facts *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->boot_id, "11111111-2222-3333-4444-555555555555");
	strcpy(f->kernel, "6.1.0-test");
	f->chunk_size = 65536;
	f->nchunks = 512;
	f->disk_bytes = 512ull * 65536;
	f->diskseq = 9;
	f->stats_valid = true;
	f->write_ios = 100;
	f->discard_ios = 2;
}

static int tmpdir(char *path)
{
	strcpy(path, "/tmp/test-tracker.XXXXXX");
	assert_non_null(mkdtemp(path));
	return open(path, O_RDONLY | O_DIRECTORY);
}

static void test_state(void **state)
{
	char dir[64], cmd[128];
	char names[128];
	int dfd = tmpdir(dir);
	struct dirty_bitmap b, l;
	struct trk_facts f, now;

	(void)state;
	assert_true(dfd >= 0);
	assert_string_equal(tracker_gap_names(TRACKER_GAP_DROPPED | TRACKER_GAP_BOOT, names, sizeof(names)),
			    "dropped,boot");
	facts(&f);
	assert_int_equal(bitmap_init(&b, f.nchunks), 0);
	bitmap_mark(&b, 3, 5);
	bitmap_mark(&b, 500, 1);

	/* nothing saved yet */
	assert_int_equal(bitmap_init(&l, f.nchunks), 0);
	assert_int_equal(trk_state_load(dfd, "vdb", &f, &l), TRACKER_GAP_NO_MARKER);

	/* clean round trip */
	assert_int_equal(trk_state_save(dfd, "vdb", &f, &b, 0), 0);
	assert_int_equal(trk_state_load(dfd, "vdb", &f, &l), 0);
	assert_int_equal(bitmap_count(&l), 6);
	assert_true(bitmap_test(&l, 500));
	bitmap_free(&l);

	/* each fact that breaks trust, alone */
	for (int i = 0; i < 7; i++) {
		unsigned want[] = { TRACKER_GAP_BOOT, TRACKER_GAP_KERNEL, TRACKER_GAP_DEVICE, TRACKER_GAP_DEVICE,
				    TRACKER_GAP_UNTRACKED, TRACKER_GAP_UNTRACKED, TRACKER_GAP_UNTRACKED };

		now = f;
		switch (i) {
		case 0: now.boot_id[0] = '9'; break;
		case 1: strcpy(now.kernel, "6.12.0-new"); break;
		case 2: now.diskseq++; break;
		case 3: now.chunk_size *= 2; break;
		case 4: now.write_ios++; break;      /* written while nobody traced */
		case 5: now.discard_ios++; break;
		case 6: now.stats_valid = false; break;
		}
		assert_int_equal(bitmap_init(&l, now.nchunks), 0);
		assert_int_equal(trk_state_load(dfd, "vdb", &now, &l), want[i]);
		assert_int_equal(bitmap_count(&l), 0); /* a gap: the old bitmap is not loaded */
		bitmap_free(&l);
	}
	/* a reboot: the counters restarted, only the boot is reported */
	now = f;
	now.boot_id[0] = '9';
	now.write_ios = 0;
	assert_int_equal(bitmap_init(&l, now.nchunks), 0);
	assert_int_equal(trk_state_load(dfd, "vdb", &now, &l), TRACKER_GAP_BOOT);
	bitmap_free(&l);

	/* the marker goes away on start: a crash afterwards is a crash */
	assert_int_equal(trk_state_disarm(dfd, "vdb"), 0);
	assert_int_equal(bitmap_init(&l, f.nchunks), 0);
	assert_int_equal(trk_state_load(dfd, "vdb", &f, &l), TRACKER_GAP_NO_MARKER);
	bitmap_free(&l);

	/* a verify still due at the stop is due after the restart, with the bitmap */
	assert_int_equal(trk_state_save(dfd, "vdb", &f, &b, TRACKER_GAP_DROPPED), 0);
	assert_int_equal(bitmap_init(&l, f.nchunks), 0);
	assert_int_equal(trk_state_load(dfd, "vdb", &f, &l), TRACKER_GAP_PENDING);
	assert_int_equal(bitmap_count(&l), 6);
	bitmap_free(&l);

	/* a damaged file: one flipped bit */
	{
		int fd = openat(dfd, "tracker-vdb.bitmap", O_RDWR);
		unsigned char c;

		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &c, 1, 200), 1);
		c ^= 1;
		assert_int_equal(pwrite(fd, &c, 1, 200), 1);
		close(fd);
	}
	assert_int_equal(bitmap_init(&l, f.nchunks), 0);
	assert_int_equal(trk_state_load(dfd, "vdb", &f, &l), TRACKER_GAP_CORRUPT);
	assert_int_equal(bitmap_count(&l), 0);
	bitmap_free(&l);

	/* the owner file: ours is alive; a dead pid of this boot with a blktrace session is a stale
	 * session; a perf one, or another boot's, is not ours to end */
	assert_int_equal(trk_owner_write(dfd, "vdb", f.boot_id, true), 0);
	assert_false(trk_owner_is_dead(dfd, "vdb", f.boot_id));
	for (int backend = 0; backend < 2; backend++) {
		int fd = openat(dfd, "tracker-vdb.owner", O_WRONLY | O_TRUNC);
		char txt[128];
		int n = snprintf(txt, sizeof(txt), "999999999 %s %s\n", f.boot_id, backend ? "perf" : "blktrace");

		assert_int_equal(write(fd, txt, (size_t)n), n);
		close(fd);
		assert_int_equal(trk_owner_is_dead(dfd, "vdb", f.boot_id), backend == 0);
		assert_false(trk_owner_is_dead(dfd, "vdb", "another-boot"));
	}
	trk_owner_remove(dfd, "vdb");
	assert_false(trk_owner_is_dead(dfd, "vdb", f.boot_id));

	bitmap_free(&b);
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_v1),	   cmocka_unit_test(test_valid_v2_write_zeroes),
		cmocka_unit_test(test_wrong_magic_resyncs), cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_truncated_then_completed), cmocka_unit_test(test_huge_pdu),
		cmocka_unit_test(test_split_everywhere),   cmocka_unit_test(test_order_broken),
		cmocka_unit_test(test_classify),	   cmocka_unit_test(test_tracepoint),
		cmocka_unit_test(test_perf_ring),
		cmocka_unit_test(test_bitmap_take),	   cmocka_unit_test(test_bitmap_concurrent),
		cmocka_unit_test(test_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
