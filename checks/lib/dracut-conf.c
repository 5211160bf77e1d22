/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "dracut-conf.h"

static const char *const dropin_dirs[] = { "/etc/dracut.conf.d", "/usr/lib/dracut/dracut.conf.d" };

/* The merged drop-ins: every *.conf name once, from the first directory that has it. */
static void merge_dropins(const struct sysroot *sr, strv *files)
{
	_cleanup_strv_ strv names = { 0 };
	strv dirs[ARRAY_SIZE(dropin_dirs)] = { 0 };

	for (size_t d = 0; d < ARRAY_SIZE(dropin_dirs); d++) {
		(void)sysroot_list_dir(sr, dropin_dirs[d], &dirs[d]);
		for (size_t i = 0; i < dirs[d].n; i++)
			if (endswith(dirs[d].v[i], ".conf") && !strv_contains(&names, dirs[d].v[i]))
				strv_push(&names, dirs[d].v[i]);
	}
	strv_sort(&names);
	for (size_t i = 0; i < names.n; i++)
		for (size_t d = 0; d < ARRAY_SIZE(dropin_dirs); d++)
			if (strv_contains(&dirs[d], names.v[i])) {
				strv_push_take(files, xasprintf("%s/%s", dropin_dirs[d], names.v[i]));
				break;
			}
	for (size_t d = 0; d < ARRAY_SIZE(dropin_dirs); d++)
		strv_free(&dirs[d]);
}

int dracut_conf_files(const struct sysroot *sr, strv *files)
{
	strv_push(files, "/etc/dracut.conf");
	merge_dropins(sr, files);
	return 0;
}

int dracut_conf_effective(const struct sysroot *sr, const char *key, struct conf_value *out, char **bad)
{
	_cleanup_strv_ strv files = { 0 };
	const char *b = NULL;
	int r;

	*bad = NULL;
	dracut_conf_files(sr, &files);
	r = shconf_effective(sr, files.v, files.n, key, out, &b);
	if (b)
		*bad = xstrdup(b);
	return r;
}

int itools_conf_files(const struct sysroot *sr, strv *files)
{
	_cleanup_strv_ strv names = { 0 };

	strv_push(files, "/etc/initramfs-tools/initramfs.conf");
	(void)sysroot_list_dir(sr, "/etc/initramfs-tools/conf.d", &names);
	for (size_t i = 0; i < names.n; i++)
		/* mkinitramfs skips package manager leftovers and editor backups */
		if (!strstr(names.v[i], ".dpkg-") && !endswith(names.v[i], "~") && names.v[i][0] != '.')
			strv_push_take(files, xasprintf("/etc/initramfs-tools/conf.d/%s", names.v[i]));
	return 0;
}
