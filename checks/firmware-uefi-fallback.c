/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firmware.uefi-fallback: a migrated VM starts with empty UEFI boot variables (the source's
 * NVRAM entries pointing at EFI/<distro>/shimx64.efi stay behind), so its firmware boots only the
 * removable-media path EFI/BOOT/BOOT<arch>.EFI. FAT ignores case, and so does this lookup.
 */
#include "bootlayout.h"
#include "check.h"

#include <strings.h>

static const struct blk_volume *find_esp_partition(struct check_ctx *ctx)
{
	const struct disk_set *ds = ctx_disks(ctx);

	for (size_t i = 0; ds && i < ds->n; i++)
		for (size_t j = 0; j < ds->v[i].nvols; j++)
			if (vol_is_esp(&ds->v[i].vols[j]))
				return &ds->v[i].vols[j];
	return NULL;
}

/* The file NAME<arch>.efi next to the fallback loader (what shim loads after itself). */
static const struct esp_file *beside_fallback(const struct esp_info *e, const char *stem)
{
	_cleanup_free_ char *name = xasprintf("%s%s.efi", stem, e->fallback->arch);

	return esp_find_name(e, e->fallback->dir, name);
}

static void check_present(struct result *r, const struct esp_info *e)
{
	const struct esp_file *fb = e->fallback;
	cJSON *ev = result_evidence(r, fb->path, 0, NULL);

	cJSON_AddStringToObject(ev, "loader", efi_kind_name(e->fallback_content));
	result_detail(r, "The fallback loader %s is there (%s%s%s).", fb->path, efi_kind_name(e->fallback_content),
		      e->fallback_version ? ", " : "", e->fallback_version ? e->fallback_version : "");
	if (e->fallback_content == EFI_SHIM && !beside_fallback(e, "grub") && !beside_fallback(e, "fb")) {
		_cleanup_free_ char *dir = xstrndup(fb->path, strlen(fb->path) - strlen(fb->name) - 1);
		const struct esp_file *g = esp_find(e, EFI_GRUB, true);

		result_set(r, ST_WARN, "It is shim, but neither grub%s.efi nor fb%s.efi is next to it in %s: shim "
			   "would find nothing to start.", fb->arch, fb->arch, dir);
		result_remediation(r, false, "Copy the distribution's GRUB next to the fallback shim.");
		if (g)
			result_command(r, "cp %s %s/grub%s.efi", g->path, dir, fb->arch);
	}
}

/* The loader chain the fallback path should start, from the vendor directory that has it. */
static void fallback_commands(const struct check_ctx *ctx, struct result *r, const struct esp_info *e)
{
	const struct esp_file *shim = esp_find(e, EFI_SHIM, true), *grub = esp_find(e, EFI_GRUB, true);
	const struct esp_file *sdb = esp_find(e, EFI_SYSTEMD_BOOT, true);
	const struct esp_file *first = shim ? shim : sdb ? sdb : grub;
	_cleanup_free_ char *upper = NULL, *boot = xasprintf("%s/BOOT", e->efi_dir);

	if (!first) {
		result_remediation(r, false, "No shim, GRUB or systemd-boot binary is on the ESP to copy: reinstall the "
				   "boot loader for UEFI with its removable-media copy.");
		result_command(r, ctx->host->family == FAMILY_RHEL ? "dnf reinstall -y shim-x64 grub2-efi-x64"
				  : "grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable");
		return;
	}
	upper = xstrdup(first->arch[0] ? first->arch : "x64");
	for (char *c = upper; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	result_remediation(r, false, "Copy %s's %s to the removable-media path %s/BOOT%s.EFI (the target's firmware "
			   "starts nothing else)%s.", first->dir, efi_kind_name(first->kind), boot, upper,
			   shim ? ", with the GRUB it starts (and fb, which recreates the boot entry) beside it" : "");
	result_command(r, "mkdir -p %s", boot);
	result_command(r, "cp %s %s/BOOT%s.EFI", first->path, boot, upper);
	if (shim) {
		const struct esp_file *fb = esp_find(e, EFI_FALLBACK, false), *mm = esp_find(e, EFI_MOKMANAGER, true);

		if (grub)
			result_command(r, "cp %s %s/%s", grub->path, boot, grub->name);
		if (fb && strcasecmp(fb->dir, "BOOT") != 0)
			result_command(r, "cp %s %s/%s", fb->path, boot, fb->name);
		if (mm)
			result_command(r, "cp %s %s/%s", mm->path, boot, mm->name);
	}
	if (ctx->host->family == FAMILY_DEBIAN && grub && !sdb)
		result_command(r, "echo 'grub-efi-amd64 grub2/force_efi_extra_removable boolean true' | "
				  "debconf-set-selections # keep the copy current on GRUB updates");
}

static void run(struct check_ctx *ctx, struct result *r)
{
	_cleanup_(esp_free) struct esp_info e = { 0 };
	bool uefi_host = sysroot_is_live(ctx->root) && ctx->host->firmware == FW_UEFI;
	const struct blk_volume *part;

	esp_scan(ctx->root, &e);
	if (!e.mount) {
		part = find_esp_partition(ctx);
		if (!part && !uefi_host) {
			const struct disk_set *ds = ctx_disks(ctx);
			bool unread = ds->error || !ds->n;

			for (size_t i = 0; i < ds->n; i++)
				unread = unread || ds->v[i].error;
			result_set(r, ST_SKIP, "No EFI system partition%s: the system boots by BIOS%s.",
				   sysroot_is_live(ctx->root) ? "" : " mounted or on the disks",
				   unread ? " (as far as the readable disks tell)" : "");
			return;
		}
		if (part) {
			cJSON *ev = result_evidence(r, NULL, 0, "EFI system partition, not mounted");
			cJSON_AddStringToObject(ev, "device", part->name);
		}
		result_set(r, ST_WARN, "%s%s is not mounted at %s/boot/efi: the fallback loader cannot be checked.",
			   part ? "The EFI system partition " : "The system boots by UEFI, but its EFI system partition",
			   part ? part->name : "", sysroot_is_live(ctx->root) ? "" : sysroot_path(ctx->root));
		result_remediation(r, false, "Mount the EFI system partition at /boot/efi and run the check again.");
		result_command(r, "mount %s %s/boot/efi", part ? part->name : "<EFI system partition>",
			       sysroot_is_live(ctx->root) ? "" : sysroot_path(ctx->root));
		return;
	}
	if (e.fallback) {
		check_present(r, &e);
		return;
	}
	cJSON *ev = result_evidence(r, e.efi_dir, 0, NULL);
	cJSON_AddStringToObject(ev, "problem", "no BOOT/BOOTX64.EFI (any case)");
	result_set(r, ST_FAIL, "%s has no removable-media fallback loader (BOOT/BOOTX64.EFI): the boot entries in the "
		   "source's UEFI variables do not move with the disk, so %s's firmware would find nothing to boot.",
		   e.efi_dir, ctx->target->pretty);
	fallback_commands(ctx, r, &e);
}

const struct check check_firmware_uefi_fallback = {
	.id = "firmware.uefi-fallback",
	.title = "UEFI removable-media fallback loader present",
	.description = "EFI/BOOT/BOOTX64.EFI exists on the EFI system partition (the target has no NVRAM entries)",
	.run = run,
};
