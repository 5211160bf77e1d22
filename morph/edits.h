/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The text edits of the remediations, exposed for the unit tests. All work on a struct text copy. */
#ifndef MORPH_EDITS_H
#define MORPH_EDITS_H

#include "textedit.h"

struct fstab_entry;

/* fstab: replace exactly the device field of E's line by SPEC. */
int fstab_replace_spec(struct text *t, const struct fstab_entry *e, const char *spec);

/* repos: disable the source at LINE. 0 changed or already disabled; -ERANGE no such line. */
int repo_disable_apt_line(struct text *t, long line);
int repo_disable_deb822(struct text *t, long line);
int repo_disable_ini(struct text *t, long line); /* yum and zypper .repo files */

/* udev: comment out the rule at LINE (and its continuation lines) below a one-line explanation. */
int udev_comment_rule(struct text *t, long line, const char *explanation);

#endif
