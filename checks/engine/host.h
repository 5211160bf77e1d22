/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Facts about the inspected system, gathered once before the checks run and shared by all of them.
 * A fact that cannot be read stays NULL/unknown and its reason is kept for the check that needs it.
 */
#ifndef PREPCHECK_HOST_H
#define PREPCHECK_HOST_H

#include <stdbool.h>

#include "../../agent/common/sysroot.h"
#include "../../agent/common/util.h"

enum os_family { FAMILY_UNKNOWN, FAMILY_DEBIAN, FAMILY_RHEL, FAMILY_SUSE, FAMILY_ARCH };
enum generator { GEN_UNKNOWN, GEN_DRACUT, GEN_INITRAMFS_TOOLS, GEN_MKINITCPIO };
enum firmware { FW_UNKNOWN, FW_BIOS, FW_UEFI };

struct host_facts {
	/* os-release (/etc/os-release, else /usr/lib/os-release) */
	char *os_id, *os_id_like, *os_version_id, *os_pretty_name, *os_name;
	char *os_release_path; /* the file that was read, NULL if none */
	int os_release_err;    /* -errno or -EBADMSG when unreadable/garbage */
	long os_release_errline;
	enum os_family family;

	char *kernel_running;  /* uname -r, live only */
	strv kernels;          /* versions installed (/lib/modules ∪ /boot/vmlinuz-*), oldest first */
	enum generator generator;
	enum firmware firmware;
	bool firmware_inferred; /* offline: from the disk layout, not /sys/firmware */
	bool secure_boot;
	bool secure_boot_known;
	char *machine_id;
	char *product_uuid;
};

void host_gather(const struct sysroot *root, struct host_facts *h);
void host_free(struct host_facts *h);

const char *family_name(enum os_family f);
const char *generator_name(enum generator g);
const char *firmware_name(enum firmware f);

/* The distribution family's command to rebuild the initramfs of KVER (for remediations). */
char *host_rebuild_initramfs_cmd(const struct host_facts *h, const char *kver);
/* The family's package manager install command prefix ("apt-get install -y", "dnf install -y"...). */
const char *host_install_cmd(const struct host_facts *h);

#endif
