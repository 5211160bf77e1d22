/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writing the journal of one --fix (format in journal.h). */
#include "journal.h"
#include "fileio.h"
#include "log.h"
#include "plan.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>

struct journal {
	const struct sysroot *sr;
	char *path;      /* guest path of the journal directory */
	int dirfd, filesfd, manifestfd, logfd;
	unsigned next;
};

const char *journal_path(const struct journal *j) { return j->path; }

void journal_free(struct journal *j)
{
	if (!j)
		return;
	for (int *fd = &j->dirfd; fd <= &j->logfd; fd++)
		if (*fd >= 0)
			close(*fd);
	free(j->path);
	free(j);
}

static int open_in(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

	return fd < 0 ? -errno : fd;
}

int journal_create(const struct sysroot *sr, struct journal **out)
{
	_cleanup_close_ int statefd = -1;
	struct journal *j;
	char ts[32], name[48];
	time_t now = time(NULL);
	int r;

	r = sysroot_mkdir_p(sr, MORPH_STATE_DIR, 0700, NULL);
	if (r < 0)
		return r;
	statefd = sysroot_open(sr, MORPH_STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (statefd < 0)
		return statefd;
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", gmtime(&now));
	snprintf(name, sizeof(name), "%s", ts);
	for (int i = 1; mkdirat(statefd, name, 0700) < 0; i++) {
		if (errno != EEXIST || i > 99)
			return -errno;
		snprintf(name, sizeof(name), "%s-%02d", ts, i); /* two --fix in one second still sort in order */
	}
	j = xcalloc(1, sizeof(*j));
	j->sr = sr;
	j->dirfd = j->filesfd = j->manifestfd = j->logfd = -1;
	j->path = xasprintf("%s/%s", MORPH_STATE_DIR, name);
	j->dirfd = openat(statefd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (j->dirfd < 0 || mkdirat(j->dirfd, "files", 0700) < 0) {
		r = -errno;
		journal_free(j);
		return r;
	}
	j->filesfd = openat(j->dirfd, "files", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	j->manifestfd = open_in(j->dirfd, "manifest");
	j->logfd = open_in(j->dirfd, "commands.log");
	if (j->filesfd < 0 || j->manifestfd < 0 || j->logfd < 0) {
		journal_free(j);
		return -EIO;
	}
	fsync(j->dirfd);
	fsync(statefd);
	*out = j;
	return 0;
}

int journal_note(struct journal *j, const char *kind, const char *path)
{
	_cleanup_free_ char *line = NULL;
	int r;

	if (strchr(path, '\n'))
		return -EINVAL;
	line = xasprintf("%s %s\n", kind, path);
	r = write_all(j->manifestfd, line, strlen(line));
	if (r == 0 && fdatasync(j->manifestfd) < 0)
		r = -errno;
	return r;
}

static int save_bytes(struct journal *j, int fd, const char *name, bool link)
{
	if (link && linkat(fd, "", j->filesfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	return copy_fd_to(fd, j->filesfd, name, 0600);
}

int journal_save(struct journal *j, const char *path, bool link)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *meta_text = NULL;
	struct file_meta meta;
	char name[32], mname[40];
	int r;

	fd = sysroot_open(j->sr, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd == -ENOENT)
		return journal_note(j, "new", path);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	r = meta_read_fd(fd, &meta);
	if (r < 0)
		return r;
	meta_text = meta_format(&meta);
	meta_free(&meta);
	snprintf(name, sizeof(name), "%u", j->next);
	snprintf(mname, sizeof(mname), "%u.meta", j->next);
	r = save_bytes(j, fd, name, link);
	if (r == 0)
		r = write_file_atomic_at(j->filesfd, mname, meta_text, strlen(meta_text), 0600);
	if (r == 0 && fsync(j->filesfd) < 0)
		r = -errno;
	if (r < 0)
		return r;
	_cleanup_free_ char *kind = xasprintf("file %u", j->next++);
	return journal_note(j, kind, path);
}

static void log_stream(int fd, const char *label, const char *s)
{
	if (!s || !*s)
		return;
	dprintf(fd, "--- %s\n%s%s", label, s, s[strlen(s) - 1] == '\n' ? "" : "\n");
}

void journal_log_cmd(struct journal *j, char *const *argv, const char *chroot_dir, const struct run_result *res,
		     int run_err)
{
	_cleanup_free_ char *cmd = argv_to_string(argv);
	time_t now = time(NULL);
	char ts[32], how[128];

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (run_err < 0)
		snprintf(how, sizeof(how), "could not run: %s", strerror(-run_err));
	else
		run_describe(res, NULL, how, sizeof(how));
	dprintf(j->logfd, "%s $ %s%s%s%s\n-> %s\n", ts, cmd, chroot_dir ? "   (in chroot " : "",
		chroot_dir ? chroot_dir : "", chroot_dir ? ")" : "", how);
	if (run_err == 0) {
		log_stream(j->logfd, "stdout", res->out);
		log_stream(j->logfd, "stderr", res->err);
	}
	fdatasync(j->logfd);
}

void morph_test_pause(const char *step)
{
	/* Test-only state: how often each step was reached in this process. One process, one --fix. */
	static unsigned hits;
	const char *want = getenv("MOBILITY_MORPH_TEST_PAUSE");
	size_t l = strlen(step);
	long nth = 1;

	if (!want || strncmp(want, step, l) != 0 || (want[l] != '\0' && want[l] != ':'))
		return;
	if (want[l] == ':' && parse_long(want + l + 1, &nth) < 0)
		return;
	if (++hits != (unsigned long)nth)
		return;
	fprintf(stderr, "prepcheck: test pause at %s (pid %d)\n", want, (int)getpid());
	raise(SIGSTOP);
}
