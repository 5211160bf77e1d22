/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client.h"
#include "identity.h"
#include "json.h"
#include "log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#define RESP_MAX (64u << 20)
#define BACKOFF_FIRST 0.25
#define BACKOFF_MAX 8.0
#define RETRY_DEFAULT 120.0

struct client {
	struct client_opts o;   /* owned copies, for client_clone() */
	CURL *h;
	char *base;
	char *ca_file, *pin;
	char *agent_id;
	char *auth_header, *agent_header;
	char *identity_header[2]; /* X-Mobility-Machine-Id, X-Mobility-Product-Uuid (protocol §2.1) */
	double retry_seconds;
	char curl_err[CURL_ERROR_SIZE];
	char error[1024];
};

void http_resp_clear(struct http_resp *r)
{
	free(r->body);
	*r = (struct http_resp){ 0 };
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_resp *r = ud;
	size_t n = size * nmemb;

	if (r->len + n > RESP_MAX)
		return 0; /* aborts the transfer: no appliance answer is this large */
	r->body = xrealloc(r->body, r->len + n + 1);
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int client_new(const struct client_opts *o, struct client **out)
{
	struct client *c;
	size_t n;

	if (!o->url || !startswith(o->url, "https://"))
		return -EPROTONOSUPPORT;
	pthread_once(&curl_once, curl_init_once);
	c = xcalloc(1, sizeof(*c));
	c->h = curl_easy_init();
	if (!c->h) {
		free(c);
		return -ENOMEM;
	}
	c->base = xstrdup(o->url);
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->ca_file = xstrdup(o->ca_file);
	c->pin = o->pin ? xstrdup(o->pin) : NULL;
	c->agent_id = o->agent_id ? xstrdup(o->agent_id) : NULL;
	/* No token: registration (POST /v1/register), the one request made before the agent has one. */
	if (o->token)
		c->auth_header = xasprintf("Authorization: Bearer %s", o->token);
	if (o->agent_id)
		c->agent_header = xasprintf("X-Mobility-Agent: %s", o->agent_id);
	identity_headers(NULL, c->identity_header);
	c->retry_seconds = o->retry_seconds > 0 ? o->retry_seconds : RETRY_DEFAULT;
	c->o = (struct client_opts){ .url = xstrdup(o->url), .ca_file = c->ca_file, .pin = c->pin,
				     .agent_id = c->agent_id, .token = o->token ? xstrdup(o->token) : NULL,
				     .proxy = o->proxy ? xstrdup(o->proxy) : NULL,
				     .no_proxy = o->no_proxy ? xstrdup(o->no_proxy) : NULL,
				     .retry_seconds = o->retry_seconds };

	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c->h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c->h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(c->h, CURLOPT_CAPATH, NULL);
	if (c->pin)
		curl_easy_setopt(c->h, CURLOPT_PINNEDPUBLICKEY, c->pin);
	/* Without CURLOPT_PROXY libcurl reads https_proxy/HTTPS_PROXY/all_proxy and no_proxy itself. */
	if (o->proxy)
		curl_easy_setopt(c->h, CURLOPT_PROXY, o->proxy);
	if (o->no_proxy)
		curl_easy_setopt(c->h, CURLOPT_NOPROXY, o->no_proxy);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT, 15L);
	/* A stalled appliance (not a slow one) counts as a network error and is retried. */
	curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->h, CURLOPT_USERAGENT, "mobility-agent/" MOBILITY_VERSION);
	*out = c;
	return 0;
}

int client_clone(const struct client *c, struct client **out)
{
	return client_new(&c->o, out);
}

void client_free(struct client *c)
{
	free((char *)c->o.url);
	free((char *)c->o.token);
	free((char *)c->o.proxy);
	free((char *)c->o.no_proxy);
	curl_easy_cleanup(c->h);
	free(c->base);
	free(c->ca_file);
	free(c->pin);
	free(c->agent_id);
	free(c->auth_header);
	free(c->agent_header);
	free(c->identity_header[0]);
	free(c->identity_header[1]);
	free(c);
}

const char *client_error(const struct client *c)
{
	return c->error;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Failures retrying cannot fix: say which of CA, pin or certificate name is wrong. */
static bool tls_refusal(struct client *c, CURLcode cc)
{
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(c->error, sizeof(c->error),
			 "%s: TLS certificate not trusted: it does not verify against the CA file %s (%s)", c->base,
			 c->ca_file, c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
		return true;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(c->error, sizeof(c->error), "%s: cannot use the CA file %s (%s)", c->base, c->ca_file,
			 c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
		return true;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		snprintf(c->error, sizeof(c->error),
			 "%s: TLS public key pin mismatch: the appliance's key is not %s", c->base, c->pin);
		return true;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
		snprintf(c->error, sizeof(c->error), "%s: %s", c->base,
			 c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
		return true;
	default:
		return false;
	}
}

static void parse_error_code(struct http_resp *r)
{
	_cleanup_json_ cJSON *j = NULL;
	const char *code;

	r->error[0] = '\0';
	if (r->status < 400 || !r->body)
		return;
	j = cJSON_ParseWithLength(r->body, r->len);
	code = j ? json_get_str(j, "error") : NULL;
	if (code)
		snprintf(r->error, sizeof(r->error), "%s", code);
}

static const char *resp_message(const struct http_resp *r)
{
	static __thread char msg[512];
	_cleanup_json_ cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *m = j ? json_get_str(j, "message") : NULL;

	snprintf(msg, sizeof(msg), "%s", m ? m : "");
	return msg;
}

static bool status_retryable(const struct http_resp *r)
{
	return r->status >= 500 || (r->status == 409 && streq(r->error, "chunk_busy"));
}

static CURLcode perform_once(struct client *c, const char *method, const char *url, struct curl_slist *hdrs,
			     const void *body, size_t body_len, struct http_resp *resp)
{
	CURLcode cc;

	http_resp_clear(resp);
	c->curl_err[0] = '\0';
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, resp);
	if (streq(method, "GET") || streq(method, "DELETE")) {
		curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c->h, CURLOPT_POST, 1L);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, streq(method, "GET") || streq(method, "POST") ? NULL : method);
	cc = curl_easy_perform(c->h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &resp->status);
		parse_error_code(resp);
	}
	return cc;
}

/* How long to wait before the next attempt: Retry-After when the appliance says, else back-off. */
static double retry_delay(struct client *c, const struct http_resp *resp, double backoff)
{
	curl_off_t ra = 0;

	if (resp->status == 503 && curl_easy_getinfo(c->h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		return ra < 30 ? (double)ra : 30.0;
	return backoff;
}

int client_call(struct client *c, const char *method, const char *path, const char *const *headers,
		const void *body, size_t body_len, struct http_resp *resp)
{
	_cleanup_free_ char *url = xasprintf("%s%s", c->base, path);
	struct curl_slist *hdrs = NULL;
	double deadline = now_seconds() + c->retry_seconds, backoff = BACKOFF_FIRST;
	int r = 0;

	if (c->auth_header)
		hdrs = curl_slist_append(hdrs, c->auth_header);
	if (c->agent_header)
		hdrs = curl_slist_append(hdrs, c->agent_header);
	for (size_t i = 0; i < 2; i++)
		hdrs = curl_slist_append(hdrs, c->identity_header[i]);
	hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip per chunk */
	for (size_t i = 0; headers && headers[i]; i++)
		hdrs = curl_slist_append(hdrs, headers[i]);
	c->error[0] = '\0';
	for (unsigned attempt = 1;; attempt++) {
		CURLcode cc = perform_once(c, method, url, hdrs, body, body_len, resp);
		double wait;

		if (cc != CURLE_OK && tls_refusal(c, cc)) {
			r = -EACCES;
			break;
		}
		if (cc == CURLE_OK && resp->status == 401) {
			snprintf(c->error, sizeof(c->error), "%s: the appliance refused the token of agent %s (401 %s)",
				 c->base, c->agent_id, resp_message(resp));
			r = -EACCES;
			break;
		}
		if (cc == CURLE_OK && resp->status == 403) {
			snprintf(c->error, sizeof(c->error),
				 "%s: the appliance refused agent id %s for this token (403 %s)", c->base, c->agent_id,
				 resp_message(resp));
			r = -EACCES;
			break;
		}
		if (cc == CURLE_OK && !status_retryable(resp)) {
			if (resp->status >= 400)
				snprintf(c->error, sizeof(c->error), "%s %s: %ld %s: %s", method, path, resp->status,
					 resp->error, resp_message(resp));
			break;
		}
		if (cc == CURLE_OK)
			snprintf(c->error, sizeof(c->error), "%s %s: %ld %s: %s", method, path, resp->status,
				 resp->error, resp_message(resp));
		else
			snprintf(c->error, sizeof(c->error), "%s: %s", c->base,
				 c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
		wait = retry_delay(c, resp, backoff);
		if (now_seconds() + wait > deadline) {
			/* Out of retries: an HTTP answer is the caller's to judge, a network error is ours. */
			r = cc == CURLE_OK ? 0 : (cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO);
			break;
		}
		log_debug("%s (attempt %u), retrying in %.2fs", c->error, attempt, wait);
		if (attempt == 3)
			log_warn("%s; retrying", c->error);
		sleep_seconds(wait);
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
	curl_slist_free_all(hdrs);
	return r;
}
