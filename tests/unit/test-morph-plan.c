/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plan building from check results (evidence only), on a scratch root; and the printed plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "engine.h"
#include "fileio.h"
#include "plan.h"
#include "target.h"

static char root[64];

static void put(const char *p, const char *content)
{
	_cleanup_free_ char *h = xasprintf("%s%s", root, p), *cmd = xasprintf("mkdir -p \"$(dirname '%s')\"", h);

	assert_int_equal(system(cmd), 0);
	assert_int_equal(write_file_atomic(h, content, strlen(content), 0644), 0);
}

static const struct check c_fstab = { .id = "fstab.stable-names" };
static const struct check c_repos = { .id = "repos.local-sources" };
static const struct check c_net = { .id = "udev.net-rules" };
static const struct check c_block = { .id = "udev.block-rules" };
static const struct check c_other = { .id = "network.dhcp" };

static cJSON *ev(struct result *r, const char *path, long line, const char *text)
{
	return result_evidence(r, path, line, text);
}

static void build(struct report *rep, bool stale)
{
	struct result *r;
	cJSON *e;

	memset(rep, 0, sizeof(*rep));
	rep->target = target_find("azure");
	rep->n = 5;
	rep->results = xcalloc(rep->n, sizeof(*rep->results));

	r = &rep->results[0];
	result_init(r, &c_fstab);
	result_set(r, ST_FAIL, "x");
	result_remediation(r, true, "uuid");
	e = ev(r, "/etc/fstab", 2, "/dev/sda1  /  ext4  defaults  0 1");
	cJSON_AddStringToObject(e, "device", stale ? "/dev/sdz9" : "/dev/sda1");
	cJSON_AddStringToObject(e, "mountpoint", "/");
	cJSON_AddStringToObject(e, "suggested_spec", "UUID=0a1b2c3d-aaaa-bbbb-cccc-000000000001");

	r = &rep->results[1];
	result_init(r, &c_repos);
	result_set(r, ST_WARN, "x");
	result_remediation(r, true, "disable");
	e = ev(r, "/etc/apt/sources.list", 2, "deb cdrom:[Debian 12]/ bookworm main");
	cJSON_AddStringToObject(e, "dialect", "apt-line");
	e = ev(r, "/etc/apt/sources.list.d/media.sources", 2, "URIs: file:///media/cdrom");
	cJSON_AddStringToObject(e, "dialect", "deb822");

	r = &rep->results[2];
	result_init(r, &c_net);
	result_set(r, ST_FAIL, "x");
	result_remediation(r, true, "disable");
	e = ev(r, "/etc/udev/rules.d/70-persistent-net.rules", 2,
	       "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"");
	cJSON_AddStringToObject(e, "rule", "net-mac");

	r = &rep->results[3];
	result_init(r, &c_block);
	result_set(r, ST_WARN, "x");
	result_remediation(r, true, "comment");
	e = ev(r, "/etc/udev/rules.d/60-disk.rules", 1, "SUBSYSTEM==\"block\", ATTRS{serial}==\"S1\", SYMLINK+=\"db\"");
	cJSON_AddStringToObject(e, "rule", "block-attr");

	r = &rep->results[4];
	result_init(r, &c_other);
	result_set(r, ST_WARN, "dhcp");
	result_remediation(r, false, "by hand");
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/test-morph-plan.XXXXXX");
	assert_non_null(mkdtemp(root));
	put("/etc/fstab", "# static\n/dev/sda1  /  ext4  defaults  0 1\nproc /proc proc defaults 0 0\n");
	put("/etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\ndeb cdrom:[Debian 12]/ bookworm main\n");
	put("/etc/apt/sources.list.d/media.sources", "Types: deb\nURIs: file:///media/cdrom\nSuites: bookworm\n");
	put("/etc/udev/rules.d/70-persistent-net.rules",
	    "# generated\nSUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"\n");
	put("/etc/udev/rules.d/60-disk.rules", "SUBSYSTEM==\"block\", ATTRS{serial}==\"S1\", SYMLINK+=\"db\"\n"
	    "KERNEL==\"sr0\", MODE=\"0660\"\n");
	return 0;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);

	(void)state;
	return system(cmd) == 0 ? 0 : -1;
}

static const struct fix *fix_named(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->v[i].remedy, name))
			return &p->v[i];
	return NULL;
}

static void test_plan(void **state)
{
	struct options o = { .root = root, .target = "azure" };
	struct sysroot *sr = NULL;
	struct report rep;
	struct plan p;
	const struct fix *f;
	char *printed = NULL;
	size_t plen = 0;

	(void)state;
	assert_int_equal(sysroot_new(root, 0, &sr), 0);
	build(&rep, false);
	struct morph_ctx m = { .root = sr, .rep = &rep, .target = rep.target, .opts = &o };
	plan_build(&m, &p);

	f = fix_named(&p, "fstab");
	assert_non_null(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->v[0].kind, ACT_WRITE);
	assert_string_equal(f->v[0].data, "# static\nUUID=0a1b2c3d-aaaa-bbbb-cccc-000000000001  /  ext4  defaults  0 1\n"
					  "proc /proc proc defaults 0 0\n");

	f = fix_named(&p, "repos");
	assert_non_null(f);
	assert_int_equal(f->n, 2);
	assert_string_equal(f->v[0].data, "deb http://deb.debian.org/debian bookworm main\n"
					  "# deb cdrom:[Debian 12]/ bookworm main\n");
	assert_string_equal(f->v[1].data, "Types: deb\nURIs: file:///media/cdrom\nSuites: bookworm\nEnabled: no\n");

	f = fix_named(&p, "udev-net");
	assert_non_null(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->v[0].kind, ACT_REMOVE); /* nothing but MAC rules in it: moved into the journal */

	f = fix_named(&p, "udev-block");
	assert_non_null(f);
	assert_int_equal(f->v[0].kind, ACT_WRITE);
	assert_non_null(strstr(f->v[0].data, "# prepcheck --fix: disabled"));
	assert_non_null(strstr(f->v[0].data, "\n# SUBSYSTEM==\"block\""));
	assert_non_null(strstr(f->v[0].data, "\nKERNEL==\"sr0\", MODE=\"0660\"\n"));

	assert_int_equal(p.left.n, 1);
	assert_non_null(strstr(p.left.v[0], "network.dhcp"));

	FILE *mem = open_memstream(&printed, &plen);
	assert_int_equal(plan_print(mem, &p, sr), 0);
	fclose(mem);
	assert_non_null(strstr(printed, "== fstab.stable-names:"));
	assert_non_null(strstr(printed, "-/dev/sda1  /  ext4  defaults  0 1\n+UUID=0a1b2c3d"));
	assert_non_null(strstr(printed, "+++ b/etc/apt/sources.list\n"));
	assert_non_null(strstr(printed, "remove /etc/udev/rules.d/70-persistent-net.rules"));
	free(printed);
	plan_free(&p);
	report_free(&rep);

	/* The file changed since the check: that check is left to the admin, nothing planned for it. */
	build(&rep, true);
	plan_build(&m, &p);
	assert_null(fix_named(&p, "fstab"));
	assert_true(p.left.n == 2 && strstr(p.left.v[0], "changed since it was checked"));
	plan_free(&p);
	report_free(&rep);
	sysroot_free(sr);
}

static const struct check c_drivers = { .id = "initramfs.drivers" };
static const struct check c_hostonly = { .id = "dracut.hostonly" };

/* One kernel whose hv modules are loadable (hv_utils built in), and its old image. */
static void initramfs_root(void)
{
	put("/lib/modules/6.1.0-50-amd64/modules.dep",
	    "kernel/drivers/hv/hv_vmbus.ko.xz:\nkernel/drivers/scsi/hv_storvsc.ko.xz: kernel/drivers/hv/hv_vmbus.ko.xz\n"
	    "kernel/drivers/net/hyperv/hv_netvsc.ko.xz: kernel/drivers/hv/hv_vmbus.ko.xz\n");
	put("/lib/modules/6.1.0-50-amd64/modules.builtin", "kernel/drivers/hv/hv_utils.ko\n");
	put("/boot/initrd.img-6.1.0-50-amd64", "old image");
	put("/etc/initramfs-tools/modules", "# List of modules\nraid1\nhv_vmbus\n");
}

static void initramfs_report(struct report *rep, enum generator g)
{
	struct result *r;
	cJSON *e;

	memset(rep, 0, sizeof(*rep));
	rep->target = target_find("azure");
	rep->host.generator = g;
	rep->host.family = FAMILY_DEBIAN;
	strv_push(&rep->host.kernels, "6.1.0-50-amd64");
	strv_push(&rep->host.kernels, "6.1.0-1-amd64"); /* a vmlinuz without modules: nothing to build */
	rep->n = 2;
	rep->results = xcalloc(rep->n, sizeof(*rep->results));
	r = &rep->results[0];
	result_init(r, &c_drivers);
	result_set(r, ST_FAIL, "x");
	result_remediation(r, true, "add");
	e = ev(r, "/boot/initrd.img-6.1.0-50-amd64", 0, NULL);
	cJSON_AddStringToObject(e, "kernel", "6.1.0-50-amd64");
	cJSON_AddStringToObject(e, "module", "hv_storvsc");
	e = ev(r, g == GEN_DRACUT ? "/etc/dracut.conf" : "/etc/initramfs-tools/initramfs.conf", 7, "MODULES=dep");
	cJSON_AddStringToObject(e, "setting", "MODULES");
	r = &rep->results[1];
	result_init(r, &c_hostonly);
	if (g == GEN_DRACUT) {
		result_set(r, ST_FAIL, "x");
		result_remediation(r, true, "drop-in");
		e = ev(r, "/etc/dracut.conf.d/hostonly.conf", 1, "hostonly=\"yes\"");
		cJSON_AddStringToObject(e, "setting", "hostonly");
	}
}

static void test_plan_initramfs(void **state)
{
	struct options o = { .root = root, .target = "azure" };
	struct sysroot *sr = NULL;
	struct report rep;
	struct plan p;
	const struct fix *f;

	(void)state;
	initramfs_root();
	assert_int_equal(sysroot_new(root, 0, &sr), 0);
	struct morph_ctx m = { .root = sr, .opts = &o };

	/* initramfs-tools: modules appended (hv_vmbus is there already), MODULES=dep overridden, one rebuild. */
	initramfs_report(&rep, GEN_INITRAMFS_TOOLS);
	m.rep = &rep;
	m.target = rep.target;
	plan_build(&m, &p);
	f = fix_named(&p, "initramfs");
	assert_non_null(f);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->v[0].path, "/etc/initramfs-tools/modules");
	assert_non_null(strstr(f->v[0].data, "raid1\nhv_vmbus\n# added by prepcheck --fix"));
	assert_non_null(strstr(f->v[0].data, "\nhv_storvsc\nhv_netvsc\nhv_utils\n"));
	assert_null(strstr(strstr(f->v[0].data, "# added") , "hv_vmbus"));
	assert_string_equal(f->v[1].path, "/etc/initramfs-tools/conf.d/90-mobility-azure.conf");
	assert_non_null(strstr(f->v[1].data, "\nMODULES=most\n"));
	assert_int_equal(f->v[2].kind, ACT_REBUILD);
	assert_string_equal(f->v[2].path, "/boot/initrd.img-6.1.0-50-amd64");
	_cleanup_free_ char *cmd = argv_to_string(f->v[2].argv.v);
	assert_string_equal(cmd, "mkinitramfs -o /boot/initrd.img-6.1.0-50-amd64.mobility-new 6.1.0-50-amd64");
	/* hv_utils is built in: nothing to find in the image for it. */
	assert_int_equal(f->v[2].modules.n, 3);
	assert_true(strv_contains(&f->v[2].modules, "hv_netvsc") && !strv_contains(&f->v[2].modules, "hv_utils"));
	assert_true(plan_rebuilds(&p));
	plan_free(&p);
	report_free(&rep);

	/* dracut: one drop-in for both checks, sorted after the hostonly file it overrides. */
	initramfs_report(&rep, GEN_DRACUT);
	plan_build(&m, &p);
	f = fix_named(&p, "initramfs");
	assert_non_null(f);
	assert_int_equal(f->checks.n, 2);
	assert_int_equal(f->n, 2);
	assert_string_equal(f->v[0].path, "/etc/dracut.conf.d/zz-mobility-azure.conf");
	assert_non_null(strstr(f->v[0].data, "add_drivers+=\" hv_vmbus hv_storvsc hv_netvsc hv_utils \"\nhostonly=\"no\"\n"));
	free(cmd);
	cmd = argv_to_string(f->v[1].argv.v);
	assert_string_equal(cmd, "dracut -f -v -N --kver 6.1.0-50-amd64 /boot/initrd.img-6.1.0-50-amd64.mobility-new");
	plan_free(&p);
	report_free(&rep);
	sysroot_free(sr);
}

static void test_plan_symlink(void **state)
{
	struct options o = { .root = root, .target = "azure" };
	_cleanup_free_ char *link = xasprintf("%s/etc/apt/sources.list", root);
	struct sysroot *sr = NULL;
	struct report rep;
	struct plan p;

	(void)state;
	put("/etc/apt/real.list", "deb http://deb.debian.org/debian bookworm main\ndeb cdrom:[Debian 12]/ bookworm main\n");
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("real.list", link), 0);
	assert_int_equal(sysroot_new(root, 0, &sr), 0);
	build(&rep, false);
	struct morph_ctx m = { .root = sr, .rep = &rep, .target = rep.target, .opts = &o };
	plan_build(&m, &p);
	assert_null(fix_named(&p, "repos")); /* nothing half planned: the whole check goes to the admin */
	bool said = false;
	for (size_t i = 0; i < p.left.n; i++)
		said |= strstr(p.left.v[i], "repos.local-sources: /etc/apt/sources.list is a symbolic link") != NULL;
	assert_true(said);
	assert_non_null(fix_named(&p, "fstab"));
	plan_free(&p);
	report_free(&rep);
	sysroot_free(sr);
}

static void test_argv_string(void **state)
{
	char *argv[] = { "dracut", "-f", "--kver", "6.1.0-50-amd64", "it's here", NULL };
	_cleanup_free_ char *s = argv_to_string(argv);

	(void)state;
	assert_string_equal(s, "dracut -f --kver 6.1.0-50-amd64 'it'\\''s here'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_initramfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_symlink, setup, teardown),
		cmocka_unit_test(test_argv_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
