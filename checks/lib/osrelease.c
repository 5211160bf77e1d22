/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "osrelease.h"
#include "fileio.h"
#include "shell-conf.h"

#include <ctype.h>

int unquote_shell(const char *in, char **out)
{
	/* Unquoted white space ends the value; a trailing comment may follow. */
	char *w = shell_word(in, NULL);

	if (!w)
		return -EBADMSG;
	*out = w;
	return 0;
}

int osrelease_parse(char *text, size_t len, struct os_release *o, long *errline)
{
	struct line_iter it;
	char *line;
	bool nul;

	memset(o, 0, sizeof(*o));
	line_iter_init(&it, text, len);
	while ((line = line_iter_next(&it, &nul))) {
		char *l = strstrip(line), *eq, *val;

		if (!*l || *l == '#')
			continue;
		eq = strchr(l, '=');
		if (nul || !eq || eq == l)
			goto bad;
		*eq = '\0';
		for (char *k = l; *k; k++)
			if (!isalnum((unsigned char)*k) && *k != '_')
				goto bad;
		if (unquote_shell(eq + 1, &val) < 0)
			goto bad;
		strv_push(&o->keys, l);
		strv_push_take(&o->values, val);
	}
	return 0;
bad:
	if (errline)
		*errline = it.lineno;
	osrelease_free(o);
	return -EBADMSG;
}

const char *osrelease_get(const struct os_release *o, const char *key)
{
	/* The last assignment wins, as when a shell sources the file. */
	for (size_t i = o->keys.n; i-- > 0;)
		if (streq(o->keys.v[i], key))
			return o->values.v[i];
	return NULL;
}

void osrelease_free(struct os_release *o)
{
	strv_free(&o->keys);
	strv_free(&o->values);
}
