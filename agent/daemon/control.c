/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control.h"
#include "fileio.h"
#include "log.h"
#include "util.h"

#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define READ_TIMEOUT_MS 10000

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int mkdir_parents(const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = xstrdup(path);

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int control_listen(const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	struct sockaddr_un sa;
	int fd, r;

	r = make_addr(path, &sa);
	if (r < 0)
		return r;
	dirname(dir);
	r = mkdir_parents(path, 0700);
	if (r < 0)
		return r;
	/* The directory must not let others reach the socket, whatever umask created it. */
	if (chmod(dir, 0700) < 0)
		return -errno;
	/* A socket file left by a killed daemon: remove it only if nobody answers on it. */
	if (access(path, F_OK) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (probe >= 0)
			close(probe);
		if (alive)
			return -EADDRINUSE;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Read one line (the request) with a deadline; bounded. */
static int read_line(int fd, int timeout_ms, char **out)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap);

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int pr = poll(&pf, 1, timeout_ms > 0 ? timeout_ms : -1);
		ssize_t n;

		if (pr == 0)
			return -ETIMEDOUT;
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (len + 1 >= cap) {
			if (cap >= CONTROL_MAX_MESSAGE)
				return -EMSGSIZE;
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
		if (memchr(buf + len - n, '\n', n))
			break;
	}
	buf[len] = '\0';
	if (!len)
		return -ENODATA;
	*out = TAKE_PTR(buf);
	return 0;
}

static int send_json(int fd, const cJSON *j)
{
	_cleanup_free_ char *s = cJSON_PrintUnformatted(j);
	int r;

	if (!s)
		return -ENOMEM;
	r = write_all(fd, s, strlen(s));
	return r < 0 ? r : write_all(fd, "\n", 1);
}

struct conn {
	int fd;
	control_handler h;
	void *userdata;
};

static void *serve(void *arg)
{
	struct conn *c = arg;
	_cleanup_free_ char *line = NULL;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	cJSON *req = NULL, *resp;
	int r;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || (cred.uid != 0 && cred.uid != geteuid()))
		resp = control_error("permission denied: the control socket is for root only");
	else if ((r = read_line(c->fd, READ_TIMEOUT_MS, &line)) < 0)
		resp = control_error("cannot read the request: %s", strerror(-r));
	else if (!(req = cJSON_Parse(line)) || !cJSON_IsObject(req))
		resp = control_error("the request is not a JSON object");
	else
		resp = c->h(c->userdata, req);
	if (send_json(c->fd, resp) < 0)
		log_debug("control: the client went away before the answer");
	cJSON_Delete(resp);
	cJSON_Delete(req);
	close(c->fd);
	free(c);
	return NULL;
}

int control_accept(int listen_fd, control_handler h, void *userdata)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct conn *c;
	pthread_t t;
	pthread_attr_t attr;

	if (fd < 0)
		return -errno;
	c = xmalloc(sizeof(*c));
	*c = (struct conn){ fd, h, userdata };
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, serve, c) != 0) {
		close(fd);
		free(c);
		pthread_attr_destroy(&attr);
		return -EAGAIN;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

int control_call(const char *path, const cJSON *req, int timeout_ms, cJSON **resp)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *line = NULL;
	int r = make_addr(path, &sa);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	r = send_json(fd, req);
	if (r < 0)
		return r;
	shutdown(fd, SHUT_WR);
	r = read_line(fd, timeout_ms, &line);
	if (r < 0)
		return r;
	*resp = cJSON_Parse(line);
	return *resp ? 0 : -EBADMSG;
}

cJSON *control_error(const char *fmt, ...)
{
	cJSON *j = cJSON_CreateObject();
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	cJSON_AddBoolToObject(j, "ok", false);
	cJSON_AddStringToObject(j, "error", msg);
	return j;
}

cJSON *control_ok(void)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddBoolToObject(j, "ok", true);
	return j;
}
