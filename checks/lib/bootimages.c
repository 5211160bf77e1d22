/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "bootimages.h"

char *bootimage_find(const struct sysroot *sr, const char *kver, uint64_t *size)
{
	/* dracut (RHEL, SUSE, Fedora), initramfs-tools (Debian, Ubuntu), SUSE mkinitrd, Arch. */
	static const char *const patterns[] = { "/boot/initramfs-%s.img", "/boot/initrd.img-%s", "/boot/initrd-%s",
						"/boot/initramfs-%s" };

	for (size_t i = 0; i < ARRAY_SIZE(patterns); i++) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		p = xasprintf(patterns[i], kver);
#pragma GCC diagnostic pop
		if (sysroot_stat(sr, p, &st) == 0 && S_ISREG(st.st_mode)) {
			if (size)
				*size = (uint64_t)st.st_size;
			return TAKE_PTR(p);
		}
	}
	return NULL;
}
