/* SPDX-License-Identifier: GPL-2.0-or-later */
/* os-release(5): KEY=VALUE lines with shell-style quoting and backslash escapes. */
#ifndef PREPCHECK_OSRELEASE_H
#define PREPCHECK_OSRELEASE_H

#include "util.h"

struct os_release {
	strv keys, values; /* parallel */
};

/* Parse TEXT (modified in place). -EBADMSG and *errline for a line that is not KEY=VALUE. */
int osrelease_parse(char *text, size_t len, struct os_release *o, long *errline);
const char *osrelease_get(const struct os_release *o, const char *key);
void osrelease_free(struct os_release *o);

/* Shell-style unquote of a value: "a\"b" -> a"b, 'x' -> x. -EBADMSG when a quote is not closed. */
int unquote_shell(const char *in, char **out);

#endif
