/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The EFI system partition as the guest mounts it (/boot/efi, /efi, or /boot itself), read through
 * the sysroot so an offline guest's ESP is seen at ROOT/boot/efi. FAT is case-insensitive and
 * firmware looks names up that way, so every lookup here ignores case and reports the name as
 * stored ("EFI/Boot/bootx64.efi" is the fallback loader just as much as "EFI/BOOT/BOOTX64.EFI").
 */
#ifndef PREPCHECK_ESP_H
#define PREPCHECK_ESP_H

#include <stdbool.h>
#include <stddef.h>

#include "sysroot.h"

enum efi_kind { EFI_OTHER, EFI_SHIM, EFI_GRUB, EFI_SYSTEMD_BOOT, EFI_FALLBACK, EFI_MOKMANAGER };

struct esp_file {
	char *path;  /* guest path as stored: /boot/efi/EFI/debian/shimx64.efi */
	char *dir;   /* the EFI/ subdirectory as stored: "debian", "BOOT" */
	char *name;  /* "shimx64.efi" */
	enum efi_kind kind; /* by name */
	char arch[8];       /* "x64", "aa64", "ia32" or "" */
};

struct esp_info {
	char *mount;          /* where the ESP's EFI/ directory was found, NULL when nowhere */
	char *efi_dir;        /* mount + "/EFI" as stored */
	strv empty_mounts;    /* candidate mount points that exist but hold no EFI/ (not mounted?) */
	struct esp_file *files; /* every *.efi one level below EFI/, sorted by path */
	size_t nfiles;
	const struct esp_file *fallback; /* EFI/BOOT/BOOT<arch>.EFI, NULL when missing */
	enum efi_kind fallback_content;  /* what the fallback binary really is (by content) */
	char *fallback_version;          /* "systemd-boot 252" when the binary says so */
};

/* Scan the candidate mount points in order. Never fails: what is missing stays NULL/empty. */
void esp_scan(const struct sysroot *sr, struct esp_info *out);
void esp_free(struct esp_info *e);

/* The first file of KIND (in a vendor directory, not EFI/BOOT, when vendor_only). */
const struct esp_file *esp_find(const struct esp_info *e, enum efi_kind kind, bool vendor_only);
/* A file named NAME (any case) in EFI/DIR (any case), or NULL. */
const struct esp_file *esp_find_name(const struct esp_info *e, const char *dir, const char *name);

enum efi_kind efi_kind_by_name(const char *name, char arch[8]);
/* Classify a loader binary by the strings it carries; *version gets "systemd-boot 252" style text. */
enum efi_kind efi_kind_by_content(const unsigned char *buf, size_t len, char **version);
const char *efi_kind_name(enum efi_kind k);
/* "shim+grub", "GRUB2", "systemd-boot" or NULL: the boot chain the vendor directories hold. */
const char *esp_chain(const struct esp_info *e);

#endif
