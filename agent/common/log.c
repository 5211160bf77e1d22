/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>

/* Set once at start-up by main(); read-only afterwards. */
static const char *log_prog = "mobility";
static enum log_level log_level = LOG_LVL_WARN;

void log_setup(const char *progname, enum log_level level)
{
	const char *slash = strrchr(progname, '/');

	log_prog = slash ? slash + 1 : progname;
	log_level = level;
}

enum log_level log_get_level(void) { return log_level; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	/* One fprintf per line keeps lines from concurrent processes whole. */
	char buf[4096];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s%s\n", log_prog, prefix[level], buf);
	errno = saved;
}
