/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest_arch(): the architecture offline comes from the guest's own ELF binaries (or rpm's platform
 * file), never from the host's uname. Synthetic ELF headers for every machine we map, truncated and
 * non-ELF files, and a guest root whose /usr/bin/env is an aarch64 header: $basearch must expand to
 * aarch64 on this x86_64 host.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fileio.h"
#include "guest-arch.h"
#include "repos.h"
#include "sysroot.h"
#include "util.h"

/* A 64-byte ELF header: magic, class, data, version, and e_machine in the header's byte order. */
static void elf_hdr(unsigned char *h, unsigned char cls, unsigned char data, unsigned machine)
{
	memset(h, 0, sizeof(Elf64_Ehdr));
	memcpy(h, ELFMAG, SELFMAG);
	h[EI_CLASS] = cls;
	h[EI_DATA] = data;
	h[EI_VERSION] = EV_CURRENT;
	h[16] = ET_EXEC;
	if (data == ELFDATA2MSB) {
		h[18] = (unsigned char)(machine >> 8);
		h[19] = (unsigned char)machine;
	} else {
		h[18] = (unsigned char)machine;
		h[19] = (unsigned char)(machine >> 8);
	}
}

static const char *arch_of(unsigned char cls, unsigned char data, unsigned machine)
{
	unsigned char h[sizeof(Elf64_Ehdr)];

	elf_hdr(h, cls, data, machine);
	return elf_header_arch(h, sizeof(h));
}

static void test_elf_machines(void **state)
{
	(void)state;
	assert_string_equal(arch_of(ELFCLASS64, ELFDATA2LSB, EM_X86_64), "x86_64");
	assert_string_equal(arch_of(ELFCLASS64, ELFDATA2LSB, EM_AARCH64), "aarch64");
	assert_string_equal(arch_of(ELFCLASS64, ELFDATA2LSB, EM_PPC64), "ppc64le");
	assert_string_equal(arch_of(ELFCLASS64, ELFDATA2MSB, EM_PPC64), "ppc64");
	assert_string_equal(arch_of(ELFCLASS64, ELFDATA2MSB, EM_S390), "s390x");
	assert_string_equal(arch_of(ELFCLASS32, ELFDATA2MSB, EM_S390), "s390");
	assert_string_equal(arch_of(ELFCLASS32, ELFDATA2LSB, EM_386), "i686");
	assert_string_equal(arch_of(ELFCLASS64, ELFDATA2LSB, EM_RISCV), "riscv64");
	assert_null(arch_of(ELFCLASS32, ELFDATA2LSB, EM_X86_64)); /* x32 */
	assert_null(arch_of(ELFCLASS64, ELFDATA2LSB, 0x7777));
	assert_null(arch_of(ELFCLASSNONE, ELFDATA2LSB, EM_X86_64));
	assert_null(arch_of(ELFCLASS64, 7, EM_X86_64));
}

static void test_elf_garbage(void **state)
{
	unsigned char h[sizeof(Elf64_Ehdr)];

	(void)state;
	elf_hdr(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64);
	assert_string_equal(elf_header_arch(h, 20), "aarch64"); /* e_machine ends at byte 20 */
	assert_null(elf_header_arch(h, 19));                     /* truncated inside e_machine */
	assert_null(elf_header_arch(h, 0));
	assert_null(elf_header_arch(NULL, 64));
	assert_null(elf_header_arch("#!/bin/sh\nexec true\n", 20));
	h[1] = 'e';
	assert_null(elf_header_arch(h, sizeof(h)));
}

static char *tree(void)
{
	char *dir = xstrdup("/tmp/test-guest-arch.XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

static void put(const char *dir, const char *rel, const void *data, size_t len)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
	_cleanup_free_ char *cmd = NULL;

	*strrchr(p, '/') = '\0';
	cmd = xasprintf("mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
	p[strlen(p)] = '/';
	assert_int_equal(write_file_atomic(p, data, len, 0755), 0);
}

static void rmtree(char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(dir);
}

static char *arch_in(const char *dir)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;

	assert_int_equal(sysroot_new(dir, SYSROOT_NO_OPENAT2, &sr), 0);
	return guest_arch(sr);
}

static void test_guest_root(void **state)
{
	char *dir = tree();
	unsigned char h[sizeof(Elf64_Ehdr)];
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	_cleanup_free_ char *a = NULL, *url = NULL;
	struct repo_vars vars;

	(void)state;
	/* Nothing tells: NULL, not the host's x86_64. */
	a = arch_in(dir);
	assert_null(a);
	/* A shell script where env should be, then rpm's platform file. */
	put(dir, "usr/bin/env", "#!/bin/sh\n", 10);
	put(dir, "etc/rpm/platform", "s390x-ibm-linux\n", 16);
	a = arch_in(dir);
	assert_string_equal(a, "s390x");
	free(TAKE_PTR(a));
	/* /bin/sh through a merged-/usr symlink, an absolute one: resolved inside the root. */
	elf_hdr(h, ELFCLASS64, ELFDATA2LSB, EM_PPC64);
	put(dir, "usr/bin/sh", h, sizeof(h));
	{
		_cleanup_free_ char *bin = xasprintf("%s/bin", dir);

		assert_int_equal(symlink("/usr/bin", bin), 0);
	}
	a = arch_in(dir);
	assert_string_equal(a, "ppc64le");
	free(TAKE_PTR(a));
	/* An aarch64 /usr/bin/env wins, and is what $basearch expands to. */
	elf_hdr(h, ELFCLASS64, ELFDATA2LSB, EM_AARCH64);
	put(dir, "usr/bin/env", h, sizeof(h));
	assert_int_equal(sysroot_new(dir, SYSROOT_NO_OPENAT2, &sr), 0);
	a = guest_arch(sr);
	assert_string_equal(a, "aarch64");
	repo_vars_init(&vars, sr, "9.3", a);
	url = repo_vars_expand(&vars, "http://mirror/$releasever_major/$basearch/os/");
	assert_string_equal(url, "http://mirror/9/aarch64/os/");
	repo_vars_free(&vars);
	rmtree(dir);
}

static void test_live(void **state)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	_cleanup_free_ char *a = NULL;

	(void)state;
	assert_int_equal(sysroot_new("/", 0, &sr), 0);
	a = guest_arch(sr);
	assert_non_null(a);
	assert_true(strlen(a) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_machines),
		cmocka_unit_test(test_elf_garbage),
		cmocka_unit_test(test_guest_root),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
