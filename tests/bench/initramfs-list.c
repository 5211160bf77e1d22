/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper (not installed): list an initramfs image with prepcheck's reader, for the integration
 * test (compared with lsinitrd) and the benchmark.
 *   initramfs-list [--files] IMAGE   kernel module names, one a line (or every file)
 */
#include <fcntl.h>
#include <inttypes.h>

#include "initramfs.h"

int main(int argc, char **argv)
{
	bool files = argc > 1 && streq(argv[1], "--files");
	const char *path = argv[files ? 2 : 1];
	struct initramfs_listing l;
	_cleanup_free_ char *err = NULL;
	_cleanup_close_ int fd = -1;
	const strv *out;

	if (!path || argc != (files ? 3 : 2)) {
		fprintf(stderr, "usage: %s [--files] IMAGE\n", argv[0]);
		return 3;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	if (initramfs_list_fd(fd, NULL, &l, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		return 1;
	}
	out = files ? &l.files : &l.modules;
	for (size_t i = 0; i < out->n; i++)
		printf("%s\n", out->v[i]);
	fprintf(stderr, "%s: %zu files, %zu modules, %u early archive(s), %s, %" PRIu64 " bytes\n", path, l.files.n,
		l.modules.n, l.early_archives, l.compression, l.bytes);
	initramfs_listing_free(&l);
	return fflush(stdout) == 0 ? 0 : 1;
}
