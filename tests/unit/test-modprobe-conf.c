/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modprobe.d and kernel command line blacklists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "fileio.h"
#include "modprobe-conf.h"
#include "util.h"

static void parse(const char *path, const char *text, struct modprobe_rules *r)
{
	char *buf = xstrdup(text);

	modprobe_conf_parse(path, buf, strlen(buf), r);
	free(buf);
}

static void test_parse(void **state)
{
	struct modprobe_rules r = { 0 };

	parse("/etc/modprobe.d/x.conf",
	      "# blacklist hv_vmbus\n"
	      "blacklist hv-storvsc\n"
	      "   blacklist\tfloppy   # trailing\n"
	      "install udf /bin/true\n"
	      "install vfat /usr/bin/false --quiet\n"
	      "install hv_netvsc /sbin/modprobe --ignore-install hv_netvsc && echo ok\n"
	      "install cramfs \\\n"
	      "   /bin/false\n"
	      "options hv_vmbus foo=1\n"
	      "blacklist\n",
	      &r);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.v[0].module, "hv_storvsc");
	assert_int_equal(r.v[0].kind, MP_BLACKLIST);
	assert_int_equal(r.v[0].line, 2);
	assert_string_equal(r.v[0].text, "blacklist hv-storvsc");
	assert_string_equal(r.v[1].module, "floppy");
	assert_string_equal(r.v[2].module, "udf");
	assert_int_equal(r.v[2].kind, MP_INSTALL_NOOP);
	assert_string_equal(r.v[3].module, "vfat");
	assert_string_equal(r.v[4].module, "cramfs");
	assert_int_equal(r.v[4].line, 7);
	modprobe_rules_free(&r);
}

static void test_cmdline(void **state)
{
	struct modprobe_rules r = { 0 };

	modprobe_cmdline_parse("/proc/cmdline", 0,
			       "BOOT_IMAGE=/vmlinuz root=UUID=x ro modprobe.blacklist=hv_vmbus,floppy "
			       "\"module_blacklist=udf\" rd.driver.blacklist=hv-netvsc quiet\n",
			       &r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.v[0].module, "hv_vmbus");
	assert_string_equal(r.v[0].text, "modprobe.blacklist=hv_vmbus,floppy");
	assert_string_equal(r.v[1].module, "floppy");
	assert_string_equal(r.v[2].module, "udf");
	assert_string_equal(r.v[3].module, "hv_netvsc");
	assert_int_equal(r.v[3].kind, MP_CMDLINE);
	modprobe_rules_free(&r);
}

static void test_load_shadowing(void **state)
{
	char dir[] = "/tmp/test-modprobe-XXXXXX";
	struct modprobe_rules r = { 0 };
	_cleanup_strv_ strv errors = { 0 };
	struct sysroot *sr = NULL;
	_cleanup_free_ char *cmd = NULL;

	assert_non_null(mkdtemp(dir));
	cmd = xasprintf("mkdir -p %1$s/etc/modprobe.d %1$s/lib/modprobe.d %1$s/usr/lib/modprobe.d && "
			"echo 'blacklist hv_vmbus' > %1$s/lib/modprobe.d/50-a.conf && "
			"echo '# disabled by the admin' > %1$s/etc/modprobe.d/50-a.conf && "
			"echo 'blacklist udf' > %1$s/usr/lib/modprobe.d/60-b.conf && "
			"echo 'blacklist vfat' > %1$s/etc/modprobe.d/70-c.conf.disabled", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sysroot_new(dir, SYSROOT_NO_OPENAT2, &sr), 0);
	modprobe_conf_load(sr, &r, &errors);
	assert_int_equal(errors.n, 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].module, "udf");
	assert_string_equal(r.v[0].path, "/usr/lib/modprobe.d/60-b.conf");
	modprobe_rules_free(&r);
	sysroot_free(sr);
	free(cmd);
	cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_load_shadowing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
