/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "run.h"
#include "fileio.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define KILL_GRACE_MS 2000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

struct capture {
	char *buf;
	size_t len, cap, max;
	bool truncated;
};

static void capture_read(struct capture *c, int *fd)
{
	char tmp[8192];
	ssize_t r = read(*fd, tmp, sizeof(tmp));

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	size_t keep = c->len + r > c->max ? c->max - c->len : (size_t)r;
	if (keep < (size_t)r)
		c->truncated = true;
	if (c->len + keep + 1 > c->cap) {
		c->cap = (c->len + keep + 1) * 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, tmp, keep);
	c->len += keep;
	c->buf[c->len] = '\0';
}

static void child_exec(const char *const *argv, const struct run_opts *o, int in, int out, int err, int errpipe)
{
	int e;

	setpgid(0, 0);
	/* Its own process group (so a timeout kills the whole tree), but it dies with us: a killed
	 * prepcheck --fix must not leave an initramfs generator writing on. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_DFL);
	/* A blocked mask survives exec: a caller reading signals from a signalfd (the freeze watchdog)
	 * would hand its children a SIGTERM they never see - our timeout, or a service manager later. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) < 0 || (out >= 0 && dup2(out, 1) < 0) || (err >= 0 && dup2(err, 2) < 0))
		goto fail;
	if (o->chroot_dir && (chroot(o->chroot_dir) < 0 || chdir("/") < 0))
		goto fail;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	if (o->envp)
		execvpe(argv[0], (char *const *)argv, o->envp);
	else
		execvp(argv[0], (char *const *)argv);
fail:
	e = errno;
	(void)!write(errpipe, &e, sizeof(e));
	_exit(127);
}

static int spawn_failure(int errpipe)
{
	int e = 0;
	ssize_t r;

	do
		r = read(errpipe, &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	return r == sizeof(e) ? -e : 0;
}

int run_cmd(const char *const *argv, const struct run_opts *opts, struct run_result *res)
{
	static const struct run_opts defaults = { 0 };
	const struct run_opts *o = opts ? opts : &defaults;
	int pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pin[2] = { -1, -1 }, pexec[2] = { -1, -1 };
	struct capture cout = { .max = o->max_output ? o->max_output : 1u << 20 };
	struct capture cerr = { .max = cout.max };
	long long deadline, killed_at = 0;
	int status = 0, r;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(pexec, O_CLOEXEC) < 0 || pipe2(pin, O_CLOEXEC) < 0 ||
	    (!o->pass_stdout && (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0))) {
		r = -errno;
		goto fail_pipes;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail_pipes;
	}
	if (pid == 0)
		child_exec(argv, o, pin[0], pout[1], perr[1], pexec[1]);

	close(pexec[1]);
	close(pin[0]);
	if (!o->pass_stdout) {
		close(pout[1]);
		close(perr[1]);
	}
	r = spawn_failure(pexec[0]);
	close(pexec[0]);
	if (o->stdin_data && r == 0) {
		signal(SIGPIPE, SIG_IGN);
		(void)write_all(pin[1], o->stdin_data, strlen(o->stdin_data));
	}
	close(pin[1]);

	deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
	for (;;) {
		struct pollfd pf[2] = { { .fd = pout[0], .events = POLLIN }, { .fd = perr[0], .events = POLLIN } };
		int wait_ms = -1;
		pid_t w;

		if (pout[0] < 0 && perr[0] < 0) {
			/* Pipes closed: the child (or a daemon it left) is done writing; reap with the timer. */
			w = waitpid(pid, &status, deadline ? WNOHANG : 0);
			if (w == pid)
				break;
			if (w < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			usleep(10000);
		} else {
			if (deadline)
				wait_ms = (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0);
			if (killed_at)
				wait_ms = 100;
			if (poll(pf, 2, wait_ms) > 0) {
				if (pf[0].revents)
					capture_read(&cout, &pout[0]);
				if (pf[1].revents)
					capture_read(&cerr, &perr[0]);
			}
		}
		if (deadline && now_ms() >= deadline && !killed_at) {
			res->timed_out = true;
			kill(-pid, SIGTERM);
			killed_at = now_ms();
		}
		if (killed_at && now_ms() - killed_at > KILL_GRACE_MS) {
			kill(-pid, SIGKILL);
			/* Stop reading: a grandchild may hold the pipes open even after SIGKILL of the group. */
			if (pout[0] >= 0)
				close(pout[0]);
			if (perr[0] >= 0)
				close(perr[0]);
			pout[0] = perr[0] = -1;
			deadline = 0;
		}
	}
	if (pout[0] >= 0)
		close(pout[0]);
	if (perr[0] >= 0)
		close(perr[0]);
	if (r < 0 && r != -ECHILD) {
		free(cout.buf);
		free(cerr.buf);
		return r;
	}
	if (WIFSIGNALED(status))
		res->signo = WTERMSIG(status);
	else
		res->exit_code = WEXITSTATUS(status);
	res->out = cout.buf ? cout.buf : xstrdup("");
	res->err = cerr.buf ? cerr.buf : xstrdup("");
	res->out_len = cout.len;
	res->err_len = cerr.len;
	res->out_truncated = cout.truncated;
	res->err_truncated = cerr.truncated;
	return r;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		int *ps[] = { &pout[i], &perr[i], &pin[i], &pexec[i] };
		for (size_t j = 0; j < ARRAY_SIZE(ps); j++)
			if (*ps[j] >= 0)
				close(*ps[j]);
	}
	return r;
}

void run_result_free(struct run_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

bool run_ok(const struct run_result *res)
{
	return !res->timed_out && !res->signo && res->exit_code == 0;
}

void run_describe(const struct run_result *res, const struct run_opts *opts, char *buf, size_t len)
{
	if (res->timed_out)
		snprintf(buf, len, "timed out after %d ms", opts ? opts->timeout_ms : 0);
	else if (res->signo)
		snprintf(buf, len, "killed by signal %d", res->signo);
	else
		snprintf(buf, len, "exit status %d", res->exit_code);
}

char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *all = xasprintf("%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
					     path ? path : "");
	char *save = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	for (char *d = strtok_r(all, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = xasprintf("%s/%s", d, name);
		struct stat st;

		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
			return TAKE_PTR(p);
	}
	return NULL;
}
