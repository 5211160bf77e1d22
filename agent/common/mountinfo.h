/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/self/mountinfo as data: used by prepcheck (which disks back --root) and by quiesce (which
 * filesystems to freeze, in which order). Octal escapes (\040 for space) are decoded.
 */
#ifndef MOBILITY_MOUNTINFO_H
#define MOBILITY_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mount_entry {
	int id, parent_id;
	unsigned major, minor;
	char *root;       /* the root of the mount inside its filesystem (bind mounts: not "/") */
	char *target;     /* mount point */
	char *options;    /* per-mount options (rw, ro, nosuid...) */
	char *fstype;
	char *source;
	char *super_options;
	bool read_only;   /* "ro" in the per-mount or superblock options */
};

struct mount_table {
	struct mount_entry *v;
	size_t n;
};

/* Parse a mountinfo text; -EBADMSG with *errline on a malformed line. */
int mountinfo_parse(const char *text, struct mount_table *t, long *errline);
/* Read and parse /proc/self/mountinfo (or PATH when non-NULL). */
int mountinfo_read(const char *path, struct mount_table *t, long *errline);
void mountinfo_free(struct mount_table *t);

/* Decode \NNN octal escapes in place (fstab and mountinfo share them). */
void unescape_octal(char *s);
/* True when PATH is MOUNTPOINT or below it. */
bool path_is_under(const char *path, const char *mountpoint);

#endif
