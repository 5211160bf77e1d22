/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsers of the foundation: fstab, os-release, kernel versions, mountinfo — with hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fstab-resolve.h"
#include "fstab.h"
#include "kver.h"
#include "mountinfo.h"
#include "osrelease.h"
#include "util.h"

static void parse(const char *text, size_t len, struct fstab *f)
{
	char *buf = xmalloc(len + 1);

	memcpy(buf, text, len);
	buf[len] = '\0';
	fstab_parse(buf, len, f);
	free(buf);
}

static void test_fstab_basic(void **state)
{
	static const char text[] = "# comment line\n"
				   "\n"
				   "UUID=1234-abcd\t/\text4\tdefaults,noatime\t0\t1\n"
				   "  /dev/sda2   none swap sw 0 0   # trailing comment\n"
				   "LABEL=My\\040Data /srv/my\\040data xfs defaults\n"
				   "proc /proc proc defaults 0 0\n"
				   "server:/export /mnt/nfs nfs rw\n"
				   "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3 /var ext4 defaults 0 2";
	struct fstab f;

	(void)state;
	parse(text, strlen(text), &f);
	assert_int_equal(f.nbad, 0);
	assert_int_equal(f.n, 6);
	assert_string_equal(f.v[0].spec, "UUID=1234-abcd");
	assert_string_equal(f.v[0].file, "/");
	assert_int_equal(f.v[0].passno, 1);
	assert_int_equal(f.v[0].line, 3);
	assert_string_equal(f.v[1].spec, "/dev/sda2");
	assert_int_equal(f.v[1].spec_off, 2);
	assert_int_equal(f.v[1].spec_len, 9);
	assert_string_equal(f.v[2].spec, "LABEL=My Data");
	assert_string_equal(f.v[2].file, "/srv/my data");
	assert_string_equal(f.v[2].opts, "defaults");
	assert_int_equal(fstab_spec_kind(f.v[0].spec, f.v[0].type), SPEC_UUID);
	assert_int_equal(fstab_spec_kind(f.v[1].spec, f.v[1].type), SPEC_KERNEL_NAME);
	assert_int_equal(fstab_spec_kind(f.v[2].spec, f.v[2].type), SPEC_LABEL);
	assert_int_equal(fstab_spec_kind(f.v[3].spec, f.v[3].type), SPEC_PSEUDO);
	assert_int_equal(fstab_spec_kind(f.v[4].spec, f.v[4].type), SPEC_NETWORK);
	assert_int_equal(fstab_spec_kind(f.v[5].spec, f.v[5].type), SPEC_BY_ID);
	fstab_free(&f);
}

static void test_fstab_kinds(void **state)
{
	static const struct { const char *spec; enum spec_kind k; } cases[] = {
		{ "/dev/sda", SPEC_KERNEL_NAME },	  { "/dev/sdab12", SPEC_KERNEL_NAME },
		{ "/dev/vdb1", SPEC_KERNEL_NAME },	  { "/dev/xvda1", SPEC_KERNEL_NAME },
		{ "/dev/nvme0n1p2", SPEC_KERNEL_NAME },	  { "/dev/nvme10n1", SPEC_KERNEL_NAME },
		{ "/dev/hda3", SPEC_KERNEL_NAME },	  { "/dev/mmcblk0p1", SPEC_KERNEL_NAME },
		{ "/dev/mapper/rhel-root", SPEC_MAPPER }, { "/dev/vg0/lv_root", SPEC_MAPPER },
		{ "/dev/md0", SPEC_MAPPER },		  { "PARTUUID=abc-01", SPEC_PARTUUID },
		{ "/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part1", SPEC_BY_PATH },
		{ "/dev/disk/by-uuid/1234", SPEC_UUID },   { "/swapfile", SPEC_OTHER },
		{ "/dev/sdX", SPEC_OTHER },		  { "//srv/share", SPEC_NETWORK },
		{ "/dev/dm-0", SPEC_KERNEL_NAME },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (fstab_spec_kind(cases[i].spec, "ext4") != cases[i].k)
			fail_msg("%s: kind %d, expected %d", cases[i].spec, fstab_spec_kind(cases[i].spec, "ext4"),
				 cases[i].k);
	}
	assert_false(spec_kind_stable(SPEC_KERNEL_NAME));
	assert_true(spec_kind_stable(SPEC_MAPPER));
}

static void test_fstab_malformed(void **state)
{
	/* Missing fields, non-numeric pass, seven fields, a NUL byte in the middle of a line. */
	static const char text[] = "/dev/sda1\n"
				   "/dev/sda2 /home\n"
				   "/dev/sda3 /x ext4 defaults zero 1\n"
				   "/dev/sda4 /y ext4 defaults 0 1 extra\n"
				   "/dev/sd\0a5 /z ext4 defaults 0 1\n"
				   "UUID=ok / ext4 defaults 0 1\n";
	struct fstab f;

	(void)state;
	parse(text, sizeof(text) - 1, &f);
	assert_int_equal(f.nbad, 5);
	assert_int_equal(f.bad[0].line, 1);
	assert_int_equal(f.bad[4].line, 5);
	assert_non_null(strstr(f.bad[4].reason, "NUL"));
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].line, 6);
	fstab_free(&f);
}

static void test_fstab_huge(void **state)
{
	size_t n = 10000, len = 0;
	char *big = xmalloc(n * 64);
	struct fstab f;

	(void)state;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(big + len, "/dev/sdb%zu /mnt/d%zu ext4 defaults 0 2\n", i, i);
	parse(big, len, &f);
	assert_int_equal(f.n, n);
	assert_int_equal(f.v[n - 1].line, (long)n);
	fstab_free(&f);
	free(big);
	/* One line without a newline and nothing else; CRLF line ends. */
	parse("UUID=x / ext4 defaults 0 1\r\n/dev/vda1\t/boot\text4\tdefaults", 48, &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.v[0].opts, "defaults");
	assert_int_equal(f.v[0].passno, 1);
	assert_string_equal(f.v[1].type, "ext4");
	fstab_free(&f);
}

static void test_fstab_tags(void **state)
{
	char *v;

	(void)state;
	v = fstab_tag_value("UUID=\"abc\"", "UUID");
	assert_string_equal(v, "abc");
	free(v);
	assert_null(fstab_tag_value("LABEL=x", "UUID"));
	assert_true(fstab_has_option("rw,nofail,x-systemd.device-timeout=5", "nofail"));
	assert_false(fstab_has_option("rw,nofailx", "nofail"));
	char base[64];
	int part;
	assert_true(kernel_name_split("/dev/nvme0n1p3", base, sizeof(base), &part));
	assert_string_equal(base, "nvme0n1");
	assert_int_equal(part, 3);
	assert_true(kernel_name_split("/dev/sdb", base, sizeof(base), &part));
	assert_string_equal(base, "sdb");
	assert_int_equal(part, 0);
	assert_true(kernel_name_split("/dev/xvda12", base, sizeof(base), &part));
	assert_string_equal(base, "xvda");
	assert_int_equal(part, 12);
}

static int osr(const char *text, struct os_release *o, long *line)
{
	char *buf = xstrdup(text);
	int r = osrelease_parse(buf, strlen(buf), o, line);

	free(buf);
	return r;
}

static void test_osrelease(void **state)
{
	struct os_release o;
	long line = 0;

	(void)state;
	assert_int_equal(osr("# comment\nNAME=\"Red Hat Enterprise Linux\"\nID=rhel\nID_LIKE='fedora'\n"
			     "VERSION_ID=\"9.3\"\nPRETTY_NAME=\"A \\\"quoted\\\" \\$name\\\\\"\n"
			     "EMPTY=\nSPACED=\"a b\"  # trailing\nID=rhel2\n", &o, &line), 0);
	assert_string_equal(osrelease_get(&o, "NAME"), "Red Hat Enterprise Linux");
	assert_string_equal(osrelease_get(&o, "ID_LIKE"), "fedora");
	assert_string_equal(osrelease_get(&o, "VERSION_ID"), "9.3");
	assert_string_equal(osrelease_get(&o, "PRETTY_NAME"), "A \"quoted\" $name\\");
	assert_string_equal(osrelease_get(&o, "EMPTY"), "");
	assert_string_equal(osrelease_get(&o, "SPACED"), "a b");
	assert_string_equal(osrelease_get(&o, "ID"), "rhel2"); /* last assignment wins */
	assert_null(osrelease_get(&o, "MISSING"));
	osrelease_free(&o);

	assert_int_equal(osr("ID=debian\nVERSION_ID=\"12\n", &o, &line), -EBADMSG);
	assert_int_equal(line, 2);
	assert_int_equal(osr("ID=debian\nthis is not an assignment\n", &o, &line), -EBADMSG);
	assert_int_equal(line, 2);
	assert_int_equal(osr("BAD-KEY=x\n", &o, &line), -EBADMSG);
	assert_int_equal(osr("ID=x\\\n", &o, &line), -EBADMSG);
	char nul[] = "ID=de\0bian\n";
	assert_int_equal(osrelease_parse(nul, sizeof(nul) - 1, &o, &line), -EBADMSG);
}

static void test_kver(void **state)
{
	static const char *const ascending[] = {
		"3.10.0-1160.el7.x86_64", "4.18.0-80.el8",    "5.14.0-70.el9",    "5.14.0-362.el9",
		"5.14.0-362.8.1.el9_3",	  "6.1.0-9-amd64",    "6.1.0-10-amd64",	  "6.1.0-50-amd64",
		"6.1.0-50-cloud-amd64",	  "6.10.0",	      "6.10.1~rc1",	  "6.10.1",
	};
	char *v[ARRAY_SIZE(ascending)];

	(void)state;
	assert_true(kver_cmp("5.14.0-362.el9", "5.14.0-70.el9") > 0);
	assert_true(kver_cmp("6.1.0-50-amd64", "6.1.0-9-amd64") > 0);
	assert_int_equal(kver_cmp("1.0", "1.0"), 0);
	assert_int_equal(kver_cmp("1.00", "1.0"), 0);
	assert_true(kver_cmp("1.0.1", "1.0") > 0);
	assert_true(kver_cmp("1.0~rc1", "1.0") < 0);
	assert_true(kver_cmp("", "1") < 0);
	for (size_t i = 0; i < ARRAY_SIZE(ascending); i++)
		v[i] = (char *)ascending[ARRAY_SIZE(ascending) - 1 - i];
	kver_sort(v, ARRAY_SIZE(v));
	for (size_t i = 0; i < ARRAY_SIZE(ascending); i++)
		assert_string_equal(v[i], ascending[i]);
}

static void test_mountinfo(void **state)
{
	static const char text[] =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
		"40 22 7:0 / /mnt/with\\040space ro,relatime - xfs /dev/loop0 rw,attr2\n"
		"41 22 7:0 /sub /mnt/bind rw shared:5 master:2 - xfs /dev/loop0 rw\n";
	struct mount_table t;
	long line = 0;

	(void)state;
	assert_int_equal(mountinfo_parse(text, &t, &line), 0);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.v[2].target, "/mnt/with space");
	assert_true(t.v[2].read_only);
	assert_false(t.v[0].read_only);
	assert_int_equal(t.v[3].major, 7);
	assert_string_equal(t.v[3].root, "/sub");
	assert_string_equal(t.v[3].fstype, "xfs");
	mountinfo_free(&t);
	assert_int_equal(mountinfo_parse("22 1 8:1 / / rw\n", &t, &line), -EBADMSG);
	assert_int_equal(mountinfo_parse("x y z - a b c\n", &t, &line), -EBADMSG);
	assert_true(path_is_under("/mnt/a/b", "/mnt/a"));
	assert_true(path_is_under("/mnt/a", "/mnt/a/"));
	assert_false(path_is_under("/mnt/ab", "/mnt/a"));
	assert_true(path_is_under("/x", "/"));
	char esc[] = "a\\040b\\011c\\000d\\9";
	unescape_octal(esc);
	assert_string_equal(esc, "a b\tc?d\\9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fstab_basic),  cmocka_unit_test(test_fstab_kinds),
		cmocka_unit_test(test_fstab_malformed), cmocka_unit_test(test_fstab_huge),
		cmocka_unit_test(test_fstab_tags),   cmocka_unit_test(test_osrelease),
		cmocka_unit_test(test_kver),	     cmocka_unit_test(test_mountinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
