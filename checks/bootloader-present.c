/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bootloader.present: the disk that holds /boot can start a boot loader on the target, by BIOS
 * (boot code in the MBR, GRUB 2's core.img where boot.img looks for it, or a loader in the boot
 * partition's boot sector) or by UEFI (an EFI system partition with shim, GRUB or systemd-boot).
 * A replicated disk carries these sectors along; if they are not there now, the VM will not start.
 */
#include "bootlayout.h"
#include "check.h"

static cJSON *device_evidence(struct result *r, const char *device, const char *loader, const char *text)
{
	cJSON *e = result_evidence(r, NULL, 0, text);

	cJSON_AddStringToObject(e, "device", device);
	if (loader)
		cJSON_AddStringToObject(e, "loader", loader);
	return e;
}

static void describe_bios(struct result *r, const struct boot_layout *l)
{
	const char *dev = l->disk->path;
	cJSON *e;

	e = device_evidence(r, dev, l->mbr.family, l->mbr.what);
	cJSON_AddStringToObject(e, "area", "MBR boot code");
	if (l->mbr.loader == BL_NONE)
		result_detail(r, "The MBR boot code of %s is zeroed.", dev);
	else if (l->mbr.loader == BL_UNKNOWN)
		result_detail(r, "The MBR of %s holds boot code, but of no loader this check knows.", dev);
	else
		result_detail(r, "MBR of %s: %s.", dev, l->mbr.what);
	if (l->mbr.loader == BL_GRUB2 && l->mbr.has_core_sector) {
		const char *where = l->bios_boot && l->core_sector * 512 == l->bios_boot->offset ? l->bios_boot->name
				    : l->core_sector == 1					    ? "the gap after the MBR"
											    : "the disk";

		e = device_evidence(r, dev, "GRUB2", l->core_found ? "core.img (diskboot.img signature)" : "no core.img");
		cJSON_AddNumberToObject(e, "sector", (double)l->core_sector);
		if (l->core_found)
			result_detail(r, "Its core.img is at sector %llu (%s).", (unsigned long long)l->core_sector, where);
		else if (l->core_checked || l->bios_broken)
			result_detail(r, "boot.img loads core.img from sector %llu (%s), but no GRUB core.img is there: "
				      "BIOS boot stops at \"GRUB \".", (unsigned long long)l->core_sector, where);
	}
	if (l->bios_boot) {
		device_evidence(r, l->bios_boot->name, l->bios_boot_has_core ? "GRUB2" : NULL,
				l->bios_boot_has_core ? "BIOS boot partition: GRUB core.img" : "BIOS boot partition: empty");
		if (!l->bios_boot_has_core)
			result_detail(r, "The BIOS boot partition %s holds no GRUB core.img.", l->bios_boot->name);
	}
	if (l->vbr_vol) {
		device_evidence(r, l->vbr_vol->name, l->vbr.family, l->vbr.what);
		result_detail(r, "Boot sector of %s: %s.", l->vbr_vol->name, l->vbr.what);
	} else if (l->mbr.chainloads) {
		result_detail(r, "No partition of %s has a boot loader in its boot sector for it to chain-load.", dev);
	}
}

static void describe_uefi(const struct check_ctx *ctx, struct result *r, const struct boot_layout *l)
{
	const struct esp_info *esp = &l->esp;

	if (!esp->mount) {
		if (l->esp_vol) {
			device_evidence(r, l->esp_vol->name, NULL, "EFI system partition, not mounted");
			result_detail(r, "The EFI system partition %s is not mounted at %s/boot/efi, so its loaders were "
				      "not checked.", l->esp_vol->name, sysroot_is_live(ctx->root) ? "" : sysroot_path(ctx->root));
		}
		return;
	}
	if (l->esp_vol)
		device_evidence(r, l->esp_vol->name, l->esp_chain, "EFI system partition");
	for (size_t i = 0; i < esp->nfiles; i++) {
		const struct esp_file *f = &esp->files[i];

		if (f->kind != EFI_OTHER || f == esp->fallback) {
			cJSON *e = result_evidence(r, f->path, 0, NULL);
			cJSON_AddStringToObject(e, "loader", f == esp->fallback ? efi_kind_name(esp->fallback_content)
										: efi_kind_name(f->kind));
		}
	}
	if (l->esp_chain)
		result_detail(r, "EFI system partition (%s): %s%s%s.", esp->efi_dir, l->esp_chain,
			      esp->fallback_version ? ", " : "", esp->fallback_version ? esp->fallback_version : "");
	else
		result_detail(r, "The EFI system partition at %s holds no shim, GRUB or systemd-boot loader.", esp->mount);
}

static void remediation(const struct check_ctx *ctx, struct result *r, const struct boot_layout *l)
{
	const char *dev = l->disk ? l->disk->path : "/dev/sdX";
	bool efi = l->esp_vol || l->esp.mount;

	result_remediation(r, false, "Reinstall the boot loader on the boot disk (%s) and regenerate its "
			   "configuration before migrating.", dev);
	switch (ctx->host->family) {
	case FAMILY_RHEL:
		if (efi) {
			result_command(r, "dnf reinstall -y shim-x64 grub2-efi-x64");
		} else {
			result_command(r, "grub2-install %s", dev);
			result_command(r, "grub2-mkconfig -o /boot/grub2/grub.cfg");
		}
		break;
	case FAMILY_SUSE:
		result_command(r, "grub2-install %s", efi ? "--target=x86_64-efi" : dev);
		result_command(r, "grub2-mkconfig -o /boot/grub2/grub.cfg");
		break;
	default:
		if (efi)
			result_command(r, "grub-install --target=x86_64-efi --efi-directory=/boot/efi");
		else
			result_command(r, "grub-install --target=i386-pc %s", dev);
		result_command(r, ctx->host->family == FAMILY_DEBIAN ? "update-grub" : "grub-mkconfig -o /boot/grub/grub.cfg");
		break;
	}
}

static void run(struct check_ctx *ctx, struct result *r)
{
	struct disk_set *ds = ctx_disks(ctx);
	_cleanup_(boot_layout_free) struct boot_layout l = { 0 };

	boot_layout_probe(ctx->root, ds, &l);
	if (ds->error)
		result_set(r, ST_ERROR, "The disks could not be discovered (%s).", ds->error);
	if (!l.disk) {
		if (l.uefi_ok) {
			describe_uefi(ctx, r, &l);
			result_detail(r, "No disk was found to check BIOS boot code (pass --disk).");
			return;
		}
		result_set(r, ST_ERROR, "No disk backs %s, so its boot code cannot be checked; name it with --disk.",
			   sysroot_path(ctx->root));
		return;
	}
	if (l.disk->error) {
		device_evidence(r, l.disk->path, NULL, l.disk->error);
		result_set(r, ST_ERROR, "Cannot read the boot disk: %s.", l.disk->error);
		if (!l.uefi_ok)
			return;
	} else {
		result_detail(r, "Boot disk %s (%s %s).", l.disk->path, l.disk_found_by[0] == '/' ? "holds" : "chosen as",
			      l.disk_found_by);
		describe_bios(r, &l);
	}
	describe_uefi(ctx, r, &l);
	if (l.read_error) {
		result_set(r, ST_ERROR, "%s.", l.read_error);
		return;
	}
	if (l.bios_ok || l.uefi_ok) {
		/* One working path boots; a broken other one still deserves attention. */
		if (l.bios_broken)
			result_status(r, ST_WARN);
		return;
	}
	if (l.mbr.loader == BL_UNKNOWN || (l.esp_vol && !l.esp.mount) || (l.mbr.chainloads && !l.vbr_vol)) {
		result_set(r, ST_WARN, "No known boot loader was found, but one may be present where this check "
			   "cannot see it (unknown boot code, chain-loading, or an unmounted EFI system partition).");
		if (l.esp_vol && !l.esp.mount)
			result_command(r, "mount %s %s/boot/efi", l.esp_vol->name,
				       sysroot_is_live(ctx->root) ? "" : sysroot_path(ctx->root));
		return;
	}
	result_set(r, ST_FAIL, "No boot loader on %s: the migrated VM would not start.", l.disk->path);
	remediation(ctx, r, &l);
}

const struct check check_bootloader_present = {
	.id = "bootloader.present",
	.title = "A boot loader is installed on the boot disk",
	.description = "GRUB/LILO/syslinux in the MBR, GRUB core.img in the BIOS boot partition, or EFI loaders on the ESP",
	.run = run,
};
