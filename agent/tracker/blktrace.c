/* SPDX-License-Identifier: GPL-2.0-or-later */
/* blktrace ioctls, relay files and debugfs; see blktrace.h. */
#include "blktrace.h"
#include "records.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <linux/fs.h>
#include <linux/blktrace_api.h>

#ifndef DEBUGFS_MAGIC
#define DEBUGFS_MAGIC 0x64626720
#endif

/*
 * The v2 setup (Linux 6.18): 64-bit categories, so write-zeroes and zone operations have bits of
 * their own. Such a kernel DROPS those events from a v1 trace (they do not fit its 16 bits), so v2
 * is not optional where it exists. Declared here because build hosts' uapi headers predate it.
 */
struct trk_user_trace_setup2 {
	char name[64];
	uint64_t act_mask;
	uint32_t buf_size;
	uint32_t buf_nr;
	uint64_t start_lba;
	uint64_t end_lba;
	uint32_t pid;
	uint32_t flags;
	uint64_t reserved[11];
};
#define TRK_BLKTRACESETUP2 _IOWR(0x12, 142, struct trk_user_trace_setup2)

/*
 * The mask selects events having ANY of its categories, so WRITE|DISCARD would also deliver every
 * queue, merge, issue and insert event of every write (~6 per request). COMPLETE alone delivers
 * exactly one event per finished request (reads too); records.c keeps the writes, discards and
 * write-zeroes among them. Completions, not submissions: the design marks on completion.
 */
#define TRK_ACT_MASK BLK_TC_COMPLETE

int trk_debugfs_ensure(char *err, size_t errlen)
{
	struct statfs sf;

	if (statfs(TRK_DEBUGFS, &sf) == 0 && (unsigned long)sf.f_type == DEBUGFS_MAGIC)
		return 0;
	if (mount("none", TRK_DEBUGFS, "debugfs", 0, NULL) < 0) {
		int r = -errno;

		snprintf(err, errlen, "debugfs is not mounted on %s and mounting it failed: %s", TRK_DEBUGFS,
			 strerror(errno));
		return r == -ENODEV ? -ENOENT : r;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int setup(struct trk_trace *t, const char *devpath, uint32_t buf_size, uint32_t buf_nr)
{
	struct trk_user_trace_setup2 s2 = { .act_mask = TRK_ACT_MASK, .buf_size = buf_size, .buf_nr = buf_nr };
	struct blk_user_trace_setup s1 = { .act_mask = TRK_ACT_MASK, .buf_size = buf_size, .buf_nr = buf_nr };

	t->start_ns = now_ns();
	if (ioctl(t->fd, TRK_BLKTRACESETUP2, &s2) == 0) {
		t->version = TRK_TRACE_V2;
		memcpy(t->name, s2.name, sizeof(s2.name));
		t->name[sizeof(t->name) - 1] = '\0';
		return 0;
	}
	/* ENOTTY/EINVAL: a kernel before 6.18; anything else (EBUSY...) is the answer. */
	if (errno != ENOTTY && errno != EINVAL)
		return -errno;
	if (ioctl(t->fd, BLKTRACESETUP, &s1) < 0)
		return errno == ENOTTY ? -EOPNOTSUPP : -errno;
	t->version = TRK_TRACE_V1;
	memcpy(t->name, s1.name, sizeof(s1.name));
	t->name[sizeof(s1.name) - 1] = '\0';
	(void)devpath;
	return 0;
}

static int open_relay_files(struct trk_trace *t, char *err, size_t errlen)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	unsigned found = 0;
	int first_errno = 0;
	char path[PATH_MAX];

	t->ncpus = n > 0 ? (unsigned)n : 1;
	t->cpu_fd = xmalloc(t->ncpus * sizeof(int));
	for (unsigned c = 0; c < t->ncpus; c++) {
		snprintf(path, sizeof(path), TRK_DEBUGFS "/block/%s/trace%u", t->name, c);
		/* An offline CPU has no file; if it comes online, relay creates one and keeps its events
		 * until trk_trace_open_missing() finds it (or they overflow into `dropped`). */
		t->cpu_fd[c] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (t->cpu_fd[c] >= 0)
			found++;
		else if (!first_errno)
			first_errno = errno;
		if (t->cpu_fd[c] < 0)
			t->missing++;
	}
	if (!found && first_errno == EPERM) {
		/* Lockdown (integrity) forbids debugfs files that can be mmap'ed: the relay files. */
		snprintf(err, errlen, "%s: kernel lockdown forbids reading the blktrace relay files", path);
		return -EPERM;
	}
	snprintf(path, sizeof(path), TRK_DEBUGFS "/block/%s/dropped", t->name);
	t->dropped_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!found || t->dropped_fd < 0) {
		snprintf(err, errlen, "%s: relay files missing (is debugfs mounted on " TRK_DEBUGFS "?)", path);
		return -ENOENT;
	}
	return 0;
}

static void close_files(struct trk_trace *t)
{
	for (unsigned c = 0; t->cpu_fd && c < t->ncpus; c++)
		if (t->cpu_fd[c] >= 0)
			close(t->cpu_fd[c]);
	free(t->cpu_fd);
	t->cpu_fd = NULL;
	t->ncpus = 0;
	if (t->dropped_fd >= 0)
		close(t->dropped_fd);
	t->dropped_fd = -1;
}

int trk_trace_start(const char *devpath, uint32_t buf_size, uint32_t buf_nr, struct trk_trace *t,
		    char *err, size_t errlen)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->dropped_fd = -1;
	t->buf_size = buf_size;
	r = trk_debugfs_ensure(err, errlen);
	if (r < 0)
		return r;
	t->fd = open(devpath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", devpath, strerror(errno));
		return r;
	}
	r = setup(t, devpath, buf_size, buf_nr);
	if (r < 0) {
		if (r == -EBUSY)
			snprintf(err, errlen, "%s: busy: the disk is traced already (a running blktrace, the "
				 "ftrace blk tracer via /sys/block/*/trace/enable, or a killed tracker; "
				 "'blktrace -k -d %s' ends a stale trace)", devpath, devpath);
		else if (r == -EOPNOTSUPP)
			snprintf(err, errlen, "%s: this kernel has no blktrace support (CONFIG_BLK_DEV_IO_TRACE)",
				 devpath);
		else
			snprintf(err, errlen, "%s: BLKTRACESETUP failed: %s", devpath, strerror(-r));
		close(t->fd);
		t->fd = -1;
		return r;
	}
	t->state = 1;
	r = open_relay_files(t, err, errlen);
	if (r == 0 && ioctl(t->fd, BLKTRACESTART) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: BLKTRACESTART failed: %s", devpath, strerror(errno));
	}
	if (r < 0) {
		trk_trace_teardown(t);
		return r;
	}
	t->state = 2;
	return 0;
}

void trk_trace_open_missing(struct trk_trace *t)
{
	char path[PATH_MAX];

	for (unsigned c = 0; t->missing && c < t->ncpus; c++) {
		if (t->cpu_fd[c] >= 0)
			continue;
		snprintf(path, sizeof(path), TRK_DEBUGFS "/block/%s/trace%u", t->name, c);
		t->cpu_fd[c] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (t->cpu_fd[c] >= 0)
			t->missing--;
	}
}

int trk_trace_dropped(const struct trk_trace *t, uint64_t *dropped)
{
	char buf[32];
	ssize_t n = pread(t->dropped_fd, buf, sizeof(buf) - 1, 0);
	unsigned long long v;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (sscanf(buf, "%llu", &v) != 1)
		return -EBADMSG;
	*dropped = v;
	return 0;
}

int trk_trace_stop(struct trk_trace *t)
{
	if (t->state != 2)
		return 0;
	if (ioctl(t->fd, BLKTRACESTOP) < 0)
		return -errno;
	t->state = 3;
	return 0;
}

void trk_trace_teardown(struct trk_trace *t)
{
	trk_trace_stop(t);
	/* The relay files must be closed first: teardown frees the buffers they map. */
	close_files(t);
	if (t->state && t->fd >= 0)
		ioctl(t->fd, BLKTRACETEARDOWN);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->state = 0;
}

bool trk_trace_in_use(const char *name)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	char prefix[128];
	size_t plen;

	plen = (size_t)snprintf(prefix, sizeof(prefix), TRK_DEBUGFS "/block/%s/trace", name);
	if (!proc)
		return true; /* cannot tell: assume somebody */
	for (struct dirent *de; (de = readdir(proc));) {
		char fddir[300], link[PATH_MAX + 320], target[PATH_MAX];
		_cleanup_closedir_ DIR *fds = NULL;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || atoi(de->d_name) == getpid())
			continue;
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", de->d_name);
		fds = opendir(fddir);
		for (struct dirent *fe; fds && (fe = readdir(fds));) {
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(link, sizeof(link), "%s/%s", fddir, fe->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n > 0 && (size_t)n >= plen && !strncmp(target, prefix, plen))
				return true;
		}
	}
	return false;
}

int trk_trace_teardown_stale(const char *devpath)
{
	_cleanup_close_ int fd = open(devpath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ioctl(fd, BLKTRACESTOP); /* fails harmlessly when it was stopped already */
	if (ioctl(fd, BLKTRACETEARDOWN) < 0)
		return -errno;
	return 0;
}
