/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The remediations' text edits: exactly the bytes they must change, and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "edits.h"
#include "fstab.h"
#include "textedit.h"
#include "util.h"

static void expect_text(const struct text *t, const char *want)
{
	assert_int_equal(t->len, strlen(want));
	assert_string_equal(t->buf, want);
}

static void fstab_edit(const char *in, long line, const char *spec, const char *want)
{
	_cleanup_free_ char *copy = xstrdup(in);
	struct fstab f = { 0 };
	struct text t;
	const struct fstab_entry *e = NULL;

	fstab_parse(copy, strlen(copy), &f);
	for (size_t i = 0; i < f.n; i++)
		if (f.v[i].line == line)
			e = &f.v[i];
	assert_non_null(e);
	text_init(&t, in, strlen(in));
	assert_int_equal(fstab_replace_spec(&t, e, spec), 0);
	expect_text(&t, want);
	text_free(&t);
	fstab_free(&f);
}

static void test_fstab_spacing_comments(void **state)
{
	(void)state;
	fstab_edit("# /etc/fstab: static file system information.\n"
		   "  /dev/sda1\t/   ext4\terrors=remount-ro  0 1 # root\n"
		   "/dev/sda2 none swap sw 0 0\n",
		   2, "UUID=1111-2222",
		   "# /etc/fstab: static file system information.\n"
		   "  UUID=1111-2222\t/   ext4\terrors=remount-ro  0 1 # root\n"
		   "/dev/sda2 none swap sw 0 0\n");
	/* Last line without newline, CRLF endings, an escaped space elsewhere on the line. */
	fstab_edit("proc /proc proc defaults 0 0\r\n/dev/vdb1 /srv/my\\040data xfs defaults,nofail 0 2",
		   2, "UUID=abcd",
		   "proc /proc proc defaults 0 0\r\nUUID=abcd /srv/my\\040data xfs defaults,nofail 0 2");
}

static void test_apt_line(void **state)
{
	struct text t;

	(void)state;
	const char *in = "deb http://deb.debian.org/debian bookworm main\n"
			 "deb cdrom:[Debian GNU/Linux 12]/ bookworm main\n";
	text_init(&t, in, strlen(in));
	assert_int_equal(repo_disable_apt_line(&t, 2), 0);
	expect_text(&t, "deb http://deb.debian.org/debian bookworm main\n"
			"# deb cdrom:[Debian GNU/Linux 12]/ bookworm main\n");
	assert_int_equal(repo_disable_apt_line(&t, 2), 0); /* already disabled: unchanged */
	expect_text(&t, "deb http://deb.debian.org/debian bookworm main\n"
			"# deb cdrom:[Debian GNU/Linux 12]/ bookworm main\n");
	assert_int_equal(repo_disable_apt_line(&t, 9), -ERANGE);
	text_free(&t);
}

static void test_deb822(void **state)
{
	const char *in = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\n"
			 "Types: deb\nURIs: file:///media/cdrom\nSuites: bookworm\nComponents: main\n";
	const char *in2 = "Types: deb\nURIs: file:/srv/mirror\nenabled: yes\nSuites: bookworm\n";
	struct text t;

	(void)state;
	text_init(&t, in, strlen(in));
	assert_int_equal(repo_disable_deb822(&t, 6), 0);
	expect_text(&t, "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\n"
			"Types: deb\nURIs: file:///media/cdrom\nSuites: bookworm\nComponents: main\nEnabled: no\n");
	assert_int_equal(repo_disable_deb822(&t, 6), 0); /* idempotent */
	assert_int_equal((long)text_nlines(&t), 9);
	text_free(&t);

	text_init(&t, in2, strlen(in2));
	assert_int_equal(repo_disable_deb822(&t, 2), 0);
	expect_text(&t, "Types: deb\nURIs: file:/srv/mirror\nEnabled: no\nSuites: bookworm\n");
	text_free(&t);
}

static void test_yum_zypper(void **state)
{
	const char *in = "[base]\nname=Base\nbaseurl=http://mirror/\n\n[media]\nname=DVD\nbaseurl=file:///mnt/dvd\n"
			 "enabled = 1\ngpgcheck=0\n[after]\nbaseurl=http://x/\n";
	const char *in2 = "[cd]\nbaseurl=cd:/?devices=/dev/sr0\n";
	struct text t;

	(void)state;
	text_init(&t, in, strlen(in));
	assert_int_equal(repo_disable_ini(&t, 7), 0);
	expect_text(&t, "[base]\nname=Base\nbaseurl=http://mirror/\n\n[media]\nname=DVD\nbaseurl=file:///mnt/dvd\n"
			"enabled=0\ngpgcheck=0\n[after]\nbaseurl=http://x/\n");
	text_free(&t);

	const char *twice = "[x]\nenabled=0\nbaseurl=file:///y\nenabled=1\n";
	text_init(&t, twice, strlen(twice));
	assert_int_equal(repo_disable_ini(&t, 1), 0); /* the later enabled=1 would win: both say 0 */
	expect_text(&t, "[x]\nenabled=0\nbaseurl=file:///y\nenabled=0\n");
	text_free(&t);

	text_init(&t, in2, strlen(in2));
	assert_int_equal(repo_disable_ini(&t, 2), 0);
	expect_text(&t, "[cd]\nenabled=0\nbaseurl=cd:/?devices=/dev/sr0\n");
	text_free(&t);

	text_init(&t, "baseurl=file:///x\n", 18);
	assert_int_equal(repo_disable_ini(&t, 1), -EBADMSG);
	text_free(&t);
}

static void test_udev_comment(void **state)
{
	const char *in = "# keep\nSUBSYSTEM==\"block\", ATTRS{model}==\"X\", \\\n  SYMLINK+=\"data\"\n"
			 "KERNEL==\"sd*\", OPTIONS+=\"x\"\n";
	struct text t;

	(void)state;
	text_init(&t, in, strlen(in));
	assert_int_equal(udev_comment_rule(&t, 2, "# why"), 0);
	expect_text(&t, "# keep\n# why\n# SUBSYSTEM==\"block\", ATTRS{model}==\"X\", \\\n#   SYMLINK+=\"data\"\n"
			"KERNEL==\"sd*\", OPTIONS+=\"x\"\n");
	text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fstab_spacing_comments),
		cmocka_unit_test(test_apt_line),
		cmocka_unit_test(test_deb822),
		cmocka_unit_test(test_yum_zypper),
		cmocka_unit_test(test_udev_comment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
