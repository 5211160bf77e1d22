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
	if (cfg.connections) {
		_cleanup_free_ char *n = xasprintf("%d", cfg.connections);
		ARG("--connections", n);
	}
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

static void __attribute__((noreturn)) forward_usage(const char *cmd)
{
	printf("Usage:\n mobility-agent %s --config FILE [options]\n"
	       "\nReach the running daemon through the control socket named in FILE. Without a daemon,\n"
	       "%s\n"
	       "\nOptions:\n"
	       "  -c, --config FILE        the agent's configuration\n"
	       "      --json               print the answer as JSON\n"
	       "%s"
	       "  -h, --help               display this help and exit\n" USAGE_FOOTER("mobility-agent(8)"),
	       cmd,
	       streq(cmd, "sync") ? "sync runs standalone in hash mode with the configuration's appliance and disks."
				  : "the command works on its own, as without --config.",
	       streq(cmd, "sync")     ? "      --full               send every non-zero chunk\n"
					"      --cutover            converge, freeze, final pass, commit, thaw (needs the daemon)\n"
					"  -m, --mount PATH         with --cutover: freeze only this mount point (repeatable)\n"
	       : streq(cmd, "freeze") ? "  -t, --timeout S          thaw after S seconds at the latest\n"
					"  -m, --mount PATH         freeze only this mount point (repeatable)\n"
				      : "");
	exit(0);
}

int forward_cli(const char *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "full", no_argument, NULL, 'F' },	    { "cutover", no_argument, NULL, 'C' },
		{ "mount", required_argument, NULL, 'm' },  { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	bool json = false, full = false, cutover = false;
	long timeout = 0;
	_cleanup_strv_ strv mounts = { 0 };
	cJSON *args = cJSON_CreateObject();
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:jm:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'F': full = true; break;
		case 'C': cutover = true; break;
		case 'm': strv_push(&mounts, optarg); break;
		case 't':
			if (parse_long(optarg, &timeout) < 0 || timeout < 1 || timeout > 3600)
				usage_error("mobility-agent", "--timeout takes seconds from 1 to 3600, not '%s'", optarg);
			break;
		case 'h': cJSON_Delete(args); forward_usage(cmd);
		default: cJSON_Delete(args); usage_error("mobility-agent", "%s --config: invalid option", cmd);
		}
	}
	if (optind < argc || !config)
		usage_error("mobility-agent", "%s --config FILE takes no other arguments", cmd);
	if ((full || cutover) && !streq(cmd, "sync"))
		usage_error("mobility-agent", "--full and --cutover go with sync");
	if (full)
		cJSON_AddBoolToObject(args, "full", true);
	if (cutover)
		cJSON_AddBoolToObject(args, "cutover", true);
	if (timeout)
		cJSON_AddNumberToObject(args, "timeout", (double)timeout);
	if (mounts.n) {
		cJSON *m = cJSON_AddArrayToObject(args, "mounts");
		for (size_t i = 0; i < mounts.n; i++)
			cJSON_AddItemToArray(m, cJSON_CreateString(mounts.v[i]));
	}
	r = forward_to_daemon(config, cmd, args, json);
	if (r != FORWARD_NO_DAEMON)
		return r;
	if (streq(cmd, "sync")) {
		if (cutover) {
			log_err("--cutover needs the running daemon (its trackers and the freeze): start mobility-agent run");
			return 1;
		}
		return sync_standalone_from_config(config, full, json);
	}
	/* freeze, thaw, status: their standalone forms. */
	_cleanup_strv_ strv sa = { 0 };
	strv_push(&sa, cmd);
	if (json)
		strv_push(&sa, "--json");
	if (streq(cmd, "freeze")) {
		struct agent_config cfg;
		_cleanup_free_ char *err = NULL;

		if (config_load(config, &cfg, &err) < 0) {
			log_err("%s", err);
			return EXIT_USAGE;
		}
		strv_push(&sa, "--hooks-dir");
		strv_push(&sa, cfg.hooks_dir);
		strv_push(&sa, "--timeout");
		strv_push_take(&sa, xasprintf("%ld", timeout ? timeout : cfg.freeze_timeout));
		config_free(&cfg);
		for (size_t i = 0; i < mounts.n; i++) {
			strv_push(&sa, "--mount");
			strv_push(&sa, mounts.v[i]);
		}
	}
	optind = 0;
	return streq(cmd, "freeze") ? cmd_freeze((int)sa.n, sa.v)
	       : streq(cmd, "thaw") ? cmd_thaw((int)sa.n, sa.v)
				    : cmd_status((int)sa.n, sa.v);
}
