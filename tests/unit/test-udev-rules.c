/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udev rules parser and the rule classification udev.net-rules / udev.block-rules rely on: a fixture
 * root (tests/fixtures/netrepo/udev-root) with the classic 70-persistent-net.rules, Oracle ASM style
 * block rules, a /run file shadowed by /etc, a rule file masked by /dev/null, malformed lines; and
 * odd-but-valid syntax from buffers (continuations, e"" strings, escapes, all six operators).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sysroot.h"
#include "udev-rules.h"
#include "util.h"

#define FIX TEST_SOURCE_DIR "/fixtures/netrepo/udev-root"

static const struct udev_rule *find_rule(const struct udev_rules *rs, const char *file, long line)
{
	for (size_t i = 0; i < rs->n; i++)
		if (endswith(rs->v[i].path, file) && rs->v[i].line == line)
			return &rs->v[i];
	return NULL;
}

static bool bad_at(const struct udev_rules *rs, const char *file, long line)
{
	for (size_t i = 0; i < rs->nbad; i++)
		if (endswith(rs->bad[i].path, file) && rs->bad[i].line == line)
			return true;
	return false;
}

static void test_operators_and_quoting(void **state)
{
	char buf[] = "KERNEL==\"a\", KERNEL!=\"b\",NAME=\"c\" SYMLINK+=\"d e\", SYMLINK-=\"f\", OWNER:=\"g\"\n"
		     "ENV{X}==\"with \\\"quotes\\\" and \\\\\", RUN+=e\"tab\\there\"\n"
		     "  \t\n# comment\n"
		     "ATTR{a/b}==\"1\", \\\n  NAME=\"joined\"\n";
	struct udev_rules rs = { 0 };

	udev_rules_parse(&rs, "/x.rules", buf, strlen(buf));
	assert_int_equal(rs.nbad, 0);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.v[0].ntok, 6);
	assert_int_equal(rs.v[0].tok[0].op, UDEV_OP_MATCH);
	assert_int_equal(rs.v[0].tok[1].op, UDEV_OP_NOMATCH);
	assert_int_equal(rs.v[0].tok[2].op, UDEV_OP_ASSIGN);
	assert_int_equal(rs.v[0].tok[3].op, UDEV_OP_ADD);
	assert_string_equal(rs.v[0].tok[3].value, "d e");
	assert_int_equal(rs.v[0].tok[4].op, UDEV_OP_REMOVE);
	assert_int_equal(rs.v[0].tok[5].op, UDEV_OP_FINAL);
	assert_string_equal(rs.v[1].tok[0].attr, "X");
	assert_string_equal(rs.v[1].tok[0].value, "with \"quotes\" and \\");
	assert_string_equal(rs.v[1].tok[1].value, "tab\there");
	assert_int_equal(rs.v[2].line, 5);
	assert_int_equal(rs.v[2].line_end, 6);
	assert_string_equal(rs.v[2].tok[0].attr, "a/b");
	assert_string_equal(rs.v[2].tok[1].value, "joined");
	udev_rules_free(&rs);
}

static void test_malformed(void **state)
{
	char buf[] = "NAME=\"unterminated\n=\"nokey\"\nKEY\"x\"\nKEY{attr==\"x\"\nKEY==\"x\"garbage\nKEY==noquote\n"
		     "OK==\"fine\"\ntrailing==\"backslash\" \\";
	struct udev_rules rs = { 0 };

	udev_rules_parse(&rs, "/bad.rules", buf, strlen(buf));
	assert_int_equal(rs.nbad, 6);
	for (size_t i = 0; i < rs.nbad; i++) {
		assert_int_equal(rs.bad[i].line, (long)i + 1);
		assert_non_null(rs.bad[i].reason);
	}
	assert_int_equal(rs.n, 2);
	udev_rules_free(&rs);
}

static void test_binary_garbage(void **state)
{
	char buf[] = "A==\"1\"\n\0\0\xff\nB==\"2\"\n";
	struct udev_rules rs = { 0 };

	udev_rules_parse(&rs, "/bin.rules", buf, sizeof(buf) - 1);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.nbad, 1);
	assert_int_equal(rs.bad[0].line, 2);
	udev_rules_free(&rs);
}

static void test_fixture_root(void **state)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	struct udev_rules rs = { 0 };
	const struct udev_rule *r;

	assert_int_equal(sysroot_new(FIX, 0, &sr), 0);
	udev_rules_load(sr, udev_admin_rule_dirs, &rs);

	/* file order: 60-oracle-asm (the /etc one), 70-persistent-net, 99-broken; 80-masked skipped */
	assert_true(endswith(rs.v[0].path, "/etc/udev/rules.d/60-oracle-asm.rules"));
	for (size_t i = 0; i < rs.n; i++) {
		assert_null(strstr(rs.v[i].text, "SHOULD-NOT-BE-READ"));
		assert_null(strstr(rs.v[i].text, "masked0"));
	}

	r = find_rule(&rs, "70-persistent-net.rules", 5);
	assert_non_null(r);
	assert_int_equal(udev_rule_net_kind(r), UDEV_NET_MAC);
	r = find_rule(&rs, "70-persistent-net.rules", 8);
	assert_non_null(r);
	assert_int_equal(r->line_end, 9);
	assert_int_equal(udev_rule_net_kind(r), UDEV_NET_MAC);
	r = find_rule(&rs, "70-persistent-net.rules", 11);
	assert_int_equal(udev_rule_net_kind(r), UDEV_NET_PATH);
	r = find_rule(&rs, "70-persistent-net.rules", 12);
	assert_int_equal(udev_rule_net_kind(r), UDEV_NET_KERNEL);
	assert_null(udev_rule_block_reliance(r));

	r = find_rule(&rs, "60-oracle-asm.rules", 1);
	assert_string_equal(udev_rule_block_reliance(r)->key, "PROGRAM");
	r = find_rule(&rs, "60-oracle-asm.rules", 2);
	assert_string_equal(udev_rule_block_reliance(r)->attr, "model");
	assert_string_equal(udev_rule_block_reliance(r)->value, "Virtual disk    ");
	r = find_rule(&rs, "60-oracle-asm.rules", 3);
	assert_string_equal(udev_rule_block_reliance(r)->attr, "ID_SERIAL");
	r = find_rule(&rs, "60-oracle-asm.rules", 4);
	assert_string_equal(udev_rule_block_reliance(r)->key, "KERNELS");
	r = find_rule(&rs, "60-oracle-asm.rules", 5);
	assert_null(udev_rule_block_reliance(r)); /* ID_FS_UUID is content, not hardware */
	r = find_rule(&rs, "60-oracle-asm.rules", 6);
	assert_null(udev_rule_block_reliance(r)); /* tuning, no name/link/owner */
	r = find_rule(&rs, "60-oracle-asm.rules", 8);
	assert_string_equal(udev_rule_block_reliance(r)->value, "disk \"x\"");
	assert_int_equal(udev_rule_net_kind(r), UDEV_NET_NONE);

	assert_non_null(find_rule(&rs, "99-broken.rules", 1));
	assert_true(bad_at(&rs, "99-broken.rules", 2));
	assert_true(bad_at(&rs, "99-broken.rules", 3));
	assert_true(bad_at(&rs, "99-broken.rules", 4));
	udev_rules_free(&rs);
}

static void test_patterns(void **state)
{
	assert_true(udev_pattern_matches("sd*|vd*", "vda"));
	assert_false(udev_pattern_matches("sd?1", "sda2"));
	assert_true(udev_pattern_matches("add|change", "change"));
	assert_true(udev_pattern_is_wildcard("?*"));
	assert_false(udev_pattern_is_wildcard("eth*"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operators_and_quoting),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_fixture_root),
		cmocka_unit_test(test_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
