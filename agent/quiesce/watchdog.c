/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-freeze-watchdog: the process that makes sure the filesystems we freeze are thawed.
 * Started by quiesce_freeze() (fork + exec, see docs/quiesce.md for why not a plain fork) before
 * the first FIFREEZE, with the lifeline on fd 3, the state directory on fd 4, the lock on fd 5 and
 * one O_DIRECTORY fd per mount point from fd 6 (so thawing needs no path lookup). It thaws
 * everything we froze when its timer fires, when the caller dies (lifeline closed without "D"),
 * on "T", on SIGUSR1 ("mobility-agent thaw") or on SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR2.
 *
 * While anything is frozen it writes to nothing but the lifeline and the state file in /run
 * (tmpfs): its stderr may be a file on a frozen filesystem. Messages are kept in memory and
 * written out after the thaw. It is mlockall'ed and asks the OOM killer to spare it.
 *
 * Usage: mobility-freeze-watchdog --timeout-ms N [--hook-timeout-ms N] [--hook PATH]...
 *                                 MAJOR:MINOR:FSTYPE:MOUNTPOINT...
 */
#include "quiesce-internal.h"
#include "fileio.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>

#if defined(__SANITIZE_ADDRESS__)
#define WD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WD_SANITIZED 1
#endif
#endif

struct wd {
	struct quiesce_status st;
	long long *frozen_at;      /* CLOCK_MONOTONIC ms per entry */
	long long deadline;        /* CLOCK_MONOTONIC ms; 0: not armed (nothing frozen yet) */
	int timeout_ms, hook_timeout_ms;
	int ctl, sigfd;
	bool detached, timed_out, thawed, hooks_done, caller_died;
	char buf[4096];
	size_t len;
};

static void wd_send(struct wd *w, const char *fmt, ...) _printf_(2, 3);
static void wd_send(struct wd *w, const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int n;

	if (w->ctl < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* MSG_NOSIGNAL: a dead caller is a closed lifeline, handled on read, not a SIGPIPE. */
	if (send(w->ctl, line, n, MSG_NOSIGNAL) != n) {
		close(w->ctl);
		w->ctl = -1;
	}
}

static void wd_save(struct wd *w)
{
	/* The state directory was checked to be on no filesystem we freeze: this cannot block. */
	(void)quiesce_state_write(QW_FD_STATEDIR, &w->st);
}

static void wd_thaw_one(struct wd *w, size_t i, long long now)
{
	struct quiesce_fs *f = &w->st.plan.v[i];
	int e = quiesce_fithaw(QW_FD_MOUNT0 + (int)i);

	if (f->state == QFS_PENDING && e == EINVAL) {
		/* Caller alive: its FIFREEZE is still running, we thaw when "F" arrives. Caller gone: a
		 * process exits only after its ioctls return, so this one did not freeze. */
		if (w->ctl < 0)
			f->state = QFS_PLANNED;
		return;
	}
	if (e == EINVAL)
		e = 0; /* someone thawed it already */
	f->frozen_ms = f->state == QFS_FROZEN ? now - w->frozen_at[i] : 0;
	f->state = e ? QFS_THAW_FAILED : QFS_THAWED;
	f->error = e;
}

static bool wd_pending(const struct wd *w)
{
	for (size_t i = 0; i < w->st.plan.n; i++)
		if (w->st.plan.v[i].state == QFS_PENDING || w->st.plan.v[i].state == QFS_FROZEN)
			return true;
	return false;
}

static void wd_thaw_all(struct wd *w, const char *reason)
{
	long long now = quiesce_mono_ms();

	for (size_t i = w->st.plan.n; i-- > 0;) {
		enum quiesce_fs_state s = w->st.plan.v[i].state;

		if (s == QFS_FROZEN || s == QFS_PENDING)
			wd_thaw_one(w, i, now);
	}
	if (!w->thawed) {
		w->thawed = true;
		w->st.thawed_ms = quiesce_now_ms();
		snprintf(w->st.reason, sizeof(w->st.reason), "%s", reason);
		if (streq(reason, "timeout"))
			strv_push_take(&w->st.messages, xasprintf("watchdog timer (%d ms) fired: thawed", w->timeout_ms));
	}
	w->st.active = wd_pending(w);
	wd_save(w);
	if (!w->hooks_done && !w->st.active) {
		w->hooks_done = true;
		(void)quiesce_hooks_run(&w->st.hooks, w->st.hooks.n, "thaw", w->hook_timeout_ms, &w->st.messages,
					NULL);
		wd_save(w);
	}
}

static int wd_index(struct wd *w, const char *arg, size_t *i)
{
	long v;

	if (parse_long(arg, &v) < 0 || v < 0 || (size_t)v >= w->st.plan.n)
		return -EINVAL;
	*i = (size_t)v;
	return 0;
}

static void wd_reply_and_exit(struct wd *w)
{
	for (size_t i = 0; i < w->st.plan.n; i++) {
		const struct quiesce_fs *f = &w->st.plan.v[i];
		wd_send(w, "t %zu %d %d %lld", i, (int)f->state, f->error, f->frozen_ms);
	}
	for (size_t i = 0; i < w->st.messages.n; i++) {
		_cleanup_free_ char *e = quiesce_escape(w->st.messages.v[i]);
		wd_send(w, "m %s", e);
	}
	/* Thawed and saved: let the next freeze start as soon as our caller hears "done". */
	close(QW_FD_LOCK);
	wd_send(w, "done %d", w->timed_out);
	exit(0);
}

/* One command from the caller. */
static void wd_command(struct wd *w, char *line)
{
	char cmd = line[0];
	char *arg = line[0] && line[1] == ' ' ? line + 2 : line + strlen(line);
	char *sp = strchr(arg, ' ');
	size_t i = 0;
	long e = 0;

	if (sp) {
		*sp = '\0';
		(void)parse_long(sp + 1, &e);
	}
	if (strchr("PFSBE", cmd) && wd_index(w, arg, &i) < 0)
		return;
	struct quiesce_fs *f = cmd && strchr("PFSBE", cmd) ? &w->st.plan.v[i] : NULL;
	switch (cmd) {
	case 'P':
		if (!w->deadline) {
			w->deadline = quiesce_mono_ms() + w->timeout_ms;
			w->st.started_ms = quiesce_now_ms();
			w->st.deadline_ms = w->st.started_ms + w->timeout_ms;
		}
		f->state = QFS_PENDING;
		break;
	case 'F':
		f->state = QFS_FROZEN;
		w->frozen_at[i] = quiesce_mono_ms();
		if (w->thawed) /* too late: the timer fired while this FIFREEZE ran */
			wd_thaw_all(w, w->st.reason);
		break;
	case 'S':
	case 'B':
	case 'E':
		f->state = cmd == 'S' ? QFS_SKIPPED : cmd == 'B' ? QFS_BUSY : QFS_FAILED;
		f->error = cmd == 'B' ? EBUSY : (int)e;
		break;
	case 'D':
		w->detached = true;
		break;
	case 'T':
		wd_thaw_all(w, w->thawed ? w->st.reason : "request");
		wd_reply_and_exit(w);
		break;
	default:
		return;
	}
	wd_save(w);
}

static void wd_read_ctl(struct wd *w)
{
	ssize_t r = read(w->ctl, w->buf + w->len, sizeof(w->buf) - 1 - w->len);
	char *nl;

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		close(w->ctl);
		w->ctl = -1;
		if (!w->detached) {
			w->caller_died = true;
			strv_push(&w->st.messages, "the caller went away without thawing: thawed");
			wd_thaw_all(w, "caller-died");
		}
		return;
	}
	w->len += r;
	w->buf[w->len] = '\0';
	while ((nl = strchr(w->buf, '\n'))) {
		*nl = '\0';
		wd_command(w, w->buf);
		w->len -= nl + 1 - w->buf;
		memmove(w->buf, nl + 1, w->len + 1);
	}
	if (w->len == sizeof(w->buf) - 1) /* a line that long is no command of ours */
		w->len = 0;
}

static bool wd_done(const struct wd *w)
{
	if (w->thawed && !w->st.active && w->ctl < 0)
		return true;
	/* Detached and never armed: nothing of ours can be frozen. */
	return w->ctl < 0 && !w->deadline;
}

static void wd_loop(struct wd *w)
{
	while (!wd_done(w)) {
		struct pollfd pf[2] = { { .fd = w->sigfd, .events = POLLIN }, { .fd = w->ctl, .events = POLLIN } };
		int wait = -1;

		if (w->deadline && !w->thawed) {
			long long left = w->deadline - quiesce_mono_ms();
			wait = left > 0 ? (int)left : 0;
		}
		int n = poll(pf, 2, wait);
		if (n < 0 && errno != EINTR)
			wait = 0; /* cannot wait: treat as the timer firing, the safe side */
		if (n == 0 || (n < 0 && wait == 0)) {
			w->timed_out = true;
			wd_thaw_all(w, "timeout");
			wd_send(w, "X");
			if (w->detached)
				break;
			continue;
		}
		if (n > 0 && pf[0].revents) {
			struct signalfd_siginfo si;
			(void)!read(w->sigfd, &si, sizeof(si));
			/* SIGUSR1 is "mobility-agent thaw"; anything else is someone stopping us. */
			if (si.ssi_signo == SIGUSR1)
				strv_push_take(&w->st.messages, xasprintf("thaw requested by pid %u", si.ssi_pid));
			else
				strv_push_take(&w->st.messages, xasprintf("signal %u from pid %u: thawed", si.ssi_signo,
									  si.ssi_pid));
			wd_thaw_all(w, si.ssi_signo == SIGUSR1 ? "request" : "signal");
			if (w->ctl >= 0 && !w->detached)
				continue; /* the caller will ask for the results */
			break;
		}
		if (n > 0 && pf[1].revents)
			wd_read_ctl(w);
	}
}

/* After the thaw, to the journal (our stderr is /dev/null: see spawn_watchdog()). */
static void wd_report(const struct wd *w)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct line_iter it;
	bool has_nul;
	char *line;

	if (!f)
		return;
	quiesce_print_report(f, NULL, &w->st.plan);
	fclose(f);
	openlog("mobility-freeze-watchdog", LOG_PID, LOG_DAEMON);
	line_iter_init(&it, text, len);
	while ((line = line_iter_next(&it, &has_nul)))
		syslog(LOG_NOTICE, "%s", line);
	for (size_t i = 0; i < w->st.messages.n; i++)
		syslog(LOG_NOTICE, "%s", w->st.messages.v[i]);
	closelog();
	free(text);
}

static int wd_parse_fs(struct wd *w, const char *spec)
{
	unsigned major, minor;
	char fstype[256];
	int n = 0;

	if (sscanf(spec, "%u:%u:%255[^:]:%n", &major, &minor, fstype, &n) != 3 || !n || spec[n] != '/')
		return -EINVAL;
	struct quiesce_plan *p = &w->st.plan;
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	p->v[p->n++] = (struct quiesce_fs){ .mount = xstrdup(spec + n), .fstype = xstrdup(fstype),
					    .source = xstrdup(""), .major = major, .minor = minor };
	return 0;
}

static int wd_args(struct wd *w, int argc, char **argv)
{
	long v;

	for (int i = 1; i < argc; i++) {
		if ((streq(argv[i], "--timeout-ms") || streq(argv[i], "--hook-timeout-ms")) && i + 1 < argc) {
			if (parse_long(argv[i + 1], &v) < 0 || v <= 0 || v > 86400000)
				return -EINVAL;
			*(streq(argv[i], "--timeout-ms") ? &w->timeout_ms : &w->hook_timeout_ms) = (int)v;
			i++;
		} else if (streq(argv[i], "--hook") && i + 1 < argc) {
			strv_push(&w->st.hooks, argv[++i]);
		} else if (wd_parse_fs(w, argv[i]) < 0) {
			return -EINVAL;
		}
	}
	return w->timeout_ms > 0 && w->st.plan.n > 0 ? 0 : -EINVAL;
}

static int wd_setup(struct wd *w)
{
	sigset_t mask;
	int fd;

	/* Anything that would kill us with filesystems frozen becomes a thaw request. */
	/* The mask and ignored signals are inherited through exec: set both to exactly ours. */
	sigemptyset(&mask);
	for (int s = 0, sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 }; s < 6; s++) {
		sigaddset(&mask, sigs[s]);
		signal(sigs[s], SIG_DFL);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL); /* run_cmd() waits for the hooks */
	if (sigprocmask(SIG_SETMASK, &mask, NULL) < 0 || (w->sigfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		return -errno;
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "-1000", 5);
		close(fd);
	}
#ifndef WD_SANITIZED
	/* Paged out while / is frozen, we could still fault back in (reads work on a frozen fs), but a
	 * locked process never waits for reclaim that may itself wait on the frozen filesystems. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		return -errno;
#endif
	/* Our fds must not reach the thaw hooks: a hook leaving a process behind (a database it
	 * restarted) would hold the lock for ever - every later freeze "already in progress" - and
	 * the mount points busy. */
	for (int i = QW_FD_CTL; i < QW_FD_MOUNT0 + (int)w->st.plan.n; i++)
		if (fcntl(i, F_SETFD, FD_CLOEXEC) < 0)
			return -EBADF;
	return 0;
}

int main(int argc, char **argv)
{
	struct wd w = { .hook_timeout_ms = QUIESCE_DEFAULT_HOOK_TIMEOUT_MS, .ctl = QW_FD_CTL, .sigfd = -1 };
	int r;

	if (wd_args(&w, argc, argv) < 0) {
		fprintf(stderr, "mobility-freeze-watchdog: started by quiesce_freeze(), not by hand\n");
		return 2;
	}
	w.frozen_at = xcalloc(w.st.plan.n, sizeof(*w.frozen_at));
	r = wd_setup(&w);
	if (r < 0) {
		wd_send(&w, "N %d", -r);
		return 1;
	}
	w.st.active = true;
	w.st.watchdog_pid = getpid();
	w.st.watchdog_start = quiesce_pid_starttime(w.st.watchdog_pid);
	w.st.timeout_ms = w.timeout_ms;
	w.st.hook_timeout_ms = w.hook_timeout_ms;
	r = quiesce_state_write(QW_FD_STATEDIR, &w.st);
	if (r < 0) {
		wd_send(&w, "N %d", -r);
		return 1;
	}
	wd_send(&w, "R %d", (int)getpid());
	wd_loop(&w);
	if (!w.thawed)
		wd_thaw_all(&w, "request");
	w.st.active = wd_pending(&w);
	wd_save(&w);
	close(QW_FD_LOCK);
	/* Everything is thawed: now it is safe to talk. Nobody else will print this. */
	if (w.detached || w.caller_died)
		wd_report(&w);
	quiesce_status_free(&w.st);
	free(w.frozen_at);
	return 0;
}
