/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "bootlayout.h"

#include <strings.h>

#define SECTOR 512u

bool vol_is_bios_boot(const struct blk_volume *v)
{
	return v->parttype && strcasecmp(v->parttype, GPT_TYPE_BIOS_BOOT) == 0;
}

bool vol_is_esp(const struct blk_volume *v)
{
	return v->parttype && (strcasecmp(v->parttype, GPT_TYPE_ESP) == 0 || strcasecmp(v->parttype, "0xef") == 0);
}

static void note_read_error(struct boot_layout *l, const struct blk_disk *d, uint64_t off, int err)
{
	if (!l->read_error)
		l->read_error = xasprintf("%s: cannot read offset %llu: %s", d->path, (unsigned long long)off,
					  strerror(-err));
}

/* The disk that holds /boot, else /, else the only (or first) disk. */
static void pick_disk(const struct sysroot *sr, const struct disk_set *ds, struct boot_layout *l)
{
	static const char *const mounts[] = { "/boot", "/" };

	for (size_t i = 0; i < ARRAY_SIZE(mounts) && !l->disk; i++)
		if (disks_find_mount(ds, sysroot_path(sr), mounts[i], &l->disk))
			l->disk_found_by = mounts[i];
	/* /boot on LVM or md is no partition of ours: take the disk that carries boot code, an ESP or
	 * a BIOS boot partition, else the first one. */
	for (size_t i = 0; i < ds->n && !l->disk; i++) {
		const struct blk_disk *d = &ds->v[i];
		struct bootcode_info b;
		bool boots = false;

		if (d->error || !d->have_mbr)
			continue;
		bootcode_identify(d->mbr, sizeof(d->mbr), &b);
		boots = b.loader != BL_NONE && b.loader != BL_UNKNOWN;
		for (size_t j = 0; j < d->nvols && !boots; j++)
			boots = vol_is_esp(&d->vols[j]) || vol_is_bios_boot(&d->vols[j]);
		if (boots && ds->n > 1) {
			l->disk = d;
			l->disk_found_by = "boot code or a boot partition";
		}
	}
	if (!l->disk && ds->n) {
		l->disk = &ds->v[0];
		l->disk_found_by = ds->n == 1 ? "the only disk" : "the first disk";
	}
}

static void probe_core(const struct blk_disk *d, struct boot_layout *l)
{
	unsigned char sec[SECTOR];
	int r;

	if (l->mbr.loader != BL_GRUB2 || !l->mbr.has_core_sector)
		return;
	l->core_sector = l->mbr.core_sector;
	if (l->core_sector == 0 || l->core_sector > d->size / SECTOR)
		return; /* nonsense LBA: reported as missing core.img below */
	r = disks_read(d, l->core_sector * SECTOR, sec, sizeof(sec));
	if (r < 0) {
		note_read_error(l, d, l->core_sector * SECTOR, r);
		return;
	}
	l->core_checked = true;
	l->core_found = bootcode_is_grub_core(sec, sizeof(sec));
}

static void probe_partitions(const struct blk_disk *d, struct boot_layout *l)
{
	unsigned char sec[SECTOR];

	for (size_t i = 0; i < d->nvols; i++) {
		const struct blk_volume *v = &d->vols[i];
		int r;

		if (!v->partno || v->size < SECTOR)
			continue;
		if (vol_is_esp(v) && !l->esp_vol)
			l->esp_vol = v;
		r = disks_read(d, v->offset, sec, sizeof(sec));
		if (r < 0) {
			note_read_error(l, d, v->offset, r);
			continue;
		}
		if (vol_is_bios_boot(v) && !l->bios_boot) {
			l->bios_boot = v;
			l->bios_boot_has_core = bootcode_is_grub_core(sec, sizeof(sec));
			continue;
		}
		if (!l->vbr_vol) {
			struct bootcode_info b;

			/* Filesystems leave their first sector to a loader (ext*, FAT's boot code) or hold
			 * their superblock there (XFS): only a recognised loader counts. */
			bootcode_identify_vbr(sec, sizeof(sec), &b);
			if (b.loader != BL_NONE && b.loader != BL_UNKNOWN && b.loader != BL_DOS) {
				l->vbr_vol = v;
				l->vbr = b;
			}
		}
	}
}

static void verdict(struct boot_layout *l)
{
	switch (l->mbr.loader) {
	case BL_GRUB2:
		/* boot.img loads core.img from the LBA it carries: the MBR gap or the BIOS boot partition. */
		if (!l->mbr.has_core_sector)
			l->bios_ok = true; /* an early release: nothing to verify */
		else if (l->core_sector == 0 || l->core_sector > l->disk->size / SECTOR)
			l->bios_broken = true;
		else if (l->core_checked)
			l->bios_broken = !l->core_found;
		l->bios_ok = !l->bios_broken;
		break;
	case BL_GRUB_LEGACY:
	case BL_LILO:
		l->bios_ok = true;
		break;
	case BL_SYSLINUX:
	case BL_SYSLINUX_GPT:
	case BL_DOS:
		/* These only chain-load a partition's boot sector: a loader must be there. */
		l->bios_ok = l->vbr_vol != NULL;
		break;
	default:
		break;
	}
	l->esp_chain = l->esp.mount ? esp_chain(&l->esp) : NULL;
	l->uefi_ok = l->esp_chain != NULL;
}

void boot_layout_probe(const struct sysroot *sr, const struct disk_set *ds, struct boot_layout *l)
{
	memset(l, 0, sizeof(*l));
	esp_scan(sr, &l->esp);
	pick_disk(sr, ds, l);
	if (l->disk && !l->disk->error && l->disk->have_mbr) {
		l->have_mbr = true;
		bootcode_identify(l->disk->mbr, sizeof(l->disk->mbr), &l->mbr);
		probe_core(l->disk, l);
		probe_partitions(l->disk, l);
	}
	verdict(l);
}

void boot_layout_free(struct boot_layout *l)
{
	esp_free(&l->esp);
	free(l->read_error);
	memset(l, 0, sizeof(*l));
}
