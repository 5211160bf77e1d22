/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dirty bitmap at chunk granularity; see bitmap.h. */
#include "bitmap.h"
#include "util.h"

#include <errno.h>

int bitmap_init(struct dirty_bitmap *b, uint64_t nchunks)
{
	b->nchunks = nchunks;
	b->nwords = (nchunks + 63) / 64;
	if (b->nwords > SIZE_MAX / sizeof(uint64_t))
		return -EFBIG;
	/* calloc: pages of a large, mostly clean bitmap stay untouched and cost no memory. */
	b->words = calloc(b->nwords ? b->nwords : 1, sizeof(uint64_t));
	return b->words ? 0 : -ENOMEM;
}

void bitmap_free(struct dirty_bitmap *b)
{
	free(b->words);
	b->words = NULL;
	b->nchunks = b->nwords = 0;
}

/* Bits [lo, hi) of one word, 0 <= lo < hi <= 64. */
static uint64_t bits(unsigned lo, unsigned hi)
{
	uint64_t upper = hi == 64 ? ~0ull : (1ull << hi) - 1;

	return upper & ~((1ull << lo) - 1);
}

static void or_word(uint64_t *w, uint64_t m)
{
	/* Skip the atomic when the bits are set already: rewrites of hot chunks then cost a load. */
	if ((__atomic_load_n(w, __ATOMIC_RELAXED) & m) != m)
		__atomic_fetch_or(w, m, __ATOMIC_RELEASE);
}

void bitmap_mark(struct dirty_bitmap *b, uint64_t first, uint64_t count)
{
	uint64_t last;

	if (first >= b->nchunks || count == 0)
		return;
	if (count > b->nchunks - first)
		count = b->nchunks - first;
	last = first + count - 1;
	for (uint64_t w = first / 64; w <= last / 64; w++) {
		unsigned lo = w == first / 64 ? first % 64 : 0;
		unsigned hi = w == last / 64 ? last % 64 + 1 : 64;

		or_word(&b->words[w], bits(lo, hi));
	}
}

void bitmap_mark_all(struct dirty_bitmap *b)
{
	bitmap_mark(b, 0, b->nchunks);
}

size_t bitmap_take(struct dirty_bitmap *b, uint64_t *cursor, uint64_t *out, size_t max)
{
	size_t n = 0;
	uint64_t c = *cursor;

	while (n < max && c < b->nchunks) {
		uint64_t w = c / 64;
		uint64_t v = __atomic_load_n(&b->words[w], __ATOMIC_ACQUIRE) & ~((1ull << (c % 64)) - 1);
		uint64_t take = 0;

		if (!v) {
			c = (w + 1) * 64;
			continue;
		}
		/* The lowest set bits, as many as fit; the rest of the word stays for the next call. */
		while (v && n < max) {
			unsigned bit = (unsigned)__builtin_ctzll(v);

			take |= 1ull << bit;
			out[n++] = w * 64 + bit;
			v &= v - 1;
			c = w * 64 + bit + 1;
		}
		if (!v && n < max)
			c = (w + 1) * 64;
		__atomic_fetch_and(&b->words[w], ~take, __ATOMIC_ACQ_REL);
	}
	*cursor = c < b->nchunks ? c : b->nchunks;
	return n;
}

uint64_t bitmap_count(const struct dirty_bitmap *b)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < b->nwords; w++)
		n += (uint64_t)__builtin_popcountll(__atomic_load_n(&b->words[w], __ATOMIC_RELAXED));
	return n;
}

int bitmap_test(const struct dirty_bitmap *b, uint64_t chunk)
{
	if (chunk >= b->nchunks)
		return 0;
	return (__atomic_load_n(&b->words[chunk / 64], __ATOMIC_RELAXED) >> (chunk % 64)) & 1;
}
