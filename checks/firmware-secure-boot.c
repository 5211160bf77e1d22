/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firmware.secure-boot: the firmware the source boots with (BIOS, UEFI, or a disk prepared for
 * both) must be one the target offers, and Secure Boot must not be required where the target
 * cannot provide the same keys. Live, the kernel tells (/sys/firmware/efi, the SecureBoot
 * variable); offline, the boot disk's layout does: an ESP with EFI loaders boots by UEFI, boot code
 * in the MBR or a BIOS boot partition with core.img boots by BIOS.
 */
#include "bootlayout.h"
#include "check.h"

#define SECUREBOOT_VAR "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0ccd9ddbd8c"

/* Which firmware each target can give the VM, and how the admin asks for it. Candidates for
 * struct target_profile; kept here while this is the only check that reads them. */
static const struct fw_support {
	bool bios, uefi;
	const char *bios_how, *uefi_how;
} fw_support[TARGET__COUNT] = {
	[TARGET_AZURE] = { true, true, "an Azure generation 1 VM (BIOS)", "an Azure generation 2 VM (UEFI)" },
	[TARGET_KVM] = { true, true, "a VM with SeaBIOS firmware (the default)",
			 "a VM with OVMF (UEFI) firmware (OpenStack image property hw_firmware_type=uefi)" },
	[TARGET_AWS] = { true, true, "an instance with boot mode legacy-bios",
			 "an instance with boot mode uefi (register the AMI with --boot-mode uefi)" },
	[TARGET_GENERIC] = { true, true, "BIOS firmware", "UEFI firmware" },
};

enum mode { MODE_UNKNOWN, MODE_BIOS, MODE_UEFI, MODE_HYBRID };

static enum mode layout_mode(const struct boot_layout *l, bool *esp_unmounted)
{
	bool uefi = l->uefi_ok || (l->esp_vol && !l->esp.mount);

	*esp_unmounted = l->esp_vol && !l->esp.mount;
	if (uefi && l->bios_ok)
		return MODE_HYBRID;
	return uefi ? MODE_UEFI : l->bios_ok ? MODE_BIOS : MODE_UNKNOWN;
}

static void secure_boot(struct check_ctx *ctx, struct result *r, const struct boot_layout *l)
{
	const struct host_facts *h = ctx->host;
	const struct target_profile *t = ctx->target;

	if (!sysroot_is_live(ctx->root)) {
		if (esp_find(&l->esp, EFI_SHIM, false))
			result_detail(r, "shim is installed, so the source may boot with Secure Boot on; that cannot be "
				      "read offline. shim also boots with Secure Boot off, which is how %s will start it.", t->pretty);
		return;
	}
	if (h->firmware != FW_UEFI)
		return;
	cJSON *e = result_evidence(r, SECUREBOOT_VAR, 0, NULL);
	if (!h->secure_boot_known) {
		cJSON_AddStringToObject(e, "secure_boot", "unknown");
		result_set(r, t->supports_secure_boot ? ST_PASS : ST_WARN, "The SecureBoot variable cannot be read, so "
			   "whether Secure Boot is on is unknown.");
		result_command(r, "mokutil --sb-state");
		return;
	}
	cJSON_AddBoolToObject(e, "secure_boot", h->secure_boot);
	if (!h->secure_boot) {
		result_detail(r, "Secure Boot is off.");
		return;
	}
	if (t->supports_secure_boot) {
		result_detail(r, "Secure Boot is on; %s can boot it.", t->pretty);
		return;
	}
	result_set(r, ST_FAIL, "Secure Boot is on, and %s cannot boot this system with the same Secure Boot keys: "
		   "kernels or modules signed only by a local key (MOK) or needing Secure Boot would not start.",
		   t->pretty);
	result_remediation(r, false, "Make sure the system boots with Secure Boot off (every kernel and module "
			   "loads unsigned), then turn Secure Boot off in the firmware setup; choose %s without "
			   "Secure Boot (e.g. no Trusted Launch).", fw_support[t->id].uefi_how);
	result_command(r, "mokutil --sb-state");
	result_command(r, "mokutil --disable-validation");
}

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct host_facts *h = ctx->host;
	const struct fw_support *fs = &fw_support[ctx->target->id];
	_cleanup_(boot_layout_free) struct boot_layout l = { 0 };
	bool live = sysroot_is_live(ctx->root), esp_unmounted = false;
	enum mode m;

	boot_layout_probe(ctx->root, ctx_disks(ctx), &l);
	m = layout_mode(&l, &esp_unmounted);
	if (live && h->firmware != FW_UNKNOWN) {
		/* The running firmware decides; the layout only says whether the other one would work too. */
		bool other = h->firmware == FW_UEFI ? l.bios_ok : (l.uefi_ok || l.esp_vol);
		m = h->firmware == FW_UEFI ? (other ? MODE_HYBRID : MODE_UEFI) : (other ? MODE_HYBRID : MODE_BIOS);
		cJSON *e = result_evidence(r, "/sys/firmware/efi", 0, NULL);
		cJSON_AddStringToObject(e, "firmware", firmware_name(h->firmware));
		result_detail(r, "The system runs on %s firmware.", h->firmware == FW_UEFI ? "UEFI" : "BIOS");
	} else if (!l.disk || l.disk->error) {
		result_set(r, ST_ERROR, "The firmware mode cannot be inferred offline: %s.",
			   l.disk ? l.disk->error : "no disk backs the root (name it with --disk)");
		if (l.disk)
			result_evidence(r, NULL, 0, l.disk->error);
		return;
	} else {
		cJSON *e = result_evidence(r, NULL, 0, NULL);
		cJSON_AddStringToObject(e, "inferred_from", "disk layout");
		cJSON_AddStringToObject(e, "firmware", m == MODE_HYBRID ? "hybrid" : m == MODE_UEFI ? "uefi"
								    : m == MODE_BIOS	   ? "bios" : "unknown");
		if (l.disk)
			cJSON_AddStringToObject(e, "device", l.disk->path);
	}
	switch (m) {
	case MODE_HYBRID:
		result_detail(r, "The boot disk boots by BIOS and by UEFI (hybrid): %s or %s both work.", fs->bios_how,
			      fs->uefi_how);
		if (esp_unmounted)
			result_detail(r, "(The EFI system partition %s is not mounted: its loaders were not checked.)",
				      l.esp_vol->name);
		if (!fs->bios || !fs->uefi)
			result_detail(r, "Choose %s.", fs->uefi ? fs->uefi_how : fs->bios_how);
		break;
	case MODE_UEFI:
		result_detail(r, "%s by UEFI%s: choose %s.", live ? "It boots" : "The boot disk boots",
			      esp_unmounted && !l.uefi_ok ? " (an EFI system partition is there, not mounted)" : "",
			      fs->uefi_how);
		if (!fs->uefi)
			result_set(r, ST_FAIL, "%s offers no UEFI firmware and the disk has no BIOS boot code.",
				   ctx->target->pretty);
		break;
	case MODE_BIOS:
		result_detail(r, "%s by BIOS: choose %s.", live ? "It boots" : "The boot disk boots", fs->bios_how);
		if (!fs->bios)
			result_set(r, ST_FAIL, "%s offers no BIOS firmware and the disk has no EFI system partition.",
				   ctx->target->pretty);
		break;
	default:
		result_set(r, ST_WARN, "The firmware mode cannot be inferred: no EFI system partition with loaders and "
			   "no BIOS boot code was found on the boot disk (see bootloader.present).");
		break;
	}
	secure_boot(ctx, r, &l);
}

const struct check check_firmware_secure_boot = {
	.id = "firmware.secure-boot",
	.title = "Firmware mode and Secure Boot bootable on the target",
	.description = "BIOS/UEFI mode (inferred from the disk offline) and Secure Boot state suit the target",
	.run = run,
};
