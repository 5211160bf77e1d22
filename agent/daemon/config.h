/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's configuration file (YAML, design.md §6): the keys fleet tooling and push-install
 * write. Unknown keys are warned about, not fatal (a newer push-install may write more); a wrong
 * type or a missing required key is an error naming the file, line and column.
 */
#ifndef MOBILITY_CONFIG_H
#define MOBILITY_CONFIG_H

#include "util.h"

#define CONFIG_DEFAULT_PATH MOBILITY_SYSCONFDIR "/mobility-agent/agent.yaml"
#define CONFIG_DEFAULT_STATE_DIR MOBILITY_LOCALSTATEDIR "/lib/mobility-agent"
#define CONFIG_DEFAULT_CONTROL "/run/mobility-agent/control"

struct config_disk {
	char *device;
	char *name;
};

struct agent_config {
	char *appliance_url, *ca, *pin, *proxy;
	strv no_proxy;
	char *agent_id, *token_file;
	struct config_disk *disks;
	size_t ndisks;
	char *state_dir;
	char *control_socket;
	int connections;        /* appliance.connections: parallel uploads (0: the default, 4) */
	int freeze_timeout;     /* seconds */
	int tracker_buf_kib;    /* tracker.buffer_kib: relay sub-buffer per CPU (0: the tracker's default) */
	int tracker_buf_nr;     /* tracker.buffers: sub-buffers per CPU (0: default) */
	char *hooks_dir;
	strv warnings;          /* unknown keys, with file:line */
};

/* Parse YAML text (NAME for messages). 0, or -EINVAL with *err = "NAME:LINE:COL: why". */
int config_parse(const char *text, size_t len, const char *name, struct agent_config *c, char **err);
int config_load(const char *path, struct agent_config *c, char **err);
void config_free(struct agent_config *c);

#endif
