/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-agent thaw: thaw what "mobility-agent freeze" froze. Asks the freeze watchdog (from the
 * state directory); if the watchdog was killed, thaws the filesystems and runs the thaw hooks
 * itself. Exit status: 0 thawed or nothing frozen, 1 a filesystem or hook failed, 3 usage.
 */
#include "cli.h"
#include "commands.h"
#include "json.h"
#include "log.h"
#include "quiesce.h"

#include <getopt.h>

static void usage(void)
{
	fputs("Usage:\n mobility-agent thaw [options]\n"
	      "\nThaw the filesystems frozen by 'mobility-agent freeze' and run the thaw hooks.\n"
	      "\nOptions:\n"
	      "      --state-dir DIR      freeze state (default $" QUIESCE_STATE_DIR_ENV " or " QUIESCE_DEFAULT_STATE_DIR ")\n"
	      "      --json               print the result as JSON\n" USAGE_HELP_OPTIONS USAGE_FOOTER("mobility-agent(8)"),
	      stdout);
}

int cmd_thaw(int argc, char **argv)
{
	enum { OPT_STATE = 256, OPT_JSON };
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_(quiesce_status_free) struct quiesce_status st = { 0 };
	const char *dir = NULL;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE:
			dir = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage_error("mobility-agent thaw", "invalid option");
		}
	}
	if (optind < argc)
		usage_error("mobility-agent thaw", "unexpected argument '%s'", argv[optind]);
	dir = quiesce_state_dir(dir);
	/* The watchdog thaws first, then runs the hooks: give it their time. */
	r = quiesce_thaw_state_dir(dir, 10 * 60 * 1000, &st);
	if (r == -ENOENT) {
		log_info("nothing is frozen (state in %s)", dir);
		r = 0;
	} else if (r < 0 && r != -EIO) {
		log_err("%s: cannot thaw: %s", dir,
			r == -ESRCH ? "the state names a watchdog pid that is another process" : strerror(-r));
		return 1;
	} else {
		quiesce_print_report(stderr, "mobility-agent", &st.plan);
		for (size_t i = 0; i < st.messages.n; i++)
			log_info("%s", st.messages.v[i]);
	}
	if (json) {
		_cleanup_json_ cJSON *j = quiesce_status_json(&st);
		if (json_print(stdout, j) < 0)
			return 1;
	}
	return r < 0 ? 1 : 0;
}
