/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "initramfs.h"
#include "modname.h"

#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#define CPIO_HDR 110
#define RAW_BUF (64u << 10)

/* The image: a file read with pread, or a buffer. */
struct image {
	const uint8_t *mem;
	int fd;
	uint64_t size;
};

static int image_pread(const struct image *im, uint8_t *buf, size_t n, uint64_t off, size_t *got)
{
	*got = 0;
	if (off >= im->size)
		return 0;
	if (n > im->size - off)
		n = im->size - off;
	if (im->mem) {
		memcpy(buf, im->mem + off, n);
		*got = n;
		return 0;
	}
	while (*got < n) {
		ssize_t r = pread(im->fd, buf + *got, n - *got, (off_t)(off + *got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		*got += r;
	}
	return 0;
}

struct reader {
	struct initramfs_limits lim;
	struct initramfs_listing *out;
	char *err;
	uint64_t bytes;   /* consumed from every stream, all together */
	size_t entries;
	size_t name_bytes; /* kept in the listing */
	char *name;       /* lim.max_name bytes, reused for every entry */
};

_printf_(3, 4) static int fail(struct reader *rd, int code, const char *fmt, ...)
{
	va_list ap;

	if (!rd->err) {
		va_start(ap, fmt);
		if (vasprintf(&rd->err, fmt, ap) < 0)
			abort();
		va_end(ap);
	}
	return code;
}

/*
 * A byte stream the cpio parser consumes: the raw image (from offset 0, for the uncompressed archives
 * in front), or the decompressed output of libarchive. Both hand out blocks; reading copies only the
 * headers and names, skipping file data costs nothing for the raw image and no copy for archives.
 */
struct stream {
	struct reader *rd;
	const struct image *im;  /* raw mode */
	struct archive *a;       /* decompressed mode */
	const char *what;        /* "image" or "zstd stream at image offset N", for messages */
	const uint8_t *blk;
	size_t blk_len;
	uint64_t pos;            /* stream offset of blk[0] */
	uint64_t raw_next;       /* raw: image offset of the byte after blk */
	uint8_t *raw_buf;        /* raw fd mode */
	bool eof;
};

/* Make blk non-empty, or set eof. */
static int stream_fill(struct stream *st)
{
	if (st->blk_len > 0 || st->eof)
		return 0;
	if (!st->a) {
		size_t got = 0;
		int r;

		if (st->im->mem) {
			got = st->raw_next < st->im->size ? st->im->size - st->raw_next : 0;
			st->blk = st->im->mem + st->raw_next;
		} else {
			r = image_pread(st->im, st->raw_buf, RAW_BUF, st->raw_next, &got);
			if (r < 0)
				return fail(st->rd, r, "reading the image at offset %" PRIu64 ": %s", st->raw_next,
					    strerror(-r));
			st->blk = st->raw_buf;
		}
		st->pos = st->raw_next;
		st->raw_next += got;
		st->blk_len = got;
		st->eof = got == 0;
		return 0;
	}
	/* Empty blocks are legal but must not spin forever on a broken stream. */
	for (unsigned empty = 0;; empty++) {
		const void *b;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(st->a, &b, &len, &off);

		if (r == ARCHIVE_EOF) {
			st->eof = true;
			return 0;
		}
		if (r < ARCHIVE_WARN)
			return fail(st->rd, -EBADMSG, "%s: decompression failed after %" PRIu64 " bytes: %s", st->what,
				    st->pos, archive_error_string(st->a) ?: "unknown error");
		if (len == 0 && empty < 1000)
			continue;
		if (len == 0)
			return fail(st->rd, -EBADMSG, "%s: the decompressor makes no progress after %" PRIu64 " bytes",
				    st->what, st->pos);
		st->blk = b;
		st->blk_len = len;
		return 0;
	}
}

/* Account for n bytes consumed; the limit on decompressed bytes is what stops a zip bomb. */
static int stream_account(struct stream *st, size_t n)
{
	st->rd->bytes += n;
	if (st->rd->bytes > st->rd->lim.max_bytes)
		return fail(st->rd, -E2BIG, "%s: more than %" PRIu64 " bytes of archive data (limit reached at "
			    "offset %" PRIu64 "): refusing to read on (zip bomb?)", st->what, st->rd->lim.max_bytes,
			    st->pos);
	return 0;
}

static void stream_advance(struct stream *st, size_t n)
{
	st->blk += n;
	st->blk_len -= n;
	st->pos += n;
}

/* Read exactly n bytes; -EPIPE when the stream ends first. */
static int stream_read(struct stream *st, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		int r = stream_fill(st);

		if (r < 0)
			return r;
		if (st->eof)
			return -EPIPE;
		size_t k = n < st->blk_len ? n : st->blk_len;

		r = stream_account(st, k);
		if (r < 0)
			return r;
		memcpy(p, st->blk, k);
		stream_advance(st, k);
		p += k;
		n -= k;
	}
	return 0;
}

static int stream_skip(struct stream *st, uint64_t n)
{
	while (n > 0) {
		int r;

		/* Raw image: jump over file data without reading it. */
		if (!st->a && n > st->blk_len) {
			uint64_t beyond = n - st->blk_len;

			if (beyond > st->im->size - st->raw_next)
				return -EPIPE;
			st->rd->bytes += n;
			if (st->rd->bytes > st->rd->lim.max_bytes)
				return stream_account(st, 0);
			st->raw_next += beyond;
			st->pos += n;
			st->blk_len = 0;
			return 0;
		}
		r = stream_fill(st);
		if (r < 0)
			return r;
		if (st->eof)
			return -EPIPE;
		size_t k = n < st->blk_len ? n : st->blk_len;

		r = stream_account(st, k);
		if (r < 0)
			return r;
		stream_advance(st, k);
		n -= k;
	}
	return 0;
}

/* Skip to the next multiple of 4 of the stream offset (cpio newc alignment). */
static int stream_align(struct stream *st)
{
	return stream_skip(st, (4 - (st->pos & 3)) & 3);
}

/* Skip NUL bytes (padding between concatenated archives); true at the end of the stream. */
static int stream_skip_zeros(struct stream *st, bool *at_end)
{
	for (;;) {
		size_t k = 0;
		int r = stream_fill(st);

		if (r < 0)
			return r;
		if (st->eof) {
			*at_end = true;
			return 0;
		}
		while (k < st->blk_len && st->blk[k] == 0)
			k++;
		r = stream_account(st, k);
		if (r < 0)
			return r;
		stream_advance(st, k);
		if (st->blk_len > 0) {
			*at_end = false;
			return 0;
		}
	}
}

/* The raw image continues with a cpio header ("0707"); read directly, a block boundary may fall
 * inside the magic. */
static bool raw_at_cpio(const struct stream *st)
{
	uint8_t m[4];
	size_t got = 0;

	if (image_pread(st->im, m, sizeof(m), st->pos, &got) < 0 || got < sizeof(m))
		return false;
	return memcmp(m, "0707", 4) == 0;
}

static int parse_hex8(const uint8_t *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EBADMSG;
		*v = *v << 4 | d;
	}
	return 0;
}

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_DEVMAJ, F_DEVMIN, F_RDEVMAJ, F_RDEVMIN,
       F_NAMESIZE, F_CHECK, F__COUNT };

/* The entry's name as listed: without "./" or "/" in front; NULL for the root itself. A ".."
 * component is refused: nothing legitimate has one, and extracting it would climb out. */
static int clean_name(char *name, const char **out)
{
	char *p = name;

	for (;;) {
		if (p[0] == '/')
			p++;
		else if (p[0] == '.' && p[1] == '/')
			p += 2;
		else
			break;
	}
	if (streq(p, ".") || !*p) {
		*out = NULL;
		return 0;
	}
	for (const char *c = p; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || !c[2]))
			return -EBADMSG;
	}
	*out = p;
	return 0;
}

static void record(struct reader *rd, const char *name, uint32_t mode)
{
	strv_push(&rd->out->files, name);
	if (!S_ISREG(mode))
		return;
	char *mod = modname_from_path(name);

	if (!mod)
		return;
	strv_push(&rd->out->module_paths, name);
	strv_push_take(&rd->out->modules, mod); /* deduplicated once at the end: no quadratic scan */
}

static int truncated(struct stream *st, int r, const char *what, uint64_t at)
{
	if (r == -EPIPE)
		return fail(st->rd, -EPIPE, "%s: truncated in the %s at offset %" PRIu64, st->what, what, at);
	return r; /* the message is already set */
}

/* One cpio entry; *trailer at the end of the archive. */
static int parse_entry(struct stream *st, bool *trailer)
{
	struct reader *rd = st->rd;
	uint8_t hdr[CPIO_HDR];
	uint32_t f[F__COUNT];
	uint64_t at = st->pos;
	const char *name;
	int r;

	/* The magic first: garbage shorter than a header is "not cpio", not "truncated". */
	r = stream_read(st, hdr, 6);
	if (r < 0)
		return truncated(st, r, "cpio header", at);
	if (memcmp(hdr, "070701", 6) != 0 && memcmp(hdr, "070702", 6) != 0)
		return fail(rd, -EBADMSG, "%s: no cpio newc/crc header at offset %" PRIu64 " (magic %02x %02x %02x %02x)",
			    st->what, at, hdr[0], hdr[1], hdr[2], hdr[3]);
	r = stream_read(st, hdr + 6, sizeof(hdr) - 6);
	if (r < 0)
		return truncated(st, r, "cpio header", at);
	for (int i = 0; i < F__COUNT; i++)
		if (parse_hex8(hdr + 6 + 8 * i, &f[i]) < 0)
			return fail(rd, -EBADMSG, "%s: cpio header at offset %" PRIu64 " has a non-hex field %d",
				    st->what, at, i);
	if (f[F_NAMESIZE] == 0 || f[F_NAMESIZE] > rd->lim.max_name)
		return fail(rd, -EBADMSG, "%s: cpio entry at offset %" PRIu64 " has an absurd name size %" PRIu32
			    " (limit %zu)", st->what, at, f[F_NAMESIZE], rd->lim.max_name);
	r = stream_read(st, rd->name, f[F_NAMESIZE]);
	if (r < 0)
		return truncated(st, r, "name of the cpio entry", at);
	if (rd->name[f[F_NAMESIZE] - 1] != '\0' || strlen(rd->name) != f[F_NAMESIZE] - 1)
		return fail(rd, -EBADMSG, "%s: the name of the cpio entry at offset %" PRIu64 " is not a string",
			    st->what, at);
	r = stream_align(st);
	if (r < 0)
		return truncated(st, r, "name of the cpio entry", at);
	if (streq(rd->name, "TRAILER!!!")) {
		*trailer = true;
		return 0;
	}
	*trailer = false;
	if (++rd->entries > rd->lim.max_entries)
		return fail(rd, -E2BIG, "%s: more than %zu entries (limit)", st->what, rd->lim.max_entries);
	if (f[F_FILESIZE] > rd->lim.max_bytes - rd->bytes)
		return fail(rd, -E2BIG, "%s: cpio entry '%s' at offset %" PRIu64 " claims %" PRIu32 " bytes, "
			    "beyond the limit of %" PRIu64 " bytes", st->what, rd->name, at, f[F_FILESIZE],
			    rd->lim.max_bytes);
	if (clean_name(rd->name, &name) < 0)
		return fail(rd, -EBADMSG, "%s: cpio entry at offset %" PRIu64 " has an unsafe name '%s'", st->what,
			    at, rd->name);
	if (name) {
		rd->name_bytes += strlen(name) + 1;
		if (rd->name_bytes > INITRAMFS_MAX_NAME_BYTES)
			return fail(rd, -E2BIG, "%s: more than %u bytes of entry names (limit)", st->what,
				    INITRAMFS_MAX_NAME_BYTES);
		record(rd, name, f[F_MODE]);
	}
	r = stream_skip(st, f[F_FILESIZE]);
	if (r == 0)
		r = stream_align(st);
	if (r < 0)
		return fail(rd, r, "%s: cpio entry '%s' at offset %" PRIu64 " is truncated (%" PRIu32 " bytes of data)",
			    st->what, rd->name, at, f[F_FILESIZE]);
	return 0;
}

static int parse_archive(struct stream *st)
{
	bool trailer = false;

	while (!trailer) {
		int r = parse_entry(st, &trailer);

		if (r < 0)
			return r;
	}
	return 0;
}

struct cb_data {
	const struct image *im;
	uint64_t off;
	uint8_t *buf;
	struct reader *rd;
};

static la_ssize_t read_cb(struct archive *a, void *data, const void **buf)
{
	struct cb_data *cb = data;
	size_t got = 0;

	if (cb->im->mem) {
		got = cb->off < cb->im->size ? cb->im->size - cb->off : 0;
		*buf = cb->im->mem + cb->off;
	} else {
		int r = image_pread(cb->im, cb->buf, RAW_BUF, cb->off, &got);

		if (r < 0) {
			archive_set_error(a, -r, "read error at image offset %" PRIu64, cb->off);
			return -1;
		}
		*buf = cb->buf;
	}
	cb->off += got;
	return (la_ssize_t)got;
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static const char *filter_label(int code)
{
	switch (code) {
	case ARCHIVE_FILTER_GZIP: return "gzip";
	case ARCHIVE_FILTER_XZ: return "xz";
	case ARCHIVE_FILTER_LZMA: return "lzma";
	case ARCHIVE_FILTER_ZSTD: return "zstd";
	case ARCHIVE_FILTER_LZ4: return "lz4";
	case ARCHIVE_FILTER_BZIP2: return "bzip2";
	default: return NULL;
	}
}

/* The compression a stream's first bytes announce, for messages about streams libarchive refused. */
static const char *sniff(const uint8_t *m, size_t n)
{
	static const struct { const char *name; uint8_t magic[4]; size_t len; } magics[] = {
		{ "gzip", { 0x1f, 0x8b }, 2 },		   { "xz", { 0xfd, '7', 'z', 'X' }, 4 },
		{ "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4 }, { "lz4", { 0x04, 0x22, 0x4d, 0x18 }, 4 },
		{ "lz4", { 0x02, 0x21, 0x4c, 0x18 }, 4 },  { "bzip2", { 'B', 'Z', 'h' }, 3 },
		{ "lzma", { 0x5d, 0x00, 0x00 }, 3 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(magics); i++)
		if (n >= magics[i].len && memcmp(m, magics[i].magic, magics[i].len) == 0)
			return magics[i].name;
	return NULL;
}

/* The compressed main archive, from image offset off to the end. */
static int read_compressed(struct reader *rd, const struct image *im, uint64_t off)
{
	_cleanup_(archive_freep) struct archive *a = archive_read_new();
	_cleanup_free_ uint8_t *buf = im->mem ? NULL : xmalloc(RAW_BUF);
	_cleanup_free_ char *what = NULL;
	struct cb_data cb = { .im = im, .off = off, .buf = buf, .rd = rd };
	struct archive_entry *e;
	unsigned archives = 0;
	uint8_t m[4] = { 0 };
	size_t got = 0;

	if (!a)
		abort();
	(void)image_pread(im, m, sizeof(m), off, &got);
	/* Only the compressors the kernel can unpack: no filter that would run an external program. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_format_raw(a);
	/* Opening chooses the decompressor (and starts decompressing: a stream truncated early fails
	 * here already, so the magic names it for the message). */
	if (archive_read_open(a, &cb, NULL, read_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		const char *why = archive_error_string(a) ?: "cannot be decompressed", *name = sniff(m, got);

		if (!name)
			return fail(rd, -EPROTONOSUPPORT, "image: data at offset %" PRIu64 " is neither a cpio "
				    "archive nor a known compression (bytes %02x %02x %02x %02x)", off, m[0], m[1],
				    m[2], m[3]);
		return fail(rd, strcasestr(why, "truncated") ? -EPIPE : -EBADMSG, "%s stream at image offset %"
			    PRIu64 " is truncated or corrupt: %s", name, off, why);
	}
	rd->out->compression = filter_label(archive_filter_code(a, 0));
	if (!rd->out->compression)
		return fail(rd, -EPROTONOSUPPORT, "image: data at offset %" PRIu64 " is neither a cpio archive nor "
			    "a known compression (bytes %02x %02x %02x %02x)", off, m[0], m[1], m[2], m[3]);
	what = xasprintf("%s stream at image offset %" PRIu64, rd->out->compression, off);

	struct stream st = { .rd = rd, .a = a, .what = what };

	for (;;) {
		bool end;
		int r = stream_skip_zeros(&st, &end);

		if (r < 0)
			return r;
		if (end)
			break;
		r = parse_archive(&st);
		if (r < 0)
			return r;
		archives++;
	}
	if (archives == 0)
		return fail(rd, -EBADMSG, "%s: decompresses to no cpio archive", what);
	return 0;
}

static int read_image(struct reader *rd, const struct image *im)
{
	_cleanup_free_ uint8_t *buf = im->mem ? NULL : xmalloc(RAW_BUF);
	struct stream st = { .rd = rd, .im = im, .what = "image", .raw_buf = buf };
	unsigned archives = 0;

	for (;;) {
		bool end;
		int r = stream_skip_zeros(&st, &end);

		if (r < 0)
			return r;
		if (end)
			break;
		if (!raw_at_cpio(&st)) {
			/* The main archive, compressed: what came before were the early archives. */
			rd->out->early_archives = archives;
			return read_compressed(rd, im, st.pos);
		}
		r = parse_archive(&st);
		if (r < 0)
			return r;
		archives++;
	}
	if (archives == 0)
		return fail(rd, -EBADMSG, "image: empty (%" PRIu64 " bytes, all zero)", im->size);
	rd->out->early_archives = archives - 1;
	rd->out->compression = "none";
	return 0;
}

static void strv_dedup_sorted(strv *s)
{
	size_t w = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (w > 0 && streq(s->v[w - 1], s->v[i])) {
			free(s->v[i]);
			continue;
		}
		s->v[w++] = s->v[i];
	}
	s->n = w;
	if (s->v)
		s->v[w] = NULL;
}

static int list_image(const struct image *im, const struct initramfs_limits *lim, struct initramfs_listing *out,
		      char **errmsg)
{
	static const struct initramfs_limits defaults = { INITRAMFS_MAX_BYTES, INITRAMFS_MAX_ENTRIES,
							  INITRAMFS_MAX_NAME };
	struct reader rd = { .lim = lim ? *lim : defaults, .out = out };
	_cleanup_free_ char *name = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (errmsg)
		*errmsg = NULL;
	if (rd.lim.max_name < 2)
		rd.lim.max_name = 2;
	name = rd.name = xmalloc(rd.lim.max_name);
	r = read_image(&rd, im);
	out->bytes = rd.bytes;
	if (r < 0) {
		initramfs_listing_free(out);
		if (errmsg)
			*errmsg = rd.err ? TAKE_PTR(rd.err) : xasprintf("image: %s", strerror(-r));
		free(rd.err);
		return r;
	}
	free(rd.err);
	strv_sort(&out->modules);
	strv_dedup_sorted(&out->modules);
	return 0;
}

int initramfs_list_fd(int fd, const struct initramfs_limits *lim, struct initramfs_listing *out, char **errmsg)
{
	struct image im = { .fd = fd };
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int r = -errno;

		memset(out, 0, sizeof(*out));
		if (errmsg)
			*errmsg = xasprintf("image: %s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		memset(out, 0, sizeof(*out));
		if (errmsg)
			*errmsg = xstrdup("image: not a regular file");
		return -EINVAL;
	}
	im.size = (uint64_t)st.st_size;
	return list_image(&im, lim, out, errmsg);
}

int initramfs_list_mem(const void *buf, size_t len, const struct initramfs_limits *lim,
		       struct initramfs_listing *out, char **errmsg)
{
	static const uint8_t empty[1];
	struct image im = { .mem = buf ? buf : empty, .fd = -1, .size = buf ? len : 0 };

	return list_image(&im, lim, out, errmsg);
}

void initramfs_listing_free(struct initramfs_listing *l)
{
	strv_free(&l->files);
	strv_free(&l->modules);
	strv_free(&l->module_paths);
	memset(l, 0, sizeof(*l));
}

bool initramfs_has_module(const struct initramfs_listing *l, const char *name)
{
	for (size_t i = 0; i < l->modules.n; i++)
		if (modname_eq(l->modules.v[i], name))
			return true;
	return false;
}
