/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "morph.h"
#include "cli.h"
#include "log.h"

int morph_fix(const struct options *o, bool dry_run)
{
	(void)o;
	(void)dry_run;
	log_err("--fix is not available in this version yet; the report lists the commands to run");
	return EXIT_USAGE;
}

int morph_undo(const struct options *o)
{
	(void)o;
	log_err("--undo is not available in this version yet");
	return EXIT_USAGE;
}
