/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which probed volume an fstab entry means. Live, a device path names itself. Offline, the guest's
 * "/dev/sda1" does not exist on the worker that mounted the guest's disk: entries mounted under the
 * root are found by their mount point, and what that teaches (guest "sda" is this disk) maps the
 * remaining kernel names (swap on /dev/sda2) by partition number.
 */
#ifndef PREPCHECK_FSTAB_RESOLVE_H
#define PREPCHECK_FSTAB_RESOLVE_H

#include "disks.h"
#include "fstab.h"

struct fstab_resolver;

struct fstab_resolver *fstab_resolver_new(const struct fstab *f, const struct disk_set *ds, const char *root,
					  bool live);
/* The volume behind entry E (by kernel name, by-id/by-path link, or tag), or NULL. */
const struct blk_volume *fstab_resolve(struct fstab_resolver *r, const struct fstab_entry *e);
void fstab_resolver_free(struct fstab_resolver *r);

/* "sda1" -> base "sda", part 1; "nvme0n1p2" -> "nvme0n1", 2; "vdb" -> "vdb", 0. False if no kernel name. */
bool kernel_name_split(const char *devpath, char *base, size_t baselen, int *partno);

#endif
