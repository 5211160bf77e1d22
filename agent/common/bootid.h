/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel's id of this boot: what changes when the host restarts (not when a process does). */
#ifndef MOBILITY_BOOTID_H
#define MOBILITY_BOOTID_H

#include <stddef.h>

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* /proc/sys/kernel/random/boot_id without its newline into out (len bytes); 0, -errno, or -ENAMETOOLONG
 * when it does not fit. */
int boot_id_read(char *out, size_t len);

#endif
