/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which filesystems to freeze, and in which order. One entry per superblock (bind mounts share
 * major:minor and must be frozen once: a second FIFREEZE on the same superblock is EBUSY). The
 * order matters for more than tidiness: a filesystem on a loop device whose image lives on another
 * filesystem must be frozen first, or freezing it would write its dirty data into an already frozen
 * filesystem and block for ever. Likewise children before parents, "/" last (qemu-ga does the same).
 */
#include "quiesce.h"
#include "fileio.h"

#include <limits.h>
#include <sys/sysmacros.h>

/*
 * What a filesystem type is to the freeze. Pseudo filesystems are kernel interfaces with no data:
 * left out without a word (a host has dozens). The others are listed as skipped, with the reason
 * (design.md §5: skip what cannot be frozen and say so): memory ones have nothing to make
 * consistent, network ones we must not stall (other clients, and our own I/O to the appliance),
 * FUSE ones would freeze through a userspace daemon that may itself write to a frozen filesystem.
 */
enum fs_class {
	FSC_FREEZABLE,
	FSC_PSEUDO,
	FSC_MEMORY,
	FSC_NETWORK,
	FSC_FUSE,
	FSC_IMAGE,
	FSC_OVERLAY,
	FSC_NO_FREEZE,
};

static const struct {
	const char *fstype;
	enum fs_class class;
} fs_classes[] = {
	{ "proc", FSC_PSEUDO },	      { "sysfs", FSC_PSEUDO },	       { "devtmpfs", FSC_PSEUDO },
	{ "devpts", FSC_PSEUDO },     { "cgroup", FSC_PSEUDO },	       { "cgroup2", FSC_PSEUDO },
	{ "securityfs", FSC_PSEUDO }, { "debugfs", FSC_PSEUDO },       { "tracefs", FSC_PSEUDO },
	{ "pstore", FSC_PSEUDO },     { "bpf", FSC_PSEUDO },	       { "mqueue", FSC_PSEUDO },
	{ "configfs", FSC_PSEUDO },   { "fusectl", FSC_PSEUDO },       { "autofs", FSC_PSEUDO },
	{ "binfmt_misc", FSC_PSEUDO }, { "efivarfs", FSC_PSEUDO },     { "rpc_pipefs", FSC_PSEUDO },
	{ "nsfs", FSC_PSEUDO },	      { "selinuxfs", FSC_PSEUDO },     { "nfsd", FSC_PSEUDO },
	{ "tmpfs", FSC_MEMORY },      { "ramfs", FSC_MEMORY },	       { "hugetlbfs", FSC_MEMORY },
	{ "nfs", FSC_NETWORK },	      { "nfs4", FSC_NETWORK },	       { "cifs", FSC_NETWORK },
	{ "smb3", FSC_NETWORK },      { "smbfs", FSC_NETWORK },	       { "ceph", FSC_NETWORK },
	{ "glusterfs", FSC_NETWORK }, { "9p", FSC_NETWORK },	       { "virtiofs", FSC_NETWORK },
	{ "afs", FSC_NETWORK },	      { "fuse", FSC_FUSE },	       { "fuseblk", FSC_FUSE },
	{ "squashfs", FSC_IMAGE },    { "iso9660", FSC_IMAGE },	       { "udf", FSC_IMAGE },
	{ "overlay", FSC_OVERLAY },   { "zfs", FSC_NO_FREEZE },
};

static const char *const class_reasons[] = {
	[FSC_PSEUDO] = "pseudo filesystem",
	[FSC_MEMORY] = "memory filesystem",
	[FSC_NETWORK] = "network filesystem",
	[FSC_FUSE] = "userspace (FUSE) filesystem",
	[FSC_IMAGE] = "read-only image filesystem",
	[FSC_OVERLAY] = "overlay filesystem (its layers are frozen with their own filesystems)",
	[FSC_NO_FREEZE] = "the filesystem does not support freezing",
};

static enum fs_class fs_class(const char *fstype)
{
	if (startswith(fstype, "fuse."))
		return FSC_FUSE;
	for (size_t i = 0; i < ARRAY_SIZE(fs_classes); i++)
		if (streq(fstype, fs_classes[i].fstype))
			return fs_classes[i].class;
	return FSC_FREEZABLE;
}

const char *quiesce_fs_skip_reason(const struct quiesce_fs *f)
{
	const char *r = class_reasons[fs_class(f->fstype)];

	if (f->state != QFS_SKIPPED)
		return NULL;
	if (r)
		return r;
	if (f->error == EROFS)
		return "read-only";
	if (f->error == EOPNOTSUPP)
		return "the filesystem does not support freezing";
	return f->error ? strerror(f->error) : "cannot be frozen";
}

static struct quiesce_fs *plan_find_dev(struct quiesce_plan *p, unsigned major, unsigned minor)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].major == major && p->v[i].minor == minor)
			return &p->v[i];
	return NULL;
}

/* SKIP: listed, never frozen (read-only mounts always are). */
static void plan_add(struct quiesce_plan *p, const struct mount_entry *m, bool skip)
{
	struct quiesce_fs *f = plan_find_dev(p, m->major, m->minor);

	if (f) {
		/* Prefer the mount of the whole filesystem over a bind mount of a subdirectory. */
		if (!strv_contains(&f->aliases, m->target))
			strv_push(&f->aliases, m->target);
		return;
	}
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	f = &p->v[p->n++];
	*f = (struct quiesce_fs){
		.mount = xstrdup(m->target),
		.fstype = xstrdup(m->fstype),
		.source = xstrdup(m->source),
		.major = m->major,
		.minor = m->minor,
		.state = skip || m->read_only ? QFS_SKIPPED : QFS_PLANNED,
		.error = m->read_only ? EROFS : 0,
	};
	strv_push(&f->aliases, m->target);
}

/* The mount that is visible at PATH: the last one mounted there. */
static const struct mount_entry *find_mount(const struct mount_table *t, const char *path)
{
	const struct mount_entry *found = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (streq(t->v[i].target, path))
			found = &t->v[i];
	return found;
}

static int plan_explicit(const struct mount_table *t, const char *const *only, struct quiesce_plan *p, char **bad)
{
	for (const char *const *o = only; *o; o++) {
		char resolved[PATH_MAX];
		const char *path = realpath(*o, resolved) ? resolved : *o;
		const struct mount_entry *m = find_mount(t, path);

		if (!m) {
			*bad = xasprintf("%s: not a mount point", *o);
			return -EINVAL;
		}
		plan_add(p, m, false); /* asked for: tried, EOPNOTSUPP says if it cannot be frozen */
	}
	return 0;
}

int quiesce_plan_build(const struct mount_table *t, const char *const *only, struct quiesce_plan *plan,
		       char **bad)
{
	struct quiesce_plan p = { 0 };
	int r = 0;

	*bad = NULL;
	if (only && *only) {
		r = plan_explicit(t, only, &p, bad);
	} else {
		/* What we freeze first, then what we list as skipped (so a read-only bind mount never
		 * hides a writable superblock); whole-filesystem mounts before bind mounts in each, so a
		 * bind mount never becomes the entry's mount point. */
		for (int pass = 0; pass < 4; pass++)
			for (size_t i = 0; i < t->n; i++) {
				const struct mount_entry *m = &t->v[i];
				enum fs_class c = fs_class(m->fstype);
				bool skip = m->read_only || c != FSC_FREEZABLE;

				if (c == FSC_PSEUDO || skip != (pass >= 2) || streq(m->root, "/") != (pass % 2 == 0))
					continue;
				plan_add(&p, m, skip);
			}
	}
	if (r < 0) {
		quiesce_plan_free(&p);
		return r;
	}
	/* Mountinfo lists mounts in mount order: reversed, later (inner) mounts come first. */
	for (size_t i = 0; i < p.n / 2; i++) {
		struct quiesce_fs tmp = p.v[i];
		p.v[i] = p.v[p.n - 1 - i];
		p.v[p.n - 1 - i] = tmp;
	}
	quiesce_plan_order(&p);
	*plan = p;
	return 0;
}

/* A must be frozen before B: A is mounted below B, or A's loop image is on B. */
static bool must_precede(const struct quiesce_fs *a, const struct quiesce_fs *b)
{
	if (streq(b->mount, "/"))
		return !streq(a->mount, "/");
	for (size_t i = 0; i < b->aliases.n; i++) {
		const char *bm = b->aliases.v[i];

		if (!streq(a->mount, bm) && path_is_under(a->mount, bm))
			return true;
		if (a->backing && path_is_under(a->backing, bm))
			return true;
	}
	return false;
}

void quiesce_plan_order(struct quiesce_plan *plan)
{
	size_t n = plan->n;
	_cleanup_free_ struct quiesce_fs *out = xcalloc(n ? n : 1, sizeof(*out));
	_cleanup_free_ bool *used = xcalloc(n ? n : 1, sizeof(*used));

	/* Stable topological sort, O(n^3) worst case: plans have tens of entries. */
	for (size_t k = 0; k < n; k++) {
		size_t pick = n;

		for (size_t i = 0; i < n && pick == n; i++) {
			bool ready = !used[i];

			for (size_t j = 0; j < n && ready; j++)
				if (j != i && !used[j] && must_precede(&plan->v[j], &plan->v[i]) &&
				    !must_precede(&plan->v[i], &plan->v[j]))
					ready = false;
			if (ready)
				pick = i;
		}
		for (size_t i = 0; i < n && pick == n; i++) /* a cycle: take the next in line */
			if (!used[i])
				pick = i;
		used[pick] = true;
		out[k] = plan->v[pick];
	}
	if (n)
		memcpy(plan->v, out, n * sizeof(*out));
}

static char *loop_backing_file(const char *source)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	size_t len;

	if (!startswith(source, "/dev/loop"))
		return NULL;
	path = xasprintf("/sys/block/%s/loop/backing_file", source + strlen("/dev/"));
	if (read_file_bounded(path, 8192, &buf, &len) < 0)
		return NULL;
	strstrip(buf);
	return buf[0] ? xstrdup(buf) : NULL;
}

int quiesce_plan_read(const char *mountinfo, const char *const *only, struct quiesce_plan *plan, char **bad)
{
	_cleanup_(mountinfo_free) struct mount_table t = { 0 };
	long errline = 0;
	int r;

	*bad = NULL;
	r = mountinfo_read(mountinfo, &t, &errline);
	if (r < 0) {
		*bad = xasprintf("%s:%ld: %s", mountinfo ? mountinfo : "/proc/self/mountinfo", errline, errstr(r));
		return r;
	}
	r = quiesce_plan_build(&t, only, plan, bad);
	if (r < 0)
		return r;
	for (size_t i = 0; i < plan->n; i++)
		plan->v[i].backing = loop_backing_file(plan->v[i].source);
	quiesce_plan_order(plan);
	return 0;
}

void quiesce_plan_free(struct quiesce_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct quiesce_fs *f = &plan->v[i];

		free(f->mount);
		free(f->fstype);
		free(f->source);
		free(f->backing);
		strv_free(&f->aliases);
	}
	free(plan->v);
	*plan = (struct quiesce_plan){ 0 };
}

bool quiesce_plan_has_dev(const struct quiesce_plan *plan, dev_t dev)
{
	/* Skipped entries (/run's tmpfs, where the state lives) are listed, never frozen. */
	for (size_t i = 0; i < plan->n; i++)
		if (plan->v[i].state != QFS_SKIPPED && makedev(plan->v[i].major, plan->v[i].minor) == dev)
			return true;
	return false;
}

const char *quiesce_fs_state_name(enum quiesce_fs_state s)
{
	static const char *const names[] = {
		[QFS_PLANNED] = "planned", [QFS_PENDING] = "pending", [QFS_FROZEN] = "frozen",
		[QFS_SKIPPED] = "skipped", [QFS_BUSY] = "busy", [QFS_FAILED] = "failed",
		[QFS_THAWED] = "thawed", [QFS_THAW_FAILED] = "thaw-failed",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}
