/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How the inspected system boots, read from its boot disk: the MBR boot code, GRUB 2's core.img
 * (MBR gap or GPT BIOS boot partition), a loader in the boot partition's own boot sector, and the
 * EFI system partition with its loaders. Shared by bootloader.present (is a loader there?) and
 * firmware.secure-boot (offline, the layout says whether the system boots by BIOS, UEFI or both).
 */
#ifndef PREPCHECK_BOOTLAYOUT_H
#define PREPCHECK_BOOTLAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "bootcode.h"
#include "disks.h"
#include "esp.h"
#include "sysroot.h"

struct boot_layout {
	const struct blk_disk *disk;     /* the disk holding /boot (else /); NULL when none is known */
	const char *disk_found_by;       /* "/boot", "/", or "the only disk" / "the first disk" */
	struct bootcode_info mbr;
	bool have_mbr;
	/* GRUB 2: where boot.img looks for core.img, and whether core.img is there. */
	bool core_checked, core_found;
	uint64_t core_sector;
	const struct blk_volume *bios_boot;   /* GPT BIOS boot partition */
	bool bios_boot_has_core;
	const struct blk_volume *vbr_vol;     /* partition whose boot sector holds a known loader */
	struct bootcode_info vbr;
	const struct blk_volume *esp_vol;     /* EFI system partition on the boot disk */
	struct esp_info esp;                  /* the ESP as mounted in the guest */
	const char *esp_chain;                /* "shim+grub", "GRUB2", "systemd-boot"... or NULL */
	bool bios_ok;  /* a known BIOS loader whose next stage is in place (or cannot be verified) */
	bool bios_broken; /* GRUB 2 boot.img whose core.img is missing */
	bool uefi_ok;  /* the ESP holds an EFI loader */
	char *read_error; /* a sector could not be read: device and reason */
};

void boot_layout_probe(const struct sysroot *sr, const struct disk_set *ds, struct boot_layout *out);
void boot_layout_free(struct boot_layout *l);

/* True for a GPT BIOS boot or EFI system partition type (GUID any case, or MBR 0xef). */
bool vol_is_bios_boot(const struct blk_volume *v);
bool vol_is_esp(const struct blk_volume *v);

#endif
