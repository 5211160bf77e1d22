/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The footer of a fixed VHD (Microsoft's "Virtual Hard Disk Image Format Specification"): a fixed VHD is
 * the raw disk followed by this 512-byte footer. Azure takes page blobs of fixed VHDs whose virtual size
 * is a whole number of MiB, hence the rounding.
 */
#include <string.h>

#include "store-internal.h"

#define MIB (1ull << 20)

uint64_t vhd_rounded_size(uint64_t size)
{
	return (size + MIB - 1) / MIB * MIB;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* CHS geometry, the algorithm of the specification's appendix. */
static void vhd_geometry(uint64_t size, uint16_t *cyl, uint8_t *heads, uint8_t *spt)
{
	uint64_t total = size / 512, cth;
	uint32_t h, s;

	if (total > 65535ull * 16 * 255)
		total = 65535ull * 16 * 255;
	if (total >= 65535ull * 16 * 63) {
		s = 255, h = 16;
		cth = total / s;
	} else {
		s = 17;
		cth = total / s;
		h = (uint32_t)((cth + 1023) / 1024);
		if (h < 4)
			h = 4;
		if (cth >= h * 1024ull || h > 16) {
			s = 31, h = 16;
			cth = total / s;
		}
		if (cth >= h * 1024ull) {
			s = 63, h = 16;
			cth = total / s;
		}
	}
	*cyl = (uint16_t)(cth / h);
	*heads = (uint8_t)h;
	*spt = (uint8_t)s;
}

void vhd_footer(uint8_t f[VHD_FOOTER_SIZE], uint64_t size, const uint8_t uuid[16], uint32_t timestamp)
{
	uint64_t vsize = vhd_rounded_size(size);
	uint32_t sum = 0;
	uint16_t cyl;
	uint8_t heads, spt;

	memset(f, 0, VHD_FOOTER_SIZE);
	memcpy(f, "conectix", 8);
	put_be(f + 8, 2, 4);                     /* features: reserved bit always set */
	put_be(f + 12, 0x00010000, 4);           /* format version 1.0 */
	put_be(f + 16, UINT64_MAX, 8);           /* data offset: none for a fixed disk */
	put_be(f + 24, timestamp, 4);            /* seconds since 2000-01-01 UTC */
	memcpy(f + 28, "mbly", 4);               /* creator application */
	put_be(f + 32, 0x00010000, 4);           /* creator version */
	memcpy(f + 36, "Wi2k", 4);               /* creator host OS: what Azure's tools write */
	put_be(f + 40, vsize, 8);                /* original size */
	put_be(f + 48, vsize, 8);                /* current size */
	vhd_geometry(vsize, &cyl, &heads, &spt);
	put_be(f + 56, cyl, 2);
	f[58] = heads;
	f[59] = spt;
	put_be(f + 60, 2, 4);                    /* disk type: fixed */
	memcpy(f + 68, uuid, 16);
	for (int i = 0; i < VHD_FOOTER_SIZE; i++)
		sum += f[i];
	put_be(f + 64, ~sum, 4);                 /* one's complement of the byte sum */
}
