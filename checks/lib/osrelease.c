/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "osrelease.h"
#include "fileio.h"

#include <ctype.h>

int unquote_shell(const char *in, char **out)
{
	_cleanup_free_ char *s = xmalloc(strlen(in) + 1);
	char *w = s, quote = 0;

	for (const char *p = in; *p; p++) {
		if (quote == '\'') {
			if (*p == '\'')
				quote = 0;
			else
				*w++ = *p;
		} else if (*p == '\\') {
			/* Inside double quotes only \" \\ \$ \` are escapes; outside, any character. */
			if (!p[1])
				return -EBADMSG;
			if (quote == '"' && !strchr("\"\\$`", p[1]))
				*w++ = *p;
			*w++ = *++p;
		} else if (quote == '"') {
			if (*p == '"')
				quote = 0;
			else
				*w++ = *p;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (isspace((unsigned char)*p)) {
			break; /* unquoted white space ends the value (a trailing comment may follow) */
		} else {
			*w++ = *p;
		}
	}
	if (quote)
		return -EBADMSG;
	*w = '\0';
	*out = TAKE_PTR(s);
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
