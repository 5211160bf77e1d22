/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where a Linux system keeps its kernel command lines, as data with file and line:
 *  - GRUB 2's generated grub.cfg: the `linux`/`linuxefi`/`linux16` line of each menuentry;
 *  - Boot Loader Specification entries (/boot/loader/entries/NAME.conf): `options` lines, with
 *    `$kernelopts`-style variables taken from grubenv as GRUB's blscfg does;
 *  - /etc/default/grub: GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT (shell quoting), the
 *    source the next grub-mkconfig / update-grub regenerates grub.cfg from.
 * Parsing never fails as a whole: odd lines are kept in `bad` with their number and the rest is
 * still read. Kernel parameters are split the way the kernel does (spaces; double quotes group).
 */
#ifndef PREPCHECK_GRUBCFG_H
#define PREPCHECK_GRUBCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum cmdline_source { SRC_GRUB_CFG, SRC_BLS, SRC_DEFAULT_GRUB };

struct boot_cmdline {
	enum cmdline_source source;
	char *path;   /* guest path of the file */
	long line;
	char *text;   /* the line as written (stripped), for evidence */
	char *entry;  /* menuentry / BLS title, or the variable name for /etc/default/grub; may be NULL */
	char *kernel; /* kernel image path (NULL for /etc/default/grub) */
	char *args;   /* the kernel command line, variables expanded where the loader would */
};

struct cmdline_bad {
	char *path;
	long line;
	char *reason;
};

struct boot_cmdlines {
	struct boot_cmdline *v;
	size_t n;
	struct cmdline_bad *bad;
	size_t nbad;
	bool disable_linux_uuid; /* /etc/default/grub: GRUB_DISABLE_LINUX_UUID=true (root= by device) */
	long disable_linux_uuid_line;
	bool uses_blscfg;        /* a grub.cfg runs `blscfg`: the BLS entries are what boots */
	size_t cap, capbad;      /* allocated sizes (grown geometrically: files can hold 10^5 entries) */
};

/* TEXT is modified in place. PATH names the file in entries and bad lines. */
void grubcfg_parse(char *text, size_t len, const char *path, struct boot_cmdlines *out);
/* One BLS entry file; ENV is the grubenv text (may be NULL) for $variables in `options`. */
void bls_parse(char *text, size_t len, const char *path, const char *env, struct boot_cmdlines *out);
void default_grub_parse(char *text, size_t len, const char *path, struct boot_cmdlines *out);
void boot_cmdlines_free(struct boot_cmdlines *c);

/* grubenv ("# GRUB Environment Block", KEY=VALUE lines, '#' padding): the value of KEY or NULL. */
char *grubenv_get(const char *env, const char *key);

struct cmdline_param {
	char *key;   /* "root", "quiet" */
	char *value; /* "/dev/sda1" (quotes removed), NULL when the parameter has no '=' */
	char *raw;   /* the word as written: root="/dev/sda1" */
};
struct cmdline_params {
	struct cmdline_param *v;
	size_t n;
};
void cmdline_split(const char *args, struct cmdline_params *out);
void cmdline_params_free(struct cmdline_params *p);
/* The last KEY parameter (the kernel honours the last one), or NULL. */
const struct cmdline_param *cmdline_find(const struct cmdline_params *p, const char *key);
/* True when a console=NAME[,options] parameter names DEVICE (e.g. "ttyS0"). */
bool cmdline_has_console(const struct cmdline_params *p, const char *device);

#endif
