/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Manifest file format (host byte order is little-endian on every target; fields are written
 * explicitly little-endian anyway so a manifest copied between machines stays readable):
 *   magic "MOBMANI1" | u32 version=1 | u32 chunk_size | u64 disk_size | u64 committed_pass |
 *   u64 nchunks | char identity[256] | char target[256] | nchunks * 32 bytes SHA-256 |
 *   32 bytes SHA-256 of everything before it.
 */
#include "manifest.h"
#include "fileio.h"

#include <endian.h>
#include <openssl/evp.h>

#define MANIFEST_MAGIC "MOBMANI1"
#define MANIFEST_VERSION 1
#define HEADER_LEN (8 + 4 + 4 + 8 + 8 + 8 + 2 * MANIFEST_TEXT_MAX)
/* 2^28 chunks = 8 GiB of hashes: far past any disk at the chunk sizes allowed. */
#define MANIFEST_MAX_CHUNKS (1ull << 28)
#define MANIFEST_FILE_MAX (HEADER_LEN + MANIFEST_MAX_CHUNKS * CHUNK_HASH_LEN + CHUNK_HASH_LEN)

struct manifest *manifest_new(uint64_t disk_size, uint32_t chunk_size, const char *identity, const char *target)
{
	struct manifest *m = xcalloc(1, sizeof(*m));

	m->disk_size = disk_size;
	m->chunk_size = chunk_size;
	m->nchunks = disk_nchunks(disk_size, chunk_size);
	snprintf(m->identity, sizeof(m->identity), "%s", identity);
	snprintf(m->target, sizeof(m->target), "%s", target);
	m->hashes = xcalloc(m->nchunks ? m->nchunks : 1, CHUNK_HASH_LEN);
	return m;
}

void manifest_free(struct manifest *m)
{
	free(m->hashes);
	free(m);
}

static void put32(uint8_t **p, uint32_t v) { v = htole32(v); memcpy(*p, &v, 4); *p += 4; }
static void put64(uint8_t **p, uint64_t v) { v = htole64(v); memcpy(*p, &v, 8); *p += 8; }
static uint32_t get32(const uint8_t **p) { uint32_t v; memcpy(&v, *p, 4); *p += 4; return le32toh(v); }
static uint64_t get64(const uint8_t **p) { uint64_t v; memcpy(&v, *p, 8); *p += 8; return le64toh(v); }

void *manifest_serialize(const struct manifest *m, size_t *len)
{
	size_t n = HEADER_LEN + m->nchunks * CHUNK_HASH_LEN + CHUNK_HASH_LEN;
	uint8_t *buf = xcalloc(1, n), *p = buf;

	memcpy(p, MANIFEST_MAGIC, 8);
	p += 8;
	put32(&p, MANIFEST_VERSION);
	put32(&p, m->chunk_size);
	put64(&p, m->disk_size);
	put64(&p, m->committed_pass);
	put64(&p, m->nchunks);
	memcpy(p, m->identity, strnlen(m->identity, MANIFEST_TEXT_MAX - 1));
	p += MANIFEST_TEXT_MAX;
	memcpy(p, m->target, strnlen(m->target, MANIFEST_TEXT_MAX - 1));
	p += MANIFEST_TEXT_MAX;
	memcpy(p, m->hashes, m->nchunks * CHUNK_HASH_LEN);
	p += m->nchunks * CHUNK_HASH_LEN;
	if (EVP_Digest(buf, (size_t)(p - buf), p, NULL, EVP_sha256(), NULL) != 1)
		abort();
	*len = n;
	return buf;
}

int manifest_parse(const void *data, size_t len, struct manifest **out)
{
	const uint8_t *p = data;
	uint8_t sum[CHUNK_HASH_LEN];
	struct manifest *m;
	uint64_t nchunks;

	if (len < HEADER_LEN + CHUNK_HASH_LEN || memcmp(p, MANIFEST_MAGIC, 8) != 0)
		return -EBADMSG;
	if (EVP_Digest(p, len - CHUNK_HASH_LEN, sum, NULL, EVP_sha256(), NULL) != 1)
		abort();
	if (memcmp(sum, p + len - CHUNK_HASH_LEN, CHUNK_HASH_LEN) != 0)
		return -EBADMSG;
	p += 8;
	if (get32(&p) != MANIFEST_VERSION)
		return -EBADMSG;
	m = xcalloc(1, sizeof(*m));
	m->chunk_size = get32(&p);
	m->disk_size = get64(&p);
	m->committed_pass = get64(&p);
	nchunks = get64(&p);
	memcpy(m->identity, p, MANIFEST_TEXT_MAX - 1);
	p += MANIFEST_TEXT_MAX;
	memcpy(m->target, p, MANIFEST_TEXT_MAX - 1);
	p += MANIFEST_TEXT_MAX;
	if (m->chunk_size == 0 || nchunks > MANIFEST_MAX_CHUNKS ||
	    nchunks != disk_nchunks(m->disk_size, m->chunk_size) ||
	    len != HEADER_LEN + nchunks * CHUNK_HASH_LEN + CHUNK_HASH_LEN) {
		free(m);
		return -EBADMSG;
	}
	m->nchunks = nchunks;
	m->hashes = xcalloc(nchunks ? nchunks : 1, CHUNK_HASH_LEN);
	memcpy(m->hashes, p, nchunks * CHUNK_HASH_LEN);
	*out = m;
	return 0;
}

int manifest_load(const char *path, struct manifest **out)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_bounded(path, MANIFEST_FILE_MAX, &buf, &len);

	if (r < 0)
		return r == -EFBIG ? -EBADMSG : r;
	return manifest_parse(buf, len, out);
}

int manifest_save(const char *path, const struct manifest *m)
{
	size_t len;
	_cleanup_free_ void *buf = manifest_serialize(m, &len);

	return write_file_atomic(path, buf, len, 0600);
}
