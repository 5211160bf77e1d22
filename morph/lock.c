/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One --fix or --undo at a time per root: flock(2) on ROOT/var/lib/mobility-agent/morph/.lock. */
#include "journal.h"
#include "fileio.h"

#include <fcntl.h>
#include <sys/file.h>

int morph_lock(const struct sysroot *sr, int *out, char **why)
{
	_cleanup_close_ int fd = -1;
	char pid[32] = "";
	int r;

	r = sysroot_mkdir_p(sr, MORPH_STATE_DIR, 0700, NULL);
	if (r < 0) {
		*why = xasprintf("cannot create %s in %s: %s", MORPH_STATE_DIR, sysroot_path(sr), strerror(-r));
		return r;
	}
	fd = sysroot_open(sr, MORPH_LOCK_PATH, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*why = xasprintf("cannot open the lock %s in %s: %s", MORPH_LOCK_PATH, sysroot_path(sr),
				 strerror(-fd));
		return fd;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			*why = xasprintf("cannot lock %s: %s", MORPH_LOCK_PATH, strerror(errno));
			return -errno;
		}
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		*why = xasprintf("another prepcheck --fix or --undo is running on %s (it holds %s%s%s); "
				 "wait for it to finish", sysroot_path(sr), MORPH_LOCK_PATH, *strstrip(pid) ? ", pid " : "",
				 strstrip(pid));
		return -EBUSY;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, pid, strlen(pid), 0);
	*out = TAKE_FD(fd);
	return 0;
}
