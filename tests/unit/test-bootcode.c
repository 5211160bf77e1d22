/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Boot sector identification (real GRUB images from grub-pc-bin, synthetic GRUB legacy, LILO,
 * SYSLINUX and DOS sectors, hostile and truncated buffers) and the EFI system partition scan
 * (case-insensitive names, loader kinds by name and by content) on trees built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "bootcode.h"
#include "esp.h"
#include "fileio.h"
#include "sysroot.h"
#include "util.h"

#define GRUB_DIR "/usr/lib/grub/i386-pc"
/* Copy a string literal (embedded NULs included, final NUL excluded). */
#define PUT(dst, lit) memcpy((dst), (lit), sizeof(lit) - 1)

static bool load(const char *path, unsigned char *buf, size_t len)
{
	_cleanup_free_ char *data = NULL;
	size_t n = 0;

	if (read_file_bounded(path, 1u << 20, &data, &n) < 0 || n < len)
		return false;
	memcpy(buf, data, len);
	return true;
}

static void test_grub2_real(void **state)
{
	unsigned char mbr[512] = { 0 }, core[512];
	struct bootcode_info b;

	(void)state;
	if (!load(GRUB_DIR "/boot.img", mbr, 512) || !load(GRUB_DIR "/diskboot.img", core, 512))
		skip(); /* grub-pc-bin is a test dependency; the synthetic cases below still run */
	bootcode_identify(mbr, sizeof(mbr), &b);
	assert_int_equal(b.loader, BL_GRUB2);
	assert_string_equal(b.family, "GRUB2");
	assert_int_equal(b.sig_offset, 0x180);
	assert_true(b.has_core_sector);
	assert_int_equal(b.core_sector, 1); /* boot.img as shipped: core.img right after the MBR */
	assert_false(b.chainloads);
	assert_true(bootcode_is_grub_core(core, sizeof(core)));
	assert_false(bootcode_is_grub_core(mbr, sizeof(mbr)));
	assert_false(bootcode_is_grub_core(core, 511));

	/* grub-bios-setup writes the BIOS boot partition's LBA: 64-bit little endian at 0x5c. */
	PUT(mbr + 0x5c, "\x00\x08\x00\x00\x00\x00\x00\x00");
	bootcode_identify(mbr, sizeof(mbr), &b);
	assert_int_equal(b.core_sector, 2048);
	memset(mbr + 0x5c, 0xff, 8);
	bootcode_identify(mbr, sizeof(mbr), &b);
	assert_true(b.core_sector == UINT64_MAX);

	/* Only the 440 bytes of boot code count: a partition table change does not matter. */
	memset(mbr + 440, 0xa5, 72);
	bootcode_identify(mbr, sizeof(mbr), &b);
	assert_int_equal(b.loader, BL_GRUB2);
}

static void put_grub_msgs(unsigned char *sec, size_t off)
{
	memcpy(sec + off, "GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n", 34);
}

static void test_grub_legacy_and_old(void **state)
{
	unsigned char sec[512] = { 0xeb, 0x48, 0x90 };
	struct bootcode_info b;

	(void)state;
	sec[0x3e] = 3;
	sec[0x3f] = 2;
	put_grub_msgs(sec, 0x17e);
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_GRUB_LEGACY);
	assert_string_equal(b.family, "GRUB legacy");
	assert_false(b.has_core_sector);

	/* GRUB 2 of the 1.9x era: the messages elsewhere, no stage1 version. */
	memset(sec, 0, sizeof(sec));
	sec[0] = 0xeb;
	put_grub_msgs(sec, 0x17b);
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_GRUB2);
	assert_false(b.has_core_sector);

	/* The message cut by the end of the boot code area is not a match. */
	memset(sec, 0, sizeof(sec));
	sec[0] = 0xeb;
	PUT(sec + 436, "GRUB \0Geom\0");
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_UNKNOWN);
	assert_string_equal(b.what, "boot code present but unknown");
}

static void test_lilo_syslinux_dos(void **state)
{
	unsigned char sec[512] = { 0 };
	struct bootcode_info b;

	(void)state;
	sec[0] = 0xfa;
	PUT(sec + 6, "LILO");
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_LILO);
	assert_int_equal(b.sig_offset, 6);
	memset(sec, 0, sizeof(sec));
	sec[0] = 0xfa;
	PUT(sec + 2, "LILO");
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_LILO);
	assert_int_equal(b.sig_offset, 2);

	/* SYSLINUX mbr.bin: cli; xor ax,ax; ... and its three messages. */
	memset(sec, 0, sizeof(sec));
	PUT(sec, "\xfa\x31\xc0\x8e\xd8\x8e\xd0\xbc\x00\x7c");
	PUT(sec + 0x150, "Missing operating system.\0Operating system load error.\0Multiple active partitions.");
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_SYSLINUX);
	assert_string_equal(b.family, "syslinux");
	assert_true(b.chainloads);

	memset(sec, 0, sizeof(sec));
	sec[0] = 0xfa;
	PUT(sec + 0x100, "Boot partition not found\r\nOperating system not bootable\r\nDisk error on boot\r\n");
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_SYSLINUX_GPT);

	memset(sec, 0, sizeof(sec));
	sec[0] = 0x33;
	PUT(sec + 0x12c, "Invalid partition table\0Error loading operating system\0Missing operating system");
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_DOS);
	assert_true(b.chainloads);

	/* A SYSLINUX/EXTLINUX volume boot record counts only where a VBR is expected. */
	memset(sec, 0, sizeof(sec));
	PUT(sec, "\xeb\x58\x90SYSLINUX");
	PUT(sec + 0x1a0, "EXTLINUX");
	bootcode_identify_vbr(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_SYSLINUX);
	assert_false(b.chainloads);
	assert_string_equal(b.what, "EXTLINUX volume boot record");
}

static void test_hostile(void **state)
{
	unsigned char sec[512];
	struct bootcode_info b;

	(void)state;
	memset(sec, 0, sizeof(sec));
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_NONE);
	assert_string_equal(b.what, "the boot code area is all zero");
	/* Zero boot code with a partition table and 0x55aa is still "zeroed". */
	sec[446] = 0x80;
	sec[510] = 0x55;
	sec[511] = 0xaa;
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_NONE);

	memset(sec, 0xff, sizeof(sec));
	bootcode_identify(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_UNKNOWN);
	bootcode_identify_vbr(sec, sizeof(sec), &b);
	assert_int_equal(b.loader, BL_UNKNOWN);

	/* Short and empty buffers never read past their end. */
	bootcode_identify(sec, 0, &b);
	assert_int_equal(b.loader, BL_NONE);
	bootcode_identify(sec, 10, &b);
	assert_int_equal(b.loader, BL_NONE);
	unsigned char *shortbuf = xmalloc(0x190);
	memset(shortbuf, 0, 0x190);
	shortbuf[0] = 0xeb;
	put_grub_msgs(shortbuf, 0x180 - 0x20); /* fits in 0x190 */
	bootcode_identify(shortbuf, 0x190, &b);
	assert_int_equal(b.loader, BL_GRUB2);
	free(shortbuf);
	shortbuf = xmalloc(0x60); /* GRUB signature cannot fit; 0x5c core sector must not be read */
	memset(shortbuf, 0x41, 0x60);
	bootcode_identify(shortbuf, 0x60, &b);
	assert_int_equal(b.loader, BL_UNKNOWN);
	free(shortbuf);

	/* Pseudo-random garbage (fixed seed): never crashes, never claims a loader by accident. */
	unsigned x = 12345;
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof(sec); i++) {
			x = x * 1103515245u + 12345u;
			sec[i] = (unsigned char)(x >> 16);
		}
		bootcode_identify(sec, sizeof(sec), &b);
		assert_true(b.loader == BL_UNKNOWN || b.loader == BL_LILO);
		assert_false(bootcode_is_grub_core(sec, sizeof(sec)));
	}
	assert_string_equal(boot_loader_family((enum boot_loader)99), "unknown");
}

static void test_efi_names(void **state)
{
	char arch[8];

	(void)state;
	assert_int_equal(efi_kind_by_name("shimx64.efi", arch), EFI_SHIM);
	assert_string_equal(arch, "x64");
	assert_int_equal(efi_kind_by_name("SHIMX64.EFI", arch), EFI_SHIM);
	assert_int_equal(efi_kind_by_name("grubaa64.efi", arch), EFI_GRUB);
	assert_string_equal(arch, "aa64");
	assert_int_equal(efi_kind_by_name("systemd-bootx64.efi", arch), EFI_SYSTEMD_BOOT);
	assert_int_equal(efi_kind_by_name("fbx64.efi", arch), EFI_FALLBACK);
	assert_int_equal(efi_kind_by_name("mmx64.efi", arch), EFI_MOKMANAGER);
	assert_int_equal(efi_kind_by_name("BOOTX64.EFI", arch), EFI_OTHER);
	assert_string_equal(arch, "x64");
	assert_int_equal(efi_kind_by_name("grub.efi", arch), EFI_OTHER);
	assert_int_equal(efi_kind_by_name("grubx64.efi.signed", arch), EFI_OTHER);
	assert_int_equal(efi_kind_by_name(".efi", arch), EFI_OTHER);
	assert_int_equal(efi_kind_by_name("", arch), EFI_OTHER);
	assert_int_equal(efi_kind_by_name("shimx64", arch), EFI_OTHER);
	assert_int_equal(efi_kind_by_name("shimfoo.efi", arch), EFI_OTHER);
}

static void test_efi_content(void **state)
{
	static const char sd[] = "xx#### LoaderInfo: systemd-boot 252.19-1~deb12u1 ####yy";
	static const char sd_cut[] = "#### LoaderInfo: systemd-boot 25";
	char *v = NULL;

	(void)state;
	assert_int_equal(efi_kind_by_content((const unsigned char *)sd, sizeof(sd) - 1, &v), EFI_SYSTEMD_BOOT);
	assert_string_equal(v, "systemd-boot 252.19-1~deb12u1");
	free(v);
	/* Version running into the end of the buffer: bounded, no overread. */
	assert_int_equal(efi_kind_by_content((const unsigned char *)sd_cut, sizeof(sd_cut) - 1, &v), EFI_SYSTEMD_BOOT);
	assert_string_equal(v, "systemd-boot 25");
	free(v);
	assert_int_equal(efi_kind_by_content((const unsigned char *)"..UEFI SHIM..", 13, &v), EFI_SHIM);
	assert_null(v);
	assert_int_equal(efi_kind_by_content((const unsigned char *)"GNU GRUB  version", 17, &v), EFI_GRUB);
	assert_int_equal(efi_kind_by_content((const unsigned char *)"UEFI SHI", 8, &v), EFI_OTHER);
	assert_int_equal(efi_kind_by_content((const unsigned char *)"", 0, &v), EFI_OTHER);
}

static void mkfile(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
	_cleanup_free_ char *dir = xstrdup(p);
	_cleanup_free_ char *cmd = NULL;

	*strrchr(dir, '/') = '\0';
	cmd = xasprintf("mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(write_file_atomic(p, content, strlen(content), 0644), 0);
}

static char *tree(void)
{
	char *dir = xstrdup("/tmp/test-bootcode.XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

static void rmtree(char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(dir);
}

static void test_esp_scan(void **state)
{
	char *dir = tree();
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	struct esp_info e;

	(void)state;
	/* FAT as Windows or an old installer leaves it: mixed case everywhere. */
	mkfile(dir, "boot/efi/efi/Debian/shimx64.efi", "....UEFI SHIM....");
	mkfile(dir, "boot/efi/efi/Debian/GRUBX64.EFI", "GNU GRUB");
	mkfile(dir, "boot/efi/efi/Debian/grub.cfg", "configfile $prefix/grub.cfg");
	mkfile(dir, "boot/efi/efi/Boot/bootx64.efi", "....UEFI SHIM....");
	mkfile(dir, "boot/efi/efi/Boot/fbx64.efi", "fallback");
	assert_int_equal(sysroot_new(dir, SYSROOT_NO_OPENAT2, &sr), 0);
	esp_scan(sr, &e);
	assert_string_equal(e.mount, "/boot/efi");
	assert_string_equal(e.efi_dir, "/boot/efi/efi");
	assert_int_equal(e.nfiles, 4);
	assert_non_null(e.fallback);
	assert_string_equal(e.fallback->path, "/boot/efi/efi/Boot/bootx64.efi");
	assert_int_equal(e.fallback_content, EFI_SHIM);
	assert_string_equal(esp_chain(&e), "shim+grub");
	assert_non_null(esp_find(&e, EFI_GRUB, true));
	assert_string_equal(esp_find(&e, EFI_SHIM, true)->dir, "Debian");
	assert_non_null(esp_find_name(&e, "BOOT", "FBX64.EFI"));
	assert_null(esp_find_name(&e, "debian", "mmx64.efi"));
	esp_free(&e);
	rmtree(dir);
}

static void test_esp_missing(void **state)
{
	char *dir = tree();
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	struct esp_info e;

	(void)state;
	/* /boot/efi exists but is empty (the ESP is not mounted); /boot/efi must not pass for /boot's EFI. */
	mkfile(dir, "boot/efi/.keep", "");
	mkfile(dir, "boot/vmlinuz-6.1.0-9-amd64", "x");
	assert_int_equal(sysroot_new(dir, SYSROOT_NO_OPENAT2, &sr), 0);
	esp_scan(sr, &e);
	assert_null(e.mount);
	assert_null(e.fallback);
	assert_int_equal(e.empty_mounts.n, 1);
	assert_string_equal(e.empty_mounts.v[0], "/boot/efi");
	assert_null(esp_chain(&e));
	esp_free(&e);
	sysroot_free(TAKE_PTR(sr));
	rmtree(dir);

	/* systemd-boot with the ESP at /boot (vfat, upper-case EFI), the fallback being systemd-boot. */
	dir = tree();
	mkfile(dir, "boot/EFI/systemd/systemd-bootx64.efi", "#### LoaderInfo: systemd-boot 254 ####");
	mkfile(dir, "boot/EFI/BOOT/BOOTX64.EFI", "#### LoaderInfo: systemd-boot 254 ####");
	mkfile(dir, "boot/EFI/BOOT/notes.txt", "x");
	assert_int_equal(sysroot_new(dir, SYSROOT_NO_OPENAT2, &sr), 0);
	esp_scan(sr, &e);
	assert_string_equal(e.mount, "/boot");
	assert_int_equal(e.fallback_content, EFI_SYSTEMD_BOOT);
	assert_string_equal(e.fallback_version, "systemd-boot 254");
	assert_string_equal(esp_chain(&e), "systemd-boot");
	assert_int_equal(e.nfiles, 2);
	esp_free(&e);
	rmtree(dir);
}

static void test_esp_hostile(void **state)
{
	char *dir = tree();
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	_cleanup_free_ char *p = NULL, *q = NULL;
	struct esp_info e;

	(void)state;
	/* EFI/BOOT a file, a vendor directory that is a symlink loop, BOOTX64.EFI a directory. */
	mkfile(dir, "boot/efi/EFI/vendor/x.efi", "");
	p = xasprintf("%s/boot/efi/EFI/loop", dir);
	assert_int_equal(symlink("loop", p), 0);
	q = xasprintf("%s/boot/efi/EFI/BOOT/BOOTX64.EFI", dir);
	_cleanup_free_ char *mk = xasprintf("mkdir -p '%s'", q);
	assert_int_equal(system(mk), 0);
	assert_int_equal(sysroot_new(dir, SYSROOT_NO_OPENAT2, &sr), 0);
	esp_scan(sr, &e);
	assert_string_equal(e.mount, "/boot/efi");
	/* BOOTX64.EFI is a directory: not a loader. */
	assert_null(e.fallback);
	assert_int_equal(e.nfiles, 1);
	assert_null(esp_chain(&e));
	esp_free(&e);
	rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grub2_real),   cmocka_unit_test(test_grub_legacy_and_old),
		cmocka_unit_test(test_lilo_syslinux_dos), cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_efi_names),    cmocka_unit_test(test_efi_content),
		cmocka_unit_test(test_esp_scan),     cmocka_unit_test(test_esp_missing),
		cmocka_unit_test(test_esp_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
