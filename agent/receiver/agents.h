/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The --agents file: one "AGENT_ID TOKEN" per line, '#' comments and blank lines ignored
 * (docs/protocol.md §2). Re-read when it changes, so agents can be added without a restart; a file that
 * became invalid keeps the previous table in force (and says why, naming the line).
 */
#ifndef MOBILITY_RECEIVER_AGENTS_H
#define MOBILITY_RECEIVER_AGENTS_H

#include <stddef.h>

#define AGENT_TOKEN_MIN 16
#define AGENT_TOKEN_MAX 256

struct agents;

int agents_open(const char *path, struct agents **ret);
void agents_free(struct agents *a);
const char *agents_path(const struct agents *a);
/* Re-reads the file if its inode, size or mtime changed. */
void agents_refresh(struct agents *a);
/* Copies the id of the agent owning token into id (RSTORE_NAME_MAX + 1 bytes); -EACCES if none. */
int agents_find(struct agents *a, const char *token, char *id, size_t idlen);
/* Parses a whole file's content; exposed for the unit tests. -EINVAL names the bad line on stderr. */
int agents_parse(const char *path, char *buf, size_t len, struct agents *into);

#endif
