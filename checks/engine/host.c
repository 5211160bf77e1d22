/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "host.h"
#include "fileio.h"
#include "kver.h"
#include "osrelease.h"

#include <ctype.h>
#include <sys/utsname.h>

static char *read_first_line(const struct sysroot *sr, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	char *nl;

	if (sysroot_read_file(sr, path, 4096, &buf, NULL) < 0)
		return NULL;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	char *s = strstrip(buf);
	return *s ? xstrdup(s) : NULL;
}

static bool word_in(const char *list, const char *word)
{
	_cleanup_free_ char *copy = xstrdup(list ? list : "");
	char *save = NULL;

	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (streq(t, word))
			return true;
	return false;
}

static enum os_family family_of(const char *id, const char *like)
{
	static const struct { const char *word; enum os_family f; } map[] = {
		{ "debian", FAMILY_DEBIAN }, { "ubuntu", FAMILY_DEBIAN }, { "rhel", FAMILY_RHEL },
		{ "fedora", FAMILY_RHEL },   { "centos", FAMILY_RHEL },  { "suse", FAMILY_SUSE },
		{ "sles", FAMILY_SUSE },     { "opensuse", FAMILY_SUSE }, { "arch", FAMILY_ARCH },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if ((id && streq(id, map[i].word)) || (id && startswith(id, "opensuse") && map[i].f == FAMILY_SUSE))
			return map[i].f;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (word_in(like, map[i].word))
			return map[i].f;
	return FAMILY_UNKNOWN;
}

static void gather_os_release(const struct sysroot *sr, struct host_facts *h)
{
	static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };
	_cleanup_free_ char *buf = NULL;
	struct os_release o;
	size_t len = 0;
	int r = -ENOENT;

	for (size_t i = 0; i < ARRAY_SIZE(paths) && r == -ENOENT; i++) {
		r = sysroot_read_file(sr, paths[i], 1u << 20, &buf, &len);
		if (r == 0 || r != -ENOENT)
			h->os_release_path = xstrdup(paths[i]);
	}
	h->os_release_err = r;
	if (r < 0)
		return;
	r = osrelease_parse(buf, len, &o, &h->os_release_errline);
	if (r < 0) {
		h->os_release_err = r;
		return;
	}
#define DUP(f, k) h->f = osrelease_get(&o, k) ? xstrdup(osrelease_get(&o, k)) : NULL
	DUP(os_id, "ID");
	DUP(os_id_like, "ID_LIKE");
	DUP(os_version_id, "VERSION_ID");
	DUP(os_pretty_name, "PRETTY_NAME");
	DUP(os_name, "NAME");
#undef DUP
	if (!h->os_id)
		h->os_id = xstrdup("linux"); /* os-release(5): the default when ID is unset */
	h->family = family_of(h->os_id, h->os_id_like);
	osrelease_free(&o);
}

/* Kernels: every /lib/modules/KVER with a modules.dep or kernel/ tree, and every /boot/vmlinuz-KVER. */
static void gather_kernels(const struct sysroot *sr, struct host_facts *h)
{
	_cleanup_strv_ strv mods = { 0 }, boot = { 0 };

	if (sysroot_list_dir(sr, "/lib/modules", &mods) < 0)
		(void)sysroot_list_dir(sr, "/usr/lib/modules", &mods);
	for (size_t i = 0; i < mods.n; i++) {
		_cleanup_free_ char *dep = xasprintf("/lib/modules/%s/modules.dep", mods.v[i]);
		_cleanup_free_ char *kern = xasprintf("/lib/modules/%s/kernel", mods.v[i]);
		_cleanup_free_ char *vmlinuz = xasprintf("/lib/modules/%s/vmlinuz", mods.v[i]);

		/* Leftover directories of removed kernels (only extra/ or weak-updates/) do not count. */
		if (sysroot_exists(sr, dep) || sysroot_exists(sr, kern) || sysroot_exists(sr, vmlinuz))
			if (!strv_contains(&h->kernels, mods.v[i]))
				strv_push(&h->kernels, mods.v[i]);
	}
	if (sysroot_list_dir(sr, "/boot", &boot) == 0)
		for (size_t i = 0; i < boot.n; i++) {
			const char *k = boot.v[i] + strlen("vmlinuz-");

			if (!startswith(boot.v[i], "vmlinuz-") || !*k || endswith(k, ".hmac") ||
			    startswith(k, "0-rescue-") || endswith(k, ".old"))
				continue;
			if (!strv_contains(&h->kernels, k))
				strv_push(&h->kernels, k);
		}
	kver_sort(h->kernels.v, h->kernels.n);
}

static void gather_generator(const struct sysroot *sr, struct host_facts *h)
{
	/* The tool that is installed decides; config directories alone can be leftovers. */
	static const struct { const char *path; enum generator g; } probes[] = {
		{ "/usr/bin/dracut", GEN_DRACUT },
		{ "/usr/sbin/dracut", GEN_DRACUT },
		{ "/sbin/dracut", GEN_DRACUT },
		{ "/usr/sbin/mkinitramfs", GEN_INITRAMFS_TOOLS },
		{ "/usr/sbin/update-initramfs", GEN_INITRAMFS_TOOLS },
		{ "/usr/bin/mkinitcpio", GEN_MKINITCPIO },
	};

	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		if (sysroot_exists(sr, probes[i].path)) {
			h->generator = probes[i].g;
			return;
		}
	h->generator = GEN_UNKNOWN;
}

static void gather_firmware(const struct sysroot *sr, struct host_facts *h)
{
	if (sysroot_is_live(sr)) {
		_cleanup_free_ char *sb = NULL;
		size_t len = 0;

		h->firmware = access("/sys/firmware/efi", F_OK) == 0 ? FW_UEFI : FW_BIOS;
		if (h->firmware == FW_BIOS) {
			h->secure_boot_known = true;
			return;
		}
		/* efivarfs: 4 attribute bytes, then the variable's single byte. */
		if (read_file_bounded("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0ccd9ddbd8c",
				      64, &sb, &len) == 0 && len >= 5) {
			h->secure_boot = sb[4] == 1;
			h->secure_boot_known = true;
		}
		return;
	}
	/* Offline: an EFI system partition mounted, or an EFI loader in the tree, means UEFI. Refined
	 * by firmware.secure-boot from the disk layout (ESP vs BIOS boot partition). */
	h->firmware_inferred = true;
	h->firmware = sysroot_exists(sr, "/boot/efi/EFI") ? FW_UEFI : FW_UNKNOWN;
}

void host_gather(const struct sysroot *sr, struct host_facts *h)
{
	memset(h, 0, sizeof(*h));
	gather_os_release(sr, h);
	gather_kernels(sr, h);
	gather_generator(sr, h);
	gather_firmware(sr, h);
	h->machine_id = read_first_line(sr, "/etc/machine-id");
	if (sysroot_is_live(sr)) {
		struct utsname u;

		if (uname(&u) == 0)
			h->kernel_running = xstrdup(u.release);
		h->product_uuid = read_first_line(sr, "/sys/class/dmi/id/product_uuid");
	}
}

void host_free(struct host_facts *h)
{
	free(h->os_id);
	free(h->os_id_like);
	free(h->os_version_id);
	free(h->os_pretty_name);
	free(h->os_name);
	free(h->os_release_path);
	free(h->kernel_running);
	strv_free(&h->kernels);
	free(h->machine_id);
	free(h->product_uuid);
	memset(h, 0, sizeof(*h));
}

const char *family_name(enum os_family f)
{
	static const char *const n[] = { "unknown", "debian", "rhel", "suse", "arch" };
	return n[f];
}

const char *generator_name(enum generator g)
{
	static const char *const n[] = { "unknown", "dracut", "initramfs-tools", "mkinitcpio" };
	return n[g];
}

const char *firmware_name(enum firmware f)
{
	static const char *const n[] = { "unknown", "bios", "uefi" };
	return n[f];
}

char *host_rebuild_initramfs_cmd(const struct host_facts *h, const char *kver)
{
	switch (h->generator) {
	case GEN_DRACUT:
		return xasprintf("dracut -f -v -N --kver %s", kver);
	case GEN_INITRAMFS_TOOLS:
		return xasprintf("update-initramfs -u -k %s", kver);
	case GEN_MKINITCPIO:
		return xasprintf("mkinitcpio -k %s -g /boot/initramfs-%s.img", kver, kver);
	default:
		return h->family == FAMILY_DEBIAN ? xasprintf("update-initramfs -u -k %s", kver)
						  : xasprintf("dracut -f -v -N --kver %s", kver);
	}
}

const char *host_install_cmd(const struct host_facts *h)
{
	switch (h->family) {
	case FAMILY_DEBIAN:
		return "apt-get install -y";
	case FAMILY_RHEL:
		return "dnf install -y";
	case FAMILY_SUSE:
		return "zypper install -y";
	case FAMILY_ARCH:
		return "pacman -S --noconfirm";
	default:
		return "install the package:";
	}
}
