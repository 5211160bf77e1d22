/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent daemon (`mobility-agent run`): owns one change tracker per configured disk, answers the
 * control socket (status, sync, sync --cutover, freeze, thaw), and on SIGTERM stops the trackers
 * cleanly (bitmap saved with the clean-shutdown marker) and thaws anything it froze.
 */
#ifndef MOBILITY_DAEMON_H
#define MOBILITY_DAEMON_H

#include <stdbool.h>

#include "config.h"

/* READY_FD >= 0: written to and closed once the control socket listens (for a detaching parent). */
int daemon_run(const struct agent_config *cfg, int ready_fd);

/* systemd's readiness protocol without libsystemd: one datagram to $NOTIFY_SOCKET. */
void sd_notify_simple(const char *state);

#endif
