/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Probing package-source metadata URLs: all at once (libcurl's multi interface), TLS verification on,
 * the proxy each package manager would use, and one deadline for the whole batch so the check takes
 * the timeout plus a little however many sources there are. Each failure is classified by its cause.
 */
#ifndef PREPCHECK_REPO_PROBE_H
#define PREPCHECK_REPO_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum probe_cause {
	PROBE_OK,
	PROBE_DNS,     /* the server's name does not resolve */
	PROBE_CONNECT, /* refused, unreachable, or the connection dropped */
	PROBE_TLS,     /* handshake or certificate verification failed */
	PROBE_HTTP,    /* the server answered with an error status */
	PROBE_PROXY,   /* the proxy is unreachable, refused, or could not reach the server */
	PROBE_TIMEOUT, /* no answer before the deadline */
	PROBE_OTHER,
};
const char *probe_cause_name(enum probe_cause c); /* "ok", "dns", "connect", "tls", "http", "proxy", "timeout", "other" */

struct probe {
	/* in */
	char *url;
	char *fallback_url; /* tried when url answers 404/410 (apt: InRelease, then Release) */
	char *proxy;        /* NULL: the environment's (http_proxy, https_proxy, no_proxy); "" or "_none_": direct */
	/* out */
	enum probe_cause cause;
	long http_code;
	char *error;      /* one sentence naming the cause */
	char *final_url;  /* the URL of the last attempt */
	char *proxy_used; /* NULL: direct */
	double seconds;
};

/* Run every probe in parallel within TIMEOUT_MS overall. 0, or -ENOMEM/-EIO when libcurl cannot start. */
int repo_probe_all(struct probe *p, size_t n, int timeout_ms);
void probe_clear(struct probe *p);

/* The proxy the environment gives URL (https_proxy/HTTPS_PROXY, http_proxy, all_proxy, minus
 * no_proxy/NO_PROXY matches), or NULL for a direct connection. */
char *env_proxy_for(const char *url);
/* True when HOST matches the no_proxy list LIST (comma/space separated, "*", ".suffix", IPv4 CIDR). */
bool no_proxy_match(const char *list, const char *host);

#endif
