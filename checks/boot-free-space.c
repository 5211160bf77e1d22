/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * boot.free-space: /boot has room to rebuild every installed kernel's initramfs with the target's
 * drivers.
 *
 * The model. Images are rebuilt one at a time, each written beside the old one before it replaces
 * it (so a failed rebuild leaves a bootable image). A rebuilt image is larger than the old one by a
 * growth factor: with dracut the rebuild is generic (hostonly="no") and carries every storage and
 * network driver, typically 2-3x a host-only image; initramfs-tools images with MODULES=most only
 * gain the target's few modules. The space needed is therefore
 *     sum over images of (new - old)  +  the largest new image (the moment it sits beside its old one)
 *     + headroom (16 MiB: bootloader files, a kernel update during the window),
 * with new = old * growth. Images not found count as 64 MiB new (what a generic image takes).
 */
#include "bootimages.h"
#include "check.h"

#define MiB (1024.0 * 1024.0)
#define HEADROOM (16 * 1024 * 1024ull)
#define MISSING_IMAGE (64 * 1024 * 1024ull)

static double growth(const struct host_facts *h)
{
	return h->generator == GEN_DRACUT ? 2.5 : 1.25;
}

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct host_facts *h = ctx->host;
	uint64_t extra = 0, largest_new = 0, needed, avail;
	struct statvfs vfs;
	int err;

	if (!h->kernels.n) {
		result_set(r, ST_SKIP, "No installed kernel: nothing to rebuild.");
		return;
	}
	err = sysroot_statvfs(ctx->root, "/boot", &vfs);
	if (err < 0) {
		result_file_error(r, "/boot", err);
		return;
	}
	for (size_t i = 0; i < h->kernels.n; i++) {
		uint64_t size = 0, new_size;
		_cleanup_free_ char *img = bootimage_find(ctx->root, h->kernels.v[i], &size);
		cJSON *e;

		new_size = img ? (uint64_t)((double)size * growth(h)) : MISSING_IMAGE;
		extra += new_size - (img ? size : 0);
		if (new_size > largest_new)
			largest_new = new_size;
		e = result_evidence(r, img, 0, NULL);
		cJSON_AddStringToObject(e, "kernel", h->kernels.v[i]);
		cJSON_AddNumberToObject(e, "size", (double)size);
		cJSON_AddNumberToObject(e, "estimated_new_size", (double)new_size);
	}
	needed = extra + largest_new + HEADROOM;
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	cJSON *e = result_evidence(r, "/boot", 0, NULL);
	cJSON_AddNumberToObject(e, "free", (double)avail);
	cJSON_AddNumberToObject(e, "needed", (double)needed);
	if (avail >= needed) {
		result_detail(r, "/boot has %.0f MiB free; rebuilding %zu image%s needs about %.0f MiB.", avail / MiB,
			      h->kernels.n, h->kernels.n == 1 ? "" : "s", needed / MiB);
		return;
	}
	result_set(r, ST_FAIL, "/boot has %.0f MiB free, but rebuilding the initramfs of %zu kernel%s with the "
		   "target's drivers needs about %.0f MiB (images grow about %.1fx; each new image is written beside "
		   "the old one).", avail / MiB, h->kernels.n, h->kernels.n == 1 ? "" : "s", needed / MiB, growth(h));
	result_remediation(r, false, "Remove obsolete kernels (see kernel.obsolete) or grow /boot.");
	if (h->kernels.n > 1)
		result_command(r, "%s", h->family == FAMILY_DEBIAN ? "apt-get autoremove --purge"
					: h->family == FAMILY_SUSE ? "zypper purge-kernels"
								   : "dnf remove --oldinstallonly --setopt installonly_limit=2");
}

const struct check check_boot_free_space = {
	.id = "boot.free-space",
	.title = "/boot has room to rebuild every initramfs",
	.description = "free space on /boot for rebuilding each kernel's initramfs beside the old one",
	.run = run,
};
