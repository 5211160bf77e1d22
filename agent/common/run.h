/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Run an external program without a shell: argv as given, a timeout after which the whole process
 * group is killed, stdout and stderr captured up to a bound (a chatty tool cannot eat our memory).
 */
#ifndef MOBILITY_RUN_H
#define MOBILITY_RUN_H

#include <stdbool.h>
#include <stddef.h>

struct run_opts {
	int timeout_ms;          /* 0: wait forever */
	size_t max_output;       /* per stream; 0: 1 MiB. The excess is read and dropped. */
	const char *chroot_dir;  /* run inside this root (morph --root) */
	const char *cwd;
	char *const *envp;       /* NULL: inherit */
	const char *stdin_data;  /* NULL: /dev/null */
	bool pass_stdout;        /* let the child write to our stdout/stderr instead of capturing */
};

struct run_result {
	int exit_code;   /* valid when !signaled */
	int signo;       /* the signal that ended it, or 0 */
	bool timed_out;
	char *out, *err; /* NUL-terminated, never NULL after a successful run_cmd */
	size_t out_len, err_len;
	bool out_truncated, err_truncated;
};

/* 0 when the program ran (whatever it returned), -ENOENT when it does not exist, other -errno. */
int run_cmd(const char *const *argv, const struct run_opts *opts, struct run_result *res);
void run_result_free(struct run_result *res);
/* True when it ran and exited 0. */
bool run_ok(const struct run_result *res);
/* "exit status 3", "killed by signal 9", "timed out after 5 s". Static buffer per call site: copy it. */
void run_describe(const struct run_result *res, const struct run_opts *opts, char *buf, size_t len);

/* The full path of NAME found in PATH (or the standard sbin/bin dirs), or NULL. */
char *find_program(const char *name);

#endif
