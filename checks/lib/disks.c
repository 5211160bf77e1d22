/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "disks.h"
#include "fileio.h"
#include "mountinfo.h"

#include <blkid.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static void set_str(char **dst, blkid_probe pr, const char *name)
{
	const char *v = NULL;

	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		*dst = xstrdup(v);
}

/* Probe the filesystem (or LUKS, swap, LVM PV...) at [offset, offset+size) of fd. */
static void probe_superblock(int fd, uint64_t offset, uint64_t size, struct blk_volume *v)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL |
							      BLKID_SUBLKS_VERSION);
		blkid_probe_enable_partitions(pr, 0);
		if (blkid_do_safeprobe(pr) == 0) {
			set_str(&v->fstype, pr, "TYPE");
			set_str(&v->uuid, pr, "UUID");
			set_str(&v->label, pr, "LABEL");
			set_str(&v->fsversion, pr, "VERSION");
		}
	}
	blkid_free_probe(pr);
}

static char *part_devname(const struct blk_disk *d, int partno)
{
	const char *base = strrchr(d->path, '/');
	char last;

	if (d->is_image || !base)
		return xasprintf("%s partition %d", d->path, partno);
	last = d->path[strlen(d->path) - 1];
	/* /dev/sda -> /dev/sda1, /dev/loop0 -> /dev/loop0p1, /dev/nvme0n1 -> /dev/nvme0n1p1 */
	return xasprintf("%s%s%d", d->path, last >= '0' && last <= '9' ? "p" : "", partno);
}

static void add_vol(struct blk_disk *d, struct blk_volume v)
{
	d->vols = xrealloc(d->vols, (d->nvols + 1) * sizeof(*d->vols));
	d->vols[d->nvols++] = v;
}

static void probe_disk(struct blk_disk *d)
{
	_cleanup_close_ int fd = open(d->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	blkid_probe pr;
	struct stat st;

	if (fd < 0) {
		d->error = xasprintf("cannot open %s: %s", d->path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == 0)
		d->is_image = S_ISREG(st.st_mode);
	if (pread(fd, d->mbr, sizeof(d->mbr), 0) == (ssize_t)sizeof(d->mbr))
		d->have_mbr = true;
	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0) != 0) {
		d->error = xasprintf("%s: libblkid cannot probe it", d->path);
		blkid_free_probe(pr);
		return;
	}
	d->size = (uint64_t)blkid_probe_get_size(pr);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	blkid_probe_enable_superblocks(pr, 0);

	blkid_partlist pl = blkid_probe_get_partitions(pr);
	blkid_parttable pt = pl ? blkid_partlist_get_table(pl) : NULL;
	if (pt) {
		int n = blkid_partlist_numof_partitions(pl);

		d->pttype = xstrdup(blkid_parttable_get_type(pt));
		for (int i = 0; i < n; i++) {
			blkid_partition p = blkid_partlist_get_partition(pl, i);
			struct blk_volume v = { 0 };
			const char *s;

			if (!p)
				continue;
			v.partno = blkid_partition_get_partno(p);
			v.offset = (uint64_t)blkid_partition_get_start(p) * 512;
			v.size = (uint64_t)blkid_partition_get_size(p) * 512;
			v.flags = (unsigned)blkid_partition_get_flags(p);
			if ((s = blkid_partition_get_uuid(p)))
				v.partuuid = xstrdup(s);
			if ((s = blkid_partition_get_name(p)))
				v.partlabel = xstrdup(s);
			if ((s = blkid_partition_get_type_string(p)))
				v.parttype = xstrdup(s);
			else
				v.parttype = xasprintf("0x%x", blkid_partition_get_type(p));
			v.name = part_devname(d, v.partno);
			/* An extended partition holds the logical ones; it has no filesystem of its own. */
			if (!blkid_partition_is_extended(p))
				probe_superblock(fd, v.offset, v.size, &v);
			add_vol(d, v);
		}
	} else {
		struct blk_volume v = { .name = xstrdup(d->path), .size = d->size };

		probe_superblock(fd, 0, 0, &v);
		add_vol(d, v);
	}
	blkid_free_probe(pr);
}

/* /sys/dev/block/M:m -> the whole disks under it (following dm/md slaves down). */
static void collect_disks(unsigned maj, unsigned min, strv *out, int depth)
{
	char sys[64], real[PATH_MAX], buf[PATH_MAX + 16];
	_cleanup_closedir_ DIR *slaves = NULL;
	struct dirent *de;
	const char *name;

	if (depth > 8)
		return;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
	if (!realpath(sys, real))
		return;
	snprintf(buf, sizeof(buf), "%s/slaves", real);
	slaves = opendir(buf);
	if (slaves) {
		bool any = false;

		while ((de = readdir(slaves))) {
			char dev[PATH_MAX + 300];
			_cleanup_free_ char *txt = NULL;
			unsigned a, b;

			if (de->d_name[0] == '.')
				continue;
			snprintf(dev, sizeof(dev), "%s/%s/dev", buf, de->d_name);
			if (read_file_bounded(dev, 64, &txt, NULL) == 0 && sscanf(txt, "%u:%u", &a, &b) == 2) {
				collect_disks(a, b, out, depth + 1);
				any = true;
			}
		}
		if (any) {
			/* Also the stacked device itself (LV, dm-crypt, md): its filesystem has the UUID
			 * that fstab names, while the disks below only show LVM2_member or crypto_LUKS. */
			name = strrchr(real, '/');
			if (name) {
				_cleanup_free_ char *dev = xasprintf("/dev/%s", name + 1);
				if (!strv_contains(out, dev))
					strv_push(out, dev);
			}
			return;
		}
	}
	snprintf(buf, sizeof(buf), "%s/partition", real);
	if (access(buf, F_OK) == 0) { /* a partition: its disk is the parent directory */
		char *slash = strrchr(real, '/');
		if (slash)
			*slash = '\0';
	}
	name = strrchr(real, '/');
	if (!name)
		return;
	_cleanup_free_ char *dev = xasprintf("/dev/%s", name + 1);
	if (!strv_contains(out, dev))
		strv_push(out, dev);
}

static void discover(const char *root, strv *paths, struct disk_set *ds)
{
	struct mount_table mt;
	long errline = 0;
	int r = mountinfo_read(NULL, &mt, &errline);

	if (r < 0) {
		ds->error = xasprintf("/proc/self/mountinfo: %s", r == -EBADMSG ? "malformed" : strerror(-r));
		return;
	}
	/* The mount that holds ROOT itself counts too: --root may be a directory, not a mount point. */
	const struct mount_entry *holder = NULL;
	for (size_t i = 0; i < mt.n; i++)
		if (path_is_under(root, mt.v[i].target) &&
		    (!holder || strlen(mt.v[i].target) >= strlen(holder->target)))
			holder = &mt.v[i];
	for (size_t i = 0; i < mt.n; i++) {
		const struct mount_entry *m = &mt.v[i];
		unsigned maj = m->major, min = m->minor;
		struct stat st;

		if (!path_is_under(m->target, root) && m != holder)
			continue;
		/* Live: only what the guest's own tree mounts matters, not /proc or containers' overlays. */
		if (maj == 0) {
			/* btrfs and some others report an anonymous device; the source names the real one. */
			if (startswith(m->source, "/dev/") && stat(m->source, &st) == 0 && S_ISBLK(st.st_mode)) {
				maj = major(st.st_rdev);
				min = minor(st.st_rdev);
			} else {
				continue;
			}
		}
		collect_disks(maj, min, paths, 0);
	}
	mountinfo_free(&mt);
}

void disks_probe(const char *root, const strv *given, struct disk_set *ds)
{
	_cleanup_strv_ strv paths = { 0 };

	memset(ds, 0, sizeof(*ds));
	if (given && given->n) {
		for (size_t i = 0; i < given->n; i++)
			strv_push(&paths, given->v[i]);
	} else {
		discover(root, &paths, ds);
	}
	for (size_t i = 0; i < paths.n; i++) {
		struct blk_disk d = { .path = xstrdup(paths.v[i]) };
		const char *base = strrchr(d.path, '/');

		base = base ? base + 1 : d.path;
		d.stacked = startswith(base, "dm-") || (startswith(base, "md") && !d.is_image);

		probe_disk(&d);
		ds->v = xrealloc(ds->v, (ds->n + 1) * sizeof(*ds->v));
		ds->v[ds->n++] = d;
	}
}

void disks_free(struct disk_set *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		struct blk_disk *d = &ds->v[i];

		for (size_t j = 0; j < d->nvols; j++) {
			struct blk_volume *v = &d->vols[j];
			free(v->name);
			free(v->fstype);
			free(v->fsversion);
			free(v->uuid);
			free(v->label);
			free(v->partuuid);
			free(v->parttype);
			free(v->partlabel);
		}
		free(d->vols);
		free(d->path);
		free(d->pttype);
		free(d->error);
	}
	free(ds->v);
	strv_free(&ds->notes);
	free(ds->error);
	memset(ds, 0, sizeof(*ds));
}

const struct blk_volume *disks_find_tag(const struct disk_set *ds, const char *tag, const char *value,
					const struct blk_disk **disk)
{
	for (size_t i = 0; i < ds->n; i++)
		for (size_t j = 0; j < ds->v[i].nvols; j++) {
			const struct blk_volume *v = &ds->v[i].vols[j];
			const char *have = streq(tag, "UUID")	   ? v->uuid
					   : streq(tag, "LABEL")   ? v->label
					   : streq(tag, "PARTUUID") ? v->partuuid
					   : streq(tag, "PARTLABEL") ? v->partlabel
								     : NULL;

			if (have && (streq(tag, "UUID") || streq(tag, "PARTUUID") ? strcasecmp(have, value) == 0
										    : streq(have, value))) {
				if (disk)
					*disk = &ds->v[i];
				return v;
			}
		}
	return NULL;
}

const struct blk_volume *disks_find_mount(const struct disk_set *ds, const char *root, const char *mountpoint,
					  const struct blk_disk **disk)
{
	struct mount_table mt;
	const struct blk_volume *found = NULL;
	_cleanup_free_ char *want = NULL;

	if (mountinfo_read(NULL, &mt, NULL) < 0)
		return NULL;
	want = streq(root, "/") ? xstrdup(mountpoint)
	       : streq(mountpoint, "/") ? xstrdup(root) : xasprintf("%s%s", root, mountpoint);
	/* The last mount on a path is the visible one. */
	for (size_t i = mt.n; i-- > 0 && !found;) {
		const struct mount_entry *m = &mt.v[i];
		_cleanup_free_ char *uuid = NULL;
		blkid_probe pr;
		const char *u = NULL;

		if (!streq(m->target, want) || !startswith(m->source, "/dev/"))
			continue;
		/* Identify the mounted filesystem by its UUID, which holds for loop partitions too. */
		pr = blkid_new_probe_from_filename(m->source);
		if (pr) {
			blkid_probe_enable_superblocks(pr, 1);
			blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID);
			if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "UUID", &u, NULL) == 0)
				uuid = xstrdup(u);
			blkid_free_probe(pr);
		}
		if (uuid)
			found = disks_find_tag(ds, "UUID", uuid, disk);
		break;
	}
	mountinfo_free(&mt);
	return found;
}

int disks_read(const struct blk_disk *d, uint64_t offset, void *buf, size_t len)
{
	_cleanup_close_ int fd = open(d->path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = pread(fd, buf, len, (off_t)offset);
	if (r < 0)
		return -errno;
	return r == (ssize_t)len ? 0 : -EIO;
}
