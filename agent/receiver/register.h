/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Registration (docs/protocol.md §9): one-time keys issued by `mobility-receiver keygen` and exchanged by
 * an agent for its id and token. Keys are stored only as SHA-256 digests with an expiry in AGENTS.keys,
 * beside the agents file; AGENTS.lock (flock) serialises keygen and the running receiver. A key is
 * consumed durably before the agent is added: a crash in between costs a key, never lets one key
 * register two agents.
 */
#ifndef MOBILITY_RECEIVER_REGISTER_H
#define MOBILITY_RECEIVER_REGISTER_H

#include <stddef.h>
#include <time.h>

#define REG_KEY_PREFIX "mrk-"

/* Appends a new key valid for ttl seconds; the key (to give to the admin) in key (>= 80 bytes). */
int reg_keygen(const char *agents_path, long ttl, char *key, size_t keylen);
/*
 * Consumes key and appends "ID TOKEN" for a new agent to the agents file. hostname (may be NULL) seeds
 * the id. -EACCES: unknown, used or expired key.
 */
int reg_register(const char *agents_path, const char *key, const char *hostname, char *id, size_t idlen,
		 char *token, size_t toklen);

#endif
