/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For processes other than the freezer: what is frozen now (or what the last freeze did), and a
 * thaw that works whether the watchdog is alive (ask it) or was killed (do its job from the state
 * file). The watchdog's liveness is its flock on freeze.lock, not its pid: pids get reused.
 */
#include "quiesce-internal.h"
#include "fileio.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static bool lock_held(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/" QUIESCE_LOCK_FILE, dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	return false; /* closing fd drops our probe lock */
}

int quiesce_status_read(const char *state_dir, struct quiesce_status *st)
{
	const char *dir = quiesce_state_dir(state_dir);
	_cleanup_free_ char *path = xasprintf("%s/" QUIESCE_STATE_FILE, dir), *buf = NULL;
	size_t len;
	long line = 0;
	int r;

	*st = (struct quiesce_status){ 0 };
	r = read_file_bounded(path, 1 << 20, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = quiesce_state_parse(buf, st, &line);
	if (r < 0) {
		quiesce_status_free(st);
		return r;
	}
	st->watchdog_alive = lock_held(dir);
	return 0;
}

static int wait_watchdog(const char *dir, int wait_ms)
{
	long long end = quiesce_mono_ms() + wait_ms;

	while (lock_held(dir)) {
		if (quiesce_mono_ms() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

static void thaw_entry(struct quiesce_fs *f, long long frozen_ms)
{
	_cleanup_close_ int fd = open(f->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat s;
	int e;

	if (fd < 0 || fstat(fd, &s) < 0) {
		f->state = QFS_THAW_FAILED;
		f->error = errno;
		return;
	}
	if (s.st_dev != makedev(f->major, f->minor)) {
		/* Unmounted (a frozen fs cannot be unmounted for good: it is gone, so is its freeze). */
		f->state = QFS_THAW_FAILED;
		f->error = ESTALE;
		return;
	}
	e = quiesce_fithaw(fd);
	if (e == EINVAL && f->state == QFS_PENDING) {
		f->state = QFS_PLANNED;
		return;
	}
	f->state = e && e != EINVAL ? QFS_THAW_FAILED : QFS_THAWED;
	f->error = e == EINVAL ? 0 : e;
	f->frozen_ms = frozen_ms;
}

/* The watchdog is gone: do what it would have done. We hold the lock meanwhile. */
static int thaw_orphan(const char *dir, struct quiesce_status *st)
{
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), lockfd = -1;
	long long frozen_ms = st->started_ms ? quiesce_now_ms() - st->started_ms : 0;
	int r;

	if (dirfd < 0)
		return -errno;
	r = quiesce_lock(dirfd, &lockfd);
	if (r < 0)
		return r;
	for (size_t i = st->plan.n; i-- > 0;) {
		struct quiesce_fs *f = &st->plan.v[i];

		if (f->state == QFS_FROZEN || f->state == QFS_PENDING)
			thaw_entry(f, frozen_ms);
	}
	strv_push_take(&st->messages, xasprintf("watchdog pid %d was gone: thawed by pid %d", (int)st->watchdog_pid,
						(int)getpid()));
	(void)quiesce_hooks_run(&st->hooks, st->hooks.n, "thaw",
				st->hook_timeout_ms > 0 ? st->hook_timeout_ms : QUIESCE_DEFAULT_HOOK_TIMEOUT_MS,
				&st->messages, NULL);
	st->active = false;
	st->thawed_ms = quiesce_now_ms();
	snprintf(st->reason, sizeof(st->reason), "orphan");
	r = quiesce_state_write(dirfd, st);
	for (size_t i = 0; i < st->plan.n; i++)
		if (st->plan.v[i].state == QFS_THAW_FAILED)
			return -EIO;
	return r;
}

int quiesce_thaw_state_dir(const char *state_dir, int wait_ms, struct quiesce_status *st)
{
	const char *dir = quiesce_state_dir(state_dir);
	int r = quiesce_status_read(dir, st);

	if (r < 0)
		return r;
	if (!st->exists || !st->active)
		return -ENOENT;
	if (!st->watchdog_alive)
		return thaw_orphan(dir, st);
	if (quiesce_pid_starttime(st->watchdog_pid) != st->watchdog_start)
		return -ESRCH; /* its lock is held, yet the pid is someone else: refuse to guess */
	if (kill(st->watchdog_pid, SIGUSR1) < 0)
		return -errno;
	r = wait_watchdog(dir, wait_ms);
	if (r < 0)
		return r;
	quiesce_status_free(st);
	r = quiesce_status_read(dir, st);
	if (r < 0)
		return r;
	for (size_t i = 0; i < st->plan.n; i++)
		if (st->plan.v[i].state == QFS_THAW_FAILED || st->plan.v[i].state == QFS_FROZEN)
			return -EIO;
	return 0;
}

static void print_fs(FILE *f, const struct quiesce_fs *fs)
{
	double secs = fs->frozen_ms / 1000.0;

	switch (fs->state) {
	case QFS_THAWED:
		fprintf(f, "frozen %.3f s, thawed\n", secs);
		break;
	case QFS_THAW_FAILED:
		fprintf(f, "frozen %.3f s, THAW FAILED: %s\n", secs, strerror(fs->error));
		break;
	case QFS_SKIPPED:
		fprintf(f, "skipped: %s\n", quiesce_fs_skip_reason(fs));
		break;
	case QFS_BUSY:
		fprintf(f, "already frozen by someone else: left to its owner\n");
		break;
	case QFS_FAILED:
		fprintf(f, "freeze failed: %s\n", strerror(fs->error));
		break;
	case QFS_FROZEN:
		fprintf(f, "frozen\n");
		break;
	case QFS_PENDING:
		fprintf(f, "being frozen\n");
		break;
	case QFS_PLANNED:
		fprintf(f, "not frozen\n");
		break;
	}
}

void quiesce_print_report(FILE *f, const char *prog, const struct quiesce_plan *plan)
{
	long long longest = 0;

	for (size_t i = 0; i < plan->n; i++) {
		const struct quiesce_fs *fs = &plan->v[i];

		fprintf(f, "%s%s%s (%s, %u:%u): ", prog ? prog : "", prog ? ": " : "", fs->mount, fs->fstype, fs->major,
			fs->minor);
		print_fs(f, fs);
		if (fs->frozen_ms > longest)
			longest = fs->frozen_ms;
	}
	fprintf(f, "%s%sfilesystems were frozen for %.3f s\n", prog ? prog : "", prog ? ": " : "", longest / 1000.0);
}
