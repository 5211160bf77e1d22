/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Line-level edits of configuration text, done on a copy so the plan can diff old and new. Lines are
 * numbered from 1 as the checks' evidence numbers them; an edit keeps every other byte (comments,
 * spacing, a missing final newline, CRLF endings) as it was.
 */
#ifndef MORPH_TEXTEDIT_H
#define MORPH_TEXTEDIT_H

#include <stdbool.h>
#include <stddef.h>

struct text {
	char *buf;   /* NUL-terminated */
	size_t len;
};

void text_init(struct text *t, const char *buf, size_t len);
void text_free(struct text *t);
/* Lines in the text (a final line without newline counts). */
long text_nlines(const struct text *t);
/* Byte span [*start, *end) of line N without its "\n" (or "\r\n"); -ERANGE when there is no line N. */
int text_line_span(const struct text *t, long n, size_t *start, size_t *end);
/* A malloc'ed copy of line N, or NULL. */
char *text_line(const struct text *t, long n);
/* Replace bytes [off, off + n) by S. */
void text_splice(struct text *t, size_t off, size_t n, const char *s);
/* Insert S (without newline: one is added, matching the file's line ending) before line N; N may be
 * nlines + 1 to append. */
int text_insert_line(struct text *t, long n, const char *s);
/* Replace the whole of line N by S (line ending kept). */
int text_replace_line(struct text *t, long n, const char *s);
/* True when line N, with leading blanks skipped, starts with a '#'. */
bool text_line_is_comment(const struct text *t, long n);

#endif
