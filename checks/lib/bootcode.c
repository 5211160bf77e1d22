/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "bootcode.h"

#include <string.h>

/* GRUB's first stages (legacy stage1 and GRUB 2 boot.img alike) end with these messages. */
static const char grub_msgs[] = "GRUB \0Geom\0Hard Disk\0Read\0 Error";
#define GRUB2_SIG_OFFSET 0x180
#define GRUB2_KERNEL_SECTOR 0x5c /* 64-bit LE LBA of core.img, written by grub-bios-setup */
#define GRUB_LEGACY_VERSION 0x3e /* stage1's COMPAT_VERSION: major 3, minor 2 */

static const unsigned char *find(const unsigned char *hay, size_t len, const void *needle, size_t nlen)
{
	if (nlen == 0 || len < nlen)
		return NULL;
	return memmem(hay, len, needle, nlen);
}

static bool has_str(const unsigned char *buf, size_t len, const char *s)
{
	return find(buf, len, s, strlen(s)) != NULL;
}

static bool all_zero(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void set(struct bootcode_info *o, enum boot_loader l, const char *what, size_t off)
{
	o->loader = l;
	o->family = boot_loader_family(l);
	o->what = what;
	o->sig_offset = off;
	o->chainloads = l == BL_DOS || l == BL_SYSLINUX || l == BL_SYSLINUX_GPT;
}

/* GRUB legacy or GRUB 2, told apart by where the messages sit and by stage1's version word. */
static bool identify_grub(const unsigned char *code, size_t len, struct bootcode_info *o)
{
	const unsigned char *m = find(code, len, grub_msgs, 11); /* "GRUB \0Geom\0" */
	size_t off;

	if (!m)
		return false;
	off = (size_t)(m - code);
	if (len > GRUB_LEGACY_VERSION + 1 && code[GRUB_LEGACY_VERSION] == 3 && code[GRUB_LEGACY_VERSION + 1] == 2) {
		set(o, BL_GRUB_LEGACY, "GRUB legacy (0.9x) stage1: \"GRUB \" message and compat version 3.2 at 0x3e",
		    off);
		return true;
	}
	if (off == GRUB2_SIG_OFFSET) {
		set(o, BL_GRUB2, "GRUB 2 boot.img (2.x): \"GRUB \" at 0x180", off);
		if (len >= GRUB2_KERNEL_SECTOR + 8) {
			o->has_core_sector = true;
			o->core_sector = le64(code + GRUB2_KERNEL_SECTOR);
		}
		return true;
	}
	set(o, BL_GRUB2, "GRUB 2 boot.img of an early release (1.9x): \"GRUB \" message off its 2.x place", off);
	return true;
}

static void identify(const unsigned char *sec, size_t len, struct bootcode_info *o, bool vbr)
{
	size_t n = len < BOOTCODE_SIZE ? len : BOOTCODE_SIZE;
	/* A VBR's code may use the whole sector up to the 0x55aa signature. */
	size_t code_len = vbr ? (len < 510 ? len : 510) : n;

	memset(o, 0, sizeof(*o));
	if (n < 16 || all_zero(sec, n)) {
		set(o, BL_NONE, n < 16 ? "no boot sector could be read" : "the boot code area is all zero", 0);
		return;
	}
	if (identify_grub(sec, code_len, o))
		return;
	for (size_t off = 2; off <= 6; off += 4)
		if (memcmp(sec + off, "LILO", 4) == 0) {
			set(o, BL_LILO, off == 6 ? "LILO first stage: \"LILO\" at offset 6"
						 : "LILO first stage of an old release: \"LILO\" at offset 2", off);
			return;
		}
	if (vbr && (has_str(sec, code_len, "SYSLINUX") || has_str(sec, code_len, "EXTLINUX"))) {
		set(o, BL_SYSLINUX, has_str(sec, code_len, "EXTLINUX") ? "EXTLINUX volume boot record"
									 : "SYSLINUX volume boot record", 0);
		o->chainloads = false;
		return;
	}
	if (has_str(sec, n, "Multiple active partitions.") && has_str(sec, n, "Operating system load error.")) {
		set(o, BL_SYSLINUX, "SYSLINUX mbr.bin: chain-loads the active partition (extlinux/syslinux there)", 0);
		return;
	}
	if (has_str(sec, n, "Boot partition not found") && has_str(sec, n, "Disk error on boot")) {
		set(o, BL_SYSLINUX_GPT, "SYSLINUX gptmbr.bin: chain-loads the legacy-BIOS-bootable GPT partition", 0);
		return;
	}
	if (has_str(sec, n, "Invalid partition table") || has_str(sec, n, "Error loading operating system")) {
		set(o, BL_DOS, "DOS/Windows-style MBR: chain-loads the active partition's boot sector", 0);
		return;
	}
	set(o, BL_UNKNOWN, "boot code present but unknown", 0);
}

void bootcode_identify(const unsigned char *sec, size_t len, struct bootcode_info *out)
{
	identify(sec, len, out, false);
}

void bootcode_identify_vbr(const unsigned char *sec, size_t len, struct bootcode_info *out)
{
	identify(sec, len, out, true);
}

bool bootcode_is_grub_core(const unsigned char *sec, size_t len)
{
	/* diskboot.img: "push %dx; push %si" then its own messages; core.img's blocklist follows. */
	return len >= 512 && sec[0] == 0x52 && sec[1] == 0x56 && has_str(sec, 512, "loading") &&
	       find(sec, 512, "Geom\0Read\0 Error", 16) != NULL;
}

const char *boot_loader_family(enum boot_loader l)
{
	static const char *const names[] = {
		[BL_NONE] = "none",         [BL_UNKNOWN] = "unknown",   [BL_GRUB2] = "GRUB2",
		[BL_GRUB_LEGACY] = "GRUB legacy", [BL_LILO] = "LILO",  [BL_SYSLINUX] = "syslinux",
		[BL_SYSLINUX_GPT] = "syslinux", [BL_DOS] = "DOS/Windows MBR",
	};

	return (size_t)l < sizeof(names) / sizeof(names[0]) && names[l] ? names[l] : "unknown";
}
