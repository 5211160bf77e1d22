/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fstab-resolve.h"

#include <blkid.h>
#include <ctype.h>

struct disk_map {
	char base[64];
	const struct blk_disk *disk;
};

struct fstab_resolver {
	const struct disk_set *ds;
	const char *root;
	bool live;
	struct disk_map map[16];
	size_t nmap;
};

bool kernel_name_split(const char *devpath, char *base, size_t baselen, int *partno)
{
	const char *name = startswith(devpath, "/dev/") ? devpath + 5 : devpath;
	size_t l = strlen(name), digits = 0;

	if (fstab_spec_kind(devpath, NULL) != SPEC_KERNEL_NAME || l >= baselen)
		return false;
	while (digits < l && isdigit((unsigned char)name[l - 1 - digits]))
		digits++;
	*partno = 0;
	if (startswith(name, "nvme") || startswith(name, "mmcblk")) {
		const char *p = strrchr(name, 'p');
		/* nvme0n1p2: the partition follows the last 'p'; nvme0n1 is a whole disk. */
		if (p && p > name + 4 && isdigit((unsigned char)p[1])) {
			snprintf(base, baselen, "%.*s", (int)(p - name), name);
			*partno = atoi(p + 1);
		} else {
			snprintf(base, baselen, "%s", name);
		}
		return true;
	}
	snprintf(base, baselen, "%.*s", (int)(l - digits), name);
	if (digits)
		*partno = atoi(name + l - digits);
	return true;
}

static const struct blk_volume *by_partno(const struct blk_disk *d, int partno)
{
	for (size_t i = 0; i < d->nvols; i++)
		if (d->vols[i].partno == partno)
			return &d->vols[i];
	return NULL;
}

static const struct blk_volume *by_tag(const struct fstab_resolver *r, const char *spec)
{
	static const struct { const char *tag, *link; } tags[] = {
		{ "UUID", "/dev/disk/by-uuid/" }, { "LABEL", "/dev/disk/by-label/" },
		{ "PARTUUID", "/dev/disk/by-partuuid/" }, { "PARTLABEL", "/dev/disk/by-partlabel/" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		_cleanup_free_ char *v = fstab_tag_value(spec, tags[i].tag);

		if (!v && startswith(spec, tags[i].link))
			v = xstrdup(spec + strlen(tags[i].link));
		if (v)
			return disks_find_tag(r->ds, tags[i].tag, v, NULL);
	}
	return NULL;
}

/* Live: probe the device node itself for its UUID (it exists on this system). */
static const struct blk_volume *by_live_device(const struct fstab_resolver *r, const char *dev)
{
	_cleanup_free_ char *uuid = NULL;
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	const char *u = NULL;

	if (!pr)
		return NULL;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID);
	if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "UUID", &u, NULL) == 0)
		uuid = xstrdup(u);
	blkid_free_probe(pr);
	return uuid ? disks_find_tag(r->ds, "UUID", uuid, NULL) : NULL;
}

static void learn(struct fstab_resolver *r, const struct fstab_entry *e)
{
	const struct blk_disk *disk = NULL;
	char base[64];
	int partno;

	if (r->nmap == ARRAY_SIZE(r->map) || !kernel_name_split(e->spec, base, sizeof(base), &partno))
		return;
	if (!disks_find_mount(r->ds, r->root, e->file, &disk) || !disk)
		return;
	for (size_t i = 0; i < r->nmap; i++)
		if (streq(r->map[i].base, base))
			return;
	snprintf(r->map[r->nmap].base, sizeof(r->map[r->nmap].base), "%s", base);
	r->map[r->nmap++].disk = disk;
}

struct fstab_resolver *fstab_resolver_new(const struct fstab *f, const struct disk_set *ds, const char *root,
					  bool live)
{
	struct fstab_resolver *r = xcalloc(1, sizeof(*r));

	r->ds = ds;
	r->root = root;
	r->live = live;
	if (!live)
		for (size_t i = 0; i < f->n; i++)
			learn(r, &f->v[i]);
	return r;
}

const struct blk_volume *fstab_resolve(struct fstab_resolver *r, const struct fstab_entry *e)
{
	const struct blk_volume *v = by_tag(r, e->spec);
	char base[64];
	int partno;

	if (v || fstab_spec_kind(e->spec, e->type) <= SPEC_PARTLABEL)
		return v;
	if (r->live && startswith(e->spec, "/dev/"))
		return by_live_device(r, e->spec);
	if (!streq(e->type, "swap") && (v = disks_find_mount(r->ds, r->root, e->file, NULL)))
		return v;
	if (kernel_name_split(e->spec, base, sizeof(base), &partno))
		for (size_t i = 0; i < r->nmap; i++)
			if (streq(r->map[i].base, base))
				return by_partno(r->map[i].disk, partno);
	return NULL;
}

void fstab_resolver_free(struct fstab_resolver *r)
{
	free(r);
}
