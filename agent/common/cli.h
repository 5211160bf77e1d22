/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every program's command line shares: version text, the usage footer, and the rule that a
 * failed write to stdout (full disk, closed pipe) is an error, not silence.
 */
#ifndef MOBILITY_CLI_H
#define MOBILITY_CLI_H

#include <stdio.h>

#ifndef MOBILITY_VERSION
#define MOBILITY_VERSION "0.0.0"
#endif

/* Exit codes shared by all our programs (prepcheck adds 1 and 2 for findings). */
enum { EXIT_USAGE = 3 };

#define USAGE_HELP_OPTIONS \
	"  -h, --help               display this help and exit\n" \
	"  -V, --version            display version and exit\n"

#define USAGE_FOOTER(man) "\nFor more details see " man ".\n"

void print_version(const char *prog);
/* Registers an atexit handler that flushes and closes stdout and exits 3 on a write error. */
void close_stdout_atexit(void);
/* "prog: message\nTry 'prog --help' for more information." then exit(EXIT_USAGE). */
void usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
