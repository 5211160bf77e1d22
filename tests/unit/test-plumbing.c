/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared plumbing: resolution inside a root that cannot escape, bounded reads, atomic writes, run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "fileio.h"
#include "run.h"
#include "sysroot.h"
#include "util.h"

struct fixture {
	char outside[64], root[80];
};

static void put(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* root/ has etc/os-release, and links that try to leave it; outside/secret must never be read. */
static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char p[256];

	strcpy(fx->outside, "/tmp/mobility-sysroot-XXXXXX");
	assert_non_null(mkdtemp(fx->outside));
	snprintf(fx->root, sizeof(fx->root), "%s/root", fx->outside);
	mkdir(fx->root, 0755);
	snprintf(p, sizeof(p), "%s/secret", fx->outside);
	put(p, "HOST SECRET\n");
	snprintf(p, sizeof(p), "%s/etc", fx->root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/os-release", fx->root);
	put(p, "ID=guest\n");
	snprintf(p, sizeof(p), "%s/secret", fx->root);
	put(p, "guest secret\n");
#define LINK(target, name)                                         \
	do {                                                       \
		snprintf(p, sizeof(p), "%s/%s", fx->root, name);   \
		assert_int_equal(symlink(target, p), 0);           \
	} while (0)
	LINK("../secret", "etc/dotdot");          /* ../ from etc is root/secret */
	LINK("../../../../../../secret", "etc/deep"); /* clamps at the root */
	LINK("/secret", "abs");                   /* absolute: the guest's /secret */
	LINK("/etc/../../secret", "absdotdot");
	LINK("loop2", "loop1");
	LINK("loop1", "loop2");
	LINK("/etc", "etclink");
	LINK("/proc/self/root/secret", "magic");  /* the host's root through procfs */
#undef LINK
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	const char *const argv[] = { "rm", "-rf", fx->outside, NULL };
	struct run_result res;

	assert_int_equal(run_cmd(argv, NULL, &res), 0);
	run_result_free(&res);
	free(fx);
	return 0;
}

static void check_root(struct fixture *fx, unsigned flags)
{
	struct sysroot *sr;
	char *buf = NULL;
	static const char *const guest_secret[] = { "/etc/dotdot", "/etc/deep", "/abs", "/absdotdot",
						     "etc/../../../secret", "/../../secret" };

	assert_int_equal(sysroot_new(fx->root, flags, &sr), 0);
	assert_int_equal(sysroot_read_file(sr, "/etc/os-release", 1024, &buf, NULL), 0);
	assert_string_equal(buf, "ID=guest\n");
	free(buf);
	for (size_t i = 0; i < ARRAY_SIZE(guest_secret); i++) {
		buf = NULL;
		if (sysroot_read_file(sr, guest_secret[i], 1024, &buf, NULL) != 0)
			fail_msg("%s: not readable", guest_secret[i]);
		if (strcmp(buf, "guest secret\n") != 0)
			fail_msg("%s escaped the root: read '%s'", guest_secret[i], buf);
		free(buf);
	}
	assert_int_equal(sysroot_read_file(sr, "/loop1", 1024, &buf, NULL), -ELOOP);
	assert_true(sysroot_exists(sr, "/etclink/os-release"));
	assert_false(sysroot_exists(sr, "/missing/file"));
	/* /proc inside the guest does not exist, so the magic link cannot reach the host. */
	assert_true(sysroot_read_file(sr, "/magic", 1024, &buf, NULL) < 0);
	assert_int_equal(sysroot_read_file(sr, "/etc", 1024, &buf, NULL), -EISDIR);

	char *target = NULL;
	assert_int_equal(sysroot_readlink(sr, "/abs", &target), 0);
	assert_string_equal(target, "/secret");
	free(target);

	strv names = { 0 };
	assert_int_equal(sysroot_list_dir(sr, "/etc", &names), 0);
	assert_int_equal(names.n, 3);
	assert_string_equal(names.v[0], "deep"); /* sorted */
	strv_free(&names);

	const char *name = NULL;
	int dfd = sysroot_open_parent(sr, "/etclink/../etc/new-file", &name);
	assert_true(dfd >= 0);
	assert_string_equal(name, "new-file");
	assert_int_equal(write_file_atomic_at(dfd, name, "x\n", 2, 0640), 0);
	close(dfd);
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/etc/new-file", fx->root);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	unlink(p);
	sysroot_free(sr);
}

static void test_sysroot_openat2(void **state) { check_root(*state, 0); }
static void test_sysroot_portable(void **state) { check_root(*state, SYSROOT_NO_OPENAT2); }

static void test_read_bounded(void **state)
{
	struct fixture *fx = *state;
	char p[256], *buf = NULL;
	size_t len;
	int fd;

	snprintf(p, sizeof(p), "%s/big", fx->outside);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1LL << 30), 0); /* a 1 GiB file must not be slurped */
	close(fd);
	assert_int_equal(read_file_bounded(p, CONFIG_FILE_MAX, &buf, &len), -EFBIG);
	snprintf(p, sizeof(p), "%s/fifo", fx->outside);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(read_file_bounded(p, 1024, &buf, &len), -EINVAL); /* would block forever */
	/* /proc files report size 0 and are read whole anyway. */
	assert_int_equal(read_file_bounded("/proc/self/mountinfo", 16u << 20, &buf, &len), 0);
	assert_true(len > 0);
	free(buf);
	assert_int_equal(read_file_bounded("/proc/self/mountinfo", 8, &buf, &len), -EFBIG);
}

static void test_atomic_replace(void **state)
{
	struct fixture *fx = *state;
	char p[256], *buf = NULL;

	snprintf(p, sizeof(p), "%s/file", fx->outside);
	put(p, "old\n");
	assert_int_equal(write_file_atomic(p, "new content\n", 12, 0600), 0);
	assert_int_equal(read_file_bounded(p, 100, &buf, NULL), 0);
	assert_string_equal(buf, "new content\n");
	free(buf);
	/* Into a missing directory: an error, and nothing changes. */
	snprintf(p, sizeof(p), "%s/missing/file", fx->outside);
	assert_int_equal(write_file_atomic(p, "x", 1, 0600), -ENOENT);
}

static void test_run(void **state)
{
	const char *const echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *const sleeper[] = { "sh", "-c", "sleep 30 & sleep 30", NULL };
	const char *const missing[] = { "/nonexistent/tool", NULL };
	const char *const flood[] = { "head", "-c", "10000000", "/dev/zero", NULL };
	const char *const cat[] = { "cat", NULL };
	struct run_opts o = { .timeout_ms = 300 };
	struct run_result res;
	struct timespec t0, t1;

	(void)state;
	assert_int_equal(run_cmd(echo, NULL, &res), 0);
	assert_string_equal(res.out, "out\n");
	assert_string_equal(res.err, "err\n");
	assert_int_equal(res.exit_code, 3);
	assert_false(run_ok(&res));
	run_result_free(&res);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(run_cmd(sleeper, &o, &res), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(res.timed_out);
	assert_true(t1.tv_sec - t0.tv_sec < 5); /* the whole group died, grandchild included */
	run_result_free(&res);

	assert_int_equal(run_cmd(missing, NULL, &res), -ENOENT);

	struct run_opts small = { .max_output = 4096 };
	assert_int_equal(run_cmd(flood, &small, &res), 0);
	assert_int_equal(res.out_len, 4096);
	assert_true(res.out_truncated);
	assert_true(run_ok(&res));
	run_result_free(&res);

	struct run_opts in = { .stdin_data = "fed\n" };
	assert_int_equal(run_cmd(cat, &in, &res), 0);
	assert_string_equal(res.out, "fed\n");
	run_result_free(&res);

	char *sh = find_program("sh");
	assert_non_null(sh);
	free(sh);
	assert_null(find_program("no-such-program-here"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sysroot_openat2), cmocka_unit_test(test_sysroot_portable),
		cmocka_unit_test(test_read_bounded),	cmocka_unit_test(test_atomic_replace),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
