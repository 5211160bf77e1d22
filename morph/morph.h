/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * morph: prepcheck --fix / --undo. Plan the remediations of the failing checks as data, print it
 * (--dry-run) or apply it with a journal under /var/lib/mobility-agent/morph/ inside the root.
 */
#ifndef MORPH_H
#define MORPH_H

#include <stdbool.h>

struct options;

/* Returns prepcheck's exit code for --fix (design.md §2). */
int morph_fix(const struct options *o, bool dry_run);
int morph_undo(const struct options *o);

#endif
