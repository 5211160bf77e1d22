/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <elf.h>
#include <stddef.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../agent/common/fileio.h"
#include "guest-arch.h"

#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif

static unsigned elf_u16(const unsigned char *p, unsigned char data)
{
	return data == ELFDATA2MSB ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

const char *elf_header_arch(const void *hdr, size_t len)
{
	const unsigned char *h = hdr;
	unsigned char cls, data;
	bool is64;

	/* e_machine sits at the same offset (18) in Elf32_Ehdr and Elf64_Ehdr. */
	if (!h || len < offsetof(Elf32_Ehdr, e_machine) + 2 || memcmp(h, ELFMAG, SELFMAG) != 0)
		return NULL;
	cls = h[EI_CLASS];
	data = h[EI_DATA];
	if ((cls != ELFCLASS32 && cls != ELFCLASS64) || (data != ELFDATA2LSB && data != ELFDATA2MSB))
		return NULL;
	is64 = cls == ELFCLASS64;
	switch (elf_u16(h + offsetof(Elf32_Ehdr, e_machine), data)) {
	case EM_X86_64:
		return is64 ? "x86_64" : NULL; /* x32 has no distribution of its own */
	case EM_386:
		return "i686";
	case EM_AARCH64:
		return "aarch64";
	case EM_ARM:
		return "armv7l";
	case EM_PPC64:
		return data == ELFDATA2LSB ? "ppc64le" : "ppc64";
	case EM_PPC:
		return "ppc";
	case EM_S390:
		return is64 ? "s390x" : "s390";
	case EM_RISCV:
		return is64 ? "riscv64" : "riscv32";
	case EM_LOONGARCH:
		return is64 ? "loongarch64" : NULL;
	default:
		return NULL;
	}
}

static const char *arch_of_file(const struct sysroot *sr, const char *path)
{
	unsigned char hdr[sizeof(Elf64_Ehdr)];
	_cleanup_close_ int fd = sysroot_open(sr, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, hdr, sizeof(hdr));
	return n > 0 ? elf_header_arch(hdr, (size_t)n) : NULL;
}

/* rpm's platform file: "x86_64-redhat-linux"; the first field is the architecture. */
static const char *arch_of_rpm_platform(const struct sysroot *sr)
{
	static const char *const known[] = { "x86_64", "aarch64", "ppc64le", "ppc64", "s390x", "i686", "riscv64" };
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (sysroot_read_file(sr, "/etc/rpm/platform", 4096, &buf, &len) < 0)
		return NULL;
	buf[strcspn(buf, "-\n")] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (streq(buf, known[i]))
			return known[i];
	return NULL;
}

char *guest_arch(const struct sysroot *sr)
{
	static const char *const elves[] = { "/usr/bin/env", "/bin/sh", "/usr/bin/sh", "/sbin/init" };
	const char *a = NULL;

	if (!sr || sysroot_is_live(sr)) {
		struct utsname u;

		return uname(&u) == 0 ? xstrdup(u.machine) : NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(elves) && !a; i++)
		a = arch_of_file(sr, elves[i]);
	if (!a)
		a = arch_of_rpm_platform(sr);
	return a ? xstrdup(a) : NULL;
}
