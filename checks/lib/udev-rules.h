/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udev rules files as data: one struct per rule (a logical line, continuations joined), each token
 * KEY{attr} OP "value" decoded. Every rule keeps the file and the line span it came from, so a check
 * can quote it and `prepcheck --fix` can comment out exactly those lines. A line that udev would
 * reject is kept in `bad` with its reason: parsing never fails as a whole.
 */
#ifndef PREPCHECK_UDEV_RULES_H
#define PREPCHECK_UDEV_RULES_H

#include <stdbool.h>
#include <stddef.h>

struct sysroot;

enum udev_op { UDEV_OP_MATCH, UDEV_OP_NOMATCH, UDEV_OP_ASSIGN, UDEV_OP_ADD, UDEV_OP_REMOVE, UDEV_OP_FINAL };

struct udev_token {
	char *key;   /* "ATTRS" */
	char *attr;  /* "model", or NULL without {} */
	enum udev_op op;
	char *value; /* unquoted, escapes decoded */
};

struct udev_rule {
	char *path;          /* inside the inspected root */
	long line, line_end; /* first and last physical line (continuations) */
	char *text;          /* the logical line as written, continuations joined */
	struct udev_token *tok;
	size_t ntok;
};

struct udev_bad {
	char *path;
	long line; /* 0: the file itself could not be read */
	char *reason;
	char *text;
};

struct udev_rules {
	struct udev_rule *v;
	size_t n;
	struct udev_bad *bad;
	size_t nbad;
};

/* The admin's rule directories, highest priority first (a same-named file in /etc wins). */
extern const char *const udev_admin_rule_dirs[];

/* Append the rules of one file's content (BUF is modified). */
void udev_rules_parse(struct udev_rules *rs, const char *path, char *buf, size_t len);
/* Load every *.rules file of DIRS (NULL-terminated, priority order) in udev's order: by file name,
 * a name shadowed by a higher-priority directory skipped, files linked to /dev/null masked. */
void udev_rules_load(const struct sysroot *sr, const char *const *dirs, struct udev_rules *rs);
void udev_rules_free(struct udev_rules *rs);

bool udev_op_is_match(enum udev_op op);
const char *udev_op_str(enum udev_op op);
/* The first token with KEY (and ATTR when not NULL, case-sensitive as udev), or NULL. */
const struct udev_token *udev_rule_find(const struct udev_rule *r, const char *key, const char *attr);
/* True when the match pattern VALUE (udev glob, '|' alternatives) matches the string S. */
bool udev_pattern_matches(const char *value, const char *s);
/* True when VALUE is a pattern that matches anything ("?*", "*"). */
bool udev_pattern_is_wildcard(const char *value);

#endif

/* What a rule that names a network interface (NAME= on the net subsystem) pins the name to. */
enum udev_net_kind {
	UDEV_NET_NONE,   /* not an interface-naming rule */
	UDEV_NET_MAC,    /* ATTR{address}: breaks where the MAC changes */
	UDEV_NET_PATH,   /* KERNELS/DRIVERS/ID_PATH: bus position, changes with the hardware */
	UDEV_NET_KERNEL, /* KERNEL=="eth0": the kernel's name, which depends on probe order */
	UDEV_NET_OTHER,
};
enum udev_net_kind udev_rule_net_kind(const struct udev_rule *r);
const char *udev_net_kind_name(enum udev_net_kind k); /* "net-mac", "net-path", "net-kernel", "net-other" */

/* For a rule that names or owns a block device (NAME, SYMLINK, OWNER, GROUP, MODE), the first match on
 * hardware identity (vendor, model, serial, WWN, bus, path, scsi_id), or NULL. */
const struct udev_token *udev_rule_block_reliance(const struct udev_rule *r);
