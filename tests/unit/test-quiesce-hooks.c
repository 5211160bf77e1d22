/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Freeze hooks: which files count, name order on freeze, reverse on thaw, stop at the first failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "fileio.h"
#include "quiesce-internal.h"

static char dir[64];

static void hook(const char *name, const char *body, mode_t mode)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *text = xasprintf("#!/bin/sh\necho \"%s $1 $MOBILITY_FREEZE_PHASE\" >>%s/log\n%s\n", name,
					      dir, body);

	assert_int_equal(write_file_atomic(path, text, strlen(text), mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-quiesce-hooks.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	hook("20-b", "", 0755);
	hook("10-a", "", 0755);
	hook("30-fails", "[ \"$1\" = freeze ] && exit 3; exit 0", 0755);
	hook("40-never", "", 0755);
	hook("05-old~", "exit 1", 0755);
	hook("06.rpmnew", "exit 1", 0755);
	hook("07.rpmsave", "exit 1", 0755);
	hook("08.dpkg-dist", "exit 1", 0755);
	hook(".hidden", "exit 1", 0755);
	hook("09-plain", "exit 1", 0644);
	return 0;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	return system(cmd) == 0 ? 0 : -1;
}

static char *read_log(void)
{
	_cleanup_free_ char *path = xasprintf("%s/log", dir);
	char *buf = NULL;
	size_t len;

	if (read_file_bounded(path, 1 << 16, &buf, &len) < 0)
		return xstrdup("");
	unlink(path);
	return buf;
}

static void test_list(void **state)
{
	_cleanup_strv_ strv hooks = { 0 };

	(void)state;
	assert_int_equal(quiesce_hooks_list(dir, &hooks), 0);
	assert_int_equal(hooks.n, 4);
	assert_true(endswith(hooks.v[0], "/10-a"));
	assert_true(endswith(hooks.v[1], "/20-b"));
	assert_true(endswith(hooks.v[2], "/30-fails"));
	assert_true(endswith(hooks.v[3], "/40-never"));
}

static void test_missing_dir(void **state)
{
	_cleanup_strv_ strv hooks = { 0 };

	(void)state;
	assert_int_equal(quiesce_hooks_list("/nonexistent/freeze.d", &hooks), 0);
	assert_int_equal(hooks.n, 0);
}

static void test_run_order_and_failure(void **state)
{
	_cleanup_strv_ strv hooks = { 0 }, msgs = { 0 };
	_cleanup_free_ char *log1 = NULL, *log2 = NULL;
	size_t failed = 99;

	(void)state;
	assert_int_equal(quiesce_hooks_list(dir, &hooks), 0);
	assert_int_equal(quiesce_hooks_run(&hooks, hooks.n, "freeze", 5000, &msgs, &failed), -EIO);
	assert_int_equal(failed, 2);
	log1 = read_log();
	assert_string_equal(log1, "10-a freeze freeze\n20-b freeze freeze\n30-fails freeze freeze\n");
	assert_non_null(strstr(msgs.v[msgs.n - 1], "30-fails freeze: exit status 3"));
	/* Undo what did freeze, in reverse. */
	assert_int_equal(quiesce_hooks_run(&hooks, failed, "thaw", 5000, &msgs, NULL), 0);
	log2 = read_log();
	assert_string_equal(log2, "20-b thaw thaw\n10-a thaw thaw\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test(test_run_order_and_failure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
