/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sync pass helpers: the default chunk size rule (docs/replication.md §5) and protocol names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "replicate.h"

static void test_default_chunk_size(void **state)
{
	(void)state;
	assert_int_equal(sync_default_chunk_size(1), 64 << 10);
	assert_int_equal(sync_default_chunk_size(2ull << 30), 64 << 10);
	assert_int_equal(sync_default_chunk_size(32ull << 30), 64 << 10);
	assert_int_equal(sync_default_chunk_size((32ull << 30) + 1), 128 << 10);
	assert_int_equal(sync_default_chunk_size(512ull << 30), 1 << 20);
	assert_int_equal(sync_default_chunk_size(8ull << 40), 16 << 20);
	assert_int_equal(sync_default_chunk_size(64ull << 40), 16 << 20); /* the protocol's maximum */
	for (uint64_t size = 1ull << 20; size <= (8ull << 40); size = size * 3 + 7)
		assert_true(disk_nchunks(size, sync_default_chunk_size(size)) <= SYNC_TARGET_CHUNKS);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(sync_name_valid("sda"));
	assert_true(sync_name_valid("web-01.disk_0"));
	assert_false(sync_name_valid(""));
	assert_false(sync_name_valid("."));
	assert_false(sync_name_valid(".."));
	assert_false(sync_name_valid("../etc"));
	assert_false(sync_name_valid("a/b"));
	assert_false(sync_name_valid("a b"));
	assert_true(sync_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(sync_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_chunk_size),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
