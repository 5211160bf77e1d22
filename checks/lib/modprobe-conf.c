/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "modprobe-conf.h"
#include "fileio.h"
#include "modname.h"

#include <ctype.h>

static const char *const conf_dirs[] = { "/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
					 "/lib/modprobe.d", "/usr/lib/modprobe.d" };

static void add_rule(struct modprobe_rules *out, const char *module, enum modprobe_block kind, const char *path,
		     unsigned line, const char *text)
{
	out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	out->v[out->n++] = (struct modprobe_rule){
		.module = modname_normalize(xstrdup(module)), .kind = kind, .path = xstrdup(path),
		.line = line, .text = text ? xstrdup(text) : NULL,
	};
}

/* `install NAME CMD`: CMD does nothing but succeed or fail (/bin/true, /usr/bin/false, "true"...). */
static bool noop_command(char *cmd)
{
	char *save = NULL, *prog = strtok_r(cmd, " \t", &save);
	const char *base;

	if (!prog)
		return false;
	base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
	return streq(base, "true") || streq(base, "false");
}

static void parse_statement(const char *path, unsigned lineno, char *stmt, struct modprobe_rules *out)
{
	_cleanup_free_ char *text = xstrdup(stmt);
	char *save = NULL, *cmd = strtok_r(stmt, " \t", &save), *mod;

	if (!cmd || cmd[0] == '#')
		return;
	mod = strtok_r(NULL, " \t", &save);
	if (!mod)
		return;
	if (streq(cmd, "blacklist"))
		add_rule(out, mod, MP_BLACKLIST, path, lineno, text);
	else if (streq(cmd, "install") && save && noop_command(save))
		add_rule(out, mod, MP_INSTALL_NOOP, path, lineno, text);
}

void modprobe_conf_parse(const char *path, char *buf, size_t len, struct modprobe_rules *out)
{
	_cleanup_free_ char *stmt = NULL;
	unsigned first = 0;
	struct line_iter it;
	char *line;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, NULL))) {
		char *s = strstrip(line);
		size_t n = strlen(s);
		bool cont = n > 0 && s[n - 1] == '\\'; /* modprobe.d(5): a trailing backslash continues */

		if (cont)
			s[n - 1] = ' ';
		if (!stmt) {
			stmt = xstrdup(s);
			first = it.lineno;
		} else {
			char *j = xasprintf("%s %s", stmt, s);

			free(stmt);
			stmt = j;
		}
		if (cont)
			continue;
		parse_statement(path, first, strstrip(stmt), out);
		free(stmt);
		stmt = NULL;
	}
	if (stmt)
		parse_statement(path, first, strstrip(stmt), out);
}

void modprobe_cmdline_parse(const char *path, unsigned line, const char *cmdline, struct modprobe_rules *out)
{
	static const char *const keys[] = { "modprobe.blacklist=", "module_blacklist=", "rd.driver.blacklist=" };
	_cleanup_free_ char *copy = xstrdup(cmdline);
	char *save = NULL;

	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		w += strspn(w, "\"'");
		w[strcspn(w, "\"'")] = '\0';
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			_cleanup_free_ char *list = NULL;
			char *s2 = NULL;

			if (!startswith(w, keys[k]))
				continue;
			list = xstrdup(w + strlen(keys[k]));
			for (char *m = strtok_r(list, ",", &s2); m; m = strtok_r(NULL, ",", &s2))
				add_rule(out, m, MP_CMDLINE, path, line, w);
		}
	}
}

void modprobe_conf_load(const struct sysroot *sr, struct modprobe_rules *out, strv *errors)
{
	_cleanup_strv_ strv seen = { 0 };

	for (size_t d = 0; d < ARRAY_SIZE(conf_dirs); d++) {
		_cleanup_strv_ strv names = { 0 };

		if (sysroot_list_dir(sr, conf_dirs[d], &names) < 0)
			continue;
		for (size_t i = 0; i < names.n; i++) {
			_cleanup_free_ char *path = NULL, *buf = NULL;
			size_t len = 0;
			int r;

			if (!endswith(names.v[i], ".conf") || strv_contains(&seen, names.v[i]))
				continue;
			strv_push(&seen, names.v[i]);
			path = xasprintf("%s/%s", conf_dirs[d], names.v[i]);
			r = sysroot_read_file(sr, path, CONFIG_FILE_MAX, &buf, &len);
			if (r < 0) {
				strv_push_take(errors, xasprintf("%s: %s", path, errstr(r)));
				continue;
			}
			modprobe_conf_parse(path, buf, len, out);
		}
	}
}

void modprobe_rules_free(struct modprobe_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].module);
		free(r->v[i].path);
		free(r->v[i].text);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}
