/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel module names as the kernel compares them: '-' and '_' are the same character (kmod writes
 * them as '_'), and a module file may be compressed (.ko, .ko.xz, .ko.zst, .ko.gz).
 */
#ifndef PREPCHECK_MODNAME_H
#define PREPCHECK_MODNAME_H

#include <stdbool.h>

/* Replace '-' by '_' in place; returns s. */
char *modname_normalize(char *s);
/* The module name of a file path ("kernel/drivers/hv/hv_vmbus.ko.xz" -> "hv_vmbus"), NULL when the
 * path is not a module file. Malloc'ed. */
char *modname_from_path(const char *path);
/* a and b name the same module. */
bool modname_eq(const char *a, const char *b);

#endif
