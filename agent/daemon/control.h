/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's control socket (design.md §6): a Unix stream socket, root only (directory 0700, socket
 * 0600, and the peer's credentials checked). One request per connection: a JSON object on one line
 * ({"cmd": "status"}), answered by one JSON object on one line ({"ok": true, ...} or
 * {"ok": false, "error": "..."}).
 */
#ifndef MOBILITY_CONTROL_H
#define MOBILITY_CONTROL_H

#include <cjson/cJSON.h>

#define CONTROL_MAX_MESSAGE (1u << 20)

/* Create the socket (removing a stale one that nobody listens on). Returns the fd or -errno. */
int control_listen(const char *path);

/* Handler: returns the response (ownership passes to the caller); never NULL. */
typedef cJSON *(*control_handler)(void *userdata, const cJSON *request);

/* Accept one connection and answer it in a new detached thread. -errno on accept failure. */
int control_accept(int listen_fd, control_handler h, void *userdata);

/*
 * Send REQ to the daemon at PATH and wait up to timeout_ms (0: forever) for the answer.
 * -ENOENT / -ECONNREFUSED: no daemon runs (callers fall back to standalone mode).
 */
int control_call(const char *path, const cJSON *req, int timeout_ms, cJSON **resp);

/* Helpers for responses. */
cJSON *control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
cJSON *control_ok(void);

#endif
