/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Configuration files that are shell fragments (dracut.conf, initramfs.conf, /etc/default/grub):
 * the assignments `KEY=value`, `KEY="value"`, `KEY='value'` and `KEY+="value"` on their own lines,
 * which is what the tools' own documentation allows. Anything else (conditionals, commands) is not
 * evaluated; the assignments inside are still read, as the shell would run them in most cases.
 */
#ifndef PREPCHECK_SHELL_CONF_H
#define PREPCHECK_SHELL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "../../agent/common/sysroot.h"

struct shconf_assign {
	char *key;
	char *value;   /* unquoted */
	bool append;   /* += */
	unsigned line;
	char *text;    /* the whole line, stripped */
};

struct shconf {
	struct shconf_assign *v;
	size_t n;
};

/*
 * One shell word at P, as sh would read it: quotes removed, '\\' escapes decoded (inside double
 * quotes only \\" \\\\ \\$ \\` are escapes, as POSIX says), ending at unquoted white space or ';'.
 * Returns the malloc'ed word, or NULL when a quote is not closed or a '\\' ends the text. *END (if
 * not NULL) points after the word. Shared by os-release, ifcfg, dracut.conf and /etc/default/grub.
 */
char *shell_word(const char *p, const char **end);

/* Parse buf (NUL-terminated, len bytes; modified); assignments are appended to out. */
void shconf_parse(char *buf, size_t len, struct shconf *out);
void shconf_free(struct shconf *c);
/* The last plain assignment of key (the one that wins), or NULL. */
const struct shconf_assign *shconf_last(const struct shconf *c, const char *key);

/* Where a setting's effective value came from. */
struct conf_value {
	char *value;
	char *path;
	unsigned line;
	char *text;
};
void conf_value_free(struct conf_value *v);

/*
 * The effective value of KEY over FILES read in order inside the root (the last assignment wins;
 * `+=` appends). 0 when set, -ENOENT when no file sets it, another -errno when a file exists but
 * cannot be read (*bad names it). Missing files are skipped.
 */
int shconf_effective(const struct sysroot *sr, char *const *files, size_t n, const char *key,
		     struct conf_value *out, const char **bad);

#endif
