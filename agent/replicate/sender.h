/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parallel chunk uploads: a few connections, each with a worker thread that compresses (zstd) and
 * PUTs chunks the pass hands over (docs/protocol.md §5.4 allows parallel requests for different
 * chunks). The appliance makes every chunk durable before it answers, so one connection would wait
 * on one fdatasync at a time; several keep its disk busy and overlap compression with the network.
 */
#ifndef MOBILITY_SENDER_H
#define MOBILITY_SENDER_H

#include <stdint.h>

#include "client.h"
#include "passlog.h"
#include "scanner.h"

struct sender_conf {
	const char *name;            /* disk name, for messages */
	const char *chunks_path;     /* .../passes/P/chunks */
	uint32_t chunk_size;
	unsigned connections;
	struct passlog *pl;          /* entries recorded after each 204 */
	unsigned corrupt_nth;        /* test hook: flip a byte of the Nth chunk sent, once */
	unsigned delay_ms;           /* test hook: pause after each chunk */
};

struct sender;
int sender_new(struct client *c, const struct sender_conf *conf, struct sender **out);
/* Queue a copy of the chunk (blocks while all buffers are in use). Returns the first upload error. */
int sender_submit(struct sender *s, const struct scan_chunk *c);
/* Wait until every queued chunk is staged; the first error, else 0. */
int sender_drain(struct sender *s);
void sender_stats(struct sender *s, uint64_t *bytes_sent, uint64_t *chunks_sent);
void sender_free(struct sender *s);

#endif
