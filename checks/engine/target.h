/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Target platform profiles. Everything a check needs to know about the platform the VM moves to is
 * a field here, so checks read a table instead of testing the target's name.
 */
#ifndef PREPCHECK_TARGET_H
#define PREPCHECK_TARGET_H

#include <stdbool.h>
#include <stdint.h>

enum target_id { TARGET_AZURE, TARGET_KVM, TARGET_AWS, TARGET_GENERIC, TARGET__COUNT };
#define TGT_AZURE (1u << TARGET_AZURE)
#define TGT_KVM (1u << TARGET_KVM)
#define TGT_AWS (1u << TARGET_AWS)
#define TGT_GENERIC (1u << TARGET_GENERIC)
#define TGT_CLOUDS (TGT_AZURE | TGT_KVM | TGT_AWS)

/* A driver the target's boot path needs; alternatives separated by '|' (any one is enough). */
struct target_driver {
	const char *modules;
	bool required; /* false: recommended, missing gives a warning */
	const char *why;
};

struct target_profile {
	enum target_id id;
	const char *name;   /* "azure" */
	const char *pretty; /* "Microsoft Azure" */
	const struct target_driver *drivers; /* terminated by .modules == NULL */
	const char *const *keep_loadable;    /* modules that must not be blacklisted besides drivers */
	const char *const *guest_agents;     /* package / binary names, NULL-terminated */
	const char *cloud_init_datasource;   /* cloud-init counts as the agent with this datasource (NULL: any) */
	bool keeps_mac;                      /* the NIC keeps the source MAC address */
	bool platform_assigns_ip;            /* the platform's DHCP hands out the NIC address (reserve it there) */
	bool serial_console;                 /* console=ttyS0 expected on the kernel command line */
	bool supports_secure_boot;           /* can boot a Secure Boot source unchanged */
	bool swap_on_os_disk_warn;           /* swap belongs on a resource disk */
	uint64_t root_free_min;              /* bytes free on / the preparation needs */
	uint64_t var_free_min;
};

const struct target_profile *target_find(const char *name);
const struct target_profile *target_get(enum target_id id);

#endif
