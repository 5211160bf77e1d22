/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "udev-rules.h"
#include "fileio.h"
#include "sysroot.h"
#include "util.h"

#include <ctype.h>
#include <fnmatch.h>

const char *const udev_admin_rule_dirs[] = { "/etc/udev/rules.d", "/run/udev/rules.d", NULL };

static void add_bad(struct udev_rules *rs, const char *path, long line, const char *reason, const char *text)
{
	rs->bad = xrealloc(rs->bad, (rs->nbad + 1) * sizeof(*rs->bad));
	rs->bad[rs->nbad++] = (struct udev_bad){ xstrdup(path), line, xstrdup(reason), text ? xstrdup(text) : NULL };
}

static void token_clear(struct udev_token *t)
{
	free(t->key);
	free(t->attr);
	free(t->value);
}

static void tokens_free(struct udev_token *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		token_clear(&t[i]);
	free(t);
}

static const char *parse_op(const char *p, enum udev_op *op)
{
	static const struct { const char *s; enum udev_op op; } ops[] = {
		{ "==", UDEV_OP_MATCH }, { "!=", UDEV_OP_NOMATCH }, { "+=", UDEV_OP_ADD },
		{ "-=", UDEV_OP_REMOVE }, { ":=", UDEV_OP_FINAL }, { "=", UDEV_OP_ASSIGN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (startswith(p, ops[i].s)) {
			*op = ops[i].op;
			return p + strlen(ops[i].s);
		}
	return NULL;
}

/* A double-quoted value; udev decodes only \" and \\ in plain strings, C escapes after e"...". */
static const char *parse_value(const char *p, char **out, const char **why)
{
	bool esc = false;
	size_t n = 0;
	char *v;

	if (*p == 'e' && p[1] == '"') {
		esc = true;
		p++;
	}
	if (*p != '"') {
		*why = "value is not enclosed in double quotes";
		return NULL;
	}
	p++;
	v = xmalloc(strlen(p) + 1);
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1]) {
			char c = p[1];

			if (c == '"' || c == '\\') {
				v[n++] = c;
				p++;
				continue;
			}
			if (esc && (c == 'n' || c == 't')) {
				v[n++] = c == 'n' ? '\n' : '\t';
				p++;
				continue;
			}
		}
		v[n++] = *p;
	}
	if (*p != '"') {
		free(v);
		*why = "unterminated quoted value";
		return NULL;
	}
	v[n] = '\0';
	*out = v;
	return p + 1;
}

/* KEY or KEY{attr}; keys are letters, digits and '_' as udev accepts them. */
static const char *parse_key(const char *p, struct udev_token *t, const char **why)
{
	const char *s = p;

	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == s) {
		*why = "expected a key (KEY==\"value\")";
		return NULL;
	}
	t->key = xstrndup(s, p - s);
	if (*p == '{') {
		const char *a = ++p;

		while (*p && *p != '}')
			p++;
		if (*p != '}') {
			*why = "unterminated {attribute}";
			return NULL;
		}
		t->attr = xstrndup(a, p - a);
		p++;
	}
	return p;
}

/* One KEY{attr} OP "value" at *pp; 0 and *pp past it, or -EBADMSG with *why. */
static int parse_token(const char **pp, struct udev_token *t, const char **why)
{
	const char *p = parse_key(*pp, t, why);

	if (!p)
		return -EBADMSG;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!(p = parse_op(p, &t->op))) {
		*why = "expected an operator (==, !=, =, +=, -=, :=)";
		return -EBADMSG;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (!(p = parse_value(p, &t->value, why)))
		return -EBADMSG;
	if (*p && *p != ',' && *p != ' ' && *p != '\t') {
		*why = "garbage after a quoted value (missing comma?)";
		return -EBADMSG;
	}
	*pp = p;
	return 0;
}

static int parse_tokens(const char *p, struct udev_token **out, size_t *nout, const char **why)
{
	struct udev_token *v = NULL;
	size_t n = 0;

	for (;;) {
		struct udev_token t = { 0 };

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		if (parse_token(&p, &t, why) < 0) {
			token_clear(&t);
			tokens_free(v, n);
			return -EBADMSG;
		}
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = t;
	}
	*out = v;
	*nout = n;
	return 0;
}

static void add_rule(struct udev_rules *rs, const char *path, long first, long last, const char *text)
{
	struct udev_rule r = { .line = first, .line_end = last };
	const char *why = NULL;

	if (parse_tokens(text, &r.tok, &r.ntok, &why) < 0) {
		add_bad(rs, path, first, why, text);
		return;
	}
	if (r.ntok == 0)
		return;
	r.path = xstrdup(path);
	r.text = xstrdup(text);
	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	rs->v[rs->n++] = r;
}

void udev_rules_parse(struct udev_rules *rs, const char *path, char *buf, size_t len)
{
	struct joined_line j = { 0 };
	struct line_iter it;
	char *line;
	bool nul;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		if (nul) {
			add_bad(rs, path, it.lineno, "contains a NUL byte (binary garbage)", NULL);
			continue;
		}
		if (!joined_line_pending(&j)) {
			char *s = line + strspn(line, " \t");

			if (*s == '#' || !*s)
				continue;
			line = s;
		}
		if (!joined_line_add(&j, line, it.lineno))
			continue;
		add_rule(rs, path, j.first, it.lineno, j.text);
		joined_line_clear(&j);
	}
	/* udev ignores a trailing backslash at the end of the file; so do we, but keep the rule. */
	if (joined_line_pending(&j))
		add_rule(rs, path, j.first, it.lineno, j.text);
	joined_line_clear(&j);
}

static bool masked(const struct sysroot *sr, const char *path)
{
	_cleanup_free_ char *target = NULL;

	return sysroot_readlink(sr, path, &target) == 0 && streq(target, "/dev/null");
}

void udev_rules_load(const struct sysroot *sr, const char *const *dirs, struct udev_rules *rs)
{
	_cleanup_strv_ strv seen = { 0 }, files = { 0 };

	/* Collect "name\tdir" in name order; the first directory holding a name wins. */
	for (size_t d = 0; dirs[d]; d++) {
		_cleanup_strv_ strv names = { 0 };

		if (sysroot_list_dir(sr, dirs[d], &names) < 0)
			continue; /* a missing rules directory is normal */
		for (size_t i = 0; i < names.n; i++) {
			if (!endswith(names.v[i], ".rules") || strv_contains(&seen, names.v[i]))
				continue;
			strv_push(&seen, names.v[i]);
			strv_push_take(&files, xasprintf("%s/%s", dirs[d], names.v[i]));
		}
	}
	/* udev orders by file name across directories. */
	for (size_t i = 0; i < files.n; i++)
		for (size_t j = i + 1; j < files.n; j++)
			if (strcmp(strrchr(files.v[j], '/'), strrchr(files.v[i], '/')) < 0) {
				char *t = files.v[i];

				files.v[i] = files.v[j];
				files.v[j] = t;
			}
	for (size_t i = 0; i < files.n; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		int r;

		if (masked(sr, files.v[i]))
			continue;
		r = sysroot_read_file(sr, files.v[i], CONFIG_FILE_MAX, &buf, &len);
		if (r < 0) {
			add_bad(rs, files.v[i], 0, errstr(r), NULL);
			continue;
		}
		udev_rules_parse(rs, files.v[i], buf, len);
	}
}

void udev_rules_free(struct udev_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].path);
		free(rs->v[i].text);
		tokens_free(rs->v[i].tok, rs->v[i].ntok);
	}
	for (size_t i = 0; i < rs->nbad; i++) {
		free(rs->bad[i].path);
		free(rs->bad[i].reason);
		free(rs->bad[i].text);
	}
	free(rs->v);
	free(rs->bad);
	memset(rs, 0, sizeof(*rs));
}

bool udev_op_is_match(enum udev_op op)
{
	return op == UDEV_OP_MATCH || op == UDEV_OP_NOMATCH;
}

const char *udev_op_str(enum udev_op op)
{
	static const char *const s[] = { "==", "!=", "=", "+=", "-=", ":=" };

	return op < ARRAY_SIZE(s) ? s[op] : "?";
}

const struct udev_token *udev_rule_find(const struct udev_rule *r, const char *key, const char *attr)
{
	for (size_t i = 0; i < r->ntok; i++)
		if (streq(r->tok[i].key, key) && (!attr || (r->tok[i].attr && streq(r->tok[i].attr, attr))))
			return &r->tok[i];
	return NULL;
}

bool udev_pattern_matches(const char *value, const char *s)
{
	_cleanup_free_ char *copy = xstrdup(value);
	char *save = NULL;

	for (char *alt = strtok_r(copy, "|", &save); alt; alt = strtok_r(NULL, "|", &save))
		if (fnmatch(alt, s, 0) == 0)
			return true;
	return false;
}

bool udev_pattern_is_wildcard(const char *value)
{
	return streq(value, "*") || streq(value, "?*");
}

static bool has_assign(const struct udev_rule *r, const char *key)
{
	for (size_t i = 0; i < r->ntok; i++)
		if (streq(r->tok[i].key, key) && !udev_op_is_match(r->tok[i].op) && r->tok[i].op != UDEV_OP_REMOVE)
			return true;
	return false;
}

/* A match token KEY whose pattern matches any of NAMES. */
static const struct udev_token *match_any(const struct udev_rule *r, const char *key, const char *const *names)
{
	for (size_t i = 0; i < r->ntok; i++) {
		const struct udev_token *t = &r->tok[i];

		if (t->op != UDEV_OP_MATCH || !streq(t->key, key))
			continue;
		for (size_t j = 0; names[j]; j++)
			if (udev_pattern_matches(t->value, names[j]))
				return t;
	}
	return NULL;
}

/* A specific (non-wildcard) match on KEY, optionally with ATTR. */
static const struct udev_token *match_specific(const struct udev_rule *r, const char *key, const char *attr)
{
	for (size_t i = 0; i < r->ntok; i++) {
		const struct udev_token *t = &r->tok[i];

		if (!udev_op_is_match(t->op) || !streq(t->key, key) || udev_pattern_is_wildcard(t->value))
			continue;
		if (!attr || (t->attr && streq(t->attr, attr)))
			return t;
	}
	return NULL;
}

static const char *const net_names[] = { "eth0", "ens3", "enp0s3", "eno1", "wlan0", "em1", NULL };
static const char *const block_names[] = { "sda", "sda1", "vda", "vda1", "xvda", "hda", "nvme0n1", "nvme0n1p1",
					   "dm-0", "md0", "sr0", NULL };

static bool is_net_rule(const struct udev_rule *r)
{
	static const char *const net[] = { "net", NULL };
	bool has_subsystem = udev_rule_find(r, "SUBSYSTEM", NULL) != NULL;

	if (!has_assign(r, "NAME"))
		return false;
	if (match_any(r, "SUBSYSTEM", net))
		return true;
	return !has_subsystem && (match_specific(r, "ATTR", "address") || match_any(r, "KERNEL", net_names));
}

enum udev_net_kind udev_rule_net_kind(const struct udev_rule *r)
{
	static const char *const path_env[] = { "ID_PATH", "ID_NET_NAME_PATH", "ID_NET_NAME_SLOT", NULL };

	if (!is_net_rule(r))
		return UDEV_NET_NONE;
	if (match_specific(r, "ATTR", "address") || match_specific(r, "ATTRS", "address") ||
	    match_specific(r, "ENV", "ID_NET_NAME_MAC"))
		return UDEV_NET_MAC;
	if (match_specific(r, "KERNELS", NULL) || match_specific(r, "DRIVERS", NULL) ||
	    match_specific(r, "ATTR", "dev_port"))
		return UDEV_NET_PATH;
	for (size_t i = 0; path_env[i]; i++)
		if (match_specific(r, "ENV", path_env[i]))
			return UDEV_NET_PATH;
	if (match_specific(r, "KERNEL", NULL))
		return UDEV_NET_KERNEL;
	return UDEV_NET_OTHER;
}

const char *udev_net_kind_name(enum udev_net_kind k)
{
	static const char *const n[] = { "none", "net-mac", "net-path", "net-kernel", "net-other" };

	return k < ARRAY_SIZE(n) ? n[k] : "net-other";
}

static bool is_block_rule(const struct udev_rule *r)
{
	static const char *const block[] = { "block", NULL };
	static const char *const net[] = { "net", NULL };
	static const char *const scsi[] = { "scsi", NULL };
	static const char *const actions[] = { "NAME", "SYMLINK", "OWNER", "GROUP", "MODE" };
	bool acts = false;

	for (size_t i = 0; i < ARRAY_SIZE(actions) && !acts; i++)
		acts = has_assign(r, actions[i]);
	if (!acts || match_any(r, "SUBSYSTEM", net))
		return false;
	/* A scsi parent with a naming action is a disk (or tape) rule in practice. */
	return match_any(r, "SUBSYSTEM", block) || match_any(r, "SUBSYSTEMS", block) ||
	       match_any(r, "KERNEL", block_names) || match_any(r, "SUBSYSTEMS", scsi);
}

static bool identity_attr(const char *attr)
{
	static const char *const ids[] = { "vendor", "model", "serial", "wwid", "rev", "wwn", "eui", "nguid", NULL };
	const char *base = strrchr(attr, '/');

	base = base ? base + 1 : attr;
	for (size_t i = 0; ids[i]; i++)
		if (streq(base, ids[i]))
			return true;
	return false;
}

static bool identity_env(const char *name)
{
	static const char *const prefixes[] = { "ID_SERIAL", "ID_MODEL", "ID_VENDOR", "ID_WWN", "ID_PATH",
						"ID_SCSI_SERIAL", "ID_BUS", "SCSI_IDENT_", "SCSI_VENDOR", "SCSI_MODEL",
						"ID_REVISION", NULL };

	for (size_t i = 0; prefixes[i]; i++)
		if (startswith(name, prefixes[i]))
			return true;
	return false;
}

const struct udev_token *udev_rule_block_reliance(const struct udev_rule *r)
{
	static const char *const scsi[] = { "scsi", NULL };

	if (!is_block_rule(r))
		return NULL;
	for (size_t i = 0; i < r->ntok; i++) {
		const struct udev_token *t = &r->tok[i];

		if (!udev_op_is_match(t->op) || udev_pattern_is_wildcard(t->value))
			continue;
		if ((streq(t->key, "ATTR") || streq(t->key, "ATTRS")) && t->attr && identity_attr(t->attr))
			return t;
		if (streq(t->key, "ENV") && t->attr && identity_env(t->attr))
			return t;
		if (streq(t->key, "KERNELS") || streq(t->key, "DRIVERS") || streq(t->key, "DRIVER"))
			return t;
		if (streq(t->key, "SUBSYSTEMS") && t->op == UDEV_OP_MATCH && udev_pattern_matches(t->value, scsi[0]))
			return t;
		if (streq(t->key, "PROGRAM") && (strstr(t->value, "scsi_id") || strstr(t->value, "ata_id")))
			return t;
	}
	return NULL;
}
