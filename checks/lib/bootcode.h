/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which boot loader a BIOS boot sector belongs to, from the signatures each loader's first stage
 * carries: GRUB 2's boot.img ("GRUB " at 0x180, the LBA of core.img at 0x5c), GRUB legacy's stage1
 * (compat version 3.2 at 0x3e), LILO ("LILO" at offset 6, 2 in old releases), SYSLINUX's mbr.bin
 * and gptmbr.bin (their error messages), a DOS/Windows MBR, an all-zero boot code area. Also
 * GRUB 2's core.img (its first sector is diskboot.img) in a BIOS boot partition or the MBR gap, and
 * the SYSLINUX/EXTLINUX volume boot record of a partition.
 *
 * Pure functions over byte buffers: no I/O, so unit tests feed them hostile sectors directly.
 */
#ifndef PREPCHECK_BOOTCODE_H
#define PREPCHECK_BOOTCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOTCODE_SIZE 440 /* boot code area of an MBR; the disk signature and partition table follow */

enum boot_loader {
	BL_NONE,          /* boot code area is all zero (or the buffer is too short to hold any) */
	BL_UNKNOWN,       /* code is there but matches no signature we know */
	BL_GRUB2,         /* GRUB 2 boot.img */
	BL_GRUB_LEGACY,   /* GRUB 0.9x stage1 */
	BL_LILO,
	BL_SYSLINUX,      /* SYSLINUX/EXTLINUX mbr.bin (or a SYSLINUX VBR) */
	BL_SYSLINUX_GPT,  /* SYSLINUX gptmbr.bin */
	BL_DOS,           /* a DOS/Windows MBR: chain-loads the active partition's boot sector */
};

struct bootcode_info {
	enum boot_loader loader;
	const char *family;    /* "GRUB2", "GRUB legacy", "LILO", "syslinux", ... */
	const char *what;      /* one line: which image and how it was recognised */
	size_t sig_offset;     /* where the signature matched */
	bool chainloads;       /* only loads another sector (DOS MBR, syslinux MBR): look at the VBR */
	bool has_core_sector;  /* GRUB 2: core_sector is the LBA of core.img's first sector */
	uint64_t core_sector;
};

/* Identify the boot code of sector 0 (LEN bytes, at most 512 used). Never fails. */
void bootcode_identify(const unsigned char *sec, size_t len, struct bootcode_info *out);
/* Identify a partition's first sector (volume boot record): SYSLINUX/EXTLINUX, GRUB boot.img. */
void bootcode_identify_vbr(const unsigned char *sec, size_t len, struct bootcode_info *out);
/* True when SEC is the first sector of a GRUB 2 core.img for BIOS (diskboot.img). */
bool bootcode_is_grub_core(const unsigned char *sec, size_t len);
const char *boot_loader_family(enum boot_loader l);

#endif
