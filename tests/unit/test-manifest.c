/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The manifest: round trip, atomic replacement, and corrupt or foreign files refused, never trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"
#include "manifest.h"
#include "passlog.h"
#include "util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-manifest.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	return system(cmd) == 0 ? 0 : -1;
}

static struct manifest *sample(void)
{
	/* 3 full chunks and an odd tail */
	struct manifest *m = manifest_new(3ull * 1048576 + 4096, 1048576, "file:8:1:42", "https://a:1 web01 sda");

	for (uint64_t i = 0; i < m->nchunks; i++)
		memset(m->hashes[i], (int)(0xa0 + i), CHUNK_HASH_LEN);
	m->committed_pass = 7;
	return m;
}

static void test_round_trip(void **state)
{
	_cleanup_manifest_ struct manifest *m = sample();
	_cleanup_manifest_ struct manifest *l = NULL;
	_cleanup_free_ char *path = xasprintf("%s/sda.manifest", dir);

	(void)state;
	assert_int_equal(m->nchunks, 4);
	assert_int_equal(manifest_save(path, m), 0);
	assert_int_equal(manifest_load(path, &l), 0);
	assert_int_equal(l->disk_size, m->disk_size);
	assert_int_equal(l->chunk_size, m->chunk_size);
	assert_int_equal(l->committed_pass, 7);
	assert_int_equal(l->nchunks, 4);
	assert_string_equal(l->identity, "file:8:1:42");
	assert_string_equal(l->target, "https://a:1 web01 sda");
	assert_memory_equal(l->hashes, m->hashes, 4 * CHUNK_HASH_LEN);
}

static void test_missing(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/none.manifest", dir);
	struct manifest *l = NULL;

	(void)state;
	assert_int_equal(manifest_load(path, &l), -ENOENT);
}

/* Every single flipped byte and every truncation is detected. */
static void test_corruption(void **state)
{
	_cleanup_manifest_ struct manifest *m = sample();
	size_t len;
	_cleanup_free_ uint8_t *buf = manifest_serialize(m, &len);

	(void)state;
	for (size_t i = 0; i < len; i += 7) {
		struct manifest *l = NULL;

		buf[i] ^= 0x40;
		assert_int_equal(manifest_parse(buf, len, &l), -EBADMSG);
		buf[i] ^= 0x40;
	}
	for (size_t cut = 0; cut < len; cut += 97) {
		struct manifest *l = NULL;
		assert_int_equal(manifest_parse(buf, cut, &l), -EBADMSG);
	}
	{
		struct manifest *l = NULL;
		assert_int_equal(manifest_parse(buf, len, &l), 0);
		manifest_free(l);
	}
}

/* The replacement is atomic: no temp file is left, the old content stays until the rename. */
static void test_replace(void **state)
{
	_cleanup_manifest_ struct manifest *m = sample();
	_cleanup_manifest_ struct manifest *l = NULL;
	_cleanup_free_ char *path = xasprintf("%s/sdb.manifest", dir);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	unsigned files = 0;

	(void)state;
	assert_int_equal(manifest_save(path, m), 0);
	m->committed_pass = 8;
	memset(m->hashes[2], 0x11, CHUNK_HASH_LEN);
	assert_int_equal(manifest_save(path, m), 0);
	assert_int_equal(manifest_load(path, &l), 0);
	assert_int_equal(l->committed_pass, 8);
	assert_memory_equal(l->hashes[2], m->hashes[2], CHUNK_HASH_LEN);
	d = opendir(dir);
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp"))
			files++;
	assert_int_equal(files, 0);
}

/* The pass log: entries survive reopen for the same pass, and are forgotten for another pass. */
static void test_passlog(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/sda.pass", dir);
	uint8_t h[CHUNK_HASH_LEN], g[CHUNK_HASH_LEN];
	struct passlog *pl = NULL;

	(void)state;
	memset(h, 0x5a, sizeof(h));
	memset(g, 0x33, sizeof(g));
	assert_int_equal(passlog_open(path, 4, 10 << 20, 1 << 20, "t", &pl), 0);
	assert_false(passlog_any(pl, 3));
	assert_int_equal(passlog_record(pl, 3, h), 0);
	assert_int_equal(passlog_record(pl, 9, g), 0);
	assert_int_equal(passlog_record(pl, 10, g), -ERANGE);
	passlog_close(pl);

	assert_int_equal(passlog_open(path, 4, 10 << 20, 1 << 20, "t", &pl), 0);
	assert_true(passlog_has(pl, 3, h));
	assert_false(passlog_has(pl, 3, g));
	assert_true(passlog_has(pl, 9, g));
	assert_int_equal(passlog_erase(pl, 3), 0);
	passlog_close(pl);

	assert_int_equal(passlog_open(path, 4, 10 << 20, 1 << 20, "t", &pl), 0);
	assert_false(passlog_any(pl, 3));
	assert_true(passlog_has(pl, 9, g));
	passlog_close(pl);

	/* another pass (or size, or target): nothing is vouched for */
	assert_int_equal(passlog_open(path, 5, 10 << 20, 1 << 20, "t", &pl), 0);
	assert_false(passlog_any(pl, 9));
	passlog_close(pl);
	assert_int_equal(passlog_remove(path), 0);
	assert_int_equal(passlog_remove(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_passlog),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
