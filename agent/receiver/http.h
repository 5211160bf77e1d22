/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTPS front of the receiver: docs/protocol.md on top of store.h, with libmicrohttpd. */
#ifndef MOBILITY_RECEIVER_HTTP_H
#define MOBILITY_RECEIVER_HTTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "agents.h"
#include "store.h"

struct http_options {
	struct sockaddr_storage addr;
	const char *cert_pem, *key_pem;
	unsigned max_connections, max_per_ip, timeout, max_uploads, threads;
};

struct http_server;

int http_start(const struct http_options *opt, struct rstore *store, struct agents *agents,
	       struct http_server **ret);
unsigned http_port(struct http_server *h);
void http_stop(struct http_server *h);

#endif
