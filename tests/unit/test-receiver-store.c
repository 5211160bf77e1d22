/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The receiver's storage engine without HTTP: stage, commit, abort, resume, hashes, resize, and a crash
 * simulated at every step of a commit (the hook makes the commit stop there; the store is then dropped
 * without any cleanup and reopened, which replays the journal): the replica is always exactly the
 * previous or the new pass, and the new one whenever the journal was written.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "agents.h"
#include "register.h"
#include "run.h"
#include "store-internal.h"
#include "store.h"
#include "util.h"

#define CS RSTORE_CHUNK_MIN

struct fixture {
	char dir[64];
	struct rstore *s;
	const char *crash_at;
	const char *boot_id; /* NULL: this machine's */
};

static int crash_hook(void *userdata, const char *point)
{
	const struct fixture *f = userdata;

	return f->crash_at && streq(f->crash_at, point) ? -EINTR : 0;
}

static void reopen(struct fixture *f, bool vhd)
{
	struct rstore_options o = { .vhd = vhd, .hook = crash_hook, .hook_userdata = f, .boot_id = f->boot_id };

	rstore_free(f->s);
	f->s = NULL;
	assert_int_equal(rstore_open(f->dir, &o, &f->s), 0);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-receiver-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	reopen(f, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "rm", "-rf", f->dir, NULL };
	struct run_result res = { 0 };

	rstore_free(f->s);
	assert_int_equal(run_cmd(argv, NULL, &res), 0);
	assert_true(run_ok(&res));
	run_result_free(&res);
	free(f);
	return 0;
}

/* A deterministic image: chunk i filled with byte (seed + i), chunks in zero_mask all zero. */
static uint8_t *image(uint64_t size, unsigned seed, uint64_t zero_mask)
{
	uint8_t *b = xmalloc(size);

	for (uint64_t i = 0; i * CS < size; i++)
		memset(b + i * CS, (zero_mask >> (i % 64)) & 1 ? 0 : (int)((seed + i) % 255 + 1),
		       chunk_len(size, CS, i));
	return b;
}

static void put(struct fixture *f, uint64_t pass, const uint8_t *img, uint64_t size, uint64_t i)
{
	uint8_t h[32];
	size_t len = chunk_len(size, CS, i);

	assert_int_equal(sha256_buf(img + i * CS, len, h), 0);
	assert_int_equal(rstore_put_chunk(f->s, "a1", "sda", pass, i, img + i * CS, len, h), 0);
}

/* One complete pass sending every chunk (zeros declared). */
static uint64_t full_pass(struct fixture *f, const uint8_t *img, uint64_t size)
{
	uint64_t pass, n = (size + CS - 1) / CS;
	bool resumed;

	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &pass, &resumed), 0);
	for (uint64_t i = 0; i < n; i++) {
		bool zero = true;
		for (uint64_t k = 0; k < chunk_len(size, CS, i) && zero; k++)
			zero = img[i * CS + k] == 0;
		if (zero) {
			const uint64_t r[1][2] = { { i, 1 } };
			assert_int_equal(rstore_put_zeros(f->s, "a1", "sda", pass, r, 1), 0);
		} else {
			put(f, pass, img, size, i);
		}
	}
	return pass;
}

static void assert_replica(struct fixture *f, const uint8_t *img, uint64_t size)
{
	_cleanup_free_ char *path = xasprintf("%s/a1/sda.raw", f->dir);
	_cleanup_free_ uint8_t *got = xmalloc(size + 1);
	_cleanup_close_ int fd = open(path, O_RDONLY);
	struct stat st;
	_cleanup_free_ uint8_t *hashes = NULL;
	uint64_t n = (size + CS - 1) / CS;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, size);
	assert_int_equal(pread(fd, got, size, 0), (ssize_t)size);
	assert_memory_equal(got, img, size);
	hashes = xmalloc(n * 32);
	assert_int_equal(rstore_hashes(f->s, "a1", "sda", 0, n, hashes), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t h[32];
		assert_int_equal(sha256_buf(img + i * CS, chunk_len(size, CS, i), h), 0);
		assert_memory_equal(hashes + i * 32, h, 32);
	}
}

static void test_names(void **state)
{
	assert_true(rstore_name_valid("sda"));
	assert_true(rstore_name_valid("vm-01_disk.0"));
	assert_false(rstore_name_valid(""));
	assert_false(rstore_name_valid("."));
	assert_false(rstore_name_valid(".."));
	assert_false(rstore_name_valid("../etc"));
	assert_false(rstore_name_valid("a/b"));
	assert_false(rstore_name_valid("a b"));
	assert_false(rstore_name_valid("0123456789012345678901234567890123456789012345678901234567890123x"));
	assert_true(rstore_geometry_valid(1, CS));
	assert_false(rstore_geometry_valid(1, CS + 1));
	assert_false(rstore_geometry_valid(1, CS / 2));
	assert_false(rstore_geometry_valid(1, RSTORE_CHUNK_MAX * 2));
	assert_false(rstore_geometry_valid(0, CS));
	assert_false(rstore_geometry_valid(RSTORE_SIZE_MAX + 1, RSTORE_CHUNK_MAX));
	assert_false(rstore_geometry_valid(RSTORE_SIZE_MAX, CS)); /* too many chunks */
}

static void test_stage_commit(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 10 * CS + 777, pass;
	_cleanup_free_ uint8_t *a = image(size, 1, 0x0c), *b = image(size, 50, 0x21);
	struct rcommit_result res;
	struct rdisk_info di;

	assert_int_equal(rstore_disk_info(f->s, "a1", "sda", &di), -ENOENT);
	assert_int_equal(rstore_hashes(f->s, "a1", "sda", 0, 1, (uint8_t[32]){ 0 }), -ENOENT);
	pass = full_pass(f, a, size);
	assert_int_equal(pass, 1);
	assert_int_equal(rstore_disk_info(f->s, "a1", "sda", &di), 0);
	assert_true(di.pass_open);
	assert_int_equal(di.committed_pass, 0);
	assert_int_equal(di.pass_staged, 11);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), 0);
	assert_int_equal(res.chunks_applied, 9);
	assert_int_equal(res.zero_chunks, 2);
	assert_replica(f, a, size);

	/* the same state after a clean restart */
	reopen(f, false);
	assert_replica(f, a, size);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), 0);
	assert_true(res.already);

	/* incremental: only the differing chunks */
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &pass, &(bool){ 0 }), 0);
	assert_int_equal(pass, 2);
	for (uint64_t i = 0; i < 11; i++) {
		if (memcmp(a + i * CS, b + i * CS, chunk_len(size, CS, i)) == 0)
			continue;
		if (b[i * CS] == 0) {
			const uint64_t r[1][2] = { { i, 1 } };
			assert_int_equal(rstore_put_zeros(f->s, "a1", "sda", pass, r, 1), 0);
		} else {
			put(f, pass, b, size, i);
		}
	}
	assert_replica(f, a, size); /* not before the commit */
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), 0);
	assert_replica(f, b, size);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", 1, &res), -ESRCH);
}

static void test_abort_resume(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 4 * CS, pass, p2;
	_cleanup_free_ uint8_t *a = image(size, 1, 0), *b = image(size, 9, 0);
	_cleanup_free_ uint8_t *bm = NULL;
	struct rcommit_result res;
	struct rdisk_info di;
	size_t len;
	bool resumed;

	assert_int_equal(rstore_commit(f->s, "a1", "sda", full_pass(f, a, size), &res), 0);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &pass, &resumed), 0);
	assert_false(resumed);
	put(f, pass, b, size, 2);
	/* "the agent and the receiver restart": the pass and its staged chunk are still there */
	reopen(f, false);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &p2, &resumed), 0);
	assert_true(resumed);
	assert_int_equal(p2, pass);
	assert_int_equal(rstore_pass_staged(f->s, "a1", "sda", pass, &bm, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(bm[0], 0x04);
	/* abort: gone, replica untouched, the next id is new */
	assert_int_equal(rstore_abort(f->s, "a1", "sda", pass), 0);
	assert_int_equal(rstore_abort(f->s, "a1", "sda", pass), 0);
	assert_int_equal(rstore_abort(f->s, "a1", "sda", 1), -EPERM);
	assert_int_equal(rstore_put_chunk(f->s, "a1", "sda", pass, 0, a, CS, (uint8_t[32]){ 0 }), -ESRCH);
	assert_int_equal(rstore_disk_info(f->s, "a1", "sda", &di), 0);
	assert_false(di.pass_open);
	assert_replica(f, a, size);
	reopen(f, false);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &p2, &resumed), 0);
	assert_int_equal(p2, pass + 1);
	/* another geometry replaces the open pass */
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size + CS, CS, &pass, &resumed), 0);
	assert_false(resumed);
	assert_int_equal(pass, p2 + 1);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, 2 * CS, &pass, &resumed), -EXDEV);
}

static void corrupt(struct fixture *f, uint64_t off, size_t len)
{
	_cleanup_free_ char *path = xasprintf("%s/a1/sda.pass/data", f->dir);
	_cleanup_free_ uint8_t *junk = xcalloc(1, len);
	_cleanup_close_ int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, len, (off_t)off), (ssize_t)len);
}

/* Staged chunks are synced by the commit only: a host crash (another boot id) can lose any of them,
 * so a pass loaded in another boot keeps only the chunks whose data still matches its hash. */
static void test_host_crash_unstages_lost_chunks(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 6 * CS, n = 6, pass, p2;
	_cleanup_free_ uint8_t *a = image(size, 1, 0), *b = image(size, 7, 0);
	_cleanup_free_ uint8_t *bm = NULL;
	struct rcommit_result res;
	size_t len;
	bool resumed;

	f->boot_id = "boot-one";
	reopen(f, false);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", full_pass(f, a, size), &res), 0);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &pass, &resumed), 0);
	for (uint64_t i = 0; i < 5; i++)
		put(f, pass, b, size, i);
	/* what the host crash lost: chunk 1's data, chunk 3's hash */
	corrupt(f, 1 * CS + 100, 50);
	corrupt(f, n * CS + 3 * 32, 32);
	/* the process restarts in the same boot: its page cache is what the disk will hold, trusted */
	reopen(f, false);
	assert_int_equal(rstore_pass_staged(f->s, "a1", "sda", pass, &bm, &len), 0);
	assert_int_equal(bm[0], 0x1f);
	free(TAKE_PTR(bm));
	/* another boot: verified */
	f->boot_id = "boot-two";
	reopen(f, false);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &p2, &resumed), 0);
	assert_true(resumed);
	assert_int_equal(rstore_pass_staged(f->s, "a1", "sda", pass, &bm, &len), 0);
	assert_int_equal(bm[0], 0x15);
	free(TAKE_PTR(bm));
	/* verified once per boot: the pass now belongs to this one */
	reopen(f, false);
	assert_int_equal(rstore_pass_staged(f->s, "a1", "sda", pass, &bm, &len), 0);
	assert_int_equal(bm[0], 0x15);
	/* the agent resends what is missing (rewrites of a loaded pass are synced one by one) */
	put(f, pass, b, size, 1);
	put(f, pass, b, size, 3);
	put(f, pass, b, size, 5);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), 0);
	assert_int_equal(res.chunks_applied, 6);
	assert_replica(f, b, size);
}

static size_t dead_passes(const struct fixture *f)
{
	_cleanup_free_ char *path = xasprintf("%s/a1", f->dir);
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".pass-dead") != NULL;
	return n;
}

/* A finished pass's files go in the background; leftovers (a crash) go when the disk is loaded. */
static void test_finished_passes_removed(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 3 * CS;
	_cleanup_free_ uint8_t *a = image(size, 1, 0);
	_cleanup_free_ char *other = xasprintf("%s/a1/sda.pass-dead-9.raw", f->dir);
	struct rcommit_result res;

	assert_int_equal(rstore_commit(f->s, "a1", "sda", full_pass(f, a, size), &res), 0);
	reaper_flush(f->s->reaper);
	assert_int_equal(dead_passes(f), 0);
	for (unsigned k = 0; k < 2; k++) {
		_cleanup_free_ char *dir = xasprintf("%s/a1/sda.pass-dead%s", f->dir, k ? "-12" : "");
		_cleanup_free_ char *data = xasprintf("%s/data", dir);
		_cleanup_close_ int fd = -1;

		assert_int_equal(mkdir(dir, 0700), 0);
		fd = open(data, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
	}
	/* a disk named "sda.pass-dead-9" is another disk: its files are not leftovers of sda */
	{
		_cleanup_close_ int fd = open(other, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
	}
	assert_int_equal(dead_passes(f), 3);
	reopen(f, false);
	assert_replica(f, a, size);
	assert_int_equal(dead_passes(f), 1);
	assert_int_equal(access(other, F_OK), 0);
}

static void test_bad_chunks(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 3 * CS + 10, pass;
	_cleanup_free_ uint8_t *a = image(size, 3, 0);
	_cleanup_free_ uint8_t *bm = NULL;
	uint8_t h[32], wrong[32];
	size_t len;

	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", size, CS, &pass, &(bool){ 0 }), 0);
	assert_int_equal(sha256_buf(a, CS, h), 0);
	memcpy(wrong, h, 32);
	wrong[5] ^= 1;
	put(f, pass, a, size, 0);
	assert_int_equal(rstore_pass_staged(f->s, "a1", "sda", pass, &bm, &len), 0);
	assert_int_equal(bm[0], 0x01);
	free(TAKE_PTR(bm));
	/* a corrupted resend of a staged chunk: refused, and the old copy no longer counts either */
	assert_int_equal(rstore_put_chunk(f->s, "a1", "sda", pass, 0, a, CS, wrong), -EBADMSG);
	assert_int_equal(rstore_pass_staged(f->s, "a1", "sda", pass, &bm, &len), 0);
	assert_int_equal(bm[0], 0x00);
	assert_int_equal(rstore_put_chunk(f->s, "a1", "sda", pass, 1, a, CS, wrong), -EBADMSG);
	assert_int_equal(rstore_put_chunk(f->s, "a1", "sda", pass, 4, a, CS, h), -ERANGE);
	assert_int_equal(rstore_put_chunk(f->s, "a1", "sda", pass, 3, a, CS, h), -EMSGSIZE);
	assert_int_equal(rstore_put_chunk(f->s, "a1", "sda", pass, 1, a, CS - 1, h), -EMSGSIZE);
	const uint64_t past[1][2] = { { 2, 3 } }, huge[1][2] = { { 1, UINT64_MAX } }, none[1][2] = { { 1, 0 } };
	assert_int_equal(rstore_put_zeros(f->s, "a1", "sda", pass, past, 1), -ERANGE);
	assert_int_equal(rstore_put_zeros(f->s, "a1", "sda", pass, huge, 1), -ERANGE);
	assert_int_equal(rstore_put_zeros(f->s, "a1", "sda", pass, none, 1), -ERANGE);
	assert_int_equal(rstore_pass_create(f->s, "a1", "..", size, CS, &pass, &(bool){ 0 }), -EINVAL);
	assert_int_equal(rstore_pass_create(f->s, "../x", "sda", size, CS, &pass, &(bool){ 0 }), -EINVAL);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sdb", size, 3 * CS, &pass, &(bool){ 0 }), -EINVAL);
}

static void test_resize(void **state)
{
	struct fixture *f = *state;
	uint64_t s1 = 5 * CS + 100, s2 = 8 * CS + 5000, s3 = 2 * CS + 3, pass;
	_cleanup_free_ uint8_t *a = image(s1, 1, 0), *b = xcalloc(1, s2), *c = NULL;
	struct rcommit_result res;

	assert_int_equal(rstore_commit(f->s, "a1", "sda", full_pass(f, a, s1), &res), 0);
	/* grow: only chunk 7 sent; the old short chunk 5 grew and reads as old data + zeros */
	memcpy(b, a, s1);
	memset(b + 7 * CS, 0x77, CS);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", s2, CS, &pass, &(bool){ 0 }), 0);
	put(f, pass, b, s2, 7);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), 0);
	assert_replica(f, b, s2);
	/* shrink: nothing sent, chunk 2 becomes a 3-byte chunk */
	c = xmalloc(s3);
	memcpy(c, b, s3);
	assert_int_equal(rstore_pass_create(f->s, "a1", "sda", s3, CS, &pass, &(bool){ 0 }), 0);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), 0);
	assert_replica(f, c, s3);
}

/* A crash at each point of a commit, with and without the VHD. */
static void crash_at(void **state, const char *point, bool journaled, bool vhd)
{
	struct fixture *f = *state;
	uint64_t size = 6 * CS + 512, s2 = 7 * CS, pass;
	_cleanup_free_ uint8_t *a = image(size, 1, 0x04), *b = image(s2, 90, 0x09);
	struct rcommit_result res;
	struct rdisk_info di;

	reopen(f, vhd);
	assert_int_equal(rstore_commit(f->s, "a1", "sda", full_pass(f, a, size), &res), 0);
	/* the new pass also resizes the disk */
	pass = full_pass(f, b, s2);
	f->crash_at = point;
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), -EINTR);
	f->crash_at = NULL;
	reopen(f, vhd);
	assert_int_equal(rstore_disk_info(f->s, "a1", "sda", &di), 0);
	if (journaled) {
		assert_int_equal(di.committed_pass, pass);
		assert_false(di.pass_open);
		assert_replica(f, b, s2);
	} else {
		assert_int_equal(di.committed_pass, pass - 1);
		assert_replica(f, a, size);
		/* the open pass survived and commits */
		assert_true(di.pass_open);
		assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), 0);
		assert_replica(f, b, s2);
	}
	if (vhd) {
		_cleanup_free_ char *path = xasprintf("%s/a1/sda.vhd", f->dir);
		_cleanup_free_ uint8_t *v = xmalloc(s2);
		_cleanup_close_ int fd = open(path, O_RDONLY);
		struct stat st;
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_size, (off_t)(vhd_rounded_size(s2) + 512));
		assert_int_equal(pread(fd, v, s2, 0), (ssize_t)s2);
		assert_memory_equal(v, b, s2);
	}
}

static void test_crash_before_journal(void **s) { crash_at(s, "before-journal", false, false); }
static void test_crash_after_journal(void **s) { crash_at(s, "after-journal", true, false); }
static void test_crash_mid_apply(void **s) { crash_at(s, "mid-apply", true, false); }
static void test_crash_after_apply(void **s) { crash_at(s, "after-apply", true, true); }
static void test_crash_after_meta(void **s) { crash_at(s, "after-meta", true, true); }
static void test_crash_after_unlink(void **s) { crash_at(s, "after-unlink-journal", true, false); }
static void test_crash_mid_apply_vhd(void **s) { crash_at(s, "mid-apply", true, true); }

/* An apply that fails (disk full...) without a crash: the next request finishes it. */
static void test_failed_apply_retried(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 4 * CS, pass;
	_cleanup_free_ uint8_t *a = image(size, 1, 0), *b = image(size, 7, 0x2);
	struct rcommit_result res;
	struct rdisk_info di;

	assert_int_equal(rstore_commit(f->s, "a1", "sda", full_pass(f, a, size), &res), 0);
	pass = full_pass(f, b, size);
	f->crash_at = "mid-apply";
	assert_int_equal(rstore_commit(f->s, "a1", "sda", pass, &res), -EINTR);
	f->crash_at = NULL;
	assert_int_equal(rstore_disk_info(f->s, "a1", "sda", &di), 0);
	assert_int_equal(di.committed_pass, pass);
	assert_replica(f, b, size);
}

static void test_vhd_footer(void **state)
{
	uint8_t f[VHD_FOOTER_SIZE], id[16] = { 1, 2, 3 };
	uint32_t sum = 0, stored;

	assert_int_equal(vhd_rounded_size(1), 1 << 20);
	assert_int_equal(vhd_rounded_size(1 << 20), 1 << 20);
	assert_int_equal(vhd_rounded_size((1 << 20) + 1), 2 << 20);
	vhd_footer(f, 30ull << 30, id, 12345);
	assert_memory_equal(f, "conectix", 8);
	for (int i = 0; i < VHD_FOOTER_SIZE; i++)
		if (i < 64 || i >= 68)
			sum += f[i];
	stored = (uint32_t)f[64] << 24 | (uint32_t)f[65] << 16 | (uint32_t)f[66] << 8 | f[67];
	assert_int_equal(stored, ~sum);
	assert_int_equal(f[63], 2); /* fixed */
	/* 30 GiB: the spec's algorithm gives 16 heads, 63 sectors */
	assert_int_equal(f[58], 16);
	assert_int_equal(f[59], 63);
	/* past 65535*16*63 sectors: 255 sectors per track */
	vhd_footer(f, 64ull << 30, id, 12345);
	assert_int_equal(f[58], 16);
	assert_int_equal(f[59], 255);
	/* small disks: 17 sectors, at least 4 heads */
	vhd_footer(f, 1 << 20, id, 12345);
	assert_int_equal(f[59], 17);
	assert_int_equal(f[58], 4);
	assert_int_equal((f[56] << 8 | f[57]) * 4 * 17, 2048 / 17 / 4 * 4 * 17);
}

static void test_agents(void **state)
{
	char ok[] = "# comment\n\na1 tok-aaaaaaaaaaaaaaaa\n  b2\ttok-bbbbbbbbbbbbbbbb  \n";
	char dup[] = "a1 tok-aaaaaaaaaaaaaaaa\na1 tok-cccccccccccccccc\n";
	char shorttok[] = "a1 short\n";
	char badid[] = "../x tok-aaaaaaaaaaaaaaaa\n";
	char extra[] = "a1 tok-aaaaaaaaaaaaaaaa junk\n";
	char path[] = "/tmp/test-agents.XXXXXX";
	struct agents *a = NULL;
	char id[RSTORE_NAME_MAX + 1];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, ok, strlen(ok)), (ssize_t)strlen(ok));
	close(fd);
	assert_int_equal(agents_open(path, &a), 0);
	assert_int_equal(agents_find(a, "tok-bbbbbbbbbbbbbbbb", id, sizeof(id)), 0);
	assert_string_equal(id, "b2");
	assert_int_equal(agents_find(a, "tok-bbbbbbbbbbbbbbb", id, sizeof(id)), -EACCES);
	assert_int_equal(agents_find(a, "", id, sizeof(id)), -EACCES);
	assert_int_equal(agents_parse("t", dup, strlen(dup), a), -EINVAL);
	assert_int_equal(agents_parse("t", shorttok, strlen(shorttok), a), -EINVAL);
	assert_int_equal(agents_parse("t", badid, strlen(badid), a), -EINVAL);
	assert_int_equal(agents_parse("t", extra, strlen(extra), a), -EINVAL);
	/* a bad file keeps the old table */
	assert_int_equal(agents_find(a, "tok-aaaaaaaaaaaaaaaa", id, sizeof(id)), 0);
	assert_string_equal(id, "a1");
	agents_free(a);
	unlink(path);
}

static void test_register(void **state)
{
	char dir[] = "/tmp/test-register.XXXXXX", key[128], key2[128], id[RSTORE_NAME_MAX + 1], tok[64];
	_cleanup_free_ char *agents = NULL, *cmd = NULL;
	struct agents *a = NULL;
	char found[RSTORE_NAME_MAX + 1];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	agents = xasprintf("%s/agents", dir);
	assert_non_null(f = fopen(agents, "w"));
	fputs("a1 tok-aaaaaaaaaaaaaaaa", f); /* no final newline: the new line must not be glued on */
	fclose(f);
	assert_int_equal(reg_keygen(agents, 3600, key, sizeof(key)), 0);
	assert_int_equal(reg_keygen(agents, -1, key2, sizeof(key2)), 0); /* already expired */
	assert_true(startswith(key, REG_KEY_PREFIX));
	assert_int_equal(reg_register(agents, key2, "h", id, sizeof(id), tok, sizeof(tok)), -EACCES);
	assert_int_equal(reg_register(agents, "mrk-x", "h", id, sizeof(id), tok, sizeof(tok)), -EACCES);
	assert_int_equal(reg_register(agents, key, "../web 01!", id, sizeof(id), tok, sizeof(tok)), 0);
	assert_true(startswith(id, "web01-"));
	assert_true(rstore_name_valid(id));
	assert_int_equal(reg_register(agents, key, "h", id, sizeof(id), tok, sizeof(tok)), -EACCES);
	assert_int_equal(agents_open(agents, &a), 0);
	assert_int_equal(agents_find(a, tok, found, sizeof(found)), 0);
	assert_string_equal(found, id);
	assert_int_equal(agents_find(a, "tok-aaaaaaaaaaaaaaaa", found, sizeof(found)), 0);
	agents_free(a);
	cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_vhd_footer),
		cmocka_unit_test(test_agents),
		cmocka_unit_test(test_register),
		cmocka_unit_test_setup_teardown(test_stage_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_crash_unstages_lost_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finished_passes_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_unlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_apply_vhd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_apply_retried, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
