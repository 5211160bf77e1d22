/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "esp.h"

#include <strings.h>

/* Loader binaries are a few MiB; anything far larger is not one and is not read whole. */
#define EFI_BINARY_MAX (64u << 20)

static const char *const mount_candidates[] = { "/boot/efi", "/efi", "/boot" };

/* The entry of DIR whose name equals NAME ignoring case, as stored; NULL if none. */
static char *lookup_ci(const struct sysroot *sr, const char *dir, const char *name)
{
	_cleanup_strv_ strv names = { 0 };

	if (sysroot_list_dir(sr, dir, &names) < 0)
		return NULL;
	for (size_t i = 0; i < names.n; i++)
		if (strcasecmp(names.v[i], name) == 0)
			return xstrdup(names.v[i]);
	return NULL;
}

static bool is_dir(const struct sysroot *sr, const char *path)
{
	struct stat st;

	return sysroot_stat(sr, path, &st) == 0 && S_ISDIR(st.st_mode);
}

enum efi_kind efi_kind_by_name(const char *name, char arch[8])
{
	static const struct { const char *prefix; enum efi_kind kind; } map[] = {
		{ "shim", EFI_SHIM }, { "grub", EFI_GRUB }, { "systemd-boot", EFI_SYSTEMD_BOOT },
		{ "fb", EFI_FALLBACK }, { "mm", EFI_MOKMANAGER },
	};
	static const char *const arches[] = { "x64", "aa64", "ia32", "arm", "riscv64" };
	size_t len = strlen(name);

	arch[0] = '\0';
	if (len < 5 || strcasecmp(name + len - 4, ".efi") != 0)
		return EFI_OTHER;
	len -= 4;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		size_t pl = strlen(map[i].prefix);

		if (len <= pl || strncasecmp(name, map[i].prefix, pl) != 0)
			continue;
		for (size_t a = 0; a < ARRAY_SIZE(arches); a++)
			if (len - pl == strlen(arches[a]) && strncasecmp(name + pl, arches[a], len - pl) == 0) {
				snprintf(arch, 8, "%s", arches[a]);
				return map[i].kind;
			}
	}
	/* BOOTX64.EFI is named for its role; what it is comes from its content. */
	if (len > 4 && strncasecmp(name, "boot", 4) == 0)
		for (size_t a = 0; a < ARRAY_SIZE(arches); a++)
			if (len - 4 == strlen(arches[a]) && strncasecmp(name + 4, arches[a], len - 4) == 0)
				snprintf(arch, 8, "%s", arches[a]);
	return EFI_OTHER;
}

enum efi_kind efi_kind_by_content(const unsigned char *buf, size_t len, char **version)
{
	static const char sdboot[] = "#### LoaderInfo: systemd-boot ";
	const unsigned char *p;

	*version = NULL;
	if ((p = memmem(buf, len, sdboot, sizeof(sdboot) - 1))) {
		const unsigned char *v = p + sizeof(sdboot) - 1;
		size_t n = 0;

		while (v + n < buf + len && n < 32 && v[n] > ' ' && v[n] < 0x7f)
			n++;
		*version = xasprintf("systemd-boot %.*s", (int)n, (const char *)v);
		return EFI_SYSTEMD_BOOT;
	}
	if (memmem(buf, len, "UEFI SHIM", 9))
		return EFI_SHIM;
	/* "GNU GRUB" is in normal.mod; a minimal image (grub-mkimage) has only the kernel's messages. */
	if (memmem(buf, len, "GNU GRUB", 8) || memmem(buf, len, "Exiting GRUB", 12))
		return EFI_GRUB;
	return EFI_OTHER;
}

const char *efi_kind_name(enum efi_kind k)
{
	static const char *const n[] = { "unknown EFI binary", "shim", "GRUB2", "systemd-boot",
					 "shim fallback (fb)", "MokManager" };

	return (size_t)k < ARRAY_SIZE(n) ? n[k] : n[0];
}

static void add_file(struct esp_info *e, const char *dir_path, const char *dir, const char *name)
{
	struct esp_file f = { 0 };

	f.kind = efi_kind_by_name(name, f.arch);
	f.path = xasprintf("%s/%s", dir_path, name);
	f.dir = xstrdup(dir);
	f.name = xstrdup(name);
	if ((e->nfiles & (e->nfiles - 1)) == 0) /* grow at each power of two */
		e->files = xrealloc(e->files, (e->nfiles ? e->nfiles * 2 : 1) * sizeof(*e->files));
	e->files[e->nfiles++] = f;
}

static void scan_files(const struct sysroot *sr, struct esp_info *e)
{
	_cleanup_strv_ strv dirs = { 0 };

	if (sysroot_list_dir(sr, e->efi_dir, &dirs) < 0)
		return;
	for (size_t i = 0; i < dirs.n; i++) {
		_cleanup_free_ char *dp = xasprintf("%s/%s", e->efi_dir, dirs.v[i]);
		_cleanup_strv_ strv names = { 0 };

		if (!is_dir(sr, dp) || sysroot_list_dir(sr, dp, &names) < 0)
			continue;
		for (size_t j = 0; j < names.n; j++) {
			_cleanup_free_ char *fp = xasprintf("%s/%s", dp, names.v[j]);
			size_t l = strlen(names.v[j]);
			struct stat st;

			if (l > 4 && strcasecmp(names.v[j] + l - 4, ".efi") == 0 && sysroot_stat(sr, fp, &st) == 0 &&
			    S_ISREG(st.st_mode))
				add_file(e, dp, dirs.v[i], names.v[j]);
		}
	}
}

static void classify_fallback(const struct sysroot *sr, struct esp_info *e)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < e->nfiles && !e->fallback; i++) {
		const struct esp_file *f = &e->files[i];
		size_t l = strlen(f->name);

		if (strcasecmp(f->dir, "BOOT") == 0 && l > 8 && strncasecmp(f->name, "boot", 4) == 0 && f->arch[0] &&
		    strlen(f->arch) + 8 == l)
			e->fallback = f;
	}
	if (!e->fallback)
		return;
	e->fallback_content = EFI_OTHER;
	if (sysroot_read_file(sr, e->fallback->path, EFI_BINARY_MAX, &buf, &len) == 0)
		e->fallback_content = efi_kind_by_content((const unsigned char *)buf, len, &e->fallback_version);
}

void esp_scan(const struct sysroot *sr, struct esp_info *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ARRAY_SIZE(mount_candidates) && !out->mount; i++) {
		const char *m = mount_candidates[i];
		_cleanup_free_ char *efi = NULL;

		if (!is_dir(sr, m))
			continue;
		efi = lookup_ci(sr, m, "EFI");
		/* On an ext4 /boot, "efi" is the empty mount point of /boot/efi, not an ESP's EFI/. */
		if (efi && streq(m, "/boot") && streq(efi, "efi"))
			continue;
		if (efi) {
			_cleanup_free_ char *p = xasprintf("%s/%s", m, efi);

			if (is_dir(sr, p)) {
				out->mount = xstrdup(m);
				out->efi_dir = TAKE_PTR(p);
				break;
			}
		}
		if (!streq(m, "/boot"))
			strv_push(&out->empty_mounts, m);
	}
	if (!out->mount)
		return;
	scan_files(sr, out);
	classify_fallback(sr, out);
}

void esp_free(struct esp_info *e)
{
	for (size_t i = 0; i < e->nfiles; i++) {
		free(e->files[i].path);
		free(e->files[i].dir);
		free(e->files[i].name);
	}
	free(e->files);
	free(e->mount);
	free(e->efi_dir);
	free(e->fallback_version);
	strv_free(&e->empty_mounts);
	memset(e, 0, sizeof(*e));
}

const struct esp_file *esp_find(const struct esp_info *e, enum efi_kind kind, bool vendor_only)
{
	for (size_t i = 0; i < e->nfiles; i++)
		if (e->files[i].kind == kind && !(vendor_only && strcasecmp(e->files[i].dir, "BOOT") == 0))
			return &e->files[i];
	return NULL;
}

const struct esp_file *esp_find_name(const struct esp_info *e, const char *dir, const char *name)
{
	for (size_t i = 0; i < e->nfiles; i++)
		if (strcasecmp(e->files[i].dir, dir) == 0 && strcasecmp(e->files[i].name, name) == 0)
			return &e->files[i];
	return NULL;
}

const char *esp_chain(const struct esp_info *e)
{
	bool shim = esp_find(e, EFI_SHIM, false), grub = esp_find(e, EFI_GRUB, false);

	if (shim && grub)
		return "shim+grub";
	if (esp_find(e, EFI_SYSTEMD_BOOT, false))
		return "systemd-boot";
	if (grub)
		return "GRUB2";
	if (shim)
		return "shim";
	if (e->fallback && e->fallback_content != EFI_OTHER)
		return efi_kind_name(e->fallback_content);
	return NULL;
}
