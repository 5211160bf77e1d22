/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The disks of the inspected system and what libblkid finds on them: partition table, partitions,
 * filesystems (type, UUID, LABEL), PARTUUIDs. Works the same on block devices and on image files,
 * and never relies on /dev/disk/by-* links or on the kernel having parsed the partition table:
 * each partition's superblock is probed at its offset inside the whole disk.
 *
 * Without --disk, the disks are those backing the mounts at or below the root (device-mapper and
 * md stacked devices are followed down to their physical disks; partitions to their whole disk).
 */
#ifndef PREPCHECK_DISKS_H
#define PREPCHECK_DISKS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define GPT_TYPE_BIOS_BOOT "21686148-6449-6e6f-744e-656564454649"
#define GPT_TYPE_ESP "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define GPT_TYPE_LINUX_LVM "e6d6d379-f507-44c2-a23c-238f2a3df928"

struct blk_volume {
	char *name;       /* "/dev/loop0p1", or "IMAGE partition 1" for images */
	int partno;       /* 0: filesystem on the whole disk */
	uint64_t offset, size;
	char *fstype, *fsversion, *uuid, *label;
	char *partuuid, *parttype, *partlabel;
	unsigned flags;   /* MBR: 0x80 for the active partition */
};

struct blk_disk {
	char *path;       /* /dev/sda, /dev/loop3, or an image file */
	bool is_image;
	bool stacked;     /* device-mapper or md device: no boot code, no partition table of its own */
	uint64_t size;
	char *pttype;     /* "dos", "gpt" or NULL */
	unsigned char mbr[512];
	bool have_mbr;
	struct blk_volume *vols;
	size_t nvols;
	char *error;      /* probing failed: why */
};

struct disk_set {
	struct blk_disk *v;
	size_t n;
	strv notes;       /* what could not be resolved (e.g. a mount from a network fs) */
	char *error;      /* discovery itself failed */
};

/* Probe the given disks (--disk), or discover them from the mounts under ROOT when none given. */
void disks_probe(const char *root, const strv *given, struct disk_set *ds);
void disks_free(struct disk_set *ds);

/* Find a volume by fstab tag (tag is "UUID", "LABEL", "PARTUUID", "PARTLABEL"). */
const struct blk_volume *disks_find_tag(const struct disk_set *ds, const char *tag, const char *value,
					const struct blk_disk **disk);
/* The disk and volume that hold the filesystem mounted at MOUNTPOINT (guest path) under ROOT. */
const struct blk_volume *disks_find_mount(const struct disk_set *ds, const char *root, const char *mountpoint,
					  const struct blk_disk **disk);
/* Read LEN bytes at OFFSET of a disk (for boot code, BIOS boot partitions). */
int disks_read(const struct blk_disk *d, uint64_t offset, void *buf, size_t len);

#endif
