/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The caller's side of a freeze: hooks, the watchdog, then FIFREEZE in plan order. The watchdog
 * is told "P i" before each FIFREEZE and the result after it, so whatever instant we die at, it
 * knows every filesystem that may be frozen (bytes written to the socket are delivered even after
 * we are gone). We keep our own fds to the mount points until the end: if the watchdog dies, we
 * thaw ourselves.
 */
#include "quiesce-internal.h"
#include "fileio.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#ifndef MOBILITY_LIBEXECDIR
#define MOBILITY_LIBEXECDIR "/usr/libexec"
#endif
#define WATCHDOG_NAME "mobility-freeze-watchdog"
#define WATCHDOG_START_MS 10000
/* How long a new freeze waits for the last one's watchdog to finish (thaw hooks, last state write). */
#define LOCK_WAIT_MS 3000

struct quiesce_handle {
	int ctl;
	pid_t pid;
	int *fds;            /* ours, per plan entry (-1: not opened) */
	size_t n;
	strv hooks;
	int hook_timeout_ms;
	bool detached, timed_out, thawed;
	char buf[8192];
	size_t len;
};

int quiesce_fithaw(int fd)
{
	return ioctl(fd, FITHAW, 0) < 0 ? errno : 0;
}

static void handle_close_fds(struct quiesce_handle *h)
{
	for (size_t i = 0; h->fds && i < h->n; i++)
		if (h->fds[i] >= 0) {
			close(h->fds[i]);
			h->fds[i] = -1;
		}
}

void quiesce_handle_free(struct quiesce_handle *h)
{
	if (h->ctl >= 0)
		close(h->ctl);
	handle_close_fds(h);
	free(h->fds);
	strv_free(&h->hooks);
	free(h);
}

int quiesce_handle_fd(const struct quiesce_handle *h) { return h->ctl; }
pid_t quiesce_handle_watchdog_pid(const struct quiesce_handle *h) { return h->pid; }

static char *watchdog_path(const char *opt)
{
	const char *env = getenv(QUIESCE_WATCHDOG_ENV);
	char exe[4096];
	ssize_t n;

	if (opt && *opt)
		return xstrdup(opt);
	if (env && *env)
		return xstrdup(env);
	/* Running from the build tree: agent/mobility-agent next to agent/quiesce/. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			_cleanup_free_ char *p = xasprintf("%s/quiesce/" WATCHDOG_NAME, exe);
			if (access(p, X_OK) == 0)
				return TAKE_PTR(p);
		}
	}
	return xstrdup(MOBILITY_LIBEXECDIR "/mobility-agent/" WATCHDOG_NAME);
}

static int send_line(struct quiesce_handle *h, const char *fmt, ...) _printf_(2, 3);
static int send_line(struct quiesce_handle *h, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (h->ctl < 0)
		return -EPIPE;
	return send(h->ctl, line, n, MSG_NOSIGNAL) == n ? 0 : -EPIPE;
}

/* Next line from the watchdog within TIMEOUT_MS (-1: forever); 0 with *line, -EPIPE on EOF, -ETIME. */
static int recv_line(struct quiesce_handle *h, int timeout_ms, char **line)
{
	long long end = timeout_ms >= 0 ? quiesce_mono_ms() + timeout_ms : 0;

	if (h->ctl < 0)
		return -EPIPE;
	for (;;) {
		char *nl = memchr(h->buf, '\n', h->len);
		if (nl) {
			*nl = '\0';
			*line = xstrdup(h->buf);
			h->len -= nl + 1 - h->buf;
			memmove(h->buf, nl + 1, h->len);
			return 0;
		}
		if (h->len == sizeof(h->buf))
			return -EPROTO;
		int wait = -1;
		if (timeout_ms >= 0) {
			long long left = end - quiesce_mono_ms();
			wait = left > 0 ? (int)left : 0; /* 0: look once without waiting */
		}
		struct pollfd pf = { .fd = h->ctl, .events = POLLIN };
		int r = poll(&pf, 1, wait);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return -ETIME;
		if (r < 0)
			continue;
		ssize_t n = read(h->ctl, h->buf + h->len, sizeof(h->buf) - h->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		h->len += n;
	}
}

/* After fork: async-signal-safe calls only (the daemon that calls us may have threads). HI has n + 3 slots. */
static void child_exec_watchdog(const char *path, char **argv, char **envp, int ctl, int dirfd, int lockfd,
				const int *fds, size_t n, int *hi)
{
	/* Intermediate child: a new session, then fork again so the watchdog is nobody's zombie
	 * and no terminal hangup or ^C of our process group reaches it. */
	if (setsid() < 0 || fork() != 0)
		_exit(0);
	int need = QW_FD_MOUNT0 + (int)n;
	/* Move everything above the target range first, so dup2 never clobbers a source. */
	int base = need + 16;
	int src[3] = { ctl, dirfd, lockfd };
	for (size_t i = 0; i < n + 3; i++)
		if ((hi[i] = fcntl(i < 3 ? src[i] : fds[i - 3], F_DUPFD, base)) < 0)
			_exit(127);
	/* Fds 3..5 are the lifeline, state directory and lock; 6+i the mount points (dup2 clears CLOEXEC). */
	for (size_t i = 0; i < n + 3; i++)
		if (dup2(hi[i], QW_FD_CTL + (int)i) < 0)
			_exit(127);
	/* Holding the caller's stdout/stderr would keep "$(mobility-agent freeze)" or an ssh session
	 * open until the thaw; the watchdog reports through the state file and syslog instead. */
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0)
		for (int i = 0; i < 3; i++)
			dup2(devnull, i);
	close_range(need, ~0U, 0);
	execve(path, argv, envp);
	_exit(127);
}

/* argv, environment and the fd per plan entry (fd 6+i is entry i) for the watchdog. */
static void watchdog_args(const struct quiesce_handle *h, const struct quiesce_plan *plan,
			  const struct quiesce_opts *o, const char *path, int dirfd, strv *args, strv *env, int *fds)
{
	static const char *const sanitizer_env[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };

	strv_push(args, path);
	strv_push(args, "--timeout-ms");
	strv_push_take(args, xasprintf("%d", o->timeout_ms > 0 ? o->timeout_ms : QUIESCE_DEFAULT_TIMEOUT_MS));
	strv_push(args, "--hook-timeout-ms");
	strv_push_take(args, xasprintf("%d", h->hook_timeout_ms));
	for (size_t i = 0; i < h->hooks.n; i++) {
		strv_push(args, "--hook");
		strv_push(args, h->hooks.v[i]);
	}
	for (size_t i = 0; i < plan->n; i++) {
		const struct quiesce_fs *f = &plan->v[i];
		strv_push_take(args, xasprintf("%u:%u:%s:%s", f->major, f->minor, f->fstype, f->mount));
		/* Entries we do not freeze still get a slot, to keep the numbering: not the lock's fd,
		 * or closing fd 5 would not release the lock. */
		fds[i] = h->fds[i] >= 0 ? h->fds[i] : dirfd;
	}
	/* A clean environment; the sanitizers' options pass so that ASan builds of the watchdog report. */
	strv_push(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (size_t i = 0; i < ARRAY_SIZE(sanitizer_env); i++)
		if (getenv(sanitizer_env[i]))
			strv_push_take(env, xasprintf("%s=%s", sanitizer_env[i], getenv(sanitizer_env[i])));
}

static int spawn_watchdog(struct quiesce_handle *h, const struct quiesce_plan *plan, const struct quiesce_opts *o,
			  int dirfd, int lockfd, char **err)
{
	_cleanup_free_ char *path = watchdog_path(o->watchdog), *line = NULL;
	_cleanup_strv_ strv args = { 0 }, env = { 0 };
	_cleanup_free_ int *fds = xcalloc(plan->n ? plan->n : 1, sizeof(int));
	_cleanup_free_ int *hi = xcalloc(plan->n + 3, sizeof(int));
	int sv[2], r, status;

	watchdog_args(h, plan, o, path, dirfd, &args, &env, fds);
	if (access(path, X_OK) < 0) {
		int e = errno;
		*err = xasprintf("%s: %s (the freeze watchdog is needed to freeze anything)", path, strerror(e));
		return -e;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		child_exec_watchdog(path, args.v, env.v, sv[1], dirfd, lockfd, fds, plan->n, hi);
	}
	close(sv[1]);
	h->ctl = sv[0];
	(void)waitpid(pid, &status, 0);
	r = recv_line(h, WATCHDOG_START_MS, &line);
	if (r == 0 && line[0] == 'R' && sscanf(line, "R %d", &h->pid) == 1)
		return 0;
	int e = 0;
	if (r == 0 && line[0] == 'N')
		sscanf(line, "N %d", &e);
	*err = xasprintf("%s: the freeze watchdog did not start: %s", path,
			 e ? strerror(e) : r == -ETIME ? "no answer" : "it exited before it was ready");
	close(h->ctl);
	h->ctl = -1;
	return e ? -e : -ECHILD;
}

/* Open every planned mount point now: once things are frozen no path lookup should be needed. */
static int open_mounts(struct quiesce_handle *h, struct quiesce_plan *plan, char **err)
{
	h->n = plan->n;
	h->fds = xcalloc(plan->n ? plan->n : 1, sizeof(int));
	for (size_t i = 0; i < plan->n; i++)
		h->fds[i] = -1;
	for (size_t i = 0; i < plan->n; i++) {
		struct quiesce_fs *f = &plan->v[i];
		struct stat s;

		if (f->state != QFS_PLANNED)
			continue;
		h->fds[i] = open(f->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (h->fds[i] < 0 || fstat(h->fds[i], &s) < 0) {
			int e = errno;
			*err = xasprintf("%s: cannot open the mount point: %s", f->mount, strerror(e));
			return -e;
		}
		/* The mount table may have changed since the plan was made. */
		if (s.st_dev != makedev(f->major, f->minor)) {
			*err = xasprintf("%s: is no longer the filesystem %u:%u of the plan", f->mount, f->major,
					 f->minor);
			return -ESTALE;
		}
	}
	return 0;
}

/* Without a watchdog (it died): thaw with our own fds and run the thaw hooks ourselves. */
static void thaw_ourselves(struct quiesce_handle *h, struct quiesce_plan *plan, strv *messages)
{
	for (size_t i = plan->n; i-- > 0;) {
		struct quiesce_fs *f = &plan->v[i];

		if ((f->state != QFS_FROZEN && f->state != QFS_PENDING) || h->fds[i] < 0)
			continue;
		int e = quiesce_fithaw(h->fds[i]);
		if (e == EINVAL && f->state == QFS_PENDING) {
			f->state = QFS_PLANNED;
			continue;
		}
		f->state = e && e != EINVAL ? QFS_THAW_FAILED : QFS_THAWED;
		f->error = e == EINVAL ? 0 : e;
	}
	(void)quiesce_hooks_run(&h->hooks, h->hooks.n, "thaw", h->hook_timeout_ms, messages, NULL);
}

/* Has the watchdog said something (its timer fired) or gone away? */
static int watchdog_poll(struct quiesce_handle *h)
{
	_cleanup_free_ char *line = NULL;
	int r = recv_line(h, 0, &line);

	if (r == -ETIME)
		return 0;
	if (r < 0)
		return r;
	if (streq(line, "X"))
		h->timed_out = true;
	return h->timed_out ? -ETIME : 0;
}

static int freeze_one(struct quiesce_handle *h, struct quiesce_plan *plan, size_t i, char **err)
{
	struct quiesce_fs *f = &plan->v[i];
	int r;

	r = watchdog_poll(h);
	if (r == 0)
		r = send_line(h, "P %zu", i);
	if (r < 0) {
		*err = xasprintf("%s: not frozen: %s", f->mount,
				 r == -ETIME ? "the watchdog timer fired during the freeze" : "the watchdog died");
		return r;
	}
	f->state = QFS_PENDING;
	if (ioctl(h->fds[i], FIFREEZE, 0) == 0) {
		f->state = QFS_FROZEN;
		return send_line(h, "F %zu", i) < 0 ? (*err = xasprintf("%s: the watchdog died", f->mount), -EPIPE) : 0;
	}
	f->error = errno;
	switch (f->error) {
	case EOPNOTSUPP:
		f->state = QFS_SKIPPED;
		(void)send_line(h, "S %zu %d", i, f->error);
		return 0;
	case EBUSY:
		f->state = QFS_BUSY;
		(void)send_line(h, "B %zu", i);
		return 0;
	default:
		f->state = QFS_FAILED;
		(void)send_line(h, "E %zu %d", i, f->error);
		*err = xasprintf("%s (%s, %u:%u): %s", f->mount, f->fstype, f->major, f->minor,
				 strerror(f->error));
		return -f->error;
	}
}

/*
 * The lock is held. By a watchdog holding filesystems frozen now: refuse at once. Otherwise it is
 * a predecessor finishing - a watchdog whose timer fired (it has saved "not active" and runs the
 * thaw hooks, then releases the lock), or a "status" probing the lock - so wait a moment for it.
 */
static int lock_after_predecessor(const char *dir, int dirfd, int *lockfd)
{
	long long end = quiesce_mono_ms() + LOCK_WAIT_MS;
	int r;

	do {
		_cleanup_(quiesce_status_free) struct quiesce_status st = { 0 };

		if (quiesce_status_read(dir, &st) == 0 && st.active && st.watchdog_alive)
			return -EBUSY;
		usleep(20000);
		r = quiesce_lock(dirfd, lockfd);
	} while (r == -EBUSY && quiesce_mono_ms() < end);
	return r;
}

static int prepare(const struct quiesce_plan *plan, const char *dir, int *dirfd, int *lockfd, char **err)
{
	_cleanup_(quiesce_status_free) struct quiesce_status old = { 0 };
	struct stat s;
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		*err = xasprintf("%s: cannot create the state directory: %s", dir, strerror(e));
		return -e;
	}
	*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0 || fstat(*dirfd, &s) < 0) {
		int e = errno;
		*err = xasprintf("%s: %s", dir, strerror(e));
		return -e;
	}
	if (quiesce_plan_has_dev(plan, s.st_dev)) {
		*err = xasprintf("%s: the state directory is on a filesystem to be frozen", dir);
		return -EDEADLK;
	}
	r = quiesce_lock(*dirfd, lockfd);
	if (r == -EBUSY)
		r = lock_after_predecessor(dir, *dirfd, lockfd);
	if (r < 0) {
		(void)quiesce_status_read(dir, &old);
		*err = xasprintf("a freeze is already in progress (watchdog pid %d, state in %s)", (int)old.watchdog_pid,
				 dir);
		return r;
	}
	r = quiesce_status_read(dir, &old);
	if (r == 0 && old.active) {
		*err = xasprintf("the watchdog (pid %d) of an earlier freeze died with filesystems possibly frozen: "
				 "run 'mobility-agent thaw'", (int)old.watchdog_pid);
		return -EBUSY;
	}
	return 0;
}

static int freeze_hooks(struct quiesce_handle *h, const struct quiesce_opts *o, strv *messages, char **err)
{
	const char *dir = o->hooks_dir ? o->hooks_dir : QUIESCE_DEFAULT_HOOKS_DIR;
	size_t failed = 0;
	int r;

	r = quiesce_hooks_list(dir, &h->hooks);
	if (r < 0) {
		*err = xasprintf("%s: cannot list the freeze hooks: %s", dir, strerror(-r));
		return r;
	}
	r = quiesce_hooks_run(&h->hooks, h->hooks.n, "freeze", h->hook_timeout_ms, messages, &failed);
	if (r < 0) {
		*err = xstrdup(messages->n ? messages->v[messages->n - 1] : "a freeze hook failed");
		/* Undo the hooks that did freeze (a database that flushed and locked). */
		(void)quiesce_hooks_run(&h->hooks, failed, "thaw", h->hook_timeout_ms, messages, NULL);
		return r;
	}
	return 0;
}

int quiesce_freeze(struct quiesce_plan *plan, const struct quiesce_opts *o, struct quiesce_handle **ret,
		   strv *messages, char **err)
{
	_cleanup_quiesce_handle_ struct quiesce_handle *h = xcalloc(1, sizeof(*h));
	_cleanup_close_ int dirfd = -1, lockfd = -1;
	const char *dir = quiesce_state_dir(o->state_dir);
	int r;

	*err = NULL;
	h->ctl = -1;
	h->hook_timeout_ms = o->hook_timeout_ms > 0 ? o->hook_timeout_ms : QUIESCE_DEFAULT_HOOK_TIMEOUT_MS;
	r = prepare(plan, dir, &dirfd, &lockfd, err);
	if (r < 0)
		return r;
	r = open_mounts(h, plan, err);
	if (r < 0)
		return r;
	r = freeze_hooks(h, o, messages, err);
	if (r < 0)
		return r;
	r = spawn_watchdog(h, plan, o, dirfd, lockfd, err);
	if (r < 0) {
		(void)quiesce_hooks_run(&h->hooks, h->hooks.n, "thaw", h->hook_timeout_ms, messages, NULL);
		return r;
	}
	/* The watchdog's state lists what the plan skipped too (status --json says why). */
	for (size_t i = 0; i < plan->n; i++)
		if (plan->v[i].state == QFS_SKIPPED)
			(void)send_line(h, "S %zu %d", i, plan->v[i].error); /* a dead watchdog: seen below */
	for (size_t i = 0; i < plan->n && r == 0; i++)
		if (plan->v[i].state == QFS_PLANNED)
			r = freeze_one(h, plan, i, err);
	if (r < 0) {
		bool timed_out;
		/* The watchdog thaws what we froze and runs the thaw hooks; if it is gone, we do. */
		if (quiesce_thaw(h, plan, messages, &timed_out) < 0 && !*err)
			*err = xstrdup("thawing after the failure failed");
		return r;
	}
	*ret = TAKE_PTR(h);
	return 0;
}

int quiesce_detach(struct quiesce_handle *h)
{
	int r = send_line(h, "D");

	h->detached = r == 0;
	return r;
}

static void apply_result(struct quiesce_plan *plan, const char *line, strv *messages)
{
	size_t i;
	int state, e;
	long long ms;

	if (line[0] == 't' && sscanf(line, "t %zu %d %d %lld", &i, &state, &e, &ms) == 4 && i < plan->n &&
	    state >= QFS_PLANNED && state <= QFS_THAW_FAILED) {
		plan->v[i].state = state;
		plan->v[i].error = e;
		plan->v[i].frozen_ms = ms;
	} else if (line[0] == 'm' && line[1] == ' ') {
		char *m = xstrdup(line + 2);
		unescape_octal(m);
		strv_push_take(messages, m);
	}
}

int quiesce_thaw(struct quiesce_handle *h, struct quiesce_plan *plan, strv *messages, bool *timed_out)
{
	int r;

	*timed_out = h->timed_out;
	if (h->thawed)
		return 0; /* the hooks must not run twice */
	h->thawed = true;
	r = send_line(h, "T");
	/* The watchdog thaws at once, then runs the thaw hooks: allow for each one's timeout. */
	int wait_ms = 10000 + (int)h->hooks.n * (h->hook_timeout_ms + 3000);
	while (r == 0) {
		_cleanup_free_ char *line = NULL;

		r = recv_line(h, wait_ms, &line);
		if (r < 0)
			break;
		if (startswith(line, "done")) {
			*timed_out = *timed_out || streq(line, "done 1");
			close(h->ctl);
			h->ctl = -1;
			break;
		}
		if (streq(line, "X"))
			*timed_out = true;
		apply_result(plan, line, messages);
	}
	if (r < 0) {
		strv_push(messages, "the watchdog did not answer the thaw request: thawing without it");
		thaw_ourselves(h, plan, messages);
	}
	handle_close_fds(h);
	for (size_t i = 0; i < plan->n; i++)
		if (plan->v[i].state == QFS_THAW_FAILED || plan->v[i].state == QFS_FROZEN)
			return -EIO;
	return 0;
}
