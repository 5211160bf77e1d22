/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File access relative to the root of the system being inspected: "/" on a live system, the mount
 * point of a guest's root filesystem offline (--root DIR). Every path is resolved inside the root,
 * symlinks included: an absolute symlink or ".." in the guest can never reach the host's files.
 *
 * openat2(RESOLVE_IN_ROOT) does this in the kernel (Linux >= 5.6); older kernels get a walk that
 * opens one component at a time with O_PATH|O_NOFOLLOW, follows symlinks itself and clamps ".." at
 * the root, which is race-free for the same reason the kernel's is (each step is relative to an fd).
 */
#ifndef MOBILITY_SYSROOT_H
#define MOBILITY_SYSROOT_H

#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "util.h"

struct sysroot;

enum sysroot_flags {
	SYSROOT_NO_OPENAT2 = 1 << 0, /* force the portable walk (tests, old kernels) */
};

int sysroot_new(const char *path, unsigned flags, struct sysroot **out);
void sysroot_free(struct sysroot *sr);
static inline void sysroot_freep(struct sysroot **sr) { if (*sr) sysroot_free(*sr); }
#define _cleanup_sysroot_ _cleanup_(sysroot_freep)

const char *sysroot_path(const struct sysroot *sr); /* as given, normalised without trailing '/' ("/" live) */
bool sysroot_is_live(const struct sysroot *sr);
int sysroot_fd(const struct sysroot *sr);

/* The host path of a guest path, for messages and for external tools that take --root style args. */
char *sysroot_host_path(const struct sysroot *sr, const char *path);

/*
 * Open PATH (absolute inside the guest) with FLAGS. Symlinks are followed inside the root unless
 * flags has O_NOFOLLOW (then a final symlink gives -ELOOP). Returns an fd or a negative errno.
 */
int sysroot_open(const struct sysroot *sr, const char *path, int flags, mode_t mode);
/* Open the directory that holds PATH; *name points into PATH at the last component. */
int sysroot_open_parent(const struct sysroot *sr, const char *path, const char **name);

int sysroot_read_file(const struct sysroot *sr, const char *path, size_t max, char **buf, size_t *len);
int sysroot_stat(const struct sysroot *sr, const char *path, struct stat *st);
int sysroot_lstat(const struct sysroot *sr, const char *path, struct stat *st);
int sysroot_statvfs(const struct sysroot *sr, const char *path, struct statvfs *st);
bool sysroot_exists(const struct sysroot *sr, const char *path);
int sysroot_opendir(const struct sysroot *sr, const char *path, DIR **out);
/* Names in a directory (no "." and ".."), sorted bytewise as dracut/udev/systemd sort. */
int sysroot_list_dir(const struct sysroot *sr, const char *path, strv *names);
/* The target of a symlink, as stored (not resolved). */
int sysroot_readlink(const struct sysroot *sr, const char *path, char **target);

#endif
