/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The appliance client (docs/protocol.md): one libcurl handle (keep-alive) per sync, HTTPS only,
 * the appliance's certificate checked against a CA file and optionally a public-key pin, the
 * per-agent token, proxies from the environment or configured, and retries with exponential back-off
 * on network errors and 5xx. Refusals that retrying cannot fix (CA, pin, token) come back at once with
 * a message that says which.
 */
#ifndef MOBILITY_CLIENT_H
#define MOBILITY_CLIENT_H

#include <stddef.h>

#include "util.h"

struct client_opts {
	const char *url;       /* https://host:port */
	const char *ca_file;
	const char *pin;       /* "sha256//BASE64[;sha256//...]" or NULL */
	const char *agent_id;
	const char *token;
	const char *proxy;     /* NULL: http(s)_proxy / no_proxy from the environment */
	const char *no_proxy;  /* comma-separated hosts, domains, CIDRs */
	double retry_seconds;  /* give up retrying after this long (0: default 120 s) */
};

struct http_resp {
	long status;
	char *body;            /* NUL-terminated */
	size_t len;
	char error[64];        /* the protocol's "error" code of an error response, or "" */
};
void http_resp_clear(struct http_resp *r);

struct client;
int client_new(const struct client_opts *o, struct client **out);
/* Another connection with the same settings (parallel uploads). */
int client_clone(const struct client *c, struct client **out);
void client_free(struct client *c);
static inline void client_freep(struct client **c) { if (*c) client_free(*c); }
#define _cleanup_client_ _cleanup_(client_freep)

/*
 * One request, retried while the failure is transient. Returns 0 when the appliance answered
 * (resp->status is any status that retrying did not fix), -EACCES for a refused certificate, pin or
 * token (401/403), -EIO/-ETIMEDOUT... for network failures past the retry budget. On failure
 * client_error() says what happened in words, naming the appliance.
 */
int client_call(struct client *c, const char *method, const char *path, const char *const *headers,
		const void *body, size_t body_len, struct http_resp *resp);
const char *client_error(const struct client *c);

#endif
