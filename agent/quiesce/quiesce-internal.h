/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the library and the watchdog program: the state file, the hooks, and the protocol on
 * the lifeline (a socketpair; the caller's end closing means the caller died).
 *
 * caller -> watchdog, one line each:
 *   "P i"        about to FIFREEZE entry i (it may be frozen from now on)
 *   "F i"        entry i is frozen by us
 *   "S i ERRNO"  skipped (EOPNOTSUPP)      "B i"  EBUSY: someone else's freeze
 *   "E i ERRNO"  FIFREEZE failed, not frozen
 *   "D"          detach: keep frozen after the caller exits, until timeout or signal
 *   "T"          thaw now
 * watchdog -> caller:
 *   "R PID"      ready (mlockall'ed, state written, signals handled)
 *   "X"          the timer fired and everything was thawed
 *   after "T": "t i STATE ERRNO FROZEN_MS" per entry, "m TEXT" per message, then "done TIMED_OUT"
 *
 * The watchdog's file descriptors: 3 lifeline, 4 state directory, 5 lock file, 6+i mount point i.
 */
#ifndef MOBILITY_QUIESCE_INTERNAL_H
#define MOBILITY_QUIESCE_INTERNAL_H

#include "quiesce.h"

#define QW_FD_CTL 3
#define QW_FD_STATEDIR 4
#define QW_FD_LOCK 5
#define QW_FD_MOUNT0 6

#define QUIESCE_STATE_FILE "freeze.state"
#define QUIESCE_LOCK_FILE "freeze.lock"

long long quiesce_now_ms(void);      /* CLOCK_REALTIME */
long long quiesce_mono_ms(void);     /* CLOCK_MONOTONIC */

/* Escape white space and backslashes as \ooo so a path is one field; unescape with unescape_octal(). */
char *quiesce_escape(const char *s);

char *quiesce_state_format(const struct quiesce_status *st);
int quiesce_state_parse(char *text, struct quiesce_status *st, long *errline);
int quiesce_state_write(int dirfd, const struct quiesce_status *st);

/* Open (create) the lock file; 0 when we got the lock, -EBUSY when a live watchdog holds it. */
int quiesce_lock(int dirfd, int *lockfd);
/* Start time of PID from /proc (clock ticks since boot), 0 when it does not exist. */
unsigned long long quiesce_pid_starttime(pid_t pid);

/* The executables in DIR, by name; backup files and non-executables ignored. Missing DIR: none. */
int quiesce_hooks_list(const char *dir, strv *hooks);
/*
 * Run HOOKS with argv[1] = PHASE ("freeze": in order, stop at the first failure and return
 * -EIO with *failed = its index; "thaw": in reverse, all of them, -EIO if any failed). Every result
 * is appended to MESSAGES. COUNT limits how many (from the start) take part.
 */
int quiesce_hooks_run(const strv *hooks, size_t count, const char *phase, int timeout_ms, strv *messages,
		      size_t *failed);

/* FITHAW of an fd: 0, or a positive errno (EINVAL: it was not frozen). */
int quiesce_fithaw(int fd);

#endif
