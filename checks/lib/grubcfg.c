/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "grubcfg.h"
#include "fileio.h"
#include "osrelease.h"

#include <ctype.h>

/* Menu nesting deeper than this is not something grub-mkconfig writes; deeper titles are dropped. */
#define MAX_DEPTH 16
/* Bound on $variable expansion, so a self-referencing grubenv cannot make a line grow forever. */
#define MAX_EXPANDED (64u << 10)
/* Variable names and the number of expansions per line are bounded for the same reason. */
#define MAX_NAME 256
#define MAX_EXPANSIONS 1024

static void add_bad(struct boot_cmdlines *c, const char *path, long line, const char *reason)
{
	if (c->nbad == c->capbad) {
		c->capbad = c->capbad ? c->capbad * 2 : 8;
		c->bad = xrealloc(c->bad, c->capbad * sizeof(*c->bad));
	}
	c->bad[c->nbad++] = (struct cmdline_bad){ xstrdup(path), line, xstrdup(reason) };
}

static void add_cmdline(struct boot_cmdlines *c, struct boot_cmdline e)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = e;
}

/*
 * One word of GRUB script starting at *p (white space already skipped): '...' literal, "..." with
 * backslash escapes, \x outside quotes. Returns the unquoted word and advances *p past it; NULL
 * when a quote is not closed.
 */
/* Where the word starting at S ends (its length as written): bounds the allocation to the word. */
static size_t word_span(const char *s)
{
	const char *e = s;
	char q = 0;

	for (; *e; e++) {
		if (q == '\'') {
			if (*e == '\'')
				q = 0;
		} else if (*e == '\\' && e[1]) {
			e++;
		} else if (q == '"') {
			if (*e == '"')
				q = 0;
		} else if (*e == '\'' || *e == '"') {
			q = *e;
		} else if (isspace((unsigned char)*e)) {
			break;
		}
	}
	return (size_t)(e - s);
}

static char *grub_word(const char **p)
{
	const char *s = *p;
	char *w = xmalloc(word_span(s) + 1), *o = w, q = 0;

	for (; *s; s++) {
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
			else
				*o++ = *s;
		} else if (*s == '\\' && s[1]) {
			*o++ = *++s;
		} else if (q == '"') {
			if (*s == '"')
				q = 0;
			else
				*o++ = *s;
		} else if (*s == '\'' || *s == '"') {
			q = *s;
		} else if (isspace((unsigned char)*s)) {
			break;
		} else {
			*o++ = *s;
		}
	}
	if (q) {
		free(w);
		return NULL;
	}
	*o = '\0';
	*p = s;
	return w;
}

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* GRUB would not run a line whose quotes do not close (it reads on into the next lines). */
static bool words_ok(const char *s)
{
	for (s = skip_space(s); *s; s = skip_space(s)) {
		char *w = grub_word(&s);

		if (!w)
			return false;
		free(w);
	}
	return true;
}

static bool is_linux_cmd(const char *w)
{
	return streq(w, "linux") || streq(w, "linuxefi") || streq(w, "linux16");
}

/* A line opens a block when its last non-blank character is '{' (grub-mkconfig style). */
static bool opens_block(const char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return n && s[n - 1] == '{';
}

struct menu_state {
	char *titles[MAX_DEPTH];
	int depth; /* blocks open; titles[] holds menuentry/submenu titles, NULL for other blocks */
};

static const char *current_title(const struct menu_state *m)
{
	for (int i = (m->depth < MAX_DEPTH ? m->depth : MAX_DEPTH) - 1; i >= 0; i--)
		if (m->titles[i])
			return m->titles[i];
	return NULL;
}

static void push_block(struct menu_state *m, char *title)
{
	if (m->depth < MAX_DEPTH)
		m->titles[m->depth] = title;
	else
		free(title);
	m->depth++;
}

static void pop_block(struct menu_state *m)
{
	if (m->depth == 0)
		return;
	m->depth--;
	if (m->depth < MAX_DEPTH) {
		free(m->titles[m->depth]);
		m->titles[m->depth] = NULL;
	}
}

static void grub_line(char *line, long lineno, const char *path, struct menu_state *m, struct boot_cmdlines *out)
{
	const char *s = skip_space(line), *p = s;
	_cleanup_free_ char *cmd = NULL;

	if (!*s || *s == '#')
		return;
	if (*s == '}') {
		pop_block(m);
		return;
	}
	cmd = grub_word(&p);
	if (!cmd) {
		add_bad(out, path, lineno, "unterminated quote");
		return;
	}
	if (streq(cmd, "blscfg"))
		out->uses_blscfg = true;
	if (streq(cmd, "menuentry") || streq(cmd, "submenu")) {
		p = skip_space(p);
		char *title = *p ? grub_word(&p) : NULL;

		if (*p && !title)
			add_bad(out, path, lineno, "unterminated quote");
		if (opens_block(s))
			push_block(m, title ? title : xstrdup(""));
		else
			free(title);
		return;
	}
	if (opens_block(s)) { /* if/function/other blocks: keep the nesting right */
		push_block(m, NULL);
		return;
	}
	if (is_linux_cmd(cmd)) {
		struct boot_cmdline e = { .source = SRC_GRUB_CFG, .line = lineno };
		const char *args;

		p = skip_space(p);
		e.kernel = *p ? grub_word(&p) : NULL;
		if (!e.kernel) {
			add_bad(out, path, lineno, *p ? "unterminated quote" : "linux command without a kernel image");
			return;
		}
		args = skip_space(p);
		if (!words_ok(args)) {
			add_bad(out, path, lineno, "unterminated quote");
			free(e.kernel);
			return;
		}
		e.args = xstrdup(args);
		e.path = xstrdup(path);
		e.text = xstrdup(s);
		e.entry = current_title(m) ? xstrdup(current_title(m)) : NULL;
		add_cmdline(out, e);
	}
}

void grubcfg_parse(char *text, size_t len, const char *path, struct boot_cmdlines *out)
{
	struct menu_state m = { 0 };
	struct line_iter it;
	bool nul;
	char *line;

	line_iter_init(&it, text, len);
	while ((line = line_iter_next(&it, &nul))) {
		if (nul) {
			add_bad(out, path, it.lineno, "NUL byte in the line (binary garbage)");
			continue;
		}
		grub_line(line, it.lineno, path, &m, out);
	}
	while (m.depth)
		pop_block(&m);
}

/* Variables a line may expand: a small table, however large the file that defines them. */
#define MAX_VARS 64
/* Total bytes all expansions of one file may add: "$X$X$X..." self-appends stay linear. */
#define EXPAND_BUDGET (4u << 20)

struct assign {
	strv names, values;
	size_t used;
};

static void assign_free(struct assign *a)
{
	strv_free(&a->names);
	strv_free(&a->values);
}

static const char *assign_lookup(struct assign *a, const char *name)
{
	for (size_t i = a->names.n; i-- > 0;)
		if (streq(a->names.v[i], name)) {
			if (a->used > EXPAND_BUDGET)
				return NULL;
			a->used += strlen(a->values.v[i]);
			return a->values.v[i];
		}
	return NULL;
}

/* Set NAME to VALUE (taken) if it is kept: existing names, and new ones while the table has room
 * and KEEP says so. */
static void assign_set(struct assign *a, const char *name, char *value, bool keep)
{
	for (size_t i = 0; i < a->names.n; i++)
		if (streq(a->names.v[i], name)) {
			free(a->values.v[i]);
			a->values.v[i] = value;
			return;
		}
	if (keep && a->names.n < MAX_VARS) {
		strv_push(&a->names, name);
		strv_push_take(&a->values, value);
		return;
	}
	free(value);
}

/* Expand $NAME and ${NAME} with LOOKUP (unknown names expand to nothing, as in GRUB and sh). */
static char *expand_vars(const char *s, struct assign *vars)
{
	size_t cap = strlen(s) + 1, n = 0, expansions = 0;
	char *out = xmalloc(cap);

	for (const char *p = s; *p;) {
		const char *name = NULL;
		size_t nl = 0;

		/* Names are short: looking for '}' further would make "${${${..." quadratic. */
		const char *close = p[0] == '$' && p[1] == '{' ? memchr(p + 2, '}', strnlen(p + 2, MAX_NAME)) : NULL;

		if (close && expansions < MAX_EXPANSIONS) {
			name = p + 2;
			nl = (size_t)(close - name);
			p = close + 1;
			expansions++;
		} else if (p[0] == '$' && (isalpha((unsigned char)p[1]) || p[1] == '_') && expansions < MAX_EXPANSIONS) {
			expansions++;
			name = p + 1;
			while (isalnum((unsigned char)name[nl]) || name[nl] == '_')
				nl++;
			p = name + nl;
		}
		_cleanup_free_ char *key = name ? xstrndup(name, nl) : NULL;
		const char *val = key ? assign_lookup(vars, key) : NULL;
		const char *add = key ? (val ? val : "") : p;
		size_t al = key ? strlen(add) : 1;

		if (n + al + 1 > MAX_EXPANDED)
			break;
		if (n + al + 1 > cap) {
			cap = (n + al + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + n, add, al);
		n += al;
		if (!key)
			p++;
	}
	out[n] = '\0';
	return out;
}

char *grubenv_get(const char *env, const char *key)
{
	size_t kl = strlen(key);

	for (const char *l = env; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);

		if (ll > kl && strncmp(l, key, kl) == 0 && l[kl] == '=')
			return xstrndup(l + kl + 1, ll - kl - 1);
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* grubenv as variables for BLS `options` (GRUB's blscfg expands them the same way). */
static void env_vars(const char *env, struct assign *a)
{
	for (const char *l = env; l && *l;) {
		const char *nl = strchr(l, '\n'), *eq;
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);

		eq = memchr(l, '=', ll);
		if (*l != '#' && eq && eq > l && a->names.n < MAX_VARS) {
			_cleanup_free_ char *name = xstrndup(l, (size_t)(eq - l));

			assign_set(a, name, xstrndup(eq + 1, ll - (size_t)(eq - l) - 1), true);
		}
		l = nl ? nl + 1 : NULL;
	}
}

void bls_parse(char *text, size_t len, const char *path, const char *env, struct boot_cmdlines *out)
{
	_cleanup_free_ char *title = NULL, *kernel = NULL, *options = NULL, *first_text = NULL;
	struct assign vars = { 0 };
	long first_line = 0, linux_line = 0;
	struct line_iter it;
	bool nul;
	char *line;

	line_iter_init(&it, text, len);
	while ((line = line_iter_next(&it, &nul))) {
		char *s = strstrip(line), *v = s;

		if (nul) {
			add_bad(out, path, it.lineno, "NUL byte in the line (binary garbage)");
			continue;
		}
		if (!*s || *s == '#')
			continue;
		while (*v && !isspace((unsigned char)*v))
			v++;
		if (*v)
			*v++ = '\0';
		v = (char *)skip_space(v);
		if (streq(s, "title") && !title) {
			title = xstrdup(v);
		} else if (streq(s, "linux") && !kernel) {
			kernel = xstrdup(v);
			linux_line = it.lineno;
		} else if (streq(s, "options")) {
			/* The specification allows several options lines; they are concatenated. */
			char *joined = options ? xasprintf("%s %s", options, v) : xstrdup(v);

			free(options);
			options = joined;
			if (!first_line) {
				first_line = it.lineno;
				first_text = xasprintf("options %s", v);
			}
		}
	}
	if (!kernel && !options) {
		add_bad(out, path, 0, "BLS entry without linux or options lines");
		return;
	}
	env_vars(env, &vars);
	struct boot_cmdline e = {
		.source = SRC_BLS, .path = xstrdup(path), .line = first_line ? first_line : linux_line,
		.text = first_text ? TAKE_PTR(first_text) : xasprintf("linux %s", kernel),
		.entry = TAKE_PTR(title), .kernel = TAKE_PTR(kernel),
		.args = expand_vars(options ? options : "", &vars),
	};
	add_cmdline(out, e);
	assign_free(&vars);
}

static bool is_true(const char *v)
{
	return streq(v, "true") || streq(v, "yes") || streq(v, "1");
}

void default_grub_parse(char *text, size_t len, const char *path, struct boot_cmdlines *out)
{
	struct assign a = { 0 };
	struct line_iter it;
	bool nul;
	char *line;

	line_iter_init(&it, text, len);
	while ((line = line_iter_next(&it, &nul))) {
		_cleanup_free_ char *raw = NULL, *val = NULL;
		char *s = strstrip(line), *eq;

		if (nul) {
			add_bad(out, path, it.lineno, "NUL byte in the line (binary garbage)");
			continue;
		}
		if (startswith(s, "export "))
			s = (char *)skip_space(s + 7);
		eq = strchr(s, '=');
		if (!*s || *s == '#' || !eq || !startswith(s, "GRUB_"))
			continue;
		raw = xstrndup(s, (size_t)(eq - s));
		if (unquote_shell(eq + 1, &val) < 0) {
			add_bad(out, path, it.lineno, "unterminated quote");
			continue;
		}
		char *expanded = expand_vars(val, &a);

		if (streq(raw, "GRUB_DISABLE_LINUX_UUID")) {
			out->disable_linux_uuid = is_true(val);
			out->disable_linux_uuid_line = it.lineno;
		}
		if (streq(raw, "GRUB_CMDLINE_LINUX") || streq(raw, "GRUB_CMDLINE_LINUX_DEFAULT")) {
			struct boot_cmdline e = { .source = SRC_DEFAULT_GRUB, .path = xstrdup(path),
						  .line = it.lineno, .text = xstrdup(s), .entry = xstrdup(raw),
						  .args = xstrdup(expanded) };
			add_cmdline(out, e);
		}
		/* Last, it may free EXPANDED: only command line variables are kept for $expansion. */
		assign_set(&a, raw, expanded, startswith(raw, "GRUB_CMDLINE_"));
	}
	assign_free(&a);
}

void boot_cmdlines_free(struct boot_cmdlines *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].text);
		free(c->v[i].entry);
		free(c->v[i].kernel);
		free(c->v[i].args);
	}
	for (size_t i = 0; i < c->nbad; i++) {
		free(c->bad[i].path);
		free(c->bad[i].reason);
	}
	free(c->v);
	free(c->bad);
	memset(c, 0, sizeof(*c));
}

void cmdline_split(const char *args, struct cmdline_params *out)
{
	const char *p = args;

	memset(out, 0, sizeof(*out));
	while (*(p = skip_space(p))) {
		const char *start = p;
		bool q = false;
		struct cmdline_param prm = { 0 };
		char *eq;

		/* The kernel's rule: spaces separate parameters except inside double quotes. */
		while (*p && (q || !isspace((unsigned char)*p))) {
			if (*p == '"')
				q = !q;
			p++;
		}
		prm.raw = xstrndup(start, (size_t)(p - start));
		_cleanup_free_ char *unq = xmalloc(strlen(prm.raw) + 1);
		char *o = unq;
		for (const char *c = prm.raw; *c; c++)
			if (*c != '"')
				*o++ = *c;
		*o = '\0';
		eq = strchr(unq, '=');
		if (eq) {
			prm.key = xstrndup(unq, (size_t)(eq - unq));
			prm.value = xstrdup(eq + 1);
		} else {
			prm.key = xstrdup(unq);
		}
		if ((out->n & (out->n - 1)) == 0) /* 0, 1, 2, 4...: double the room at each power of two */
			out->v = xrealloc(out->v, (out->n ? out->n * 2 : 1) * sizeof(*out->v));
		out->v[out->n++] = prm;
	}
}

void cmdline_params_free(struct cmdline_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].value);
		free(p->v[i].raw);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

const struct cmdline_param *cmdline_find(const struct cmdline_params *p, const char *key)
{
	for (size_t i = p->n; i-- > 0;)
		if (streq(p->v[i].key, key))
			return &p->v[i];
	return NULL;
}

bool cmdline_has_console(const struct cmdline_params *p, const char *device)
{
	size_t dl = strlen(device);

	for (size_t i = 0; i < p->n; i++) {
		const char *v = p->v[i].value;

		if (streq(p->v[i].key, "console") && v && strncmp(v, device, dl) == 0 && (!v[dl] || v[dl] == ','))
			return true;
	}
	return false;
}
