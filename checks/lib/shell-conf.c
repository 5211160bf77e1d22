/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "shell-conf.h"
#include "fileio.h"

#include <ctype.h>

static bool is_key_char(char c, bool first)
{
	return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

char *shell_word(const char *p, const char **end)
{
	_cleanup_free_ char *out = xmalloc(strlen(p) + 1);
	size_t n = 0;
	char quote = 0;

	for (; *p; p++) {
		if (quote == '\'') {
			if (*p == '\'')
				quote = 0;
			else
				out[n++] = *p;
		} else if (*p == '\\') {
			if (!p[1])
				return NULL;
			if (quote == '"' && !strchr("\"\\$`", p[1]))
				out[n++] = *p; /* inside double quotes, \x stays \x */
			out[n++] = *++p;
		} else if (quote == '"') {
			if (*p == '"')
				quote = 0;
			else
				out[n++] = *p;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (isspace((unsigned char)*p) || *p == ';') {
			break;
		} else {
			out[n++] = *p;
		}
	}
	if (quote)
		return NULL;
	out[n] = '\0';
	if (end)
		*end = p;
	return TAKE_PTR(out);
}

static void parse_line(char *line, unsigned lineno, struct shconf *out)
{
	char *s = strstrip(line), *p = s;
	bool append = false;

	if (startswith(p, "export "))
		p += strlen("export ");
	while (isspace((unsigned char)*p))
		p++;
	if (!is_key_char(*p, true))
		return;
	char *key = p;

	while (is_key_char(*p, false))
		p++;
	size_t keylen = p - key;

	if (p[0] == '+' && p[1] == '=') {
		append = true;
		p += 2;
	} else if (p[0] == '=') {
		p++;
	} else {
		return;
	}
	char *value = shell_word(p, NULL);

	if (!value)
		return;
	out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	out->v[out->n++] = (struct shconf_assign){
		.key = xstrndup(key, keylen), .value = value, .append = append, .line = lineno, .text = xstrdup(s),
	};
}

void shconf_parse(char *buf, size_t len, struct shconf *out)
{
	struct line_iter it;
	char *line;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, NULL)))
		parse_line(line, it.lineno, out);
}

void shconf_free(struct shconf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
		free(c->v[i].text);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

const struct shconf_assign *shconf_last(const struct shconf *c, const char *key)
{
	for (size_t i = c->n; i > 0; i--)
		if (streq(c->v[i - 1].key, key) && !c->v[i - 1].append)
			return &c->v[i - 1];
	return NULL;
}

void conf_value_free(struct conf_value *v)
{
	free(v->value);
	free(v->path);
	free(v->text);
	memset(v, 0, sizeof(*v));
}

static void conf_value_set(struct conf_value *out, const char *path, const struct shconf_assign *a)
{
	char *value = a->append && out->value ? xasprintf("%s%s", out->value, a->value) : xstrdup(a->value);

	conf_value_free(out);
	out->value = value;
	out->path = xstrdup(path);
	out->line = a->line;
	out->text = xstrdup(a->text);
}

int shconf_effective(const struct sysroot *sr, char *const *files, size_t n, const char *key,
		     struct conf_value *out, const char **bad)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *buf = NULL;
		struct shconf c = { 0 };
		size_t len = 0;
		int r = sysroot_read_file(sr, files[i], CONFIG_FILE_MAX, &buf, &len);

		if (r == -ENOENT)
			continue;
		if (r < 0) {
			conf_value_free(out);
			*bad = files[i];
			return r;
		}
		shconf_parse(buf, len, &c);
		for (size_t j = 0; j < c.n; j++)
			if (streq(c.v[j].key, key))
				conf_value_set(out, files[i], &c.v[j]);
		shconf_free(&c);
	}
	return out->path ? 0 : -ENOENT;
}
