/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Executing a plan: every change journaled first, files replaced atomically, a failure rolled back. */
#ifndef MORPH_APPLY_H
#define MORPH_APPLY_H

#include <stdio.h>

#include "journal.h"
#include "plan.h"

/* Mounts a chroot needs (/proc, /sys, /dev, a tmpfs on /run), made in a private mount namespace of this process:
 * they are undone explicitly, and the kernel drops them anyway when the process dies (kill -9). */
struct chroot_mounts {
	strv targets; /* host paths, in mount order */
	bool unshared;
};
int chroot_mounts_setup(const struct sysroot *sr, struct chroot_mounts *cm, char **why);
void chroot_mounts_teardown(struct chroot_mounts *cm);

/* Apply every action of P. On failure *why says which action, and the caller rolls the journal back. */
int plan_apply(const struct sysroot *sr, const struct plan *p, struct journal *j, FILE *out, char **why);

#endif
