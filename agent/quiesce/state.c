/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state file in /run/mobility-agent/freeze.state: written by the watchdog (the one that knows
 * what is frozen) before and after every change, so an agent started later - or "mobility-agent
 * thaw" after the watchdog itself was killed - knows what is frozen and who owns it. /run is tmpfs,
 * never frozen by us (quiesce_freeze() refuses a state directory on a filesystem of the plan).
 *
 * Text, one record per line; paths escaped as in mountinfo:
 *   mobility-quiesce-state 1
 *   active 1 | watchdog PID STARTTIME | timeout_ms N | hook_timeout_ms N | started MS | deadline MS
 *   thawed MS | reason R
 *   hook PATH | msg TEXT
 *   fs STATE MAJOR:MINOR FSTYPE ERRNO FROZEN_MS PATH
 */
#include "quiesce-internal.h"
#include "fileio.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <time.h>

long long quiesce_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

long long quiesce_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

char *quiesce_escape(const char *s)
{
	char *out = xmalloc(strlen(s) * 4 + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '\\' || c == 0x7f)
			o += sprintf(o, "\\%03o", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

struct sbuf {
	char *s;
	size_t len, cap;
};

static void _printf_(2, 3) sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

char *quiesce_state_format(const struct quiesce_status *st)
{
	struct sbuf b = { 0 };

	sbuf_printf(&b, "mobility-quiesce-state 1\nactive %d\nwatchdog %d %llu\ntimeout_ms %d\n", st->active,
		    (int)st->watchdog_pid, st->watchdog_start, st->timeout_ms);
	sbuf_printf(&b, "hook_timeout_ms %d\n", st->hook_timeout_ms);
	sbuf_printf(&b, "started %lld\ndeadline %lld\nthawed %lld\nreason %s\n", st->started_ms, st->deadline_ms,
		    st->thawed_ms, st->reason[0] ? st->reason : "-");
	for (size_t i = 0; i < st->hooks.n; i++) {
		_cleanup_free_ char *e = quiesce_escape(st->hooks.v[i]);
		sbuf_printf(&b, "hook %s\n", e);
	}
	for (size_t i = 0; i < st->messages.n; i++) {
		_cleanup_free_ char *e = quiesce_escape(st->messages.v[i]);
		sbuf_printf(&b, "msg %s\n", e);
	}
	for (size_t i = 0; i < st->plan.n; i++) {
		const struct quiesce_fs *f = &st->plan.v[i];
		_cleanup_free_ char *e = quiesce_escape(f->mount), *t = quiesce_escape(f->fstype);
		sbuf_printf(&b, "fs %s %u:%u %s %d %lld %s\n", quiesce_fs_state_name(f->state), f->major, f->minor,
			    t, f->error, f->frozen_ms, e);
	}
	return b.s;
}

static int state_by_name(const char *name)
{
	for (int s = QFS_PLANNED; s <= QFS_THAW_FAILED; s++)
		if (streq(name, quiesce_fs_state_name(s)))
			return s;
	return -1;
}

static int parse_fs(char *rest, struct quiesce_plan *p)
{
	char state[32], fstype[256];
	unsigned major, minor;
	int err, n = 0, s;
	long long ms;

	if (sscanf(rest, "%31s %u:%u %255s %d %lld %n", state, &major, &minor, fstype, &err, &ms, &n) != 6 || !n ||
	    !rest[n] || (s = state_by_name(state)) < 0)
		return -EBADMSG;
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	struct quiesce_fs *f = &p->v[p->n++];
	*f = (struct quiesce_fs){ .mount = xstrdup(rest + n), .fstype = xstrdup(fstype), .source = xstrdup(""),
				  .major = major, .minor = minor, .state = s, .error = err, .frozen_ms = ms };
	unescape_octal(f->mount);
	unescape_octal(f->fstype);
	strv_push(&f->aliases, f->mount);
	return 0;
}

static int parse_line(char *line, struct quiesce_status *st)
{
	char *sp = strchr(line, ' ');
	char *rest = sp ? sp + 1 : line + strlen(line);
	int pid = 0, active = 0;

	if (sp)
		*sp = '\0';
	if (streq(line, "mobility-quiesce-state"))
		return streq(rest, "1") ? 0 : -EPROTO;
	if (streq(line, "active"))
		return sscanf(rest, "%d", &active) == 1 ? (st->active = active, 0) : -EBADMSG;
	if (streq(line, "watchdog"))
		return sscanf(rest, "%d %llu", &pid, &st->watchdog_start) == 2 ? (st->watchdog_pid = pid, 0) : -EBADMSG;
	if (streq(line, "timeout_ms"))
		return sscanf(rest, "%d", &st->timeout_ms) == 1 ? 0 : -EBADMSG;
	if (streq(line, "hook_timeout_ms"))
		return sscanf(rest, "%d", &st->hook_timeout_ms) == 1 ? 0 : -EBADMSG;
	if (streq(line, "started"))
		return sscanf(rest, "%lld", &st->started_ms) == 1 ? 0 : -EBADMSG;
	if (streq(line, "deadline"))
		return sscanf(rest, "%lld", &st->deadline_ms) == 1 ? 0 : -EBADMSG;
	if (streq(line, "thawed"))
		return sscanf(rest, "%lld", &st->thawed_ms) == 1 ? 0 : -EBADMSG;
	if (streq(line, "reason")) {
		snprintf(st->reason, sizeof(st->reason), "%s", streq(rest, "-") ? "" : rest);
		return 0;
	}
	if (streq(line, "hook") || streq(line, "msg")) {
		unescape_octal(rest);
		strv_push(streq(line, "hook") ? &st->hooks : &st->messages, rest);
		return 0;
	}
	if (streq(line, "fs"))
		return parse_fs(rest, &st->plan);
	return 0; /* unknown records: written by a newer version, ignored */
}

int quiesce_state_parse(char *text, struct quiesce_status *st, long *errline)
{
	struct line_iter it;
	bool has_nul;
	char *line;

	line_iter_init(&it, text, strlen(text));
	while ((line = line_iter_next(&it, &has_nul))) {
		int r = has_nul ? -EBADMSG : parse_line(line, st);

		if (r < 0) {
			*errline = it.lineno;
			return r;
		}
	}
	st->exists = true;
	return 0;
}

int quiesce_state_write(int dirfd, const struct quiesce_status *st)
{
	_cleanup_free_ char *text = quiesce_state_format(st);

	return write_file_atomic_at(dirfd, QUIESCE_STATE_FILE, text, strlen(text), 0644);
}

int quiesce_lock(int dirfd, int *lockfd)
{
	_cleanup_close_ int fd = openat(dirfd, QUIESCE_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	*lockfd = TAKE_FD(fd);
	return 0;
}

unsigned long long quiesce_pid_starttime(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid), *buf = NULL;
	unsigned long long start = 0;
	size_t len;
	char *p;

	if (pid <= 0 || read_file_bounded(path, 4096, &buf, &len) < 0)
		return 0;
	/* Field 22; the command name (field 2) may hold spaces and parentheses: skip past the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p, "%llu", &start);
	return start;
}

const char *quiesce_state_dir(const char *opt)
{
	const char *env = getenv(QUIESCE_STATE_DIR_ENV);

	if (opt && *opt)
		return opt;
	return env && *env ? env : QUIESCE_DEFAULT_STATE_DIR;
}

void quiesce_status_free(struct quiesce_status *st)
{
	quiesce_plan_free(&st->plan);
	strv_free(&st->hooks);
	strv_free(&st->messages);
	*st = (struct quiesce_status){ 0 };
}
