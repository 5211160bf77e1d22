/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Binds an agent id to the machine it replicates (docs/protocol.md §2.1): the machine-id and product
 * UUID an agent presents (X-Mobility-Machine-Id, X-Mobility-Product-Uuid) are recorded on first use, or
 * from its registration, in STORE/ID/identity; a request presenting another identity is refused, so a
 * clone or a new VM holding the same token never writes into the first machine's replica.
 * Thread-safe: recording takes a lock, so two first requests with different identities cannot both win.
 */
#ifndef MOBILITY_RECEIVER_IDENTITY_BIND_H
#define MOBILITY_RECEIVER_IDENTITY_BIND_H

#include <stddef.h>

#include "store.h"

struct idbind;

int idbind_new(struct rstore *store, struct idbind **ret);
void idbind_free(struct idbind *b);

/*
 * Checks the identity presented by agent (the raw header values, NULL when absent) against the
 * recorded one, recording it when none is. 0: accepted; -EBADMSG: a header is malformed or only one is
 * present; -EPERM: another identity is recorded (or none presented while one is): msg names both;
 * other -errno: the identity file could not be read or written. msg is always set on failure.
 */
int idbind_check(struct idbind *b, const char *agent, const char *machine_id, const char *product_uuid,
		 char *msg, size_t msglen);

/*
 * Records the identity a registration announced (body values, NULL when absent; nothing is recorded
 * when both are). An invalid value counts as "" (as the agent, which normalises the same way, sends).
 */
int idbind_record(struct idbind *b, const char *agent, const char *machine_id, const char *product_uuid);

#endif
