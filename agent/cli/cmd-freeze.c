/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-agent freeze: freeze the guest's filesystems (design.md §5, docs/quiesce.md) and return
 * once all are frozen; the watchdog keeps them frozen until "mobility-agent thaw" or its timeout.
 * With --hold it stays attached instead and thaws when signalled (or killed: then the watchdog
 * does). Nothing is written to stderr while frozen; the per-filesystem lines come after the thaw.
 * Exit status: 0 frozen (or nothing to freeze), 1 failed (nothing of ours left frozen), 3 usage.
 */
#include "cli.h"
#include "commands.h"
#include "json.h"
#include "log.h"
#include "quiesce.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

struct freeze_cli {
	struct quiesce_opts o;
	strv mounts;
	bool json, hold;
};

static void usage(void)
{
	fputs("Usage:\n mobility-agent freeze [options]\n"
	      "\nFreeze every writable local filesystem (children first, / last) for a consistent copy.\n"
	      "The freeze watchdog thaws them after --timeout, on 'mobility-agent thaw', or at once if\n"
	      "this command dies while holding them (--hold).\n"
	      "\nOptions:\n"
	      "  -t, --timeout S          thaw after S seconds at the latest (default 60)\n"
	      "  -m, --mount PATH         freeze only this mount point (repeatable)\n"
	      "      --hooks-dir DIR      freeze hooks (default " QUIESCE_DEFAULT_HOOKS_DIR ")\n"
	      "      --hook-timeout S     time each hook may take (default 30)\n"
	      "      --state-dir DIR      freeze state (default $" QUIESCE_STATE_DIR_ENV " or " QUIESCE_DEFAULT_STATE_DIR ")\n"
	      "      --hold               stay attached; thaw on SIGINT/SIGTERM/SIGHUP and print the report\n"
	      "      --json               print what was frozen as JSON\n" USAGE_HELP_OPTIONS
	      USAGE_FOOTER("mobility-agent(8)"),
	      stdout);
}

static int parse_seconds(const char *arg, int *ms)
{
	long v;

	if (parse_long(arg, &v) < 0 || v <= 0 || v > 86400)
		return -EINVAL;
	*ms = (int)(v * 1000);
	return 0;
}

static void parse_args(int argc, char **argv, struct freeze_cli *a)
{
	enum { OPT_HOOKS = 256, OPT_HOOK_TIMEOUT, OPT_STATE, OPT_HOLD, OPT_JSON };
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },	  { "mount", required_argument, NULL, 'm' },
		{ "hooks-dir", required_argument, NULL, OPT_HOOKS }, { "hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT },
		{ "state-dir", required_argument, NULL, OPT_STATE }, { "hold", no_argument, NULL, OPT_HOLD },
		{ "json", no_argument, NULL, OPT_JSON },	  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_seconds(optarg, &a->o.timeout_ms) < 0)
				usage_error("mobility-agent freeze", "--timeout: '%s' is not a number of seconds", optarg);
			break;
		case 'm':
			strv_push(&a->mounts, optarg);
			break;
		case OPT_HOOKS:
			a->o.hooks_dir = optarg;
			break;
		case OPT_HOOK_TIMEOUT:
			if (parse_seconds(optarg, &a->o.hook_timeout_ms) < 0)
				usage_error("mobility-agent freeze", "--hook-timeout: '%s' is not a number of seconds", optarg);
			break;
		case OPT_STATE:
			a->o.state_dir = optarg;
			break;
		case OPT_HOLD:
			a->hold = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			usage();
			exit(0);
		default:
			usage_error("mobility-agent freeze", "invalid option");
		}
	}
	if (optind < argc)
		usage_error("mobility-agent freeze", "unexpected argument '%s'", argv[optind]);
}

/* Our own stdout or stderr on a filesystem we freeze would block us mid-way: refuse up front. */
static int check_own_output(const struct quiesce_plan *plan)
{
	static const char *const names[] = { "standard input", "standard output", "standard error" };
	struct stat s;

	for (int fd = 1; fd <= 2; fd++)
		if (fstat(fd, &s) == 0 && (S_ISREG(s.st_mode) || S_ISDIR(s.st_mode)) && quiesce_plan_has_dev(plan, s.st_dev)) {
			log_err("%s is a file on a filesystem to be frozen: redirect it elsewhere", names[fd]);
			return -EDEADLK;
		}
	return 0;
}

static void print_messages(const strv *m)
{
	for (size_t i = 0; i < m->n; i++)
		log_info("%s", m->v[i]);
}

static int print_json(const struct quiesce_plan *plan, const struct quiesce_handle *h, const struct quiesce_opts *o)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();

	cJSON_AddBoolToObject(j, "frozen", h != NULL);
	if (h)
		cJSON_AddNumberToObject(j, "watchdog_pid", quiesce_handle_watchdog_pid(h));
	cJSON_AddNumberToObject(j, "timeout", (o->timeout_ms ? o->timeout_ms : QUIESCE_DEFAULT_TIMEOUT_MS) / 1000.0);
	cJSON_AddItemToObject(j, "filesystems", quiesce_plan_json(plan));
	return json_print(stdout, j);
}

/* --hold: stay until a signal, or until the watchdog speaks (its timer fired) or dies. */
static int hold(struct quiesce_handle *h, struct quiesce_plan *plan, strv *messages)
{
	sigset_t mask;
	bool timed_out = false;
	int sfd, r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN }, { .fd = quiesce_handle_fd(h), .events = POLLIN } };
	while (poll(pf, 2, -1) < 0 && errno == EINTR)
		;
	if (sfd >= 0)
		close(sfd);
	r = quiesce_thaw(h, plan, messages, &timed_out);
	if (timed_out)
		strv_push(messages, "the watchdog's timer fired before the thaw request");
	return r;
}

/* Did the freeze get as far as any FIFREEZE? Otherwise the report would only say "not frozen". */
static bool touched(const struct quiesce_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->v[i].state != QFS_PLANNED && plan->v[i].state != QFS_SKIPPED)
			return true;
	return false;
}

int cmd_freeze(int argc, char **argv)
{
	_cleanup_(quiesce_plan_free) struct quiesce_plan plan = { 0 };
	_cleanup_quiesce_handle_ struct quiesce_handle *h = NULL;
	_cleanup_strv_ strv messages = { 0 };
	_cleanup_free_ char *err = NULL;
	struct freeze_cli a = { 0 };
	size_t todo = 0;
	int r;

	parse_args(argc, argv, &a);
	r = quiesce_plan_read(NULL, a.mounts.n ? (const char *const *)a.mounts.v : NULL, &plan, &err);
	strv_free(&a.mounts);
	if (r < 0) {
		log_err("%s", err);
		return r == -EINVAL ? EXIT_USAGE : 1;
	}
	for (size_t i = 0; i < plan.n; i++)
		todo += plan.v[i].state == QFS_PLANNED;
	if (check_own_output(&plan) < 0)
		return 1;
	if (!todo) {
		quiesce_print_report(stderr, "mobility-agent", &plan);
		log_info("nothing to freeze");
		return a.json && print_json(&plan, NULL, &a.o) < 0 ? 1 : 0;
	}
	r = quiesce_freeze(&plan, &a.o, &h, &messages, &err);
	if (r < 0) {
		/* Everything of ours is thawed again: now we may talk. */
		if (touched(&plan))
			quiesce_print_report(stderr, "mobility-agent", &plan);
		print_messages(&messages);
		log_err("freeze failed: %s", err);
		return 1;
	}
	if (a.hold) {
		r = hold(h, &plan, &messages);
		quiesce_print_report(stderr, "mobility-agent", &plan);
		print_messages(&messages);
		if (a.json && print_json(&plan, NULL, &a.o) < 0)
			return 1;
		return r < 0 ? 1 : 0;
	}
	size_t frozen = 0;
	for (size_t i = 0; i < plan.n; i++)
		frozen += plan.v[i].state == QFS_FROZEN;
	if (!frozen) {
		/* All skipped or someone else's: nothing for the watchdog to hold. */
		bool timed_out;
		r = quiesce_thaw(h, &plan, &messages, &timed_out);
		quiesce_print_report(stderr, "mobility-agent", &plan);
		print_messages(&messages);
		log_info("nothing could be frozen");
		return r < 0 || (a.json && print_json(&plan, NULL, &a.o) < 0) ? 1 : 0;
	}
	r = quiesce_detach(h);
	if (r < 0) {
		bool timed_out;
		(void)quiesce_thaw(h, &plan, &messages, &timed_out);
		quiesce_print_report(stderr, "mobility-agent", &plan);
		log_err("the watchdog went away: thawed");
		return 1;
	}
	/* Frozen: stdout was checked to be on none of them; stderr stays silent until the thaw. */
	return a.json && print_json(&plan, h, &a.o) < 0 ? 1 : 0;
}
