/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Decoding and validating the blktrace record stream; see records.h. */
#include "records.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, sizeof(v)); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, sizeof(v)); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, sizeof(v)); return v; }

void trk_parser_init(struct trk_parser *p, uint32_t version, uint32_t max_pdu, size_t read_size)
{
	memset(p, 0, sizeof(*p));
	p->version = version;
	p->hdr_size = version == TRK_TRACE_V2 ? TRK_HDR_V2 : TRK_HDR_V1;
	p->max_pdu = max_pdu > 65535 ? 65535 : max_pdu;
	/* Room for one read plus the longest record that can be carried over from the previous one. */
	p->cap = read_size + p->hdr_size + p->max_pdu;
	p->buf = xmalloc(p->cap);
}

void trk_parser_free(struct trk_parser *p)
{
	free(p->buf);
	p->buf = NULL;
}

void trk_parser_expect_order(struct trk_parser *p, uint64_t start_ns)
{
	p->check_order = true;
	p->rebase = false;
	p->last_seq = 0;
	p->last_time = start_ns;
}

/* False when r cannot follow what came before (see records.h); re-bases after a failure. */
static bool in_order(struct trk_parser *p, const struct trk_record *r)
{
	bool note = (r->action >> TRK_TC_SHIFT) & TRK_TC_NOTIFY, ok = true;

	if (!p->check_order)
		return true;
	if (!p->rebase) {
		if (r->time < p->last_time)
			ok = false;
		if (!note && r->sequence != p->last_seq + 1)
			ok = false;
	}
	/* After a failure the next record sets the base: the gap is declared already. */
	p->rebase = !ok;
	if (ok) {
		p->last_time = r->time;
		if (!note)
			p->last_seq = r->sequence;
	}
	return ok;
}

void *trk_parser_space(struct trk_parser *p, size_t *avail)
{
	*avail = p->cap - p->len;
	return p->buf + p->len;
}

/* The record header at b (hdr_size bytes available). The magic is checked by the caller. */
static void decode(const struct trk_parser *p, const uint8_t *b, struct trk_record *r)
{
	r->version = get32(b) & 0xff;
	r->sequence = get32(b + 4);
	r->time = get64(b + 8);
	r->sector = get64(b + 16);
	r->bytes = get32(b + 24);
	if (p->version == TRK_TRACE_V2) {
		r->action = get64(b + 32);
		r->device = get32(b + 40);
		r->cpu = get32(b + 44);
		r->error = get16(b + 48);
		r->pdu_len = get16(b + 50);
	} else {
		r->action = get32(b + 28);
		r->device = get32(b + 36);
		r->cpu = get32(b + 40);
		r->error = get16(b + 44);
		r->pdu_len = get16(b + 46);
	}
}

static bool magic_ok(const struct trk_parser *p, const uint8_t *b)
{
	return get32(b) == (TRK_TRACE_MAGIC | p->version);
}

/* After corruption at off: the next offset holding our magic, or where a partial magic may start. */
static size_t resync(const struct trk_parser *p, size_t off, size_t len)
{
	for (off++; off + 4 <= len; off++)
		if (magic_ok(p, p->buf + off))
			return off;
	return off < len ? off : len; /* keep up to 3 trailing bytes: a magic may be cut by the read */
}

int trk_parser_commit(struct trk_parser *p, size_t n, trk_record_cb cb, void *userdata)
{
	size_t off = 0, len;
	int rc = 0;

	if (n > p->cap - p->len)
		n = p->cap - p->len;
	p->len += n;
	len = p->len;
	while (len - off >= 4) {
		const uint8_t *b = p->buf + off;
		struct trk_record r;

		/* The magic (and version) as soon as it is there: a wrong stream is not carried along. */
		if (!magic_ok(p, b)) {
			p->bad++;
			p->rebase = true;
			rc = -EBADMSG;
			off = resync(p, off, len);
			continue;
		}
		if (len - off < p->hdr_size)
			break;
		decode(p, b, &r);
		if (r.pdu_len > p->max_pdu) {
			p->bad++;
			p->rebase = true;
			rc = -EBADMSG;
			off = resync(p, off, len);
			continue;
		}
		if (len - off < p->hdr_size + (size_t)r.pdu_len)
			break; /* cut by the read boundary: completed by the next read */
		off += p->hdr_size + r.pdu_len;
		if (!in_order(p, &r)) {
			p->bad++;
			rc = -EBADMSG;
			continue;
		}
		p->records++;
		cb(&r, userdata);
	}
	memmove(p->buf, p->buf + off, len - off);
	p->len = len - off;
	return rc;
}

int trk_parser_feed(struct trk_parser *p, const void *data, size_t len, trk_record_cb cb, void *userdata)
{
	const uint8_t *d = data;
	int rc = 0;

	while (len > 0) {
		size_t avail, n;
		void *space = trk_parser_space(p, &avail);
		int r;

		n = len < avail ? len : avail;
		memcpy(space, d, n);
		r = trk_parser_commit(p, n, cb, userdata);
		if (r < 0)
			rc = r;
		d += n;
		len -= n;
	}
	return rc;
}

enum trk_effect trk_classify(const struct trk_record *r)
{
	uint64_t cats = r->action >> TRK_TC_SHIFT;
	const uint64_t data_ops = TRK_TC_WRITE | TRK_TC_DISCARD | TRK_TC_WRITE_ZEROES | TRK_TC_ZONE_APPEND;
	const uint64_t zone_ops = TRK_TC_ZONE_RESET | TRK_TC_ZONE_FINISH;

	if ((cats & TRK_TC_NOTIFY) || (r->action & TRK_TA_MASK) != TRK_TA_COMPLETE)
		return TRK_IGNORE;
	if (cats & TRK_TC_ZONE_RESET_ALL)
		return TRK_DIRTY_ALL;
	/* Passthrough (SG_IO) writes carry no usable sector: anything may have changed. */
	if (cats & TRK_TC_PC)
		return (cats & TRK_TC_WRITE) ? TRK_DIRTY_ALL : TRK_IGNORE;
	if (cats & zone_ops)
		return r->bytes ? TRK_DIRTY : TRK_DIRTY_ALL;
	if ((cats & data_ops) && r->bytes)
		return TRK_DIRTY;
	return TRK_IGNORE;
}
