/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading an initramfs image the way the kernel unpacks it: zero or more uncompressed cpio archives
 * first (CPU microcode, ACPI table overrides: the "early" archives), then one compressed main archive
 * (gzip, xz, lzma, zstd, lz4 incl. legacy framing, bzip2) or more uncompressed ones. Only the newc
 * ("070701") and crc ("070702") cpio formats exist here, because they are the only ones the kernel
 * accepts.
 *
 * libarchive decompresses (raw format + every filter); the cpio headers are parsed here, both in the
 * uncompressed prefix (which no decompressor understands) and in the decompressed stream, so that a
 * hostile name size can never make anybody allocate it: every length is checked against a limit before
 * it is used, file contents are skipped without copying, and the total of decompressed bytes is
 * bounded (a zip bomb stops at the limit with an error, in bounded time).
 *
 * Used by the initramfs.drivers check and by `prepcheck --fix`, which re-reads a rebuilt image to prove
 * the drivers are now in it.
 */
#ifndef PREPCHECK_INITRAMFS_H
#define PREPCHECK_INITRAMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../agent/common/util.h"

struct initramfs_limits {
	uint64_t max_bytes;   /* decompressed bytes read, all archives together */
	size_t max_entries;   /* cpio entries, trailers excluded */
	size_t max_name;      /* bytes of one entry name, NUL included */
};
/* Far above any real image (the largest distribution images are ~300 MB unpacked, ~10k files). */
#define INITRAMFS_MAX_BYTES (1ull << 30)
#define INITRAMFS_MAX_ENTRIES 200000u
#define INITRAMFS_MAX_NAME 4096u
/* Names kept in memory, all together (not configurable: it bounds what a listing can cost). */
#define INITRAMFS_MAX_NAME_BYTES (64u << 20)

struct initramfs_listing {
	strv files;            /* every entry's path in archive order, without leading "./" or "/" */
	strv modules;          /* kernel module names (hv_vmbus), '-' as '_', sorted, unique */
	strv module_paths;     /* the entries those names came from, in archive order */
	unsigned early_archives; /* uncompressed cpio archives in front of the main one */
	const char *compression; /* main archive: "gzip", "xz", "lzma", "zstd", "lz4", "bzip2", "none" */
	uint64_t bytes;        /* decompressed bytes read */
};

/*
 * List the image in the file descriptor (a regular file, read with pread: the offset is not moved) or
 * in memory. lim NULL means the defaults above. 0 on success; a negative errno otherwise with *errmsg
 * (when errmsg is not NULL) set to a malloc'ed sentence naming the offset and the problem:
 * -EBADMSG malformed (bad magic, bad header, unsafe name), -EPIPE truncated, -E2BIG a limit was hit,
 * -EPROTONOSUPPORT an unknown compression, other -errno from reading.
 * On error, out is left empty.
 */
int initramfs_list_fd(int fd, const struct initramfs_limits *lim, struct initramfs_listing *out, char **errmsg);
int initramfs_list_mem(const void *buf, size_t len, const struct initramfs_limits *lim,
		       struct initramfs_listing *out, char **errmsg);
void initramfs_listing_free(struct initramfs_listing *l);

/* True when the image holds the module NAME ('-' and '_' are the same). */
bool initramfs_has_module(const struct initramfs_listing *l, const char *name);

#endif
