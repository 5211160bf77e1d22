/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-agent's subcommands. Each lives in agent/cli/cmd-NAME.c as
 *     int cmd_NAME(int argc, char **argv);   (argv[0] is "NAME"; returns the exit code)
 * and has one line in commands.def. The dispatcher knows no command by name.
 */
#ifndef MOBILITY_COMMANDS_H
#define MOBILITY_COMMANDS_H

struct agent_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

#define COMMAND(name, summary) int cmd_##name(int argc, char **argv);
#include "commands.def"
#undef COMMAND

#endif
