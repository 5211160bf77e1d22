/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an installed kernel offers: the modules built into it (modules.builtin and the names in
 * modules.builtin.modinfo), the module files on disk (modules.dep), and where its initramfs image is
 * by each family's naming. Shared by initramfs.drivers and the --fix rebuild that proves its work.
 */
#ifndef PREPCHECK_KERNEL_MODULES_H
#define PREPCHECK_KERNEL_MODULES_H

#include <stdbool.h>

#include "../../agent/common/sysroot.h"

struct kernel_modules {
	char *dir;       /* "/lib/modules/KVER" (or /usr/lib/modules/KVER) inside the root */
	strv builtin;    /* normalised names, sorted */
	strv on_disk;    /* normalised names from modules.dep, sorted */
	bool have_builtin; /* modules.builtin was read */
	bool have_dep;     /* modules.dep was read */
};

/* Never fails: what cannot be read stays empty and have_* says so. */
void kernel_modules_load(const struct sysroot *sr, const char *kver, struct kernel_modules *out);
void kernel_modules_free(struct kernel_modules *km);
bool kernel_module_builtin(const struct kernel_modules *km, const char *name);
bool kernel_module_on_disk(const struct kernel_modules *km, const char *name);

/* The initramfs image of KVER inside the root (malloc'ed path) or NULL. Tried in order:
 * /boot/initramfs-KVER.img (RHEL, Fedora, Arch), /boot/initrd.img-KVER (Debian, Ubuntu),
 * /boot/initrd-KVER (SUSE), /boot/MACHINE-ID/KVER/initrd (boot loader spec). kdump's
 * initramfs-KVERkdump.img is never taken: it boots the capture kernel, not the system. */
char *initramfs_image_find(const struct sysroot *sr, const char *kver, const char *machine_id);
/* The name a generator would create for KVER when none exists yet. */
char *initramfs_image_default(const char *kver, bool debian_naming, bool suse_naming);

#endif
