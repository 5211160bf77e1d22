/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where each distribution family keeps a kernel's initramfs image, and which images to ignore. */
#ifndef PREPCHECK_BOOTIMAGES_H
#define PREPCHECK_BOOTIMAGES_H

#include <stdint.h>

#include "sysroot.h"

/* The guest path of KVER's initramfs (first that exists), or NULL. kdump images never count. */
char *bootimage_find(const struct sysroot *sr, const char *kver, uint64_t *size);

#endif
