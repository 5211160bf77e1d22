/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shell-fragment configuration (dracut.conf, initramfs.conf) and dracut's file precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "dracut-conf.h"
#include "fileio.h"
#include "shell-conf.h"
#include "util.h"

struct fixture {
	char dir[64];
	struct sysroot *sr;
};

static void plant(struct fixture *f, const char *path, const char *text)
{
	_cleanup_free_ char *full = xasprintf("%s%s", f->dir, path);

	for (char *p = full + strlen(f->dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdir(full, 0755);
		*p = '/';
	}
	assert_int_equal(write_file_atomic(full, text, strlen(text), 0644), 0);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/test-dracut-conf-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(sysroot_new(f->dir, SYSROOT_NO_OPENAT2, &f->sr), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", f->dir);

	sysroot_free(f->sr);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_shconf_syntax(void **state)
{
	char text[] = "# hostonly=\"yes\"\n"
		      "hostonly=\"yes\"   # trailing comment\n"
		      "  hostonly='no'\n"
		      "export MODULES=dep\n"
		      "add_drivers+=\" hv_vmbus \"\n"
		      "add_drivers+=\"hv_storvsc \"\n"
		      "broken=\"unterminated\n"
		      "echo hostonly=yes\n"
		      "x=a\\ b\"c d\"'e'\n"
		      "1bad=x\n"
		      "empty=\n";
	struct shconf c = { 0 };
	const struct shconf_assign *a;

	shconf_parse(text, strlen(text), &c);
	assert_int_equal(c.n, 7);
	assert_string_equal(c.v[0].key, "hostonly");
	assert_string_equal(c.v[0].value, "yes");
	assert_int_equal(c.v[0].line, 2);
	a = shconf_last(&c, "hostonly");
	assert_string_equal(a->value, "no");
	assert_int_equal(a->line, 3);
	assert_string_equal(a->text, "hostonly='no'");
	assert_string_equal(shconf_last(&c, "MODULES")->value, "dep");
	assert_true(c.v[3].append);
	assert_null(shconf_last(&c, "add_drivers"));
	assert_string_equal(shconf_last(&c, "x")->value, "a bc de");
	assert_string_equal(shconf_last(&c, "empty")->value, "");
	assert_null(shconf_last(&c, "broken"));
	shconf_free(&c);
}

static void test_precedence(void **state)
{
	struct fixture *f = *state;
	struct conf_value v;
	char *bad = NULL;

	assert_int_equal(dracut_conf_effective(f->sr, "hostonly", &v, &bad), -ENOENT);

	plant(f, "/etc/dracut.conf", "hostonly=\"no\"\n");
	plant(f, "/usr/lib/dracut/dracut.conf.d/01-dist.conf", "# Fedora\nhostonly=\"yes\"\n");
	assert_int_equal(dracut_conf_effective(f->sr, "hostonly", &v, &bad), 0);
	assert_string_equal(v.value, "yes");
	assert_string_equal(v.path, "/usr/lib/dracut/dracut.conf.d/01-dist.conf");
	assert_int_equal(v.line, 2);
	conf_value_free(&v);

	/* The same name in /etc shadows /usr/lib entirely. */
	plant(f, "/etc/dracut.conf.d/01-dist.conf", "# nothing\n");
	assert_int_equal(dracut_conf_effective(f->sr, "hostonly", &v, &bad), 0);
	assert_string_equal(v.path, "/etc/dracut.conf");
	assert_string_equal(v.value, "no");
	conf_value_free(&v);

	/* Merged by name across both directories: 50- in /usr/lib comes after 02- in /etc. */
	plant(f, "/etc/dracut.conf.d/02-local.conf", "hostonly=no\n");
	plant(f, "/usr/lib/dracut/dracut.conf.d/50-late.conf", "\n\nhostonly=yes\n");
	plant(f, "/etc/dracut.conf.d/99-ignored.conf.rpmsave", "hostonly=no\n");
	assert_int_equal(dracut_conf_effective(f->sr, "hostonly", &v, &bad), 0);
	assert_string_equal(v.path, "/usr/lib/dracut/dracut.conf.d/50-late.conf");
	assert_int_equal(v.line, 3);
	conf_value_free(&v);

	/* add_drivers accumulates. */
	plant(f, "/etc/dracut.conf.d/60-drivers.conf", "add_drivers+=\" hv_vmbus \"\nadd_drivers+=\" hv_storvsc \"\n");
	assert_int_equal(dracut_conf_effective(f->sr, "add_drivers", &v, &bad), 0);
	assert_string_equal(v.value, " hv_vmbus  hv_storvsc ");
	conf_value_free(&v);

	/* An unreadable file is an error naming it. */
	plant(f, "/etc/dracut.conf.d/70-dir.conf/x", "");
	assert_int_equal(dracut_conf_effective(f->sr, "hostonly", &v, &bad), -EISDIR);
	assert_string_equal(bad, "/etc/dracut.conf.d/70-dir.conf");
	free(bad);
}

static void test_itools_files(void **state)
{
	struct fixture *f = *state;
	_cleanup_strv_ strv files = { 0 };
	struct conf_value v;
	const char *bad = NULL;

	plant(f, "/etc/initramfs-tools/initramfs.conf", "MODULES=most\nCOMPRESS=zstd\n");
	plant(f, "/etc/initramfs-tools/conf.d/zz-dep", "MODULES=dep\n");
	plant(f, "/etc/initramfs-tools/conf.d/zzz.dpkg-old", "MODULES=list\n");
	itools_conf_files(f->sr, &files);
	assert_int_equal(files.n, 2);
	assert_int_equal(shconf_effective(f->sr, files.v, files.n, "MODULES", &v, &bad), 0);
	assert_string_equal(v.value, "dep");
	assert_string_equal(v.path, "/etc/initramfs-tools/conf.d/zz-dep");
	conf_value_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shconf_syntax),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_itools_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
