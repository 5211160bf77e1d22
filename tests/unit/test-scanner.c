/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The chunk scanner: order, zero detection, SEEK_DATA holes, the odd last chunk, the bitmap filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "scanner.h"
#include "util.h"

#define CS 65536u
#define LAST 1000u

struct fixture {
	char dir[64];
	char path[96];
	uint8_t *expect; /* the image's content */
	uint64_t size;
};

static void fill_random(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16) | 1; /* never zero: a data chunk must not look like a zero chunk */
	}
}

static void sha256(const void *p, size_t n, uint8_t out[CHUNK_HASH_LEN])
{
	assert_int_equal(EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL), 1);
}

/* chunk 0 data, 1 a hole, 2 written zeros, 3 data, then a LAST-byte tail chunk of data. */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	int fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-scanner.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/disk.img", f->dir);
	f->size = 4ull * CS + LAST;
	f->expect = xcalloc(1, f->size);
	fill_random(f->expect, CS, 1);
	fill_random(f->expect + 3 * CS, CS + LAST, 2);
	fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, f->expect, CS, 0), CS);
	assert_int_equal(pwrite(fd, f->expect + 2 * CS, 2 * CS + LAST, 2 * CS), 2 * CS + LAST);
	assert_int_equal(fsync(fd), 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f->expect);
	free(f);
	return 0;
}

static void test_zero_detection(void **state)
{
	uint8_t buf[8192] = { 0 };

	(void)state;
	assert_true(buffer_is_zero(buf, sizeof(buf)));
	assert_true(buffer_is_zero(buf, 3));
	buf[sizeof(buf) - 1] = 1;
	assert_false(buffer_is_zero(buf, sizeof(buf)));
	assert_true(buffer_is_zero(buf, sizeof(buf) - 1));
	buf[0] = 1;
	assert_false(buffer_is_zero(buf, 1));
}

static void test_scan_all(void **state)
{
	struct fixture *f = *state;
	_cleanup_scanner_ struct scanner *s = NULL;
	struct scan_chunk *c;
	struct disk d;
	uint8_t h[CHUNK_HASH_LEN];
	uint64_t n = 0;
	int r;

	assert_int_equal(disk_open(f->path, &d), 0);
	assert_true(d.is_image);
	assert_int_equal(d.size, f->size);
	assert_int_equal(scanner_new(&d, CS, NULL, NULL, &s), 0);
	while ((r = scanner_next(s, &c)) > 0) {
		uint32_t len = c->index == 4 ? LAST : CS;

		assert_int_equal(c->index, n);
		assert_int_equal(c->len, len);
		sha256(f->expect + c->index * CS, len, h);
		assert_memory_equal(c->hash, h, CHUNK_HASH_LEN);
		assert_int_equal(c->zero, c->index == 1 || c->index == 2);
		assert_int_equal(c->hole, c->index == 1); /* written zeros are data to SEEK_DATA */
		if (!c->hole)
			assert_memory_equal(c->data, f->expect + c->index * CS, len);
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 5);
	/* The hole is not read; the odd tail counts its real length. */
	assert_int_equal(scanner_bytes_read(s), 3ull * CS + LAST);
	scanner_free(TAKE_PTR(s));
	disk_close(&d);
}

static void test_bitmap_filter(void **state)
{
	struct fixture *f = *state;
	_cleanup_scanner_ struct scanner *s = NULL;
	struct scan_chunk *c;
	uint8_t bits[1] = { (1u << 0) | (1u << 4) | (1u << 6) }; /* bit 6 is past the disk's end */
	struct chunk_filter filt = { .kind = CHUNKS_BITMAP, .bitmap = bits, .nbits = 8 };
	uint64_t seen[8], n = 0;
	struct disk d;

	assert_int_equal(disk_open(f->path, &d), 0);
	assert_int_equal(scanner_new(&d, CS, &filt, NULL, &s), 0);
	while (scanner_next(s, &c) > 0)
		seen[n++] = c->index;
	assert_int_equal(n, 2);
	assert_int_equal(seen[0], 0);
	assert_int_equal(seen[1], 4);
	assert_int_equal(scanner_bytes_read(s), CS + LAST);
	scanner_free(TAKE_PTR(s));
	disk_close(&d);
}

static void test_zero_tail_hash(void **state)
{
	uint8_t zeros[LAST] = { 0 }, h1[CHUNK_HASH_LEN], h2[CHUNK_HASH_LEN];

	(void)state;
	chunk_zero_hash(LAST, h1);
	sha256(zeros, LAST, h2);
	assert_memory_equal(h1, h2, CHUNK_HASH_LEN);
}

/* Many chunks through a small ring: order and content survive the pipeline's reuse of buffers. */
static void test_pipeline_order(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = xasprintf("%s/big.img", f->dir);
	_cleanup_free_ uint8_t *data = xmalloc(300ull * CS);
	struct scan_opts opts = { .depth = 4, .readers = 3, .chunks_per_read = 7 }; /* 300 = 42*7 + 6 */
	_cleanup_scanner_ struct scanner *s = NULL;
	struct scan_chunk *c;
	uint8_t h[CHUNK_HASH_LEN];
	uint64_t n = 0;
	struct disk d;
	int fd;

	fill_random(data, 300ull * CS, 7);
	memset(data + 17ull * CS, 0, CS);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, 300ull * CS), (ssize_t)(300ull * CS));
	close(fd);
	assert_int_equal(disk_open(path, &d), 0);
	assert_int_equal(scanner_new(&d, CS, NULL, &opts, &s), 0);
	while (scanner_next(s, &c) > 0) {
		assert_int_equal(c->index, n);
		sha256(data + n * CS, CS, h);
		assert_memory_equal(c->hash, h, CHUNK_HASH_LEN);
		assert_int_equal(c->zero, n == 17);
		n++;
	}
	assert_int_equal(n, 300);
	scanner_free(TAKE_PTR(s));
	disk_close(&d);
	unlink(path);
}

/* Stopping early (a failed send) must not hang or leak: the threads are told to stop. */
static void test_early_free(void **state)
{
	struct fixture *f = *state;
	struct scanner *s = NULL;
	struct scan_chunk *c;
	struct disk d;

	assert_int_equal(disk_open(f->path, &d), 0);
	assert_int_equal(scanner_new(&d, CS, NULL, &(struct scan_opts){ .depth = 4 }, &s), 0);
	assert_int_equal(scanner_next(s, &c), 1);
	scanner_free(s);
	disk_close(&d);
}

static void test_not_a_disk(void **state)
{
	struct disk d;

	(void)state;
	assert_int_equal(disk_open("/tmp", &d), -ENOTBLK);
	assert_int_equal(disk_open("/nonexistent/disk.img", &d), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_detection),
		cmocka_unit_test(test_zero_tail_hash),
		cmocka_unit_test(test_not_a_disk),
		cmocka_unit_test_setup_teardown(test_scan_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitmap_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipeline_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_early_free, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
