/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "repo-probe.h"
#include "util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <strings.h>
#include <time.h>

#define BODY_MAX (64 * 1024) /* the status line and a little body prove the source works */

const char *probe_cause_name(enum probe_cause c)
{
	static const char *const n[] = { "ok", "dns", "connect", "tls", "http", "proxy", "timeout", "other" };

	return c < ARRAY_SIZE(n) ? n[c] : "other";
}

void probe_clear(struct probe *p)
{
	free(p->url), free(p->fallback_url), free(p->proxy), free(p->error), free(p->final_url), free(p->proxy_used);
	memset(p, 0, sizeof(*p));
}

static bool cidr_match(const char *entry, const char *host)
{
	_cleanup_free_ char *net = xstrdup(entry);
	char *slash = strchr(net, '/');
	struct in_addr a, h;
	long bits;

	if (!slash)
		return false;
	*slash = '\0';
	if (parse_long(slash + 1, &bits) < 0 || bits < 0 || bits > 32 || inet_pton(AF_INET, net, &a) != 1 ||
	    inet_pton(AF_INET, host, &h) != 1)
		return false;
	uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;

	return (a.s_addr & mask) == (h.s_addr & mask);
}

bool no_proxy_match(const char *list, const char *host)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	size_t hl = strlen(host);

	for (char *e = strtok_r(copy, ", \t", &save); e; e = strtok_r(NULL, ", \t", &save)) {
		size_t el;

		if (streq(e, "*"))
			return true;
		if (strchr(e, '/')) {
			if (cidr_match(e, host))
				return true;
			continue;
		}
		if (*e == '.')
			e++;
		if (e[0] != '[') /* a port on the entry does not matter for the host test */
			e[strcspn(e, ":")] = '\0';
		el = strlen(e);
		if (!el)
			continue;
		if (strcasecmp(host, e) == 0 ||
		    (hl > el && host[hl - el - 1] == '.' && strcasecmp(host + hl - el, e) == 0))
			return true;
	}
	return false;
}

static char *url_host(const char *url)
{
	const char *h = strstr(url, "://");
	const char *at, *end;

	if (!h)
		return NULL;
	h += 3;
	end = h + strcspn(h, "/?#");
	at = memchr(h, '@', end - h);
	if (at)
		h = at + 1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', end - h);

		return rb ? xstrndup(h + 1, rb - h - 1) : NULL;
	}
	return xstrndup(h, strcspn(h, ":/?#"));
}

static const char *getenv2(const char *lower, const char *upper)
{
	const char *v = getenv(lower);

	if (!v || !*v)
		v = upper ? getenv(upper) : NULL;
	return v && *v ? v : NULL;
}

char *env_proxy_for(const char *url)
{
	_cleanup_free_ char *host = url_host(url);
	const char *np = getenv2("no_proxy", "NO_PROXY"), *v;

	if (!host || (np && no_proxy_match(np, host)))
		return NULL;
	/* As libcurl: http_proxy only in lower case (HTTP_PROXY is settable by CGI clients). */
	if (startswith(url, "https://"))
		v = getenv2("https_proxy", "HTTPS_PROXY");
	else
		v = getenv2("http_proxy", NULL);
	if (!v)
		v = getenv2("all_proxy", "ALL_PROXY");
	return v ? xstrdup(v) : NULL;
}

struct job {
	struct probe *p;
	CURL *h;
	size_t body;
	bool capped;
	bool on_fallback;
	char errbuf[CURL_ERROR_SIZE];
	double t0;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct job *j = userdata;

	j->body += size * nmemb;
	if (j->body > BODY_MAX) {
		j->capped = true;
		return 0; /* enough: abort the transfer (CURLE_WRITE_ERROR, treated as success) */
	}
	return size * nmemb;
}

static int job_start(CURLM *m, struct job *j, const char *url, long remaining_ms)
{
	CURL *h = curl_easy_init();

	if (!h)
		return -ENOMEM;
	j->h = h;
	j->body = 0;
	j->capped = false;
	j->errbuf[0] = '\0';
	free(j->p->final_url);
	j->p->final_url = xstrdup(url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, j);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, remaining_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, remaining_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "prepcheck/" MOBILITY_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,ftp");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
#endif
	/* We decide the proxy ourselves (so a failure can say whether a proxy was involved): never let
	 * libcurl consult the environment on top. */
	curl_easy_setopt(h, CURLOPT_PROXY, j->p->proxy_used ? j->p->proxy_used : "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	if (curl_multi_add_handle(m, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		j->h = NULL;
		return -EIO;
	}
	return 0;
}

static bool tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

static void set_result(struct probe *p, enum probe_cause c, char *error)
{
	p->cause = c;
	free(p->error);
	p->error = error;
}

/* Classify a finished transfer. */
static void classify(struct job *j, CURLcode rc)
{
	struct probe *p = j->p;
	const char *via = p->proxy_used;
	const char *msg = j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc);
	long code = 0, ccode = 0;

	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(j->h, CURLINFO_HTTP_CONNECTCODE, &ccode);
	p->http_code = code;
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && j->capped)) {
		if ((code >= 200 && code < 300) || (startswith(p->final_url, "ftp://") && code < 400)) {
			set_result(p, PROBE_OK, NULL);
		} else if (via && (code == 407 || (code >= 500 && code <= 504))) {
			/* tinyproxy answers 500, squid 502/503 when they cannot reach the server */
			set_result(p, PROBE_PROXY, xasprintf("proxy %s answered HTTP %ld for %s%s", via, code,
				   p->final_url, code == 407 ? " (proxy authentication required)"
							     : " (the proxy could not reach the server)"));
		} else {
			set_result(p, PROBE_HTTP, xasprintf("HTTP %ld for %s%s%s", code, p->final_url,
				   via ? " through proxy " : "", via ? via : ""));
		}
		return;
	}
	if (rc == CURLE_COULDNT_RESOLVE_HOST)
		set_result(p, PROBE_DNS, xasprintf("DNS: cannot resolve the host of %s (%s)", p->final_url, msg));
	else if (rc == CURLE_COULDNT_RESOLVE_PROXY || (via && rc == CURLE_COULDNT_CONNECT))
		set_result(p, PROBE_PROXY, xasprintf("proxy %s unreachable (%s)", via ? via : "?", msg));
	else if (via && ccode && ccode != 200)
		set_result(p, PROBE_PROXY, xasprintf("proxy %s refused the tunnel to %s (HTTP %ld)", via,
						     p->final_url, ccode));
#if LIBCURL_VERSION_NUM >= 0x074900
	else if (rc == CURLE_PROXY)
		set_result(p, PROBE_PROXY, xasprintf("proxy %s: %s", via ? via : "?", msg));
#endif
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		set_result(p, PROBE_TIMEOUT, xasprintf("no answer from %s%s%s before the deadline (%s)", p->final_url,
						       via ? " through proxy " : "", via ? via : "", msg));
	else if (tls_error(rc))
		set_result(p, PROBE_TLS, xasprintf("TLS: %s (%s)", msg, p->final_url));
	else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
		 rc == CURLE_SEND_ERROR)
		set_result(p, PROBE_CONNECT, xasprintf("connect: %s (%s)", msg, p->final_url));
	else
		set_result(p, PROBE_OTHER, xasprintf("%s (%s)", msg, p->final_url));
}

static void job_end(CURLM *m, struct job *j)
{
	if (!j->h)
		return;
	curl_multi_remove_handle(m, j->h);
	curl_easy_cleanup(j->h);
	j->h = NULL;
}

static long remaining_ms(double deadline)
{
	double r = (deadline - now_s()) * 1000;

	return r < 1 ? 0 : (long)r;
}

/* A finished transfer: classify, and start the fallback URL when the first one is missing. */
static void on_done(CURLM *m, struct job *j, CURLcode rc, double deadline)
{
	struct probe *p = j->p;

	classify(j, rc);
	job_end(m, j);
	if (p->cause == PROBE_HTTP && (p->http_code == 404 || p->http_code == 410) && p->fallback_url &&
	    !j->on_fallback && remaining_ms(deadline) > 0) {
		j->on_fallback = true;
		if (job_start(m, j, p->fallback_url, remaining_ms(deadline)) == 0)
			return;
	}
	p->seconds = now_s() - j->t0;
}

static void drain(CURLM *m, double deadline)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m, &left))) {
		struct job *j = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		on_done(m, j, msg->data.result, deadline);
	}
}

int repo_probe_all(struct probe *p, size_t n, int timeout_ms)
{
	_cleanup_free_ struct job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
	double deadline = now_s() + timeout_ms / 1000.0;
	CURLM *m;
	int running = 1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	m = curl_multi_init();
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		jobs[i].p = &p[i];
		jobs[i].t0 = now_s();
		free(p[i].proxy_used);
		if (p[i].proxy)
			p[i].proxy_used = (*p[i].proxy && !streq(p[i].proxy, "_none_")) ? xstrdup(p[i].proxy) : NULL;
		else
			p[i].proxy_used = env_proxy_for(p[i].url);
		set_result(&p[i], PROBE_OTHER, xstrdup("not started"));
		if (job_start(m, &jobs[i], p[i].url, timeout_ms) < 0)
			set_result(&p[i], PROBE_OTHER, xstrdup("libcurl could not start the transfer"));
	}
	while (running && remaining_ms(deadline) > 0) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		drain(m, deadline);
		if (running)
			curl_multi_poll(m, NULL, 0, (int)(remaining_ms(deadline) < 100 ? remaining_ms(deadline) : 100), NULL);
		/* A fallback transfer added in drain() keeps the loop going. */
		curl_multi_perform(m, &running);
		drain(m, deadline);
	}
	for (size_t i = 0; i < n; i++)
		if (jobs[i].h) {
			set_result(&p[i], PROBE_TIMEOUT, xasprintf("no answer from %s%s%s within %d s", p[i].final_url,
				   p[i].proxy_used ? " through proxy " : "", p[i].proxy_used ? p[i].proxy_used : "",
				   (timeout_ms + 999) / 1000));
			p[i].seconds = now_s() - jobs[i].t0;
			job_end(m, &jobs[i]);
		}
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return 0;
}
