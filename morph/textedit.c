/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "textedit.h"
#include "util.h"

#include <errno.h>

void text_init(struct text *t, const char *buf, size_t len)
{
	t->buf = xmalloc(len + 1);
	memcpy(t->buf, buf, len);
	t->buf[len] = '\0';
	t->len = len;
}

void text_free(struct text *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = 0;
}

long text_nlines(const struct text *t)
{
	long n = 0;

	for (size_t i = 0; i < t->len; i++)
		if (t->buf[i] == '\n')
			n++;
	if (t->len && t->buf[t->len - 1] != '\n')
		n++;
	return n;
}

int text_line_span(const struct text *t, long n, size_t *start, size_t *end)
{
	size_t pos = 0;

	if (n < 1)
		return -ERANGE;
	for (long l = 1; l < n; l++) {
		const char *nl = memchr(t->buf + pos, '\n', t->len - pos);
		if (!nl)
			return -ERANGE;
		pos = nl - t->buf + 1;
	}
	if (pos >= t->len)
		return -ERANGE;
	const char *nl = memchr(t->buf + pos, '\n', t->len - pos);
	size_t e = nl ? (size_t)(nl - t->buf) : t->len;
	if (e > pos && t->buf[e - 1] == '\r')
		e--;
	*start = pos;
	*end = e;
	return 0;
}

char *text_line(const struct text *t, long n)
{
	size_t s, e;

	if (text_line_span(t, n, &s, &e) < 0)
		return NULL;
	return xstrndup(t->buf + s, e - s);
}

void text_splice(struct text *t, size_t off, size_t n, const char *s)
{
	size_t sl = strlen(s), nlen = t->len - n + sl;
	char *b = xmalloc(nlen + 1);

	memcpy(b, t->buf, off);
	memcpy(b + off, s, sl);
	memcpy(b + off + sl, t->buf + off + n, t->len - off - n);
	b[nlen] = '\0';
	free(t->buf);
	t->buf = b;
	t->len = nlen;
}

static bool uses_crlf(const struct text *t)
{
	const char *nl = memchr(t->buf, '\n', t->len);

	return nl && nl > t->buf && nl[-1] == '\r';
}

int text_insert_line(struct text *t, long n, const char *s)
{
	const char *eol = uses_crlf(t) ? "\r\n" : "\n";
	size_t start, end;

	if (n == text_nlines(t) + 1) {
		_cleanup_free_ char *add = NULL;
		bool need_nl = t->len && t->buf[t->len - 1] != '\n';

		add = xasprintf("%s%s%s", need_nl ? eol : "", s, eol);
		text_splice(t, t->len, 0, add);
		return 0;
	}
	if (text_line_span(t, n, &start, &end) < 0)
		return -ERANGE;
	_cleanup_free_ char *add = xasprintf("%s%s", s, eol);
	text_splice(t, start, 0, add);
	return 0;
}

int text_replace_line(struct text *t, long n, const char *s)
{
	size_t start, end;

	if (text_line_span(t, n, &start, &end) < 0)
		return -ERANGE;
	text_splice(t, start, end - start, s);
	return 0;
}

bool text_line_is_comment(const struct text *t, long n)
{
	size_t s, e;

	if (text_line_span(t, n, &s, &e) < 0)
		return false;
	while (s < e && (t->buf[s] == ' ' || t->buf[s] == '\t'))
		s++;
	return s < e && t->buf[s] == '#';
}
