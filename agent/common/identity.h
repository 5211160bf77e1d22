/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine's identity: /etc/machine-id and the DMI product UUID (docs/protocol.md §2.1). The agent
 * keeps the identity it first saw in STATE_DIR/identity; a product UUID or machine-id that differs
 * later means the disks now belong to another machine (a clone, or a new VM with the same name), and
 * replication must not mix that machine's disks with the first one's replica.
 *
 * Values are normalised the same way on both sides (agent and receiver): white space trimmed,
 * lowercase, [0-9a-z-] only, at most IDENTITY_VALUE_MAX characters; "" when the machine has none or it
 * cannot be read (the reason is kept beside it).
 */
#ifndef MOBILITY_IDENTITY_H
#define MOBILITY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

#define IDENTITY_VALUE_MAX 64
#define IDENTITY_MACHINE_ID_PATH "/etc/machine-id"
#define IDENTITY_PRODUCT_UUID_PATH "/sys/class/dmi/id/product_uuid"
#define IDENTITY_STATE_FILE "identity"
#define IDENTITY_HEADER_MACHINE_ID "X-Mobility-Machine-Id"
#define IDENTITY_HEADER_PRODUCT_UUID "X-Mobility-Product-Uuid"

struct identity {
	char machine_id[IDENTITY_VALUE_MAX + 1];
	char product_uuid[IDENTITY_VALUE_MAX + 1];
	int machine_id_error;   /* 0, or why machine_id is "" (-ENOENT: none; -EACCES: not root...) */
	int product_uuid_error; /* same for the product UUID (-ENOENT: no DMI, -EACCES: needs root) */
};

enum identity_change {
	IDENTITY_MACHINE_ID_CHANGED = 1 << 0,
	IDENTITY_PRODUCT_UUID_CHANGED = 1 << 1,
};

struct identity_state {
	struct identity current;
	struct identity first;  /* valid when has_first */
	bool has_first;
	bool recorded_now;      /* first was recorded by this call */
	long long first_seen;   /* unix seconds, 0 if unknown */
	unsigned changed;       /* enum identity_change */
};

/* Normalise in (see above) into out (IDENTITY_VALUE_MAX + 1 bytes); false if it is not an identifier. */
bool identity_normalize(const char *in, char out[IDENTITY_VALUE_MAX + 1]);
/* "machine_id" and "product_uuid" of a recorded identity (JSON object), normalised; false if either is
 * missing or not an identifier (j may be NULL: unparsable). */
bool identity_from_json(const cJSON *j, char machine_id[IDENTITY_VALUE_MAX + 1],
			char product_uuid[IDENTITY_VALUE_MAX + 1]);

/*
 * Read the running machine's identity. root: a directory holding etc/machine-id and
 * sys/class/dmi/id/product_uuid (tests); NULL: $MOBILITY_IDENTITY_ROOT if set (integration tests play
 * a clone with it), else "/". Never fails: a value that cannot be read is "" with its error set.
 */
void identity_read(const char *root, struct identity *id);

/* STATE_DIR/identity: the first-seen identity (JSON). load: -ENOENT if none, -EINVAL if garbled. */
int identity_load(const char *state_dir, struct identity *first, long long *first_seen);
int identity_save(const char *state_dir, const struct identity *id);

/*
 * What differs between the first-seen and the current identity. A value the current read could not
 * get for a reason other than "there is none" (-ENOENT) counts as unknown, not as a change.
 */
unsigned identity_changes(const struct identity *first, const struct identity *now);

/*
 * Read the current identity (root as in identity_read) and compare it with the first-seen one in
 * state_dir. With record, a missing first-seen identity is recorded now (only when both values were
 * read or are known to be absent: a record made while not root would pin an empty product UUID).
 * 0, or -errno of the state file (st->current is filled anyway).
 */
int identity_check(const char *root, const char *state_dir, bool record, struct identity_state *st);

/*
 * The warning lines for st->changed ("product UUID changed from X to Y: this is a clone or a new VM;
 * replication refuses to mix machines"), NULL-terminated in lines[0..2], malloc'ed; returns how many.
 */
size_t identity_warnings(const struct identity_state *st, char *lines[3]);

/*
 * {"machine_id", "product_uuid", "machine_id_error", "product_uuid_error" (null or why the value is
 * empty), "first_seen": null or {"machine_id", "product_uuid", "at"}, "changed": bool,
 * "warnings": [...]} for status outputs.
 */
cJSON *identity_state_json(const struct identity_state *st);

/*
 * The two request header lines for libcurl (curl_slist), malloc'ed: "X-Mobility-Machine-Id: VALUE"
 * and "X-Mobility-Product-Uuid: VALUE"; an empty value is written "NAME;", libcurl's way of sending a
 * header with an empty value. root as in identity_read (NULL: this machine).
 */
void identity_headers(const char *root, char *lines[2]);

#endif
