/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage.layout: root and /boot on filesystems the target's boot path reads, /boot not on an LVM
 * volume spread over disks (GRUB must read it before any disk order is known), and, on Azure, no
 * swap on the OS disk (the VM's resource disk is meant for it and OS disk I/O is billed and capped).
 */
#include "check.h"
#include "disks.h"
#include "fstab.h"

#include <sys/sysmacros.h>

static const char *const boot_fs[] = { "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", NULL };
static const char *const root_fs[] = { "ext2", "ext3", "ext4", "xfs", "btrfs", NULL };

static bool in(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (streq(*list, s))
			return true;
	return false;
}

/* Live only: how many distinct disks hold the device-mapper device behind SPEC. */
static int lvm_disk_count(const char *spec)
{
	struct stat st;
	char path[128];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	strv parents = { 0 };
	int n;

	if (stat(spec, &st) < 0 || !S_ISBLK(st.st_mode))
		return -1;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/slaves", major(st.st_rdev), minor(st.st_rdev));
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char real[4096], link[4200];
		char *slash;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		if (!realpath(link, real))
			continue;
		/* A partition's parent directory is its disk. */
		snprintf(link, sizeof(link), "%s/partition", real);
		if (access(link, F_OK) == 0 && (slash = strrchr(real, '/')))
			*slash = '\0';
		if (!strv_contains(&parents, real))
			strv_push(&parents, real);
	}
	n = (int)parents.n;
	strv_free(&parents);
	return n;
}

/* Returns whether it found a problem with root or /boot. */
static bool check_fs(struct check_ctx *ctx, struct result *r, const struct fstab_entry *e)
{
	bool found = false;

	bool is_root = streq(e->file, "/"), is_boot = streq(e->file, "/boot");
	enum spec_kind k;

	if (!is_root && !is_boot)
		return false;
	if (!streq(e->type, "auto") && !in(is_root ? root_fs : boot_fs, e->type)) {
		result_set(r, ST_FAIL, "%s is on %s, which the target's boot path does not support.", e->file, e->type);
		cJSON_AddStringToObject(result_evidence(r, "/etc/fstab", e->line, e->text), "fstype", e->type);
		found = true;
	}
	k = fstab_spec_kind(e->spec, e->type);
	if (!is_boot || k != SPEC_MAPPER || startswith(e->spec, "/dev/md"))
		return found;
	if (sysroot_is_live(ctx->root)) {
		int disks = lvm_disk_count(e->spec);
		if (disks > 1) {
			result_set(r, ST_FAIL, "/boot is on %s, which spans %d disks; the bootloader needs all of them in "
				   "place before anything can reorder them.", e->spec, disks);
			result_evidence(r, "/etc/fstab", e->line, e->text);
			found = true;
		}
	} else {
		result_set(r, ST_WARN, "/boot is on the logical volume %s; offline it cannot be verified that it stays "
			   "on one disk.", e->spec);
		result_evidence(r, "/etc/fstab", e->line, e->text);
		found = true;
	}
	return found;
}

static void check_swap(struct check_ctx *ctx, struct result *r, const struct fstab_entry *e)
{
	if (!streq(e->type, "swap") || !ctx->target->swap_on_os_disk_warn)
		return;
	result_set(r, ST_WARN, "Swap %s (fstab line %ld) lives on an OS disk; on %s swap belongs on the "
		   "resource disk.", e->spec, e->line, ctx->target->pretty);
	cJSON_AddStringToObject(result_evidence(r, "/etc/fstab", e->line, e->text), "device", e->spec);
	result_command(r, "sed -i 's|^ResourceDisk.EnableSwap=n|ResourceDisk.EnableSwap=y|' /etc/waagent.conf");
}

static void run(struct check_ctx *ctx, struct result *r)
{
	int err;
	const struct fstab *f = ctx_fstab(ctx, &err);

	if (err == -ENOENT) {
		result_set(r, ST_SKIP, "There is no /etc/fstab to read the layout from.");
		return;
	}
	if (err < 0) {
		result_file_error(r, "/etc/fstab", err);
		return;
	}
	bool fs_problem = false;
	for (size_t i = 0; i < f->n; i++) {
		fs_problem |= check_fs(ctx, r, &f->v[i]);
		check_swap(ctx, r, &f->v[i]);
	}
	if (result_get_status(r) == ST_PASS) {
		result_detail(r, "Root and /boot filesystems and swap placement suit %s.", ctx->target->pretty);
		return;
	}
	if (!fs_problem)
		result_remediation(r, false, "Remove swap from /etc/fstab and let the guest agent put it on the "
				   "resource disk (ResourceDisk.EnableSwap=y in /etc/waagent.conf).");
	else
		result_remediation(r, false, "Put root and /boot on a supported filesystem (%s), /boot on a plain "
				   "partition of the OS disk.", "ext4, xfs, btrfs");
}

const struct check check_storage_layout = {
	.id = "storage.layout",
	.title = "Root, /boot and swap are laid out as the target boots them",
	.description = "root and /boot filesystems, /boot on LVM over disks, swap on the OS disk",
	.run = run,
};
