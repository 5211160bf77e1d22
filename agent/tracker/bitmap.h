/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dirty bitmap: one bit per chunk of the whole disk. The reader thread marks, a sync pass takes;
 * both are lock-free on 64-bit words, so "take" (clear, then the caller reads the chunk) and "mark"
 * (after a write completed) race safely: a write completing after the take re-marks the chunk, and
 * the next pass sends it again. 1 TiB at 64 KiB chunks is 2 MiB of bitmap.
 */
#ifndef MOBILITY_TRACKER_BITMAP_H
#define MOBILITY_TRACKER_BITMAP_H

#include <stddef.h>
#include <stdint.h>

struct dirty_bitmap {
	uint64_t nchunks;
	uint64_t nwords;
	uint64_t *words;
};

int bitmap_init(struct dirty_bitmap *b, uint64_t nchunks);
void bitmap_free(struct dirty_bitmap *b);
/* Mark chunks [first, first + count) (clamped to the bitmap). */
void bitmap_mark(struct dirty_bitmap *b, uint64_t first, uint64_t count);
void bitmap_mark_all(struct dirty_bitmap *b);
/*
 * Take up to max dirty chunks at or after *cursor, in ascending order: their bits are cleared
 * atomically with respect to bitmap_mark, their indexes stored in out. *cursor moves past the last
 * chunk examined. Returns the number taken; 0 means no dirty chunk from *cursor to the end.
 */
size_t bitmap_take(struct dirty_bitmap *b, uint64_t *cursor, uint64_t *out, size_t max);
uint64_t bitmap_count(const struct dirty_bitmap *b);
/* Test one bit (for tests and reports). */
int bitmap_test(const struct dirty_bitmap *b, uint64_t chunk);

#endif
