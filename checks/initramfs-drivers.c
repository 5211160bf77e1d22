/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * initramfs.drivers: every installed kernel's initramfs carries the target's boot drivers, or the
 * kernel has them built in. The most common reason a migrated VM does not boot: a host-only image
 * without the target's storage driver never finds the root disk.
 */
#include <fcntl.h>

#include "check.h"
#include "dracut-conf.h"
#include "fileio.h"
#include "initramfs.h"
#include "kernel-modules.h"
#include "modname.h"

enum where { W_ABSENT, W_ON_DISK, W_IMAGE, W_BUILTIN };
static const char *const where_name[] = { "absent", "missing", "image", "builtin" };

/* What the remediation has to do, gathered over every kernel. */
struct plan {
	strv add;       /* modules to put into the images */
	strv rebuild;   /* kernels whose image must be rebuilt */
	strv create;    /* ... of those, the ones without any image yet */
	strv absent;    /* modules no installed kernel can provide */
};

static void plan_free(struct plan *p)
{
	strv_free(&p->add);
	strv_free(&p->rebuild);
	strv_free(&p->create);
	strv_free(&p->absent);
}

static enum where locate(const char *module, const struct kernel_modules *km, const struct initramfs_listing *img)
{
	if (kernel_module_builtin(km, module))
		return W_BUILTIN;
	if (img && initramfs_has_module(img, module))
		return W_IMAGE;
	if (kernel_module_on_disk(km, module))
		return W_ON_DISK;
	return W_ABSENT;
}

/* The best place any alternative of "a|b" is found; *which names that alternative. */
static enum where locate_group(const char *group, const struct kernel_modules *km,
			       const struct initramfs_listing *img, char **which)
{
	_cleanup_free_ char *copy = xstrdup(group);
	enum where best = W_ABSENT;
	char *save = NULL;

	*which = NULL;
	for (char *m = strtok_r(copy, "|", &save); m; m = strtok_r(NULL, "|", &save)) {
		enum where w = locate(m, km, img);

		if (!*which || w > best) {
			free(*which);
			*which = xstrdup(m);
			best = w;
		}
	}
	return best;
}

static void push_unique(strv *s, const char *v)
{
	if (!strv_contains(s, v))
		strv_push(s, v);
}

/* An image that cannot be listed: the kernel cannot be judged (and may not boot anywhere). */
static int read_image(struct check_ctx *ctx, struct result *r, const char *kver, const char *path,
		      struct initramfs_listing *img)
{
	_cleanup_close_ int fd = sysroot_open(ctx->root, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	_cleanup_free_ char *msg = NULL;
	int rc;

	if (fd < 0) {
		result_set(r, ST_ERROR, "Cannot open %s: %s.", path, errstr(fd));
		cJSON_AddStringToObject(result_evidence(r, path, 0, NULL), "kernel", kver);
		return fd;
	}
	rc = initramfs_list_fd(fd, NULL, img, &msg);
	if (rc < 0) {
		cJSON *e = result_evidence(r, path, 0, msg);

		result_set(r, ST_ERROR, "%s (kernel %s) cannot be read: %s.", path, kver, msg);
		cJSON_AddStringToObject(e, "kernel", kver);
		cJSON_AddStringToObject(e, "image", path);
	}
	return rc;
}

static void evidence_driver(struct result *r, const char *path, const char *kver, const char *image,
			    const char *module, enum where w, const char *text)
{
	cJSON *e = result_evidence(r, path, 0, text);

	cJSON_AddStringToObject(e, "kernel", kver);
	cJSON_AddStringToObject(e, "module", module);
	if (image)
		cJSON_AddStringToObject(e, "image", image);
	cJSON_AddStringToObject(e, "state", where_name[w]);
}

static void check_kernel(struct check_ctx *ctx, struct result *r, const char *kver, struct plan *plan)
{
	_cleanup_free_ char *image = initramfs_image_find(ctx->root, kver, ctx->host->machine_id);
	struct initramfs_listing img = { 0 };
	struct kernel_modules km;
	bool have_img = false;

	kernel_modules_load(ctx->root, kver, &km);
	if (image)
		have_img = read_image(ctx, r, kver, image, &img) == 0;
	if (image && !have_img) {
		kernel_modules_free(&km);
		return;
	}
	for (const struct target_driver *d = ctx->target->drivers; d->modules; d++) {
		_cleanup_free_ char *which = NULL, *text = NULL;
		enum where w = locate_group(d->modules, &km, have_img ? &img : NULL, &which);
		enum status bad = d->required ? ST_FAIL : ST_WARN;

		switch (w) {
		case W_BUILTIN:
			text = xasprintf("%s is built into kernel %s", which, kver);
			break;
		case W_IMAGE:
			text = xasprintf("%s is in the image", which);
			break;
		case W_ON_DISK:
			text = image ? xasprintf("%s is installed but missing from the image (%s)", which, d->why)
				     : xasprintf("no initramfs image, and %s is not built in (%s)", which, d->why);
			result_set(r, bad, "Kernel %s (%s): %s.", kver, image ? image : km.dir, text);
			push_unique(&plan->add, which);
			push_unique(&plan->rebuild, kver);
			if (!image)
				push_unique(&plan->create, kver);
			break;
		case W_ABSENT:
			text = xasprintf("the kernel has no %s module at all (%s)", d->modules, d->why);
			result_set(r, bad, "Kernel %s (%s): %s.", kver, image ? image : km.dir, text);
			push_unique(&plan->absent, d->modules);
			break;
		}
		evidence_driver(r, image ? image : km.dir, kver, image, which, w, text);
	}
	if (!km.have_dep && !km.have_builtin)
		result_detail(r, "Kernel %s: %s has neither modules.dep nor modules.builtin.", kver, km.dir);
	initramfs_listing_free(&img);
	kernel_modules_free(&km);
}

/* initramfs-tools with MODULES=dep builds images with only the drivers this host uses: a rebuild
 * on the source (every kernel update) drops the target's drivers unless /etc/initramfs-tools/modules
 * lists them. */
static void check_modules_dep(struct check_ctx *ctx, struct result *r)
{
	_cleanup_strv_ strv files = { 0 };
	struct conf_value v;
	const char *bad = NULL;

	if (ctx->host->generator != GEN_INITRAMFS_TOOLS)
		return;
	itools_conf_files(ctx->root, &files);
	if (shconf_effective(ctx->root, files.v, files.n, "MODULES", &v, &bad) < 0)
		return;
	if (streq(v.value, "dep")) {
		cJSON *e = result_evidence(r, v.path, v.line, v.text);

		cJSON_AddStringToObject(e, "setting", "MODULES");
		result_detail(r, "%s:%u sets MODULES=dep: initramfs-tools puts only the drivers this host uses into "
			      "the images it builds, so list the target's drivers in /etc/initramfs-tools/modules.",
			      v.path, v.line);
	}
	conf_value_free(&v);
}

static char *grep_pattern(const strv *mods)
{
	_cleanup_free_ char *p = xstrdup("");

	for (size_t i = 0; i < mods->n; i++) {
		char *m = xstrdup(mods->v[i]), *n;

		for (char *c = m; *c; c++)
			if (*c == '_' || *c == '-')
				*c = '.';
		n = xasprintf("%s%s%s", p, i ? "|" : "", m);
		free(m);
		free(p);
		p = n;
	}
	return TAKE_PTR(p);
}

static char *join(const strv *s, const char *sep)
{
	_cleanup_free_ char *out = xstrdup("");

	for (size_t i = 0; i < s->n; i++) {
		char *n = xasprintf("%s%s%s", out, i ? sep : "", s->v[i]);

		free(out);
		out = n;
	}
	return TAKE_PTR(out);
}

static void remediate_rebuild(struct check_ctx *ctx, struct result *r, const struct plan *plan)
{
	const struct host_facts *h = ctx->host;
	_cleanup_free_ char *mods = join(&plan->add, " "), *pat = grep_pattern(&plan->add);

	switch (h->generator) {
	case GEN_INITRAMFS_TOOLS:
		result_remediation(r, plan->absent.n == 0, "Add %s to /etc/initramfs-tools/modules and rebuild the "
				   "initramfs of every kernel listed.", mods);
		result_command(r, "printf '%%s\\n' %s >> /etc/initramfs-tools/modules", mods);
		for (size_t i = 0; i < plan->rebuild.n; i++) {
			/* -u only updates an image that exists; -c creates one */
			result_command(r, "update-initramfs -%c -k %s", strv_contains(&plan->create, plan->rebuild.v[i])
				       ? 'c' : 'u', plan->rebuild.v[i]);
			result_command(r, "lsinitramfs /boot/initrd.img-%s | grep -E '%s'", plan->rebuild.v[i], pat);
		}
		return;
	case GEN_MKINITCPIO:
		result_remediation(r, false, "Add %s to MODULES=() in /etc/mkinitcpio.conf and rebuild the initramfs "
				   "of every kernel listed.", mods);
		for (size_t i = 0; i < plan->rebuild.n; i++) {
			_cleanup_free_ char *cmd = host_rebuild_initramfs_cmd(h, plan->rebuild.v[i]);

			result_command(r, "%s", cmd);
		}
		return;
	case GEN_UNKNOWN:
		if (h->family == FAMILY_SUSE) {
			/* SLES 11: mkinitrd reads INITRD_MODULES from /etc/sysconfig/kernel. */
			result_remediation(r, false, "Add %s to INITRD_MODULES in /etc/sysconfig/kernel and rebuild the "
					   "initrd of every kernel listed.", mods);
			result_command(r, "sed -i 's/^INITRD_MODULES=\"/INITRD_MODULES=\"%s /' /etc/sysconfig/kernel", mods);
			for (size_t i = 0; i < plan->rebuild.n; i++)
				result_command(r, "mkinitrd -k /boot/vmlinuz-%s -i /boot/initrd-%s", plan->rebuild.v[i],
					       plan->rebuild.v[i]);
			return;
		}
		break;
	case GEN_DRACUT:
		break;
	}
	/* dracut (RHEL, Fedora, SUSE 12+): a drop-in keeps the drivers in every future image too. */
	result_remediation(r, plan->absent.n == 0 && h->generator == GEN_DRACUT,
			   "Add a dracut drop-in with add_drivers+=\" %s \" and rebuild the initramfs of every kernel "
			   "listed without host-only mode.", mods);
	result_command(r, "echo 'add_drivers+=\" %s \"' > /etc/dracut.conf.d/90-mobility-%s.conf", mods,
		       ctx->target->name);
	for (size_t i = 0; i < plan->rebuild.n; i++) {
		result_command(r, "dracut -f -v -N --kver %s", plan->rebuild.v[i]);
		result_command(r, "lsinitrd -k %s | grep -E '%s'", plan->rebuild.v[i], pat);
	}
}

static const char *kernel_package(enum os_family f)
{
	switch (f) {
	case FAMILY_DEBIAN: return "linux-image-amd64";
	case FAMILY_RHEL: return "kernel-core";
	case FAMILY_SUSE: return "kernel-default";
	case FAMILY_ARCH: return "linux";
	default: return "kernel";
	}
}

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct host_facts *h = ctx->host;
	struct plan plan = { 0 };

	if (!ctx->target->drivers[0].modules) {
		result_set(r, ST_SKIP, "%s needs no particular drivers.", ctx->target->pretty);
		return;
	}
	if (h->kernels.n == 0) {
		result_set(r, ST_FAIL, "No installed kernel found (neither /lib/modules/* nor /boot/vmlinuz-*): the "
			   "system cannot boot on %s.", ctx->target->pretty);
		result_evidence(r, "/lib/modules", 0, NULL);
		result_remediation(r, false, "Install a kernel.");
		result_command(r, "%s %s", host_install_cmd(h), kernel_package(h->family));
		return;
	}
	for (size_t i = 0; i < h->kernels.n; i++)
		check_kernel(ctx, r, h->kernels.v[i], &plan);
	check_modules_dep(ctx, r);

	if (plan.rebuild.n > 0)
		remediate_rebuild(ctx, r, &plan);
	if (plan.absent.n > 0) {
		_cleanup_free_ char *mods = join(&plan.absent, ", ");

		if (plan.rebuild.n == 0)
			result_remediation(r, false, "Install a kernel that provides %s (a distribution's standard or "
					   "cloud kernel), then rebuild its initramfs.", mods);
		result_command(r, "%s %s", host_install_cmd(h), kernel_package(h->family));
	}
	if (result_get_status(r) == ST_PASS)
		result_detail(r, "Every installed kernel (%zu) can load %s's boot drivers from its initramfs or has "
			      "them built in.", h->kernels.n, ctx->target->pretty);
	plan_free(&plan);
}

const struct check check_initramfs_drivers = {
	.id = "initramfs.drivers",
	.title = "Every kernel's initramfs carries the target's boot drivers",
	.description = "each installed kernel's initramfs (or the kernel itself) has the target's storage, bus "
		       "and network drivers",
	.targets = TGT_CLOUDS,
	.run = run,
};
