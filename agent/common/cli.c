/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cli.h"
#include "util.h"

#include <stdarg.h>

void print_version(const char *prog)
{
	printf("%s (mobility-agent) %s\n", prog, MOBILITY_VERSION);
}

static void close_stdout(void)
{
	bool failed = ferror(stdout) != 0;

	if (fclose(stdout) != 0 && errno != EBADF)
		failed = true;
	if (failed) {
		/* EPIPE to `| head` is the reader's choice, not our failure. */
		if (errno == EPIPE)
			_exit(0);
		fprintf(stderr, "write error on standard output: %s\n", strerror(errno));
		_exit(EXIT_USAGE);
	}
}

void close_stdout_atexit(void)
{
	atexit(close_stdout);
}

void usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(EXIT_USAGE);
}
