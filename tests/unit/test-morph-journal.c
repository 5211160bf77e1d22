/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Journal + undo round trip on a scratch root: bytes, mode, owner, times and xattrs come back; files
 * and directories --fix created go away; a manifest line cut by a kill is ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fileio.h"
#include "journal.h"
#include "sysroot.h"

static char root[64];

static char *at(const char *p) { return xasprintf("%s%s", root, p); }

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/test-morph-journal.XXXXXX");
	assert_non_null(mkdtemp(root));
	_cleanup_free_ char *etc = at("/etc");
	assert_int_equal(mkdir(etc, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);

	(void)state;
	return system(cmd) == 0 ? 0 : -1;
}

static void make_file(const char *p, const char *content, mode_t mode)
{
	_cleanup_free_ char *h = at(p);

	assert_int_equal(write_file_atomic(h, content, strlen(content), mode), 0);
}

static void assert_content(const char *p, const char *want)
{
	_cleanup_free_ char *h = at(p), *buf = NULL;
	size_t len;

	assert_int_equal(read_file_bounded(h, 1 << 20, &buf, &len), 0);
	assert_string_equal(buf, want);
}

/* Replace a guest file as --fix does: metadata of the original kept. */
static void change(struct sysroot *sr, const char *p, const char *content)
{
	const char *name;
	_cleanup_close_ int dfd = sysroot_open_parent(sr, p, &name);
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY);
	struct file_meta m;

	assert_true(fd >= 0);
	assert_int_equal(meta_read_fd(fd, &m), 0);
	assert_int_equal(replace_file_at(dfd, name, content, strlen(content), -1, &m, false, 0), 0);
	meta_free(&m);
}

static void test_round_trip(void **state)
{
	_cleanup_free_ char *conf = at("/etc/a.conf"), *newf = at("/etc/new.d/b.conf"), *newd = at("/etc/new.d");
	struct sysroot *sr = NULL;
	struct journal *j = NULL;
	struct stat before, after;
	char val[64];
	bool found;
	FILE *out = fopen("/dev/null", "w");

	(void)state;
	make_file("/etc/a.conf", "original\n", 0640);
	assert_int_equal(chown(conf, 1234, 5678), 0);
	assert_int_equal(setxattr(conf, "user.mobility", "label-1", 7, 0), 0);
	bool trusted = setxattr(conf, "trusted.mobility", "t\0x", 3, 0) == 0; /* binary value, root only */
	struct timespec ts[2] = { { 1000000, 5 }, { 2000000, 7 } };
	assert_int_equal(utimensat(AT_FDCWD, conf, ts, 0), 0);
	assert_int_equal(stat(conf, &before), 0);

	assert_int_equal(sysroot_new(root, 0, &sr), 0);
	assert_int_equal(journal_create(sr, &j), 0);
	assert_int_equal(journal_save(j, "/etc/a.conf", false), 0);
	change(sr, "/etc/a.conf", "changed\n");
	assert_int_equal(journal_note(j, "dir", "/etc/new.d"), 0);
	assert_int_equal(mkdir(newd, 0755), 0);
	assert_int_equal(journal_save(j, "/etc/new.d/b.conf", false), 0); /* absent: recorded "new" */
	make_file("/etc/new.d/b.conf", "new\n", 0644);

	/* The original's metadata survived the replace itself. */
	assert_int_equal(stat(conf, &after), 0);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(after.st_uid, 1234);
	assert_int_equal(getxattr(conf, "user.mobility", val, sizeof(val)), 7);

	/* A record cut by a kill: ignored. */
	_cleanup_free_ char *mpath = xasprintf("%s%s/manifest", root, journal_path(j));
	int mfd = open(mpath, O_WRONLY | O_APPEND);
	assert_true(mfd >= 0);
	assert_int_equal(write(mfd, "file 99 /etc/x", 14), 14);
	close(mfd);
	journal_free(j);

	assert_int_equal(journal_undo(sr, NULL, out, &found), 0);
	assert_true(found);
	assert_content("/etc/a.conf", "original\n");
	assert_int_equal(stat(conf, &after), 0);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(after.st_uid, 1234);
	assert_int_equal(after.st_gid, 5678);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(getxattr(conf, "user.mobility", val, sizeof(val)), 7);
	assert_memory_equal(val, "label-1", 7);
	if (trusted) {
		assert_int_equal(getxattr(conf, "trusted.mobility", val, sizeof(val)), 3);
		assert_memory_equal(val, "t\0x", 3);
	}
	assert_int_equal(access(newf, F_OK), -1);
	assert_int_equal(access(newd, F_OK), -1);

	/* Undone once: nothing pending any more. */
	assert_int_equal(journal_undo(sr, NULL, out, &found), 0);
	assert_false(found);
	sysroot_free(sr);
	fclose(out);
}

static void test_meta_format(void **state)
{
	struct file_meta m = { .mode = 04755, .uid = 1, .gid = 2 }, back;
	_cleanup_free_ char *s = NULL;

	(void)state;
	m.xvals = xcalloc(1, sizeof(char *));
	m.xlens = xcalloc(1, sizeof(size_t));
	m.xvals[0] = xstrdup("system_u:object_r:etc_t:s0");
	m.xlens[0] = strlen(m.xvals[0]) + 1; /* SELinux labels carry their NUL */
	strv_push(&m.xnames, "security.selinux");
	s = meta_format(&m);
	assert_int_equal(meta_parse(s, &back), 0);
	assert_int_equal(back.mode, 04755);
	assert_int_equal(back.xnames.n, 1);
	assert_string_equal(back.xnames.v[0], "security.selinux");
	assert_int_equal(back.xlens[0], m.xlens[0]);
	assert_memory_equal(back.xvals[0], m.xvals[0], m.xlens[0]);
	meta_free(&back);
	assert_int_equal(meta_parse("mode 644\n", &back), -EBADMSG); /* no owner: refused, nothing kept */
	assert_int_equal(meta_parse("mode 644\nuid 0\ngid 0\nxattr user.x 4g\n", &back), -EBADMSG);
	meta_free(&m);
}

static void test_lock(void **state)
{
	struct sysroot *sr = NULL;
	int a = -1, b = -1;
	char *why = NULL;

	(void)state;
	assert_int_equal(sysroot_new(root, 0, &sr), 0);
	assert_int_equal(morph_lock(sr, &a, &why), 0);
	/* flock conflicts between open file descriptions, even in one process. */
	assert_int_equal(morph_lock(sr, &b, &why), -EBUSY);
	assert_non_null(strstr(why, "another prepcheck"));
	free(why);
	close(a);
	assert_int_equal(morph_lock(sr, &b, &why), 0);
	close(b);
	sysroot_free(sr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test(test_meta_format),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
