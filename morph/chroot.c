/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API filesystems a distribution's initramfs generator expects inside the chroot (and /run). */
#include "apply.h"
#include "log.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>

static int mount_into(const struct sysroot *sr, const char *dir, const char *src, const char *type,
		      unsigned long flags, struct chroot_mounts *cm, char **why)
{
	/* The guest's directory opened without following symlinks, then mounted on through its fd: a guest
	 * /proc that is a symlink to the host's /etc can never redirect the mount. */
	_cleanup_close_ int fd = sysroot_open(sr, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	char fdpath[64];

	if (fd < 0) {
		*why = xasprintf("%s%s: not a directory in the root (%s); cannot prepare the chroot", sysroot_path(sr),
				 dir, strerror(-fd));
		return fd;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (mount(src, fdpath, type, flags, NULL) < 0) {
		*why = xasprintf("mount %s on %s%s: %s", src, sysroot_path(sr), dir, strerror(errno));
		return -errno;
	}
	strv_push_take(&cm->targets, sysroot_host_path(sr, dir));
	return 0;
}

int chroot_mounts_setup(const struct sysroot *sr, struct chroot_mounts *cm, char **why)
{
	int r;

	if (!cm->unshared) {
		if (unshare(CLONE_NEWNS) < 0) {
			*why = xasprintf("cannot create a private mount namespace for the chroot: %s", strerror(errno));
			return -errno;
		}
		/* Nothing mounted from here on propagates back to the host's namespace. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			*why = xasprintf("cannot make the mount namespace private: %s", strerror(errno));
			return -errno;
		}
		cm->unshared = true;
	}
	if (cm->targets.n)
		return 0;
	/* The root's fd was opened in the old namespace, whose mounts this one may not mount on: resolve
	 * the root's path again, in the new namespace. */
	_cleanup_sysroot_ struct sysroot *ns = NULL;
	r = sysroot_new(sysroot_path(sr), 0, &ns);
	if (r < 0) {
		*why = xasprintf("%s: cannot open the root in the new mount namespace: %s", sysroot_path(sr), strerror(-r));
		return r;
	}
	r = mount_into(ns, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, cm, why);
	if (r == 0)
		r = mount_into(ns, "/sys", "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, cm, why);
	if (r == 0)
		r = mount_into(ns, "/dev", "/dev", NULL, MS_BIND | MS_REC, cm, why);
	/* /run is a tmpfs on every running system: what the tools leave there (blkid's cache) must not
	 * land on the guest's disk. */
	if (r == 0 && sysroot_exists(ns, "/run"))
		r = mount_into(ns, "/run", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, cm, why);
	if (r < 0)
		chroot_mounts_teardown(cm);
	return r;
}

void chroot_mounts_teardown(struct chroot_mounts *cm)
{
	for (size_t i = cm->targets.n; i-- > 0;)
		if (umount2(cm->targets.v[i], MNT_DETACH) < 0)
			log_warn("%s: cannot unmount: %s (it goes away when prepcheck exits)", cm->targets.v[i],
				 strerror(errno));
	strv_free(&cm->targets);
}
