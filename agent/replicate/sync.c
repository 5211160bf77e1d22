/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One sync pass (replicate.h). Plan of a pass:
 *   1. ask the appliance what it has (committed pass, chunk size, open pass);
 *   2. pick the base hashes: the manifest if it names exactly that committed pass, else the appliance's
 *      hashes, else none (first or --full pass: every chunk is sent or declared zero);
 *   3. open or resume the pass; when resumed, fetch the staged bitmap;
 *   4. scan: a chunk is sent when it differs from the base, or when it is staged in the open pass with
 *      content the pass log cannot vouch for; zero chunks become zero ranges;
 *   5. commit; then — never before — replace the manifest and drop the pass log.
 */
#include "replicate.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "manifest.h"
#include "passlog.h"
#include "sender.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#define HASHES_PER_REQUEST 65536
#define ZERO_RANGES_PER_REQUEST 65536
#define CONNECTIONS_DEFAULT 4

struct pass {
	struct client *c;
	const struct disk *d;
	const char *name;
	const struct sync_opts *o;
	struct sync_stats *st;
	char *prefix;                     /* /v1/agents/ID/disks/NAME */
	char *target;                     /* manifest/passlog identity: URL agent name */
	char *manifest_path, *passlog_path;
	int lock_fd;                      /* flock on STATE_DIR/NAME.lock for the whole pass */

	uint64_t committed_pass, committed_size;
	uint32_t chunk_size;
	uint64_t nchunks;
	uint8_t (*base)[CHUNK_HASH_LEN];  /* NULL: nothing known, send everything */
	uint64_t base_n;
	uint8_t zero_hash[CHUNK_HASH_LEN], zero_hash_last[CHUNK_HASH_LEN];

	uint64_t id;                      /* the open pass */
	uint8_t *staged;                  /* resumed pass: the appliance's staged bitmap */
	struct passlog *pl;
	struct manifest *next;            /* the manifest once this pass is committed */

	uint64_t (*zr)[2];                /* zero ranges not yet declared */
	size_t nzr, zr_cap;
	uint64_t zero_requests;

	struct sender *snd;
};

uint32_t sync_default_chunk_size(uint64_t disk_size)
{
	uint32_t cs = SYNC_MIN_CHUNK_SIZE;

	while (cs < SYNC_MAX_CHUNK_SIZE && disk_nchunks(disk_size, cs) > SYNC_TARGET_CHUNKS)
		cs <<= 1;
	return cs;
}

bool sync_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || streq(name, ".") || streq(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pass_free(struct pass *p)
{
	free(p->prefix);
	free(p->target);
	free(p->manifest_path);
	free(p->passlog_path);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	free(p->base);
	free(p->staged);
	passlog_close(p->pl);
	if (p->next)
		manifest_free(p->next);
	free(p->zr);
	if (p->snd)
		sender_free(p->snd);
}

static int64_t json_int(const cJSON *o, const char *key, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (int64_t)v->valuedouble : dflt;
}

/* A call whose failure ends the pass: logs it, naming the disk. Returns 0 or -errno. */
static int call(struct pass *p, const char *method, const char *path, const char *const *hdrs, const void *body,
		size_t len, struct http_resp *resp)
{
	int r = client_call(p->c, method, path, hdrs, body, len, resp);

	if (r < 0)
		log_err("%s: %s", p->name, client_error(p->c));
	return r;
}

static int fail_status(struct pass *p, const char *what)
{
	log_err("%s: %s: %s", p->name, what, client_error(p->c));
	return -EPROTO;
}

static int fetch_state(struct pass *p)
{
	struct http_resp resp = { 0 };
	_cleanup_json_ cJSON *j = NULL;
	int r = call(p, "GET", p->prefix, NULL, NULL, 0, &resp);

	if (r < 0)
		goto out;
	if (resp.status == 404 && streq(resp.error, "no_such_disk")) {
		p->committed_pass = 0;
	} else if (resp.status != 200 || !(j = cJSON_ParseWithLength(resp.body, resp.len))) {
		r = fail_status(p, "cannot read the disk's state from the appliance");
	} else {
		p->committed_pass = (uint64_t)json_int(j, "committed_pass", 0);
		p->committed_size = (uint64_t)json_int(j, "size", 0);
		if (p->committed_pass > 0)
			p->chunk_size = (uint32_t)json_int(j, "chunk_size", p->chunk_size);
	}
out:
	http_resp_clear(&resp);
	return r;
}

/* The manifest, if it describes exactly what the appliance committed for this disk. */
static bool base_from_manifest(struct pass *p)
{
	_cleanup_manifest_ struct manifest *m = NULL;
	int r = manifest_load(p->manifest_path, &m);

	if (r == -ENOENT)
		return false;
	if (r < 0) {
		log_warn("%s: manifest %s unusable (%s); using the appliance's hashes", p->name, p->manifest_path,
			 r == -EBADMSG ? "corrupt or truncated" : errstr(r));
		return false;
	}
	if (!streq(m->target, p->target) || !streq(m->identity, p->d->identity) || m->chunk_size != p->chunk_size ||
	    m->committed_pass != p->committed_pass) {
		log_info("%s: manifest %s is for %s pass %ju, the appliance has pass %ju; using the appliance's hashes",
			 p->name, p->manifest_path, m->target, (uintmax_t)m->committed_pass,
			 (uintmax_t)p->committed_pass);
		return false;
	}
	p->base_n = m->nchunks;
	p->base = TAKE_PTR(m->hashes);
	return true;
}

static int base_from_appliance(struct pass *p)
{
	uint64_t n = disk_nchunks(p->committed_size, p->chunk_size);

	p->base = xcalloc(n ? n : 1, CHUNK_HASH_LEN);
	p->base_n = n;
	for (uint64_t first = 0; first < n; first += HASHES_PER_REQUEST) {
		uint64_t count = n - first < HASHES_PER_REQUEST ? n - first : HASHES_PER_REQUEST;
		_cleanup_free_ char *path = xasprintf("%s/hashes?first=%ju&count=%ju", p->prefix, (uintmax_t)first,
						      (uintmax_t)count);
		struct http_resp resp = { 0 };
		int r = call(p, "GET", path, NULL, NULL, 0, &resp);

		if (r == 0 && (resp.status != 200 || resp.len != count * CHUNK_HASH_LEN))
			r = fail_status(p, "cannot read the committed chunk hashes");
		if (r == 0)
			memcpy(p->base[first], resp.body, resp.len);
		http_resp_clear(&resp);
		if (r < 0)
			return r;
	}
	return 0;
}

static int open_pass(struct pass *p)
{
	_cleanup_free_ char *path = xasprintf("%s/passes", p->prefix);
	_cleanup_free_ char *body = xasprintf("{\"size\": %ju, \"chunk_size\": %u}", (uintmax_t)p->d->size, p->chunk_size);
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct http_resp resp = { 0 };
	_cleanup_json_ cJSON *j = NULL;
	bool resumed = false;
	int r = call(p, "POST", path, hdrs, body, strlen(body), &resp);

	if (r < 0)
		goto out;
	if ((resp.status != 200 && resp.status != 201) || !(j = cJSON_ParseWithLength(resp.body, resp.len)) ||
	    json_int(j, "pass", 0) <= 0) {
		r = fail_status(p, "cannot open a pass");
		goto out;
	}
	p->id = (uint64_t)json_int(j, "pass", 0);
	resumed = resp.status == 200;
	http_resp_clear(&resp);
	if (resumed) {
		_cleanup_free_ char *spath = xasprintf("%s/passes/%ju/staged", p->prefix, (uintmax_t)p->id);

		r = call(p, "GET", spath, NULL, NULL, 0, &resp);
		if (r == 0 && (resp.status != 200 || resp.len != (p->nchunks + 7) / 8))
			r = fail_status(p, "cannot read what the open pass has staged");
		if (r < 0)
			goto out;
		p->staged = (uint8_t *)TAKE_PTR(resp.body);
		log_info("%s: resuming pass %ju", p->name, (uintmax_t)p->id);
	}
	r = passlog_open(p->passlog_path, p->id, p->d->size, p->chunk_size, p->target, &p->pl);
	if (r < 0)
		log_err("%s: %s: %s", p->name, p->passlog_path, errstr(r));
out:
	http_resp_clear(&resp);
	return r;
}

static const uint8_t *zero_hash_of(const struct pass *p, uint64_t i)
{
	return chunk_len(p->d->size, p->chunk_size, i) == p->chunk_size ? p->zero_hash : p->zero_hash_last;
}

static int flush_zeros(struct pass *p)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *body = NULL;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct http_resp resp = { 0 };
	size_t cap, len = 0;
	int r;

	if (p->nzr == 0)
		return 0;
	cap = 16 + p->nzr * 44;
	body = xmalloc(cap);
	len += (size_t)snprintf(body, cap, "{\"ranges\": [");
	for (size_t k = 0; k < p->nzr; k++)
		len += (size_t)snprintf(body + len, cap - len, "%s[%ju, %ju]", k ? ", " : "", (uintmax_t)p->zr[k][0],
					(uintmax_t)p->zr[k][1]);
	len += (size_t)snprintf(body + len, cap - len, "]}");
	path = xasprintf("%s/passes/%ju/zeros", p->prefix, (uintmax_t)p->id);
	r = call(p, "POST", path, hdrs, body, len, &resp);
	if (r == 0 && resp.status != 204)
		r = fail_status(p, "cannot declare zero chunks");
	http_resp_clear(&resp);
	if (r < 0)
		return r;
	for (size_t k = 0; k < p->nzr; k++)
		for (uint64_t i = p->zr[k][0]; i < p->zr[k][0] + p->zr[k][1]; i++)
			if (passlog_record(p->pl, i, zero_hash_of(p, i)) < 0)
				break; /* only costs a re-declaration on resume */
	p->zero_requests++;
	p->nzr = 0;
	return 0;
}

static int queue_zero(struct pass *p, uint64_t i)
{
	int r = passlog_erase(p->pl, i);

	if (r < 0) {
		log_err("%s: %s: %s", p->name, p->passlog_path, errstr(r));
		return r;
	}
	p->st->zero_chunks++;
	if (p->nzr > 0 && p->zr[p->nzr - 1][0] + p->zr[p->nzr - 1][1] == i) {
		p->zr[p->nzr - 1][1]++;
		return 0;
	}
	if (p->nzr == ZERO_RANGES_PER_REQUEST) {
		r = flush_zeros(p);
		if (r < 0)
			return r;
	}
	if (p->nzr == p->zr_cap) {
		p->zr_cap = p->zr_cap ? p->zr_cap * 2 : 256;
		p->zr = xrealloc(p->zr, p->zr_cap * sizeof(*p->zr));
	}
	p->zr[p->nzr][0] = i;
	p->zr[p->nzr][1] = 1;
	p->nzr++;
	return 0;
}

static int send_chunk(struct pass *p, const struct scan_chunk *c)
{
	int r = passlog_erase(p->pl, c->index);

	if (r < 0) {
		log_err("%s: %s: %s", p->name, p->passlog_path, errstr(r));
		return r;
	}
	return sender_submit(p->snd, c);
}

/* Step 4 for one chunk. */
static int handle_chunk(struct pass *p, struct scan_chunk *c)
{
	uint64_t i = c->index;
	bool staged = p->staged && bitmap_test(p->staged, i);
	bool same;

	memcpy(p->next->hashes[i], c->hash, CHUNK_HASH_LEN);
	if (staged && passlog_has(p->pl, i, c->hash)) {
		p->st->chunks_skipped++;
		return 0;
	}
	/* A staged copy we cannot vouch for must be replaced even when the base matches. */
	same = !staged && p->base && i < p->base_n && memcmp(p->base[i], c->hash, CHUNK_HASH_LEN) == 0;
	if (same) {
		p->st->chunks_skipped++;
		return 0;
	}
	return c->zero ? queue_zero(p, i) : send_chunk(p, c);
}

static uint64_t filter_total(const struct chunk_filter *f, uint64_t nchunks)
{
	uint64_t n = 0;

	if (f->kind == CHUNKS_ALL)
		return nchunks;
	for (uint64_t i = 0; i < nchunks && i < f->nbits; i++)
		n += bitmap_test(f->bitmap, i);
	return n;
}

static int scan_and_send(struct pass *p, const struct chunk_filter *f)
{
	_cleanup_scanner_ struct scanner *s = NULL;
	struct scan_chunk *c;
	struct sync_progress prog = { .name = p->name, .total = filter_total(f, p->nchunks) };
	int r = scanner_new(p->d, p->chunk_size, f, NULL, &s);

	if (r < 0) {
		log_err("%s: %s: cannot start the scanner: %s", p->name, p->d->path, errstr(r));
		return r;
	}
	for (;;) {
		r = scanner_next(s, &c);
		if (r < 0)
			log_err("%s: %s: read error at chunk %ju: %s", p->name, p->d->path,
				(uintmax_t)scanner_error_index(s), errstr(r));
		if (r <= 0)
			break;
		r = handle_chunk(p, c);
		if (r < 0)
			break;
		prog.done++;
		if (p->o->progress) {
			uint64_t chunks;

			prog.bytes_read = scanner_bytes_read(s);
			sender_stats(p->snd, &prog.bytes_sent, &chunks);
			p->o->progress(p->o->userdata, &prog);
		}
	}
	p->st->bytes_read = scanner_bytes_read(s);
	if (r == 0)
		r = sender_drain(p->snd);
	sender_stats(p->snd, &p->st->bytes_sent, &p->st->chunks_sent);
	if (r < 0)
		return r;
	return flush_zeros(p);
}

static int start_sender(struct pass *p)
{
	_cleanup_free_ char *path = xasprintf("%s/passes/%ju/chunks", p->prefix, (uintmax_t)p->id);
	struct sender_conf conf = { .name = p->name, .chunks_path = path, .chunk_size = p->chunk_size,
				    .connections = p->o->connections ? p->o->connections : CONNECTIONS_DEFAULT,
				    .pl = p->pl, .corrupt_nth = p->o->test_corrupt_put,
				    .delay_ms = p->o->test_delay_ms };
	int r = sender_new(p->c, &conf, &p->snd);

	if (r < 0)
		log_err("%s: cannot start the uploads: %s", p->name, errstr(r));
	return r;
}

static int commit_pass(struct pass *p)
{
	_cleanup_free_ char *path = xasprintf("%s/passes/%ju/commit", p->prefix, (uintmax_t)p->id);
	_cleanup_free_ char *body = xasprintf("{\"chunks_sent\": %ju, \"zero_ranges\": %ju}",
					      (uintmax_t)p->st->chunks_sent, (uintmax_t)p->zero_requests);
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct http_resp resp = { 0 };
	_cleanup_json_ cJSON *j = NULL;
	int r = call(p, "POST", path, hdrs, body, strlen(body), &resp);

	if (r == 0 && (resp.status != 200 || !(j = cJSON_ParseWithLength(resp.body, resp.len)) ||
		       (uint64_t)json_int(j, "committed_pass", 0) != p->id))
		r = fail_status(p, "commit refused");
	http_resp_clear(&resp);
	if (r == 0)
		p->st->committed_pass = p->id;
	return r;
}

static int prepare(struct pass *p, const struct disk *d, const char *name, const struct sync_opts *o)
{
	p->prefix = xasprintf("/v1/agents/%s/disks/%s", o->agent_id, name);
	p->target = xasprintf("%s %s %s", o->url, o->agent_id, name);
	p->manifest_path = xasprintf("%s/%s.manifest", o->state_dir, name);
	p->passlog_path = xasprintf("%s/%s.pass", o->state_dir, name);
	p->chunk_size = o->chunk_size ? o->chunk_size : sync_default_chunk_size(d->size);
	if (d->size == 0) {
		log_err("%s: %s is empty: nothing to replicate", name, d->path);
		return -EINVAL;
	}
	if (mkdir(o->state_dir, 0700) < 0 && errno != EEXIST) {
		int r = -errno;
		log_err("%s: cannot create the state directory %s: %s", name, o->state_dir, errstr(r));
		return r;
	}
	/* Two passes of one disk (the daemon and a one-shot sync) would interleave manifest and pass log. */
	{
		_cleanup_free_ char *lock = xasprintf("%s/%s.lock", o->state_dir, name);

		p->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX | LOCK_NB) < 0) {
			int r = -errno;
			if (r == -EWOULDBLOCK)
				log_err("%s: another sync of this disk is running (%s is locked)", name, lock);
			else
				log_err("%s: %s: %s", name, lock, errstr(r));
			return r == -EWOULDBLOCK ? -EBUSY : r;
		}
	}
	return 0;
}

int sync_pass(struct client *c, const struct disk *d, const char *name, const struct chunk_filter *which,
	      const struct sync_opts *o, struct sync_stats *st)
{
	struct pass p = { .c = c, .d = d, .name = name, .o = o, .st = st, .lock_fd = -1 };
	struct chunk_filter all = { .kind = CHUNKS_ALL };
	double t0 = now_seconds();
	int r;

	*st = (struct sync_stats){ 0 };
	r = prepare(&p, d, name, o);
	if (r == 0)
		r = fetch_state(&p);
	if (r < 0)
		goto out;
	p.nchunks = disk_nchunks(d->size, p.chunk_size);
	chunk_zero_hash(p.chunk_size, p.zero_hash);
	chunk_zero_hash(chunk_len(d->size, p.chunk_size, p.nchunks - 1), p.zero_hash_last);
	if (!o->full && p.committed_pass > 0 && !base_from_manifest(&p)) {
		r = base_from_appliance(&p);
		if (r < 0)
			goto out;
	}
	/* Chunks a dirty bitmap leaves out keep their base hash: without a base for all of them, read all. */
	if (!which || (which->kind != CHUNKS_ALL && (!p.base || p.committed_size != d->size)))
		which = &all;
	if (which->kind != CHUNKS_ALL && o->chunk_size && o->chunk_size != p.chunk_size) {
		log_warn("%s: the appliance keeps chunks of %u bytes, the dirty bitmap has %u: reading every chunk",
			 name, p.chunk_size, o->chunk_size);
		which = &all;
	}
	st->chunk_size = p.chunk_size;
	st->read_all = which->kind == CHUNKS_ALL;
	p.next = manifest_new(d->size, p.chunk_size, d->identity, p.target);
	if (p.base)
		memcpy(p.next->hashes, p.base, (p.base_n < p.nchunks ? p.base_n : p.nchunks) * CHUNK_HASH_LEN);
	r = open_pass(&p);
	if (r == 0)
		r = start_sender(&p);
	if (r == 0)
		r = scan_and_send(&p, which);
	if (r == 0)
		r = commit_pass(&p);
	if (r < 0)
		goto out;
	p.next->committed_pass = p.id;
	r = manifest_save(p.manifest_path, p.next);
	if (r < 0) /* the replica is committed; next time the appliance's hashes stand in */
		log_warn("%s: cannot write the manifest %s: %s", name, p.manifest_path, errstr(r));
	passlog_close(p.pl);
	p.pl = NULL;
	passlog_remove(p.passlog_path);
	r = 0;
out:
	st->seconds = now_seconds() - t0;
	pass_free(&p);
	return r;
}
