/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "target.h"

#include <stddef.h>
#include <string.h>

#define GiB (1024ull * 1024 * 1024)
#define MiB (1024ull * 1024)

static const struct target_driver azure_drivers[] = {
	{ "hv_vmbus", true, "Hyper-V VMBus: every synthetic device hangs off it" },
	{ "hv_storvsc", true, "Hyper-V storage: without it the root disk is never found" },
	{ "hv_netvsc", true, "Hyper-V network adapter" },
	{ "hv_utils", false, "Hyper-V integration services (shutdown, time sync, heartbeat)" },
	{ NULL, false, NULL },
};
static const struct target_driver kvm_drivers[] = {
	{ "virtio_pci", true, "virtio PCI transport" },
	{ "virtio_blk|virtio_scsi", true, "virtio disk (virtio-blk or virtio-scsi)" },
	{ "virtio_net", true, "virtio network adapter" },
	{ NULL, false, NULL },
};
static const struct target_driver aws_drivers[] = {
	{ "nvme", true, "EBS volumes are NVMe devices on Nitro instances" },
	{ "ena", true, "Elastic Network Adapter on Nitro instances" },
	{ "xen_blkfront", false, "disks on Xen-based instance types" },
	{ "xen_netfront", false, "network on Xen-based instance types" },
	{ NULL, false, NULL },
};
static const struct target_driver no_drivers[] = { { NULL, false, NULL } };

static const char *const azure_keep[] = { "vfat", "udf", NULL };
static const char *const none[] = { NULL };
static const char *const azure_agents[] = { "waagent", "walinuxagent", "cloud-init", NULL };
static const char *const kvm_agents[] = { "qemu-guest-agent", NULL };
static const char *const aws_agents[] = { "amazon-ssm-agent", "cloud-init", NULL };

static const struct target_profile profiles[TARGET__COUNT] = {
	[TARGET_AZURE] = {
		.id = TARGET_AZURE, .name = "azure", .pretty = "Microsoft Azure",
		.drivers = azure_drivers, .keep_loadable = azure_keep, .guest_agents = azure_agents,
		.cloud_init_datasource = "Azure",
		.keeps_mac = false, .platform_assigns_ip = true, .serial_console = true, .supports_secure_boot = false,
		.swap_on_os_disk_warn = true, .root_free_min = 2 * GiB, .var_free_min = 512 * MiB,
	},
	[TARGET_KVM] = {
		.id = TARGET_KVM, .name = "kvm", .pretty = "KVM / OpenStack",
		.drivers = kvm_drivers, .keep_loadable = none, .guest_agents = kvm_agents,
		.keeps_mac = true, .serial_console = false, .supports_secure_boot = false,
		.swap_on_os_disk_warn = false, .root_free_min = 1 * GiB, .var_free_min = 512 * MiB,
	},
	[TARGET_AWS] = {
		.id = TARGET_AWS, .name = "aws", .pretty = "Amazon EC2",
		.drivers = aws_drivers, .keep_loadable = none, .guest_agents = aws_agents,
		.cloud_init_datasource = "Ec2",
		.keeps_mac = false, .platform_assigns_ip = true, .serial_console = true, .supports_secure_boot = false,
		.swap_on_os_disk_warn = false, .root_free_min = 1 * GiB, .var_free_min = 512 * MiB,
	},
	[TARGET_GENERIC] = {
		.id = TARGET_GENERIC, .name = "generic", .pretty = "a generic hypervisor",
		.drivers = no_drivers, .keep_loadable = none, .guest_agents = none,
		.keeps_mac = true, .serial_console = false, .supports_secure_boot = true,
		.swap_on_os_disk_warn = false, .root_free_min = 1 * GiB, .var_free_min = 256 * MiB,
	},
};

const struct target_profile *target_find(const char *name)
{
	for (size_t i = 0; i < TARGET__COUNT; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const struct target_profile *target_get(enum target_id id)
{
	return id < TARGET__COUNT ? &profiles[id] : NULL;
}
