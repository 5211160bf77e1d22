/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pass log file: a 4 KiB header ("MOBPASS1", pass, size, chunk_size, target) and nchunks * 32 bytes
 * of entries, read into memory when opened and updated in place with pwrite.
 */
#include "passlog.h"
#include "fileio.h"
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>

#define PASSLOG_MAGIC "MOBPASS1"
#define PASSLOG_HEADER 4096

struct passlog {
	int fd;
	uint64_t nchunks;
	uint8_t (*entries)[CHUNK_HASH_LEN];
};

static const uint8_t no_entry[CHUNK_HASH_LEN];

static void make_header(char hdr[PASSLOG_HEADER], uint64_t pass, uint64_t size, uint32_t chunk_size, const char *target)
{
	memset(hdr, 0, PASSLOG_HEADER);
	snprintf(hdr, PASSLOG_HEADER, "%s\npass %ju\nsize %ju\nchunk_size %u\ntarget %s\n", PASSLOG_MAGIC,
		 (uintmax_t)pass, (uintmax_t)size, chunk_size, target);
}

static int read_full(int fd, void *buf, size_t len, off_t off)
{
	for (size_t got = 0; got < len;) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EBADMSG;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, off_t off)
{
	for (size_t done = 0; done < len;) {
		ssize_t r = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

/* A fresh, empty log: header and sparse zero entries, created atomically. */
static int passlog_create(const char *path, const char hdr[PASSLOG_HEADER], uint64_t nchunks)
{
	_cleanup_free_ char *tmp = xasprintf("%s.new", path);
	_cleanup_close_ int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r;

	if (fd < 0)
		return -errno;
	r = write_full(fd, hdr, PASSLOG_HEADER, 0);
	if (r == 0 && ftruncate(fd, PASSLOG_HEADER + (off_t)(nchunks * CHUNK_HASH_LEN)) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int passlog_open(const char *path, uint64_t pass, uint64_t size, uint32_t chunk_size, const char *target,
		 struct passlog **out)
{
	char want[PASSLOG_HEADER], have[PASSLOG_HEADER];
	uint64_t nchunks = disk_nchunks(size, chunk_size);
	struct passlog *pl;
	int fd, r;

	make_header(want, pass, size, chunk_size, target);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && (read_full(fd, have, sizeof(have), 0) < 0 || memcmp(have, want, sizeof(want)) != 0)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		r = passlog_create(path, want, nchunks);
		if (r < 0)
			return r;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return -errno;
	}
	pl = xcalloc(1, sizeof(*pl));
	pl->fd = fd;
	pl->nchunks = nchunks;
	pl->entries = xcalloc(nchunks ? nchunks : 1, CHUNK_HASH_LEN);
	r = read_full(fd, pl->entries, nchunks * CHUNK_HASH_LEN, PASSLOG_HEADER);
	if (r < 0)
		memset(pl->entries, 0, nchunks * CHUNK_HASH_LEN); /* truncated: trust nothing */
	*out = pl;
	return 0;
}

bool passlog_has(const struct passlog *pl, uint64_t index, const uint8_t hash[CHUNK_HASH_LEN])
{
	return index < pl->nchunks && passlog_any(pl, index) && memcmp(pl->entries[index], hash, CHUNK_HASH_LEN) == 0;
}

bool passlog_any(const struct passlog *pl, uint64_t index)
{
	return index < pl->nchunks && memcmp(pl->entries[index], no_entry, CHUNK_HASH_LEN) != 0;
}

int passlog_record(struct passlog *pl, uint64_t index, const uint8_t hash[CHUNK_HASH_LEN])
{
	if (index >= pl->nchunks)
		return -ERANGE;
	memcpy(pl->entries[index], hash, CHUNK_HASH_LEN);
	/* No fsync: an entry lost in a crash only costs a resend. */
	return write_full(pl->fd, hash, CHUNK_HASH_LEN, PASSLOG_HEADER + (off_t)(index * CHUNK_HASH_LEN));
}

int passlog_erase(struct passlog *pl, uint64_t index)
{
	int r;

	if (!passlog_any(pl, index))
		return 0;
	memset(pl->entries[index], 0, CHUNK_HASH_LEN);
	r = write_full(pl->fd, no_entry, CHUNK_HASH_LEN, PASSLOG_HEADER + (off_t)(index * CHUNK_HASH_LEN));
	/* Durable before the chunk is staged again, else a crash could leave an entry naming old content. */
	if (r == 0 && fdatasync(pl->fd) < 0)
		r = -errno;
	return r;
}

void passlog_close(struct passlog *pl)
{
	if (!pl)
		return;
	close(pl->fd);
	free(pl->entries);
	free(pl);
}

int passlog_remove(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
