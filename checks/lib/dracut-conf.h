/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dracut's configuration, in dracut's own order: /etc/dracut.conf, then the drop-ins of
 * /etc/dracut.conf.d and /usr/lib/dracut/dracut.conf.d merged by file name (sorted; a name in /etc
 * shadows the same name in /usr/lib), each later assignment winning.
 */
#ifndef PREPCHECK_DRACUT_CONF_H
#define PREPCHECK_DRACUT_CONF_H

#include "shell-conf.h"
#include "../../agent/common/util.h"

/* Paths inside the root, in the order dracut reads them (existing files only, /etc/dracut.conf
 * always listed first). */
int dracut_conf_files(const struct sysroot *sr, strv *files);
/* shconf_effective over dracut_conf_files. */
int dracut_conf_effective(const struct sysroot *sr, const char *key, struct conf_value *out, char **bad);

/* initramfs-tools: /etc/initramfs-tools/initramfs.conf, then /etc/initramfs-tools/conf.d/ sorted. */
int itools_conf_files(const struct sysroot *sr, strv *files);

#endif
