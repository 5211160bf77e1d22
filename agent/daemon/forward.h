/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `mobility-agent sync|freeze|thaw|status --config FILE`: reach the running daemon through the
 * control socket named in FILE (design.md §6). When no daemon answers, sync runs standalone in hash
 * mode with the configuration's appliance and disks; freeze, thaw and status do their own work.
 */
#ifndef MOBILITY_FORWARD_H
#define MOBILITY_FORWARD_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "util.h"

/* FORWARD_NO_DAEMON: nobody listens; the caller falls back to standalone mode. */
#define FORWARD_NO_DAEMON (-1000)

/*
 * Send {"cmd": CMD, ...ARGS} to the daemon of CONFIG_PATH and print the answer (JSON with --json,
 * else a summary). Returns the exit code, or FORWARD_NO_DAEMON. ARGS is consumed.
 */
int forward_to_daemon(const char *config_path, const char *cmd, cJSON *args, bool json);

/* `sync --config FILE` without a daemon: the standalone sync with the configuration's settings. */
int sync_standalone_from_config(const char *config_path, bool full, bool json);

/*
 * The dispatcher's entry for `mobility-agent CMD --config FILE ...` (CMD: sync, freeze, thaw,
 * status): parses the daemon-mode options, forwards, and falls back to the standalone command.
 */
int forward_cli(const char *cmd, int argc, char **argv);

#endif
