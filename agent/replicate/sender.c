/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sender.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <zstd.h>

#define SENDER_MAX 16
#define RESEND_MAX 5
#define ZSTD_LEVEL 1

struct job {
	uint64_t index;
	uint32_t len;
	uint8_t hash[CHUNK_HASH_LEN];
	uint8_t *data;
	struct job *next;
};

struct worker {
	struct sender *s;
	struct client *c;            /* its own connection */
	ZSTD_CCtx *zc;
	uint8_t *zbuf;
	size_t zcap;
	pthread_t thread;
	bool started;
};

struct sender {
	struct sender_conf conf;
	pthread_mutex_t lock;
	pthread_cond_t work, space;
	struct job *queue, *queue_tail, *free_jobs;
	struct job *jobs;
	unsigned njobs, busy, puts;
	bool stop;
	int error;
	uint64_t bytes_sent, chunks_sent;
	struct worker w[SENDER_MAX];
	unsigned nworkers;
};

static void hex(const uint8_t *h, char out[2 * CHUNK_HASH_LEN + 1])
{
	for (int k = 0; k < CHUNK_HASH_LEN; k++)
		snprintf(out + 2 * k, 3, "%02x", h[k]);
}

/* The body to send: zstd when it is smaller, else the chunk itself. */
static const void *encode(struct worker *w, const struct job *j, size_t *len, bool *zstd)
{
	size_t n = ZSTD_compressCCtx(w->zc, w->zbuf, w->zcap, j->data, j->len, ZSTD_LEVEL);

	*zstd = !ZSTD_isError(n) && n < j->len;
	*len = *zstd ? n : j->len;
	return *zstd ? w->zbuf : j->data;
}

static bool take_corrupt_turn(struct sender *s)
{
	bool r;

	pthread_mutex_lock(&s->lock);
	r = s->conf.corrupt_nth && ++s->puts == s->conf.corrupt_nth;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static bool resendable(const struct http_resp *resp)
{
	return resp->status == 415 ||
	       (resp->status == 400 && (streq(resp->error, "hash_mismatch") || streq(resp->error, "bad_length") ||
					streq(resp->error, "bad_encoding")));
}

/* PUT one chunk; resend it when the appliance says it arrived damaged. */
static int put_job(struct worker *w, struct job *j)
{
	struct sender *s = w->s;
	_cleanup_free_ char *path = xasprintf("%s/%ju", s->conf.chunks_path, (uintmax_t)j->index);
	char hashhdr[64 + 2 * CHUNK_HASH_LEN], hx[2 * CHUNK_HASH_LEN + 1];
	bool corrupt = take_corrupt_turn(s), allow_zstd = true;

	hex(j->hash, hx);
	snprintf(hashhdr, sizeof(hashhdr), "X-Chunk-Sha256: %s", hx);
	for (unsigned attempt = 1;; attempt++) {
		struct http_resp resp = { 0 };
		const void *body = j->data;
		size_t len = j->len;
		bool zstd = false;
		int r;

		if (corrupt)
			j->data[j->len / 2] ^= 0x01; /* test hook: what a bit flip on the way would do */
		if (allow_zstd)
			body = encode(w, j, &len, &zstd);
		{
			const char *hdrs[] = { hashhdr, "Content-Type: application/octet-stream",
					       zstd ? "Content-Encoding: zstd" : "Content-Encoding: identity", NULL };
			r = client_call(w->c, "PUT", path, hdrs, body, len, &resp);
		}
		if (corrupt) {
			j->data[j->len / 2] ^= 0x01;
			corrupt = false;
		}
		if (r < 0) {
			log_err("%s: %s", s->conf.name, client_error(w->c));
			http_resp_clear(&resp);
			return r;
		}
		pthread_mutex_lock(&s->lock);
		s->bytes_sent += len;
		pthread_mutex_unlock(&s->lock);
		if (resp.status == 204) {
			http_resp_clear(&resp);
			break;
		}
		if (resp.status == 415)
			allow_zstd = false;
		if (resendable(&resp) && attempt < RESEND_MAX) {
			log_warn("%s: chunk %ju rejected (%s), sending it again", s->conf.name, (uintmax_t)j->index,
				 resp.error[0] ? resp.error : "unsupported encoding");
			http_resp_clear(&resp);
			continue;
		}
		log_err("%s: chunk %ju refused: %s", s->conf.name, (uintmax_t)j->index, client_error(w->c));
		http_resp_clear(&resp);
		return -EPROTO;
	}
	if (passlog_record(s->conf.pl, j->index, j->hash) < 0)
		log_debug("%s: pass log entry %ju not written", s->conf.name, (uintmax_t)j->index);
	if (s->conf.delay_ms)
		usleep(s->conf.delay_ms * 1000u);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sender *s = w->s;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct job *j;
		int r;

		while (!s->stop && !s->queue)
			pthread_cond_wait(&s->work, &s->lock);
		if (s->stop)
			break;
		j = s->queue;
		s->queue = j->next;
		if (!s->queue)
			s->queue_tail = NULL;
		s->busy++;
		pthread_mutex_unlock(&s->lock);
		r = put_job(w, j);
		pthread_mutex_lock(&s->lock);
		s->busy--;
		if (r == 0)
			s->chunks_sent++;
		else if (s->error == 0)
			s->error = r;
		if (r < 0)
			s->stop = true; /* the pass fails: the other workers stop after their chunk */
		j->next = s->free_jobs;
		s->free_jobs = j;
		/* one thread waits for space (the submitter, or the drain); the other workers need waking
		 * only to stop: a broadcast per chunk would wake them all for nothing */
		pthread_cond_signal(&s->space);
		if (s->stop)
			pthread_cond_broadcast(&s->work);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sender_new(struct client *c, const struct sender_conf *conf, struct sender **out)
{
	struct sender *s = xcalloc(1, sizeof(*s));
	unsigned n = conf->connections ? conf->connections : 1;

	if (n > SENDER_MAX)
		n = SENDER_MAX;
	s->conf = *conf;
	s->conf.chunks_path = xstrdup(conf->chunks_path);
	s->conf.name = xstrdup(conf->name);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->space, NULL);
	/* Two buffers per connection: one uploading, one ready. */
	s->njobs = 2 * n;
	s->jobs = xcalloc(s->njobs, sizeof(*s->jobs));
	for (unsigned i = 0; i < s->njobs; i++) {
		s->jobs[i].data = xmalloc(conf->chunk_size);
		s->jobs[i].next = s->free_jobs;
		s->free_jobs = &s->jobs[i];
	}
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &s->w[i];

		w->s = s;
		if (client_clone(c, &w->c) < 0)
			break;
		w->zc = ZSTD_createCCtx();
		w->zcap = ZSTD_compressBound(conf->chunk_size);
		w->zbuf = xmalloc(w->zcap);
		s->nworkers++;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			break;
		w->started = true;
	}
	if (s->nworkers == 0 || !s->w[0].started) {
		sender_free(s);
		return -EAGAIN;
	}
	*out = s;
	return 0;
}

int sender_submit(struct sender *s, const struct scan_chunk *c)
{
	struct job *j;
	int r;

	pthread_mutex_lock(&s->lock);
	while (!s->error && !s->free_jobs)
		pthread_cond_wait(&s->space, &s->lock);
	r = s->error;
	if (r < 0) {
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	j = s->free_jobs;
	s->free_jobs = j->next;
	pthread_mutex_unlock(&s->lock);

	j->index = c->index;
	j->len = c->len;
	memcpy(j->hash, c->hash, CHUNK_HASH_LEN);
	memcpy(j->data, c->data, c->len);
	j->next = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->queue_tail)
		s->queue_tail->next = j;
	else
		s->queue = j;
	s->queue_tail = j;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int sender_drain(struct sender *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	while (!s->error && (s->queue || s->busy > 0))
		pthread_cond_wait(&s->space, &s->lock);
	r = s->error;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void sender_stats(struct sender *s, uint64_t *bytes_sent, uint64_t *chunks_sent)
{
	pthread_mutex_lock(&s->lock);
	*bytes_sent = s->bytes_sent;
	*chunks_sent = s->chunks_sent;
	pthread_mutex_unlock(&s->lock);
}

void sender_free(struct sender *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->w[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->c)
			client_free(w->c);
		ZSTD_freeCCtx(w->zc);
		free(w->zbuf);
	}
	for (unsigned i = 0; i < s->njobs; i++)
		free(s->jobs[i].data);
	free(s->jobs);
	free((char *)s->conf.chunks_path);
	free((char *)s->conf.name);
	pthread_cond_destroy(&s->space);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
