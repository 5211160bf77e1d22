/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * initramfs.drivers, modprobe.blacklist and dracut.hostonly on synthetic roots: drivers in the image,
 * built in (modules.builtin and modules.builtin.modinfo), on disk but missing, absent from the
 * kernel, no image at all; alternatives (kvm) and recommended drivers (aws xen); blacklists in
 * modprobe.d and on boot loader entries. Real images are tested by tests/integration/initramfs-images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "engine.h"
#include "fileio.h"

struct fixture {
	char dir[64];
};

static void plant(struct fixture *f, const char *path, const void *data, size_t len)
{
	_cleanup_free_ char *full = xasprintf("%s%s", f->dir, path);

	for (char *p = full + strlen(f->dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdir(full, 0755);
		*p = '/';
	}
	assert_int_equal(write_file_atomic(full, data, len, 0755), 0);
}

static void plant_text(struct fixture *f, const char *path, const char *text)
{
	plant(f, path, text, strlen(text));
}

/* An uncompressed newc image holding the module files named (space separated). */
static void plant_image(struct fixture *f, const char *path, const char *kver, const char *modules)
{
	_cleanup_free_ char *copy = xstrdup(modules), *buf = xmalloc(1u << 16);
	size_t n = 0;
	char *save = NULL;

	for (char *m = strtok_r(copy, " ", &save);; m = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *name = m ? xasprintf("usr/lib/modules/%s/kernel/%s.ko.xz", kver, m)
					      : xstrdup("TRAILER!!!");
		size_t ns = strlen(name) + 1;

		n += snprintf(buf + n, 111, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X", 1u,
			      m ? 0100644u : 0u, 0u, 0u, 1u, 0u, 0u, 0u, 0u, 0u, 0u, ns, 0u);
		memcpy(buf + n, name, ns);
		n += ns;
		while (n & 3)
			buf[n++] = '\0';
		if (!m)
			break;
	}
	plant(f, path, buf, n);
}

/* modinfo: NUL-separated records. */
static void plant_modinfo(struct fixture *f, const char *kver, const char *module)
{
	_cleanup_free_ char *path = xasprintf("/lib/modules/%s/modules.builtin.modinfo", kver);
	_cleanup_free_ char *rec = xasprintf("%s.description=x%c%s.alias=vmbus:x%c", module, 0, module, 0);

	plant(f, path, rec, strlen(module) * 2 + strlen(".description=x") + strlen(".alias=vmbus:x") + 2);
}

static void kernel(struct fixture *f, const char *kver, const char *builtin, const char *dep)
{
	_cleanup_free_ char *b = xasprintf("/lib/modules/%s/modules.builtin", kver);
	_cleanup_free_ char *d = xasprintf("/lib/modules/%s/modules.dep", kver);
	_cleanup_free_ char *v = xasprintf("/boot/vmlinuz-%s", kver);

	plant_text(f, b, builtin);
	plant_text(f, d, dep);
	plant_text(f, v, "kernel");
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/test-initramfs-drivers-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	plant_text(f, "/etc/os-release", "ID=debian\nVERSION_ID=12\n");
	plant_text(f, "/usr/sbin/update-initramfs", "#!/bin/sh\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", f->dir);

	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static const struct result *run(struct fixture *f, const char *target, const char *id, struct report *rep)
{
	struct options o = { .root = f->dir, .target = target, .format = FORMAT_JSON, .no_network = true };
	char *why = NULL;

	strv_push(&o.only, id);
	assert_int_equal(engine_run(&o, rep, &why), 0);
	strv_free(&o.only);
	for (size_t i = 0; i < rep->n; i++)
		if (streq(rep->results[i].check->id, id))
			return &rep->results[i];
	fail_msg("no result for %s", id);
	return NULL;
}

/* The evidence item for kernel + module, or NULL. */
static const cJSON *evidence(const struct result *r, const char *kver, const char *module)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, r->evidence) {
		const cJSON *k = cJSON_GetObjectItem(e, "kernel"), *m = cJSON_GetObjectItem(e, "module");

		if (k && m && streq(k->valuestring, kver) && streq(m->valuestring, module))
			return e;
	}
	return NULL;
}

static const char *state_of(const struct result *r, const char *kver, const char *module)
{
	const cJSON *e = evidence(r, kver, module);

	if (!e)
		fail_msg("no evidence for %s %s", kver, module);
	return cJSON_GetObjectItem(e, "state")->valuestring;
}

static bool has_command(const struct result *r, const char *cmd)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, r->commands)
		if (strstr(c->valuestring, cmd))
			return true;
	return false;
}

static void test_azure_states(void **state)
{
	struct fixture *f = *state;
	struct report rep;
	const struct result *r;

	/* 6.1.0-1: storvsc + vmbus in the image, netvsc built in, hv_utils built in (modinfo only). */
	kernel(f, "6.1.0-1", "kernel/drivers/net/hyperv/hv_netvsc.ko\n",
	       "kernel/drivers/hv/hv_vmbus.ko.xz:\nkernel/drivers/scsi/hv_storvsc.ko.xz: x\n");
	plant_modinfo(f, "6.1.0-1", "hv_utils");
	plant_image(f, "/boot/initrd.img-6.1.0-1", "6.1.0-1", "hv_vmbus hv-storvsc ext4");
	plant_text(f, "/boot/initramfs-6.1.0-1kdump.img", "not an image, never read");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_PASS);
	assert_string_equal(state_of(r, "6.1.0-1", "hv_vmbus"), "image");
	assert_string_equal(state_of(r, "6.1.0-1", "hv_storvsc"), "image");
	assert_string_equal(state_of(r, "6.1.0-1", "hv_netvsc"), "builtin");
	assert_string_equal(state_of(r, "6.1.0-1", "hv_utils"), "builtin");
	assert_string_equal(cJSON_GetObjectItem(evidence(r, "6.1.0-1", "hv_vmbus"), "image")->valuestring,
			    "/boot/initrd.img-6.1.0-1");
	report_free(&rep);

	/* 6.1.0-2: storvsc on disk but not in the image; hv_utils on disk too (recommended). */
	kernel(f, "6.1.0-2", "", "kernel/drivers/hv/hv_vmbus.ko:\nkernel/drivers/scsi/hv_storvsc.ko:\n"
	       "kernel/drivers/net/hyperv/hv_netvsc.ko:\nkernel/drivers/hv/hv_utils.ko:\n");
	plant_image(f, "/boot/initrd.img-6.1.0-2", "6.1.0-2", "hv_vmbus hv_netvsc");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_FAIL);
	assert_string_equal(state_of(r, "6.1.0-2", "hv_storvsc"), "missing");
	assert_string_equal(state_of(r, "6.1.0-2", "hv_utils"), "missing");
	assert_true(r->fixable);
	assert_true(has_command(r, "update-initramfs -u -k 6.1.0-2"));
	assert_true(has_command(r, "hv_storvsc hv_utils >> /etc/initramfs-tools/modules"));
	assert_false(has_command(r, "-k 6.1.0-1"));
	report_free(&rep);

	/* 6.1.0-3: no image, and no hv module anywhere: install a kernel, not fixable. */
	kernel(f, "6.1.0-3", "", "kernel/fs/ext4/ext4.ko:\n");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_FAIL);
	assert_string_equal(state_of(r, "6.1.0-3", "hv_vmbus"), "absent");
	assert_false(r->fixable);
	assert_true(has_command(r, "apt-get install -y linux-image-amd64"));
	report_free(&rep);
}

static void test_no_image_and_garbage(void **state)
{
	struct fixture *f = *state;
	struct report rep;
	const struct result *r;

	kernel(f, "5.10.0-1", "", "kernel/drivers/hv/hv_vmbus.ko:\nkernel/drivers/scsi/hv_storvsc.ko:\n"
	       "kernel/drivers/net/hyperv/hv_netvsc.ko:\nkernel/drivers/hv/hv_utils.ko:\n");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_FAIL);
	assert_true(has_command(r, "update-initramfs -c -k 5.10.0-1"));
	report_free(&rep);

	plant_text(f, "/boot/initrd.img-5.10.0-1", "garbage, not an image");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_ERROR);
	assert_non_null(strstr(r->detail, "/boot/initrd.img-5.10.0-1"));
	report_free(&rep);
}

static void test_kvm_aws(void **state)
{
	struct fixture *f = *state;
	struct report rep;
	const struct result *r;

	kernel(f, "6.1.0-7", "kernel/drivers/virtio/virtio_pci.ko\n",
	       "kernel/drivers/scsi/virtio_scsi.ko:\nkernel/drivers/net/virtio_net.ko:\nkernel/drivers/nvme/host/nvme.ko:\n"
	       "kernel/drivers/net/ethernet/amazon/ena/ena.ko:\nkernel/drivers/block/xen-blkfront.ko:\n");
	plant_image(f, "/boot/initrd.img-6.1.0-7", "6.1.0-7", "virtio_scsi virtio_net nvme ena");
	r = run(f, "kvm", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_PASS);
	assert_string_equal(state_of(r, "6.1.0-7", "virtio_scsi"), "image"); /* virtio_blk|virtio_scsi */
	report_free(&rep);

	r = run(f, "aws", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_WARN); /* the Xen drivers are recommended, not required */
	assert_string_equal(state_of(r, "6.1.0-7", "xen_blkfront"), "missing");
	assert_string_equal(state_of(r, "6.1.0-7", "xen_netfront"), "absent");
	report_free(&rep);

	r = run(f, "generic", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_SKIP);
	report_free(&rep);
}

static void test_blacklist_and_hostonly(void **state)
{
	struct fixture *f = *state;
	struct report rep;
	const struct result *r;
	const cJSON *e;

	kernel(f, "6.1.0-1", "", "");
	r = run(f, "azure", "modprobe.blacklist", &rep);
	assert_int_equal(r->status, ST_PASS);
	report_free(&rep);

	plant_text(f, "/etc/modprobe.d/local.conf", "blacklist floppy\nblacklist hv-storvsc\n");
	plant_text(f, "/lib/modprobe.d/vfat.conf", "install vfat /bin/false\n");
	plant_text(f, "/boot/loader/entries/a.conf", "title x\noptions root=UUID=1 module_blacklist=hv_utils\n");
	r = run(f, "azure", "modprobe.blacklist", &rep);
	assert_int_equal(r->status, ST_FAIL);
	assert_int_equal(cJSON_GetArraySize(r->evidence), 3);
	e = cJSON_GetArrayItem(r->evidence, 0);
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "/etc/modprobe.d/local.conf");
	assert_int_equal(cJSON_GetObjectItem(e, "line")->valueint, 2);
	assert_string_equal(cJSON_GetObjectItem(e, "module")->valuestring, "hv_storvsc");
	e = cJSON_GetArrayItem(r->evidence, 2);
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "/boot/loader/entries/a.conf");
	assert_true(has_command(r, "sed -i '2s/^/# /' /etc/modprobe.d/local.conf"));
	report_free(&rep);

	/* kvm does not care about hv_storvsc or vfat. */
	r = run(f, "kvm", "modprobe.blacklist", &rep);
	assert_int_equal(r->status, ST_PASS);
	report_free(&rep);

	r = run(f, "azure", "dracut.hostonly", &rep);
	assert_int_equal(r->status, ST_SKIP);
	assert_non_null(strstr(r->detail, "initramfs-tools"));
	report_free(&rep);
	plant_text(f, "/usr/bin/dracut", "#!/bin/sh\n");
	plant_text(f, "/usr/lib/dracut/dracut.conf.d/01-dist.conf", "hostonly=\"yes\"\n");
	r = run(f, "azure", "dracut.hostonly", &rep);
	assert_int_equal(r->status, ST_FAIL);
	assert_true(r->fixable);
	e = cJSON_GetArrayItem(r->evidence, 0);
	assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring, "/usr/lib/dracut/dracut.conf.d/01-dist.conf");
	assert_int_equal(cJSON_GetObjectItem(e, "line")->valueint, 1);
	report_free(&rep);
}

static const char *image_of(const struct result *r, const char *kver, const char *module)
{
	const cJSON *i = cJSON_GetObjectItem(evidence(r, kver, module), "image");

	return i ? i->valuestring : NULL;
}

static void unplant(struct fixture *f, const char *path)
{
	_cleanup_free_ char *full = xasprintf("%s%s", f->dir, path);

	assert_int_equal(unlink(full), 0);
}

#define HV_DEP "kernel/drivers/hv/hv_vmbus.ko.xz:\nkernel/drivers/scsi/hv_storvsc.ko.xz:\n" \
	       "kernel/drivers/net/hyperv/hv_netvsc.ko.xz:\nkernel/drivers/hv/hv_utils.ko.xz:\nkernel/fs/ext4/ext4.ko.xz:\n"
#define HV_ALL "hv_vmbus hv_storvsc hv_netvsc hv_utils ext4"

/* RHEL (dracut): /boot/initramfs-KVER.img is the image; kdump's /boot/initramfs-KVERkdump.img, a
 * valid image without the drivers, is never read: not while the real one is there (pass), and not in
 * its place when the real one is gone (no image at all, rather than the kdump image lacking them). */
static void test_rhel_naming_and_kdump(void **state)
{
	struct fixture *f = *state;
	const char *k = "5.14.0-362.8.1.el9_3.x86_64";
	struct report rep;
	const struct result *r;

	plant_text(f, "/etc/os-release", "ID=\"rhel\"\nVERSION_ID=\"9.3\"\nID_LIKE=\"fedora\"\n");
	plant_text(f, "/usr/bin/dracut", "#!/bin/sh\n");
	kernel(f, k, "", HV_DEP);
	plant_image(f, "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img", k, HV_ALL);
	plant_image(f, "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64kdump.img", k, "ext4");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_PASS);
	assert_string_equal(state_of(r, k, "hv_storvsc"), "image");
	assert_string_equal(image_of(r, k, "hv_storvsc"), "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img");
	assert_string_equal(image_of(r, k, "hv_netvsc"), "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img");
	report_free(&rep);

	unplant(f, "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_FAIL);
	assert_string_equal(state_of(r, k, "hv_storvsc"), "missing");
	assert_null(image_of(r, k, "hv_storvsc"));
	assert_null(image_of(r, k, "hv_vmbus"));
	assert_non_null(strstr(r->detail, "no initramfs image"));
	assert_null(strstr(r->detail, "kdump"));
	assert_true(has_command(r, "dracut -f -v -N --kver 5.14.0-362.8.1.el9_3.x86_64"));
	report_free(&rep);
}

/* SUSE: /boot/initrd-KVER, read (pass with the drivers, fail naming it without them). */
static void test_suse_naming(void **state)
{
	struct fixture *f = *state;
	const char *k = "5.14.21-150500.55.19-default";
	struct report rep;
	const struct result *r;

	plant_text(f, "/etc/os-release", "NAME=\"SLES\"\nID=\"sles\"\nVERSION_ID=\"15.5\"\nID_LIKE=\"suse\"\n");
	plant_text(f, "/usr/bin/dracut", "#!/bin/sh\n");
	kernel(f, k, "", HV_DEP);
	plant_image(f, "/boot/initrd-5.14.21-150500.55.19-default", k, HV_ALL);
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_PASS);
	assert_string_equal(state_of(r, k, "hv_vmbus"), "image");
	assert_string_equal(image_of(r, k, "hv_vmbus"), "/boot/initrd-5.14.21-150500.55.19-default");
	report_free(&rep);

	plant_image(f, "/boot/initrd-5.14.21-150500.55.19-default", k, "hv_vmbus hv_netvsc hv_utils ext4");
	r = run(f, "azure", "initramfs.drivers", &rep);
	assert_int_equal(r->status, ST_FAIL);
	assert_string_equal(state_of(r, k, "hv_storvsc"), "missing");
	assert_string_equal(image_of(r, k, "hv_storvsc"), "/boot/initrd-5.14.21-150500.55.19-default");
	report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_azure_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_image_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvm_aws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist_and_hostonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rhel_naming_and_kdump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suse_naming, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
