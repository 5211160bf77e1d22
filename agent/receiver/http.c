/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * docs/protocol.md over libmicrohttpd (its GnuTLS-based TLS). A request is judged on its headers first
 * (auth, route, names, Content-Length against the open pass's chunk size) and refused before a byte of its
 * body is read; only then is a bounded buffer allocated, and uploads hold one of --max-uploads slots, so
 * memory stays bounded whatever peers send. A body that never completes is dropped by MHD's timeout and
 * never reaches the store.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "fileio.h"
#include "http.h"
#include "identity-bind.h"
#include "json.h"
#include "log.h"
#include "register.h"

#define JSON_BODY_MAX (4u << 20)
#define SMALL_BODY_MAX (64u << 10)

struct http_server {
	struct MHD_Daemon *d;
	struct rstore *store;
	struct agents *agents;
	struct idbind *idb;
	unsigned max_uploads;
	atomic_uint uploads;
	atomic_bool started;
};

enum op { OP_REGISTER, OP_DISK_INFO, OP_PASS_CREATE, OP_STAGED, OP_PUT_CHUNK, OP_ZEROS, OP_COMMIT, OP_ABORT, OP_HASHES };

struct herr {
	unsigned status;
	const char *code;
	char msg[512]; /* room for two machines' identities */
};

struct req {
	enum op op;
	struct herr err;     /* refused on its headers: answered once the body is drained */
	const char *allow;
	bool draining;
	char agent[RSTORE_NAME_MAX + 1], disk[RSTORE_NAME_MAX + 1];
	uint64_t pass, index, chunk_len;
	uint32_t chunk_size;
	uint8_t sha[32];
	bool zstd, slot, too_large, answered;
	uint8_t *body;
	size_t len, cap, max;
};


static _printf_(4, 5) int herr_set(struct herr *e, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- responses ---- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, void *body, size_t len,
			       const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result r;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, cJSON *j)
{
	char *txt = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (!txt)
		return MHD_NO;
	return respond(c, status, txt, strlen(txt), "application/json");
}

static enum MHD_Result respond_err(struct MHD_Connection *c, const struct herr *e, const char *allow)
{
	cJSON *j = cJSON_CreateObject();
	char *txt;
	struct MHD_Response *resp;
	enum MHD_Result r;

	log_debug("refused: %u %s: %s", e->status, e->code, e->msg);
	cJSON_AddStringToObject(j, "error", e->code);
	cJSON_AddStringToObject(j, "message", e->msg);
	txt = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!txt)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(txt);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (e->status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (e->status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	r = MHD_queue_response(c, e->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result respond_empty(struct MHD_Connection *c, unsigned status)
{
	return respond(c, status, NULL, 0, NULL);
}

/* The store's errno values (store.h) as protocol errors. */
static int store_err(struct herr *e, const struct req *q, int r)
{
	switch (r) {
	case -ENOENT: return herr_set(e, 404, "no_such_disk", "disk '%s' has no replica and no open pass", q->disk);
	case -ESRCH: return herr_set(e, 409, "pass_not_open", "pass %llu is not the open pass of '%s'", (unsigned long long)q->pass, q->disk);
	case -EXDEV: return herr_set(e, 409, "chunk_size_fixed", "'%s' was committed with another chunk size", q->disk);
	case -EBADMSG: return herr_set(e, 400, "hash_mismatch", "chunk %llu does not match X-Chunk-Sha256", (unsigned long long)q->index);
	case -EMSGSIZE: return herr_set(e, 400, "bad_length", "chunk %llu must be %llu bytes", (unsigned long long)q->index, (unsigned long long)q->chunk_len);
	case -ERANGE: return herr_set(e, 416, "out_of_range", "past the end of disk '%s'", q->disk);
	case -EINVAL: return herr_set(e, 400, q->op == OP_PASS_CREATE ? "bad_size" : "bad_request", "invalid size, chunk size, count or range (see docs/protocol.md §7)");
	case -EBUSY: return herr_set(e, 409, "chunk_busy", "chunk %llu is being uploaded by another request", (unsigned long long)q->index);
	case -ENODATA: return herr_set(e, 404, "not_committed", "disk '%s' has no committed pass yet", q->disk);
	case -EPERM: return herr_set(e, 409, "pass_committed", "pass %llu is committed", (unsigned long long)q->pass);
	case -ENOSPC:
	case -EDQUOT: return herr_set(e, 507, "no_space", "the appliance's store is full");
	default:
		log_err("%s/%s: %s", q->agent, q->disk, errstr(r));
		return herr_set(e, 500, "internal", "storage error: %s", errstr(r));
	}
}

/* ---- request parsing ---- */

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 16)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_sha(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return true;
}

static int authenticate(struct http_server *h, struct MHD_Connection *c, char *agent, struct herr *e)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *who = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Mobility-Agent");

	if (!auth || !startswith(auth, "Bearer "))
		return herr_set(e, 401, "unauthorized", "missing 'Authorization: Bearer TOKEN'");
	agents_refresh(h->agents);
	if (agents_find(h->agents, auth + 7, agent, RSTORE_NAME_MAX + 1) < 0)
		return herr_set(e, 401, "unauthorized", "unknown token");
	if (!who || !streq(who, agent))
		return herr_set(e, 403, "forbidden", "X-Mobility-Agent does not match the token's agent");
	return 0;
}

/* The machine behind the token must be the one bound to the agent id (§2.1). */
static int check_identity(struct http_server *h, struct MHD_Connection *c, const char *agent, struct herr *e)
{
	const char *mid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Mobility-Machine-Id");
	const char *uuid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Mobility-Product-Uuid");
	char msg[sizeof(e->msg)];
	int r = idbind_check(h->idb, agent, mid, uuid, msg, sizeof(msg));

	if (r == 0)
		return 0;
	if (r == -EBADMSG)
		return herr_set(e, 400, "bad_header", "%s", msg);
	if (r == -EPERM) {
		log_warn("refused: %s", msg);
		return herr_set(e, 409, "identity_mismatch", "%s", msg);
	}
	log_err("%s", msg);
	return herr_set(e, 500, "internal", "%s", msg);
}

/* Splits url into q's route; *allow is set for 405. */
static int route(const char *url, const char *method, const char *agent, struct req *q, const char **allow,
		 struct herr *e)
{
	char buf[512], *seg[9], *save = NULL, *t;
	int n = 0;
	const char *want;

	if (!startswith(url, "/v1/") || strlen(url) >= sizeof(buf) || strstr(url, "//"))
		return herr_set(e, 404, "not_found", "no such endpoint");
	snprintf(buf, sizeof(buf), "%s", url + 4);
	for (t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == (int)ARRAY_SIZE(seg))
			return herr_set(e, 404, "not_found", "no such endpoint");
		seg[n++] = t;
	}
	if (n < 4 || !streq(seg[0], "agents") || !streq(seg[2], "disks"))
		return herr_set(e, 404, "not_found", "no such endpoint");
	if (!streq(seg[1], agent))
		return herr_set(e, 403, "forbidden", "the token does not give access to this agent's disks");
	if (!rstore_name_valid(seg[3]))
		return herr_set(e, 400, "bad_name", "disk names are [A-Za-z0-9._-]{1,64}, not '.' or '..'");
	snprintf(q->agent, sizeof(q->agent), "%s", seg[1]);
	snprintf(q->disk, sizeof(q->disk), "%s", seg[3]);
	if (n >= 6 && !streq(seg[4], "passes"))
		return herr_set(e, 404, "not_found", "no such endpoint");
	if (n >= 6 && !parse_u64(seg[5], 1ull << 53, &q->pass))
		return herr_set(e, 404, "not_found", "'%s' is not a pass id", seg[5]);
	if (n == 4)
		q->op = OP_DISK_INFO, want = "GET";
	else if (n == 5 && streq(seg[4], "passes"))
		q->op = OP_PASS_CREATE, want = "POST";
	else if (n == 5 && streq(seg[4], "hashes"))
		q->op = OP_HASHES, want = "GET";
	else if (n == 6)
		q->op = OP_ABORT, want = "DELETE";
	else if (n == 7 && streq(seg[6], "staged"))
		q->op = OP_STAGED, want = "GET";
	else if (n == 7 && streq(seg[6], "zeros"))
		q->op = OP_ZEROS, want = "POST";
	else if (n == 7 && streq(seg[6], "commit"))
		q->op = OP_COMMIT, want = "POST";
	else if (n == 8 && streq(seg[6], "chunks") && parse_u64(seg[7], RSTORE_NCHUNKS_MAX, &q->index))
		q->op = OP_PUT_CHUNK, want = "PUT";
	else if (n == 8 && streq(seg[6], "chunks"))
		return herr_set(e, 416, "out_of_range", "chunk index '%s' is past any disk's end", seg[7]);
	else
		return herr_set(e, 404, "not_found", "no such endpoint");
	if (!streq(method, want)) {
		*allow = want;
		return herr_set(e, 405, "method_not_allowed", "use %s here", want);
	}
	return 0;
}

static bool has_body(enum op op)
{
	return op == OP_REGISTER || op == OP_PASS_CREATE || op == OP_ZEROS || op == OP_COMMIT || op == OP_PUT_CHUNK;
}

/* Headers of a chunk upload, checked against the open pass before its body is read. */
static int check_put(struct http_server *h, struct MHD_Connection *c, struct req *q, uint64_t clen,
		     struct herr *e)
{
	const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	uint64_t nchunks, size;
	uint32_t cs;
	int r;

	if (!parse_sha(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Chunk-Sha256"), q->sha))
		return herr_set(e, 400, "bad_header", "X-Chunk-Sha256 must be 64 hex digits");
	if (enc && !streq(enc, "identity") && !streq(enc, "zstd"))
		return herr_set(e, 415, "unsupported_encoding", "Content-Encoding '%s': only zstd or identity", enc);
	q->zstd = enc && streq(enc, "zstd");
	r = rstore_pass_geometry(h->store, q->agent, q->disk, q->pass, &size, &cs);
	if (r < 0)
		return store_err(e, q, r);
	nchunks = (size + cs - 1) / cs;
	if (q->index >= nchunks)
		return herr_set(e, 416, "out_of_range", "chunk %llu: disk '%s' has %llu chunks",
				(unsigned long long)q->index, q->disk, (unsigned long long)nchunks);
	q->chunk_size = cs;
	q->chunk_len = q->index == nchunks - 1 ? size - q->index * cs : cs;
	q->max = cs + cs / 128 + 4096;
	if (clen > q->max)
		return herr_set(e, 413, "too_large", "body of %llu bytes, at most %zu for this chunk size",
				(unsigned long long)clen, q->max);
	return 0;
}

static int take_slot(struct http_server *h, struct req *q, struct herr *e)
{
	if (atomic_fetch_add(&h->uploads, 1) >= h->max_uploads) {
		atomic_fetch_sub(&h->uploads, 1);
		return herr_set(e, 503, "busy", "too many uploads in progress, retry later");
	}
	q->slot = true;
	return 0;
}

/* First call for a request: everything decided from the headers. */
static int begin(struct http_server *h, struct MHD_Connection *c, const char *url, const char *method,
		 struct req *q, const char **allow, struct herr *e)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char agent[RSTORE_NAME_MAX + 1];
	uint64_t clen = 0;
	bool have_cl = cl && parse_u64(cl, UINT64_MAX >> 12, &clen);

	if (streq(url, "/v1/register")) { /* the one request without a token: it obtains one */
		q->op = OP_REGISTER;
		if (!streq(method, "POST")) {
			*allow = "POST";
			return herr_set(e, 405, "method_not_allowed", "use POST here");
		}
	} else if (authenticate(h, c, agent, e) < 0 || route(url, method, agent, q, allow, e) < 0 ||
		   check_identity(h, c, agent, e) < 0) {
		return -1;
	}
	if (cl && !have_cl)
		return herr_set(e, 400, "bad_request", "invalid Content-Length");
	if (q->op == OP_PUT_CHUNK) {
		if (!have_cl)
			return herr_set(e, 411, "length_required", "PUT needs a Content-Length");
		if (check_put(h, c, q, clen, e) < 0)
			return -1;
	} else if (has_body(q->op)) {
		q->max = have_cl && q->op != OP_REGISTER ? JSON_BODY_MAX : SMALL_BODY_MAX;
		if (clen > q->max)
			return herr_set(e, 413, "too_large", "this body is at most %zu bytes", q->max);
	} else if (clen > 0) {
		return herr_set(e, 413, "too_large", "%s takes no body", method);
	}
	if (q->max > SMALL_BODY_MAX && take_slot(h, q, e) < 0)
		return -1;
	if (have_cl && clen > 0 && clen <= q->max) { /* the whole body at once: no reallocation while it arrives */
		q->cap = (size_t)clen;
		q->body = xmalloc(q->cap);
	}
	return 0;
}

static void append(struct req *q, const char *data, size_t n)
{
	if (q->too_large || n > q->max - q->len) {
		q->too_large = true;
		return;
	}
	if (q->len + n > q->cap) {
		q->cap = q->len + n > 2 * q->cap ? q->len + n : 2 * q->cap;
		q->cap = q->cap > q->max ? q->max : q->cap;
		q->body = xrealloc(q->body, q->cap);
	}
	memcpy(q->body + q->len, data, n);
	q->len += n;
}

/* ---- handlers, once the body is complete ---- */

static cJSON *parse_json(const struct req *q, struct herr *e)
{
	cJSON *j = q->len ? cJSON_ParseWithLength((const char *)q->body, q->len) : cJSON_CreateObject();

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		herr_set(e, 400, "bad_request", "the body must be a JSON object");
		return NULL;
	}
	return j;
}

static bool json_uint(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

static enum MHD_Result do_disk_info(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	struct rdisk_info di;
	cJSON *j, *p;
	int r = rstore_disk_info(h->store, q->agent, q->disk, &di);

	if (r < 0)
		return store_err(e, q, r), MHD_NO;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", q->disk);
	cJSON_AddNumberToObject(j, "size", (double)di.size);
	cJSON_AddNumberToObject(j, "chunk_size", di.chunk_size);
	cJSON_AddNumberToObject(j, "committed_pass", (double)di.committed_pass);
	if (di.pass_open) {
		p = cJSON_AddObjectToObject(j, "open_pass");
		cJSON_AddNumberToObject(p, "id", (double)di.pass_id);
		cJSON_AddNumberToObject(p, "size", (double)di.pass_size);
		cJSON_AddNumberToObject(p, "chunk_size", di.pass_chunk_size);
		cJSON_AddNumberToObject(p, "staged", (double)di.pass_staged);
	} else {
		cJSON_AddNullToObject(j, "open_pass");
	}
	return respond_json(c, 200, j);
}

static enum MHD_Result do_pass_create(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	_cleanup_json_ cJSON *j = parse_json(q, e);
	uint64_t size, cs, pass;
	bool resumed;
	cJSON *out;
	int r;

	if (!j)
		return MHD_NO;
	if (!json_uint(cJSON_GetObjectItemCaseSensitive(j, "size"), &size) ||
	    !json_uint(cJSON_GetObjectItemCaseSensitive(j, "chunk_size"), &cs))
		return herr_set(e, 400, "bad_request", "expected {\"size\": BYTES, \"chunk_size\": BYTES}"), MHD_NO;
	if (!rstore_geometry_valid(size, cs))
		return herr_set(e, 400, "bad_size", "size 1..2^46, chunk_size a power of two 64 KiB..16 MiB, at most 2^26 chunks"), MHD_NO;
	r = rstore_pass_create(h->store, q->agent, q->disk, size, (uint32_t)cs, &pass, &resumed);
	if (r < 0)
		return store_err(e, q, r), MHD_NO;
	if (!resumed)
		log_info("%s/%s: pass %llu opened (%llu bytes, chunks of %llu)", q->agent, q->disk,
			 (unsigned long long)pass, (unsigned long long)size, (unsigned long long)cs);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "pass", (double)pass);
	cJSON_AddBoolToObject(out, "resumed", resumed);
	return respond_json(c, resumed ? 200 : 201, out);
}

static enum MHD_Result do_staged(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	uint8_t *bm;
	size_t len;
	int r = rstore_pass_staged(h->store, q->agent, q->disk, q->pass, &bm, &len);

	if (r < 0)
		return store_err(e, q, r == -ENOENT ? -ESRCH : r), MHD_NO;
	if (len > SMALL_BODY_MAX && take_slot(h, q, e) < 0) {
		free(bm);
		return MHD_NO;
	}
	return respond(c, 200, bm, len, "application/octet-stream");
}

static int unzstd(const struct req *q, uint8_t *out, struct herr *e)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();
	size_t n;

	if (!z)
		return herr_set(e, 500, "internal", "out of memory");
	/* one-shot into a buffer of exactly the chunk's length: a bomb ends at dstSize_tooSmall */
	n = ZSTD_decompressDCtx(z, out, q->chunk_len, q->body, q->len);
	ZSTD_freeDCtx(z);
	if (ZSTD_isError(n))
		return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall
			       ? herr_set(e, 400, "bad_length", "chunk %llu decompresses to more than %llu bytes", (unsigned long long)q->index, (unsigned long long)q->chunk_len)
			       : herr_set(e, 400, "bad_encoding", "chunk %llu: zstd: %s", (unsigned long long)q->index, ZSTD_getErrorName(n));
	if (n != q->chunk_len)
		return herr_set(e, 400, "bad_length", "chunk %llu decompresses to %zu bytes, not %llu", (unsigned long long)q->index, n, (unsigned long long)q->chunk_len);
	return 0;
}

static enum MHD_Result do_put(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	_cleanup_free_ uint8_t *plain = NULL;
	const uint8_t *data = q->body;
	size_t len = q->len;
	int r;

	if (q->zstd) {
		plain = xmalloc(q->chunk_len);
		if (unzstd(q, plain, e) < 0)
			return MHD_NO;
		data = plain, len = q->chunk_len;
	}
	r = rstore_put_chunk(h->store, q->agent, q->disk, q->pass, q->index, data ? data : (const uint8_t *)"", len, q->sha);
	if (r == -EBADMSG)
		log_warn("%s/%s: pass %llu chunk %llu: hash mismatch, rejected", q->agent, q->disk,
			 (unsigned long long)q->pass, (unsigned long long)q->index);
	if (r < 0)
		return store_err(e, q, r), MHD_NO;
	return respond_empty(c, 204);
}

static enum MHD_Result do_zeros(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	_cleanup_json_ cJSON *j = parse_json(q, e);
	_cleanup_free_ uint64_t (*ranges)[2] = NULL;
	const cJSON *arr, *it;
	size_t n = 0;
	int r;

	if (!j)
		return MHD_NO;
	arr = cJSON_GetObjectItemCaseSensitive(j, "ranges");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > (int)RSTORE_RANGES_MAX)
		return herr_set(e, 400, "bad_request", "expected {\"ranges\": [[FIRST, COUNT], ...]}, at most %u ranges", RSTORE_RANGES_MAX), MHD_NO;
	ranges = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*ranges));
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 ||
		    !json_uint(cJSON_GetArrayItem(it, 0), &ranges[n][0]) || !json_uint(cJSON_GetArrayItem(it, 1), &ranges[n][1]))
			return herr_set(e, 400, "bad_request", "range %zu is not [FIRST, COUNT]", n), MHD_NO;
		n++;
	}
	r = rstore_put_zeros(h->store, q->agent, q->disk, q->pass, (const uint64_t(*)[2])ranges, n);
	if (r < 0)
		return store_err(e, q, r == -ENOENT ? -ESRCH : r), MHD_NO;
	return respond_empty(c, 204);
}

static enum MHD_Result do_commit(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	_cleanup_json_ cJSON *j = parse_json(q, e);
	struct rcommit_result res;
	uint64_t sent = 0, zr = 0;
	cJSON *out;
	int r;

	if (!j)
		return MHD_NO;
	/* Both are read (no short circuit): either one is worth logging. */
	bool have_sent = json_uint(cJSON_GetObjectItemCaseSensitive(j, "chunks_sent"), &sent);
	bool have_zr = json_uint(cJSON_GetObjectItemCaseSensitive(j, "zero_ranges"), &zr);
	if (have_sent || have_zr)
		log_info("%s/%s: pass %llu: agent reports %llu chunks sent, %llu zero ranges", q->agent, q->disk,
			 (unsigned long long)q->pass, (unsigned long long)sent, (unsigned long long)zr);
	r = rstore_commit(h->store, q->agent, q->disk, q->pass, &res);
	if (r < 0)
		return store_err(e, q, r == -ENOENT ? -ESRCH : r), MHD_NO;
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "committed_pass", (double)q->pass);
	cJSON_AddNumberToObject(out, "chunks_applied", (double)res.chunks_applied);
	cJSON_AddNumberToObject(out, "zero_chunks", (double)res.zero_chunks);
	if (res.already)
		cJSON_AddBoolToObject(out, "already", true);
	return respond_json(c, 200, out);
}

static enum MHD_Result do_abort(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	int r = rstore_abort(h->store, q->agent, q->disk, q->pass);

	if (r == -ENOENT)
		r = 0; /* nothing there: aborted already */
	if (r < 0)
		return store_err(e, q, r), MHD_NO;
	return respond_empty(c, 204);
}

static enum MHD_Result do_hashes(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "first");
	const char *n = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "count");
	uint64_t first, count;
	uint8_t *out;
	int r;

	if (!f || !n || !parse_u64(f, RSTORE_NCHUNKS_MAX, &first) || !parse_u64(n, RSTORE_HASHES_MAX, &count) || count == 0)
		return herr_set(e, 400, "bad_request", "expected ?first=F&count=C with 1 <= C <= %u", RSTORE_HASHES_MAX), MHD_NO;
	if (count * 32 > SMALL_BODY_MAX && take_slot(h, q, e) < 0)
		return MHD_NO;
	r = rstore_disk_info(h->store, q->agent, q->disk, &(struct rdisk_info){ 0 });
	if (r == -ENOENT)
		r = -ENODATA;
	out = xmalloc(count * 32);
	if (r == 0)
		r = rstore_hashes(h->store, q->agent, q->disk, first, count, out);
	if (r < 0) {
		free(out);
		return store_err(e, q, r), MHD_NO;
	}
	return respond(c, 200, out, count * 32, "application/octet-stream");
}

static enum MHD_Result do_register(struct http_server *h, struct MHD_Connection *c, struct req *q, struct herr *e)
{
	_cleanup_json_ cJSON *j = parse_json(q, e);
	char id[RSTORE_NAME_MAX + 1], token[64];
	const char *key, *host;
	cJSON *out;
	int r;

	if (!j)
		return MHD_NO;
	key = json_get_str(j, "registration_key");
	host = json_get_str(j, "hostname");
	if (!key)
		return herr_set(e, 400, "bad_request", "expected {\"registration_key\": KEY, \"hostname\": NAME}"), MHD_NO;
	r = reg_register(agents_path(h->agents), key, host, id, sizeof(id), token, sizeof(token));
	if (r == -EACCES)
		log_warn("registration refused: unknown, used or expired key");
	if (r == -EACCES)
		return herr_set(e, 401, "bad_registration_key", "unknown, already used or expired registration key"), MHD_NO;
	if (r < 0) {
		log_err("%s: registration failed: %s", agents_path(h->agents), errstr(r));
		return herr_set(e, 500, "internal", "registration failed: %s", errstr(r)), MHD_NO;
	}
	agents_refresh(h->agents);
	r = idbind_record(h->idb, id, json_get_str(j, "machine_id"), json_get_str(j, "product_uuid"));
	if (r < 0) /* not fatal: the first request records it instead */
		log_err("%s: cannot record the identity of the new agent: %s", id, errstr(r));
	log_info("registered agent %s (hostname '%s', machine-id '%s', product uuid '%s')", id, host ? host : "",
		 json_get_str(j, "machine_id") ?: "", json_get_str(j, "product_uuid") ?: "");
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "agent_id", id);
	cJSON_AddStringToObject(out, "token", token);
	OPENSSL_cleanse(token, sizeof(token));
	return respond_json(c, 201, out);
}

static enum MHD_Result finish(struct http_server *h, struct MHD_Connection *c, struct req *q)
{
	struct herr e = { 0 };
	enum MHD_Result r = MHD_NO;

	if (q->too_large)
		herr_set(&e, 413, "too_large", "body larger than %zu bytes", q->max);
	else if (q->op == OP_PUT_CHUNK && !q->zstd && q->len != q->chunk_len)
		herr_set(&e, 400, "bad_length", "chunk %llu must be %llu bytes, got %zu", (unsigned long long)q->index,
			 (unsigned long long)q->chunk_len, q->len);
	else {
		switch (q->op) {
		case OP_REGISTER: r = do_register(h, c, q, &e); break;
		case OP_DISK_INFO: r = do_disk_info(h, c, q, &e); break;
		case OP_PASS_CREATE: r = do_pass_create(h, c, q, &e); break;
		case OP_STAGED: r = do_staged(h, c, q, &e); break;
		case OP_PUT_CHUNK: r = do_put(h, c, q, &e); break;
		case OP_ZEROS: r = do_zeros(h, c, q, &e); break;
		case OP_COMMIT: r = do_commit(h, c, q, &e); break;
		case OP_ABORT: r = do_abort(h, c, q, &e); break;
		case OP_HASHES: r = do_hashes(h, c, q, &e); break;
		}
	}
	/* a handler that set an error did not respond */
	return e.status ? respond_err(c, &e, NULL) : r;
}

/*
 * A refused request whose body is at most one chunk is read (and dropped) before the error is sent:
 * closing a connection with unread data makes the kernel reset it, and the client would see a network
 * error instead of the reason. Larger bodies are refused at once (curl sends those only after
 * "Expect: 100-continue", so it gets the answer cleanly anyway).
 */
static bool drainable(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n;

	return cl && parse_u64(cl, RSTORE_CHUNK_MAX + RSTORE_CHUNK_MAX / 128 + 4096, &n);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct http_server *h = cls;
	struct req *q = *con_cls;

	if (!q) {
		struct herr e = { 0 };
		const char *allow = NULL;

		q = *con_cls = xcalloc(1, sizeof(*q));
		if (begin(h, c, url, method, q, &allow, &e) < 0) {
			if (!drainable(c)) {
				q->answered = true; /* the body is never read; the connection is closed */
				return respond_err(c, &e, allow);
			}
			q->err = e;
			q->allow = allow;
			q->draining = true;
		}
		return MHD_YES;
	}
	if (q->answered) {
		*data_size = 0;
		return MHD_YES;
	}
	if (*data_size) {
		if (!q->draining)
			append(q, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	q->answered = true;
	return q->draining ? respond_err(c, &q->err, q->allow) : finish(h, c, q);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct req *q = *con_cls;

	if (!q)
		return;
	if (q->slot)
		atomic_fetch_sub(&h->uploads, 1);
	free(q->body);
	free(q);
	*con_cls = NULL;
}

static void __attribute__((format(printf, 2, 0))) mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = 0;
	/* while starting: why it cannot (bad key...); later: peers failing the TLS handshake or timing
	 * out, routine here, not errors */
	if (atomic_load(&((struct http_server *)cls)->started))
		log_debug("libmicrohttpd: %s", buf);
	else
		log_err("libmicrohttpd: %s", buf);
}

int http_start(const struct http_options *opt, struct rstore *store, struct agents *agents,
	       struct http_server **ret)
{
	struct http_server *h = xcalloc(1, sizeof(*h));
	unsigned flags = MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	if (opt->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->store = store;
	h->agents = agents;
	idbind_new(store, &h->idb);
	h->max_uploads = opt->max_uploads;
	atomic_init(&h->uploads, 0);
	atomic_init(&h->started, false);
	errno = 0;
	h->d = MHD_start_daemon(
		flags, 0, NULL, NULL, handler, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&opt->addr,
		MHD_OPTION_HTTPS_MEM_CERT, opt->cert_pem, MHD_OPTION_HTTPS_MEM_KEY, opt->key_pem,
		MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
		MHD_OPTION_THREAD_POOL_SIZE, opt->threads, MHD_OPTION_CONNECTION_LIMIT, opt->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, opt->max_per_ip, MHD_OPTION_CONNECTION_TIMEOUT, opt->timeout,
		MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
	if (!h->d) {
		int r = errno ? -errno : -EINVAL;
		idbind_free(h->idb);
		free(h);
		return r;
	}
	atomic_store(&h->started, true);
	*ret = h;
	return 0;
}

unsigned http_port(struct http_server *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

void http_stop(struct http_server *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	idbind_free(h->idb);
	free(h);
}
