/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The initramfs reader on synthetic images built here: newc and crc cpio, every compression the kernel
 * unpacks (lz4 legacy framing made by the lz4 tool), early archives in front, and hostile images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"
#include "initramfs.h"
#include "modname.h"
#include "run.h"

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = xrealloc(b->p, b->cap);
	}
	if (data)
		memcpy(b->p + b->n, data, n);
	else
		memset(b->p + b->n, 0, n);
	b->n += n;
}

static void pad4(struct buf *b)
{
	put(b, NULL, (4 - (b->n & 3)) & 3);
}

/* One newc entry; namesize 0 means strlen(name) + 1 (a lie otherwise). */
static void entry_raw(struct buf *b, const char *magic, const char *name, uint32_t mode, const void *data,
		      uint32_t size, uint32_t namesize, uint32_t claimed_size)
{
	char hdr[111];
	uint32_t ns = namesize ? namesize : (uint32_t)strlen(name) + 1;

	snprintf(hdr, sizeof(hdr), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", magic, 1u, mode, 0u,
		 0u, 1u, 0u, claimed_size, 0u, 0u, 0u, 0u, ns, 0u);
	put(b, hdr, 110);
	put(b, name, strlen(name) + 1);
	pad4(b);
	put(b, data, size);
	pad4(b);
}

static void entry(struct buf *b, const char *name, uint32_t mode, const char *data)
{
	uint32_t size = data ? (uint32_t)strlen(data) : 0;

	entry_raw(b, "070701", name, mode, data, size, 0, size);
}

static void trailer(struct buf *b)
{
	entry(b, "TRAILER!!!", 0, NULL);
}

/* The main archive every test lists. */
static void main_archive(struct buf *b)
{
	entry(b, ".", S_IFDIR | 0755, NULL);
	entry(b, "usr", S_IFDIR | 0755, NULL);
	entry(b, "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/hv/hv_vmbus.ko", S_IFREG | 0644, "ELF...");
	entry(b, "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/scsi/hv_storvsc.ko.xz", S_IFREG | 0644, "xz");
	entry(b, "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/net/hyperv/hv_netvsc.ko.zst", S_IFREG | 0644, "z");
	entry(b, "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/block/xen-blkfront.ko.gz", S_IFREG | 0644, "g");
	entry(b, "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/hv/hv_vmbus.ko.old", S_IFREG | 0644, "x");
	entry(b, "lib/modules/link.ko", S_IFLNK | 0777, "usr/lib/modules/x.ko");
	entry(b, "init", S_IFREG | 0755, "#!/bin/sh\n");
	trailer(b);
}

static void early_archive(struct buf *b)
{
	entry(b, "kernel", S_IFDIR | 0755, NULL);
	entry(b, "kernel/x86/microcode/GenuineIntel.bin", S_IFREG | 0644, "microcode-blob");
	trailer(b);
}

static void compress_with(const char *filter, const struct buf *in, struct buf *out)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t cap = in->n * 2 + (1u << 20), used = 0;

	out->p = xmalloc(cap);
	assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, out->p, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)in->n);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, in->p, in->n), (la_ssize_t)in->n);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_free(a);
	out->n = out->cap = used;
}

/* The lz4 tool's legacy framing (-l), the one the kernel's build uses; libarchive cannot write it. */
static bool compress_lz4_legacy(const struct buf *in, struct buf *out)
{
	char path[] = "/tmp/test-initramfs-XXXXXX";
	int fd = mkstemp(path);
	const char *argv[] = { "lz4", "-l", "-q", "-c", path, NULL };
	struct run_opts o = { .timeout_ms = 30000, .max_output = 64u << 20 };
	struct run_result res;
	bool ok;

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, in->p, in->n), 0);
	close(fd);
	ok = run_cmd(argv, &o, &res) == 0 && run_ok(&res);
	unlink(path);
	if (ok) {
		out->n = 0;
		put(out, res.out, res.out_len);
	}
	run_result_free(&res);
	return ok;
}

static void assert_main_listing(const struct initramfs_listing *l)
{
	assert_int_equal(l->modules.n, 4);
	assert_string_equal(l->modules.v[0], "hv_netvsc");
	assert_string_equal(l->modules.v[1], "hv_storvsc");
	assert_string_equal(l->modules.v[2], "hv_vmbus");
	assert_string_equal(l->modules.v[3], "xen_blkfront");
	assert_true(initramfs_has_module(l, "xen-blkfront"));
	assert_true(initramfs_has_module(l, "hv_vmbus"));
	assert_false(initramfs_has_module(l, "hv_utils"));
	assert_false(initramfs_has_module(l, "link"));
	assert_true(strv_contains(&l->files, "init"));
	assert_false(strv_contains(&l->files, "."));
	assert_int_equal(l->module_paths.n, 4);
}

static int list(const struct buf *b, const struct initramfs_limits *lim, struct initramfs_listing *l, char **err)
{
	return initramfs_list_mem(b->p, b->n, lim, l, err);
}

static void test_uncompressed(void **state)
{
	struct buf b = { 0 };
	struct initramfs_listing l;
	char *err = NULL;

	main_archive(&b);
	assert_int_equal(list(&b, NULL, &l, &err), 0);
	assert_null(err);
	assert_main_listing(&l);
	assert_string_equal(l.compression, "none");
	assert_int_equal(l.early_archives, 0);
	assert_int_equal(l.files.n, 8);
	initramfs_listing_free(&l);
	buf_free(&b);
}

static void test_crc_format(void **state)
{
	struct buf b = { 0 };
	struct initramfs_listing l;
	char *err = NULL;

	entry_raw(&b, "070702", "lib/modules/6.1/virtio_blk.ko", S_IFREG | 0644, "abc", 3, 0, 3);
	trailer(&b);
	assert_int_equal(list(&b, NULL, &l, &err), 0);
	assert_int_equal(l.modules.n, 1);
	assert_string_equal(l.modules.v[0], "virtio_blk");
	initramfs_listing_free(&l);
	buf_free(&b);
}

static void check_compressed(const char *filter, bool legacy_lz4, int early)
{
	struct buf plain = { 0 }, z = { 0 }, img = { 0 };
	struct initramfs_listing l;
	char *err = NULL;

	main_archive(&plain);
	if (legacy_lz4) {
		if (!compress_lz4_legacy(&plain, &z)) {
			buf_free(&plain);
			fail_msg("the lz4 tool is needed for the legacy framing test (packaging/install-build-deps --test)");
		}
	} else {
		compress_with(filter, &plain, &z);
	}
	for (int i = 0; i < early; i++) {
		early_archive(&img);
		put(&img, NULL, 512); /* dracut and the kernel allow zero padding between archives */
	}
	put(&img, z.p, z.n);
	if (initramfs_list_mem(img.p, img.n, NULL, &l, &err) != 0)
		fail_msg("%s: %s", filter, err);
	assert_main_listing(&l);
	assert_string_equal(l.compression, legacy_lz4 ? "lz4" : filter);
	assert_int_equal(l.early_archives, early);
	assert_int_equal(strv_contains(&l.files, "kernel/x86/microcode/GenuineIntel.bin"), early > 0);
	initramfs_listing_free(&l);

	/* Every truncation of the compressed stream is an error (or, past the cpio trailer, a full
	 * listing), never a crash. */
	for (size_t cut = img.n - z.n + 1; cut < img.n; cut += 1 + z.n / 64) {
		int r = initramfs_list_mem(img.p, cut, NULL, &l, &err);

		if (r < 0) {
			assert_non_null(err);
			free(err);
			err = NULL;
		} else {
			assert_main_listing(&l);
			initramfs_listing_free(&l);
		}
		if (cut < img.n - z.n / 2 && cut > img.n - z.n)
			assert_true(r < 0);
	}
	buf_free(&plain);
	buf_free(&z);
	buf_free(&img);
}

static void test_gzip(void **state) { check_compressed("gzip", false, 0); check_compressed("gzip", false, 1); }
static void test_xz(void **state) { check_compressed("xz", false, 0); check_compressed("xz", false, 2); }
static void test_lzma(void **state) { check_compressed("lzma", false, 0); check_compressed("lzma", false, 1); }
static void test_zstd(void **state) { check_compressed("zstd", false, 0); check_compressed("zstd", false, 1); }
static void test_lz4(void **state) { check_compressed("lz4", false, 0); check_compressed("lz4", false, 1); }
static void test_lz4_legacy(void **state) { check_compressed("lz4", true, 0); check_compressed("lz4", true, 1); }
static void test_bzip2(void **state) { check_compressed("bzip2", false, 0); check_compressed("bzip2", false, 1); }

static void test_from_fd(void **state)
{
	struct buf plain = { 0 }, img = { 0 }, z = { 0 };
	struct initramfs_listing l;
	char path[] = "/tmp/test-initramfs-XXXXXX";
	char *err = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	main_archive(&plain);
	compress_with("zstd", &plain, &z);
	early_archive(&img);
	put(&img, z.p, z.n);
	buf_free(&z);
	assert_int_equal(write_all(fd, img.p, img.n), 0);
	assert_int_equal(initramfs_list_fd(fd, NULL, &l, &err), 0);
	assert_main_listing(&l);
	assert_int_equal(l.early_archives, 1);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)img.n); /* pread: the offset is untouched */
	initramfs_listing_free(&l);
	close(fd);

	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(initramfs_list_fd(fd, NULL, &l, &err), -EINVAL);
	assert_non_null(strstr(err, "regular"));
	free(err);
	close(fd);
	buf_free(&plain);
	buf_free(&img);
}

/* Expect error code want, with a message holding needle. */
static void expect(const struct buf *b, const struct initramfs_limits *lim, int want, const char *needle)
{
	struct initramfs_listing l;
	char *err = NULL;
	int r = list(b, lim, &l, &err);

	if (r != want || !err || !strstr(err, needle))
		fail_msg("expected %d '%s', got %d '%s'", want, needle, r, err ? err : "(none)");
	assert_int_equal(l.files.n, 0);
	free(err);
}

static void test_wrong_magic(void **state)
{
	struct buf b = { 0 };

	put(&b, "This is not an initramfs, just some text that goes on for a while.", 66);
	expect(&b, NULL, -EPROTONOSUPPORT, "neither a cpio archive nor a known compression");
	buf_free(&b);
	expect(&b, NULL, -EBADMSG, "empty");
	put(&b, NULL, 4096);
	expect(&b, NULL, -EBADMSG, "empty");
	buf_free(&b);

	/* A known compression that holds no cpio. */
	struct buf text = { 0 }, z = { 0 };

	put(&text, "hello, world\n", 13);
	compress_with("gzip", &text, &z);
	expect(&z, NULL, -EBADMSG, "no cpio newc/crc header");
	buf_free(&text);
	buf_free(&z);

	/* The old binary and odc cpio formats: the kernel does not take them either. */
	put(&b, "070707000000000000", 18);
	put(&b, NULL, 200);
	expect(&b, NULL, -EBADMSG, "no cpio newc/crc header");
	buf_free(&b);
}

static void test_truncated_raw(void **state)
{
	struct buf b = { 0 };

	early_archive(&b);
	main_archive(&b);
	for (size_t cut = 1; cut < b.n; cut++) {
		struct initramfs_listing l;
		char *err = NULL;
		int r = initramfs_list_mem(b.p, cut, NULL, &l, &err);

		if (r == 0) { /* only right after the first trailer: then it is a complete image */
			assert_int_equal(l.files.n, 2);
			initramfs_listing_free(&l);
			continue;
		}
		if (r != -EPIPE && r != -EBADMSG && r != -EPROTONOSUPPORT)
			fail_msg("cut at %zu: %d %s", cut, r, err);
		assert_non_null(err);
		free(err);
	}
	buf_free(&b);

	entry(&b, "init", S_IFREG | 0755, "#!/bin/sh\n");
	trailer(&b);
	b.n = 110 + 8; /* inside the name */
	expect(&b, NULL, -EPIPE, "truncated");
	buf_free(&b);
}

static void test_absurd_sizes(void **state)
{
	struct buf b = { 0 };
	struct initramfs_limits lim = { 1u << 20, 1000, 256 };

	entry_raw(&b, "070701", "init", S_IFREG, "x", 1, 0xFFFFFFFFu, 1);
	trailer(&b);
	expect(&b, NULL, -EBADMSG, "absurd name size");
	buf_free(&b);

	entry_raw(&b, "070701", "init", S_IFREG, "x", 1, 0, 0xFFFFFFFFu);
	trailer(&b);
	expect(&b, NULL, -E2BIG, "claims 4294967295 bytes");
	buf_free(&b);

	/* Under the limit but past the end of the image. */
	entry_raw(&b, "070701", "init", S_IFREG, "x", 1, 0, 100000);
	trailer(&b);
	expect(&b, &lim, -EPIPE, "truncated");
	buf_free(&b);

	/* Longer than the name limit; and a name size that points past the NUL. */
	char longname[300];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	entry(&b, longname, S_IFREG, "x");
	trailer(&b);
	expect(&b, &lim, -EBADMSG, "absurd name size");
	buf_free(&b);
	entry_raw(&b, "070701", "init", S_IFREG, NULL, 0, 3, 0);
	trailer(&b);
	expect(&b, NULL, -EBADMSG, "not a string");
	buf_free(&b);

	/* A header with a non-hex field. */
	entry(&b, "init", S_IFREG, "x");
	b.p[6 + 8 * 6 + 3] = 'Z';
	expect(&b, NULL, -EBADMSG, "non-hex field 6");
	buf_free(&b);

	/* Too many entries. */
	for (int i = 0; i < 1001; i++)
		entry(&b, "f", S_IFREG, NULL);
	trailer(&b);
	expect(&b, &lim, -E2BIG, "more than 1000 entries");
	buf_free(&b);
}

static void test_unsafe_names(void **state)
{
	static const char *const bad[] = { "../etc/passwd", "lib/../../x", "./..", "a/..", "/../a" };
	static const char *const good[] = { "..a", "a..", "a/..b/c", "./lib/x" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct buf b = { 0 };

		entry(&b, bad[i], S_IFREG, "x");
		trailer(&b);
		expect(&b, NULL, -EBADMSG, "unsafe name");
		buf_free(&b);
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct buf b = { 0 };
		struct initramfs_listing l;
		char *err = NULL;

		entry(&b, good[i], S_IFREG, "x");
		trailer(&b);
		assert_int_equal(list(&b, NULL, &l, &err), 0);
		assert_int_equal(l.files.n, 1);
		initramfs_listing_free(&l);
		buf_free(&b);
	}
}

static void test_zip_bomb(void **state)
{
	struct initramfs_limits lim = { 16u << 20, 1000, 256 };
	struct buf plain = { 0 }, z = { 0 };

	/* One entry of 64 MiB of zeros: 2 KiB compressed. Refused before the data is decompressed. */
	entry_raw(&plain, "070701", "bomb", S_IFREG, NULL, 64u << 20, 0, 64u << 20);
	trailer(&plain);
	compress_with("zstd", &plain, &z);
	assert_true(z.n < 64u << 10);
	expect(&z, &lim, -E2BIG, "beyond the limit");
	buf_free(&z);
	buf_free(&plain);

	/* Zeros after the trailer (padding without end): stopped at the limit. */
	trailer(&plain);
	put(&plain, NULL, 64u << 20);
	compress_with("xz", &plain, &z);
	expect(&z, &lim, -E2BIG, "zip bomb");
	buf_free(&z);
	buf_free(&plain);

	/* Many small files adding up. */
	for (int i = 0; i < 40; i++)
		entry_raw(&plain, "070701", "f", S_IFREG, NULL, 1u << 20, 0, 1u << 20);
	trailer(&plain);
	compress_with("gzip", &plain, &z);
	expect(&z, &lim, -E2BIG, "limit");
	buf_free(&z);
	buf_free(&plain);
}

static void test_truncated_compressed(void **state)
{
	struct buf plain = { 0 }, z = { 0 }, img = { 0 };

	main_archive(&plain);
	compress_with("zstd", &plain, &z);
	early_archive(&img);
	put(&img, z.p, z.n / 2);
	expect(&img, NULL, -EPIPE, "zstd stream at image offset");
	buf_free(&img);
	/* The magic of a compressor alone. */
	put(&img, "\x28\xb5\x2f\xfd", 4);
	expect(&img, NULL, -EPIPE, "zstd stream at image offset 0 is truncated");
	buf_free(&img);
	buf_free(&z);
	buf_free(&plain);
}

static void test_junk_after_trailer(void **state)
{
	struct buf b = { 0 }, z = { 0 }, plain = { 0 };

	main_archive(&plain);
	put(&plain, "junk after the trailer", 22);
	compress_with("zstd", &plain, &z);
	expect(&z, NULL, -EBADMSG, "no cpio newc/crc header");
	buf_free(&b);
	buf_free(&z);
	buf_free(&plain);
}

static void test_modname(void **state)
{
	char *m = modname_from_path("a/b/xen-blkfront.ko.zst");

	assert_string_equal(m, "xen_blkfront");
	free(m);
	assert_null(modname_from_path("a/.ko"));
	assert_null(modname_from_path("a/b.ko.bz2"));
	assert_null(modname_from_path("modules.dep"));
	assert_true(modname_eq("hv-vmbus", "hv_vmbus"));
	assert_false(modname_eq("hv_vmbus", "hv_vmbu"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uncompressed), cmocka_unit_test(test_crc_format),
		cmocka_unit_test(test_gzip),         cmocka_unit_test(test_xz),
		cmocka_unit_test(test_lzma),         cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_lz4),          cmocka_unit_test(test_lz4_legacy),
		cmocka_unit_test(test_bzip2),        cmocka_unit_test(test_from_fd),
		cmocka_unit_test(test_wrong_magic),  cmocka_unit_test(test_truncated_raw),
		cmocka_unit_test(test_absurd_sizes), cmocka_unit_test(test_unsafe_names),
		cmocka_unit_test(test_zip_bomb),     cmocka_unit_test(test_junk_after_trailer),
		cmocka_unit_test(test_truncated_compressed),
		cmocka_unit_test(test_modname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
