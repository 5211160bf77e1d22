/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cli.h"
#include "commands.h"

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	print_version("mobility-agent");
	return 0;
}
