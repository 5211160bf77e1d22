/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mobility-agent COMMAND [options]: the daemon and its one-shot subcommands (design.md §1). */
#include "cli.h"
#include "commands.h"
#include "forward.h"
#include "log.h"
#include "util.h"

static const struct agent_command commands[] = {
#define COMMAND(n, s) { #n, s, cmd_##n },
#include "commands.def"
#undef COMMAND
};

/* sync, freeze, thaw and status with --config reach the daemon (design.md §6). */
static bool forwards(const char *cmd)
{
	return streq(cmd, "sync") || streq(cmd, "freeze") || streq(cmd, "thaw") || streq(cmd, "status");
}

static bool has_config(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--config") || startswith(argv[i], "--config=") || streq(argv[i], "-c"))
			return true;
	return false;
}

static void usage(FILE *f)
{
	fputs("Usage:\n mobility-agent COMMAND [options]\n\nCommands:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nOptions:\n" USAGE_HELP_OPTIONS
	      "\n'mobility-agent COMMAND --help' describes each command.\n" USAGE_FOOTER("mobility-agent(8)"),
	      f);
}

int main(int argc, char **argv)
{
	close_stdout_atexit();
	log_setup("mobility-agent", LOG_LVL_INFO);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (streq(argv[1], "-h") || streq(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (streq(argv[1], "-V") || streq(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	if (forwards(argv[1]) && has_config(argc - 1, argv + 1))
		return forward_cli(argv[1], argc - 1, argv + 1);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i].name, argv[1]))
			return commands[i].run(argc - 1, argv + 1);
	usage_error("mobility-agent", "unknown command '%s'", argv[1]);
}
