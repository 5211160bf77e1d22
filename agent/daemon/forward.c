/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "forward.h"

#include <getopt.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "control.h"
#include "json.h"
#include "log.h"

static void print_summary(const char *cmd, const cJSON *resp)
{
	const cJSON *disks = cJSON_GetObjectItem(resp, "disks"), *d;
	const cJSON *fs = cJSON_GetObjectItem(resp, "filesystems"), *f;

	if (streq(cmd, "status")) {
		_cleanup_free_ char *s = cJSON_Print(resp);
		puts(s);
		return;
	}
	cJSON_ArrayForEach(d, disks) {
		if (streq(cmd, "sync"))
			printf("%s: read %.0f bytes, sent %.0f bytes in %.0f chunks (%.0f zero), %.1f s\n",
			       json_get_str(d, "name") ? json_get_str(d, "name") : "?",
			       cJSON_GetNumberValue(cJSON_GetObjectItem(d, "bytes_read")),
			       cJSON_GetNumberValue(cJSON_GetObjectItem(d, "bytes_sent")),
			       cJSON_GetNumberValue(cJSON_GetObjectItem(d, "chunks_sent")),
			       cJSON_GetNumberValue(cJSON_GetObjectItem(d, "zero_chunks")),
			       cJSON_GetNumberValue(cJSON_GetObjectItem(d, "seconds")));
	}
	cJSON_ArrayForEach(f, fs)
		printf("%s: %s\n", json_get_str(f, "mount") ? json_get_str(f, "mount") : "?",
		       json_get_str(f, "state") ? json_get_str(f, "state") : "?");
}

int forward_to_daemon(const char *config_path, const char *cmd, cJSON *args, bool json)
{
	struct agent_config cfg;
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ cJSON *req = args ? args : cJSON_CreateObject();
	_cleanup_json_ cJSON *resp = NULL;
	int r;

	if (config_load(config_path, &cfg, &err) < 0) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	cJSON_AddStringToObject(req, "cmd", cmd);
	r = control_call(cfg.control_socket, req, 0, &resp);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		log_debug("%s: no daemon answers (%s)", cfg.control_socket, strerror(-r));
		config_free(&cfg);
		return FORWARD_NO_DAEMON;
	}
	if (r < 0) {
		log_err("%s: the daemon did not answer: %s", cfg.control_socket, strerror(-r));
		config_free(&cfg);
		return 1;
	}
	config_free(&cfg);
	if (!cJSON_IsTrue(cJSON_GetObjectItem(resp, "ok"))) {
		log_err("%s", json_get_str(resp, "error") ? json_get_str(resp, "error") : "the daemon refused");
		return 1;
	}
	cJSON_DeleteItemFromObject(resp, "ok");
	if (json) {
		/* sync --json keeps to the contract: {"disks": [...]} and nothing else at the top. */
		if (streq(cmd, "sync")) {
			_cleanup_json_ cJSON *out = cJSON_CreateObject();
			cJSON_AddItemToObject(out, "disks", cJSON_DetachItemFromObject(resp, "disks"));
			return json_print(stdout, out) < 0 ? 1 : 0;
		}
		return json_print(stdout, resp) < 0 ? 1 : 0;
	}
	print_summary(cmd, resp);
	return 0;
}

int sync_standalone_from_config(const char *config_path, bool full, bool json)
{
	struct agent_config cfg;
	_cleanup_free_ char *err = NULL;
	_cleanup_strv_ strv args = { 0 };
	int r;

	if (config_load(config_path, &cfg, &err) < 0) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	if (!cfg.appliance_url || !cfg.agent_id || !cfg.token_file || !cfg.ndisks) {
		log_err("%s: standalone sync needs appliance.url, agent.id, agent.token_file and disks", config_path);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	strv_push(&args, "sync");
#define ARG(flag, val) do { if (val) { strv_push(&args, flag); strv_push(&args, val); } } while (0)
	ARG("--appliance", cfg.appliance_url);
	ARG("--ca", cfg.ca);
	ARG("--pin", cfg.pin);
	ARG("--agent-id", cfg.agent_id);
	ARG("--token-file", cfg.token_file);
	ARG("--state-dir", cfg.state_dir);
	ARG("--proxy", cfg.proxy);
	for (size_t i = 0; i < cfg.ndisks; i++) {
		ARG("--disk", cfg.disks[i].device);
		ARG("--name", cfg.disks[i].name);
	}
	if (cfg.no_proxy.n) {
		_cleanup_free_ char *np = xstrdup(cfg.no_proxy.v[0]);
		for (size_t i = 1; i < cfg.no_proxy.n; i++) {
			char *s = xasprintf("%s,%s", np, cfg.no_proxy.v[i]);
			free(np);
			np = s;
		}
		ARG("--no-proxy", np);
	}
#undef ARG
	if (full)
		strv_push(&args, "--full");
	if (json)
		strv_push(&args, "--json");
	config_free(&cfg);
	log_info("no daemon runs: syncing standalone (hash mode)");
	/* cmd_sync lives in the mobility-agent program; its getopt starts over (GNU: optind = 0). */
	optind = 0;
	r = cmd_sync((int)args.n, args.v);
	return r;
}
