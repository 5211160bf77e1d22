/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-agent status: what the agent is doing, one section per subsystem. A section is a name
 * plus a text and a JSON function; replication adds its own entry to the table below.
 * Exit status: 0, or 1 when a section could not be read.
 */
#include "cli.h"
#include "commands.h"
#include "fileio.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "quiesce.h"

#include <getopt.h>
#include <time.h>

#define AGENT_STATE_DIR MOBILITY_LOCALSTATEDIR "/lib/mobility-agent"

struct status_cli {
	const char *state_dir; /* freeze state */
	const char *agent_state_dir; /* the first-seen identity */
	bool json;
};

struct status_section {
	const char *name; /* the key in --json */
	int (*text)(FILE *f, const struct status_cli *a);
	int (*json)(cJSON *parent, const char *key, const struct status_cli *a);
};

static void print_time(FILE *f, const char *label, long long ms)
{
	char buf[64];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !localtime_r(&t, &tm))
		return;
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm);
	fprintf(f, "  %-10s %s\n", label, buf);
}

static int freeze_text(FILE *f, const struct status_cli *a)
{
	_cleanup_(quiesce_status_free) struct quiesce_status st = { 0 };
	const char *dir = quiesce_state_dir(a->state_dir);
	int r = quiesce_status_read(dir, &st);

	if (r < 0) {
		log_err("%s: cannot read the freeze state: %s", dir, strerror(-r));
		return r;
	}
	fprintf(f, "Freeze:\n");
	if (!st.exists) {
		fprintf(f, "  nothing frozen (no freeze since boot)\n");
		return 0;
	}
	if (st.active && !st.watchdog_alive)
		fprintf(f, "  ORPHANED: watchdog pid %d is gone; filesystems may be frozen: run 'mobility-agent thaw'\n",
			(int)st.watchdog_pid);
	else if (st.active)
		fprintf(f, "  frozen, watchdog pid %d, thaws at the latest in %.0f s\n", (int)st.watchdog_pid,
			st.deadline_ms ? (st.deadline_ms - (double)time(NULL) * 1000) / 1000.0 : st.timeout_ms / 1000.0);
	else
		fprintf(f, "  not frozen; last freeze thawed (%s)\n", st.reason[0] ? st.reason : "unknown");
	print_time(f, "frozen at", st.started_ms);
	print_time(f, "deadline", st.active ? st.deadline_ms : 0);
	print_time(f, "thawed at", st.thawed_ms);
	for (size_t i = 0; i < st.plan.n; i++) {
		const struct quiesce_fs *fs = &st.plan.v[i];
		fprintf(f, "  %-30s %-6s %-8s %s%s\n", fs->mount, fs->fstype, quiesce_fs_state_name(fs->state),
			fs->error ? strerror(fs->error) : "", "");
	}
	for (size_t i = 0; i < st.messages.n; i++)
		fprintf(f, "  %s\n", st.messages.v[i]);
	return 0;
}

static int freeze_json(cJSON *parent, const char *key, const struct status_cli *a)
{
	_cleanup_(quiesce_status_free) struct quiesce_status st = { 0 };
	const char *dir = quiesce_state_dir(a->state_dir);
	int r = quiesce_status_read(dir, &st);

	if (r < 0) {
		log_err("%s: cannot read the freeze state: %s", dir, strerror(-r));
		cJSON_AddNullToObject(parent, key);
		return r;
	}
	cJSON_AddItemToObject(parent, key, quiesce_status_json(&st));
	return 0;
}

static void identity_value(FILE *f, const char *label, const char *v, int err)
{
	if (v[0])
		fprintf(f, "  %-12s %s\n", label, v);
	else if (err == -ENOENT)
		fprintf(f, "  %-12s none on this machine\n", label);
	else
		fprintf(f, "  %-12s unreadable: %s%s\n", label, errstr(err), err == -EACCES ? " (run as root)" : "");
}

/* The identity never blocks status: a clone is reported, it is the receiver that refuses it. */
static int identity_text(FILE *f, const struct status_cli *a)
{
	struct identity_state st;
	char *lines[3];
	int r = identity_check(NULL, a->agent_state_dir, false, &st);

	fprintf(f, "Identity:\n");
	identity_value(f, "machine-id", st.current.machine_id, st.current.machine_id_error);
	identity_value(f, "product UUID", st.current.product_uuid, st.current.product_uuid_error);
	if (r < 0) {
		log_err("%s/" IDENTITY_STATE_FILE ": cannot read the first-seen identity: %s", a->agent_state_dir, errstr(r));
		return r;
	}
	if (!st.has_first)
		fprintf(f, "  first seen   not recorded yet (mobility-agent run records it)\n");
	else
		print_time(f, "first seen", st.first_seen * 1000);
	for (size_t i = 0, n = identity_warnings(&st, lines); i < n; i++) {
		fprintf(f, "  WARNING: %s\n", lines[i]);
		free(lines[i]);
	}
	return 0;
}

static int identity_json(cJSON *parent, const char *key, const struct status_cli *a)
{
	struct identity_state st;
	int r = identity_check(NULL, a->agent_state_dir, false, &st);

	if (r < 0)
		log_err("%s/" IDENTITY_STATE_FILE ": cannot read the first-seen identity: %s", a->agent_state_dir, errstr(r));
	cJSON_AddItemToObject(parent, key, identity_state_json(&st));
	return r;
}

static const struct status_section sections[] = {
	{ "identity", identity_text, identity_json },
	{ "freeze", freeze_text, freeze_json },
	/* { "replication", replication_text, replication_json }, — the daemon's section goes here */
};

static void usage(void)
{
	fputs("Usage:\n mobility-agent status [options]\n"
	      "\nShow what the agent is doing: the machine's identity (and a warning when it changed since\n"
	      "first seen: a clone or a new VM), freeze state (and whether a watchdog holds it).\n"
	      "\nOptions:\n"
	      "      --state-dir DIR      freeze state (default $" QUIESCE_STATE_DIR_ENV " or " QUIESCE_DEFAULT_STATE_DIR ")\n"
	      "      --agent-state-dir DIR  the agent's state: first-seen identity (default " AGENT_STATE_DIR ")\n"
	      "      --json               print as JSON\n" USAGE_HELP_OPTIONS USAGE_FOOTER("mobility-agent(8)"),
	      stdout);
}

int cmd_status(int argc, char **argv)
{
	enum { OPT_STATE = 256, OPT_AGENT_STATE, OPT_JSON };
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "agent-state-dir", required_argument, NULL, OPT_AGENT_STATE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct status_cli a = { .agent_state_dir = AGENT_STATE_DIR };
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE:
			a.state_dir = optarg;
			break;
		case OPT_AGENT_STATE:
			a.agent_state_dir = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage_error("mobility-agent status", "invalid option");
		}
	}
	if (optind < argc)
		usage_error("mobility-agent status", "unexpected argument '%s'", argv[optind]);
	if (a.json) {
		_cleanup_json_ cJSON *j = cJSON_CreateObject();
		for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
			failed |= sections[i].json(j, sections[i].name, &a) < 0;
		return json_print(stdout, j) < 0 || failed ? 1 : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		failed |= sections[i].text(stdout, &a) < 0;
	return failed ? 1 : 0;
}
