/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the initramfs reader on arbitrary bytes. Limits are lower than the defaults so a
 * run explores instead of decompressing; the properties checked are the reader's contract: no crash,
 * an error always comes with a message and an empty listing, a success has sorted unique modules.
 */
#include <stddef.h>
#include <stdint.h>

#include "initramfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct initramfs_limits lim = { 64u << 20, 20000, 4096 };
	struct initramfs_listing l;
	char *err = NULL;
	int r = initramfs_list_mem(data, size, &lim, &l, &err);

	if (r < 0) {
		if (!err || l.files.n != 0)
			__builtin_trap();
		free(err);
		return 0;
	}
	if (err || l.bytes > lim.max_bytes || l.files.n > lim.max_entries)
		__builtin_trap();
	for (size_t i = 1; i < l.modules.n; i++)
		if (strcmp(l.modules.v[i - 1], l.modules.v[i]) >= 0)
			__builtin_trap();
	for (size_t i = 0; i < l.modules.n; i++)
		(void)initramfs_has_module(&l, l.modules.v[i]);
	initramfs_listing_free(&l);
	return 0;
}
