/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Quiesce: freeze the guest's filesystems for a consistent final replication pass, and never leave
 * them frozen (design.md §5, docs/quiesce.md).
 *
 * Plan, then execute: quiesce_plan_read() lists the filesystems (one per superblock, children and
 * filesystems whose loop image lives on another one first, "/" last); quiesce_freeze() runs the
 * freeze hooks, starts the watchdog (a separate, mlockall'ed process with its own timer) and
 * freezes the plan in order; quiesce_thaw() asks the watchdog to thaw and run the thaw hooks. If
 * the caller dies while frozen, the watchdog thaws at once; after quiesce_detach() it keeps the
 * filesystems frozen until the timeout or a thaw request from another process
 * (quiesce_thaw_state_dir(), used by "mobility-agent thaw").
 *
 * Nothing here writes to stderr between the first FIFREEZE and the last FITHAW: results are
 * collected in the plan and the messages list and printed by the caller afterwards.
 */
#ifndef MOBILITY_QUIESCE_H
#define MOBILITY_QUIESCE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "mountinfo.h"
#include "util.h"

#define QUIESCE_DEFAULT_TIMEOUT_MS 60000
#define QUIESCE_DEFAULT_HOOK_TIMEOUT_MS 30000
#define QUIESCE_DEFAULT_HOOKS_DIR MOBILITY_SYSCONFDIR "/mobility-agent/freeze.d"
#define QUIESCE_DEFAULT_STATE_DIR "/run/mobility-agent"
#define QUIESCE_STATE_DIR_ENV "MOBILITY_QUIESCE_STATE_DIR"
#define QUIESCE_WATCHDOG_ENV "MOBILITY_FREEZE_WATCHDOG"

enum quiesce_fs_state {
	QFS_PLANNED,     /* not touched yet */
	QFS_PENDING,     /* FIFREEZE in progress (may be frozen: the watchdog thaws it to be safe) */
	QFS_FROZEN,      /* frozen by us */
	QFS_SKIPPED,     /* cannot be frozen (EOPNOTSUPP, read-only): listed, not an error */
	QFS_BUSY,        /* EBUSY: frozen by someone else before us; left to its owner */
	QFS_FAILED,      /* FIFREEZE failed with another error */
	QFS_THAWED,      /* was frozen by us, thawed */
	QFS_THAW_FAILED, /* FITHAW failed (error says why) */
};

struct quiesce_fs {
	char *mount;          /* the mount point we freeze through */
	char *fstype, *source;
	unsigned major, minor;
	char *backing;        /* loop devices: the image file (ordering), or NULL */
	strv aliases;         /* every mount point of this superblock (bind mounts) */
	enum quiesce_fs_state state;
	int error;            /* positive errno: why skipped/busy/failed, or the FITHAW error */
	long long frozen_ms;  /* how long it stayed frozen, once thawed */
};

struct quiesce_plan {
	struct quiesce_fs *v;
	size_t n;
};

/*
 * Build the plan from a mount table. ONLY (NULL-terminated, may be NULL) restricts it to those
 * mount points; each must be one (-EINVAL, *bad names it). Without ONLY: every writable local
 * filesystem, and as QFS_SKIPPED entries (never frozen) the read-only, memory, network, FUSE,
 * image and overlay ones; pseudo filesystems (proc, sysfs, cgroup...) are left out.
 */
int quiesce_plan_build(const struct mount_table *t, const char *const *only, struct quiesce_plan *plan,
		       char **bad);
/* Same from /proc/self/mountinfo (or MOUNTINFO), with loop backing files looked up in /sys. */
int quiesce_plan_read(const char *mountinfo, const char *const *only, struct quiesce_plan *plan, char **bad);
/* Order in place: a filesystem whose mount point or loop image lies on another comes first; "/" last. */
void quiesce_plan_order(struct quiesce_plan *plan);
void quiesce_plan_free(struct quiesce_plan *plan);
/* Why a QFS_SKIPPED entry is not frozen ("memory filesystem", "read-only"...); NULL otherwise. */
const char *quiesce_fs_skip_reason(const struct quiesce_fs *f);
/* True when a filesystem the plan freezes (not a skipped one) has device DEV (st_dev). */
bool quiesce_plan_has_dev(const struct quiesce_plan *plan, dev_t dev);

struct quiesce_opts {
	int timeout_ms;        /* watchdog timer from the first FIFREEZE; 0: 60 s */
	int hook_timeout_ms;   /* per hook; 0: 30 s */
	const char *hooks_dir; /* NULL: QUIESCE_DEFAULT_HOOKS_DIR */
	const char *state_dir; /* NULL: $MOBILITY_QUIESCE_STATE_DIR, else /run/mobility-agent */
	const char *watchdog;  /* NULL: $MOBILITY_FREEZE_WATCHDOG, else next to us, else libexec */
};

struct quiesce_handle;

/*
 * Freeze the plan. On success the plan's entries are FROZEN, SKIPPED or BUSY and *h holds the
 * lifeline to the watchdog. On failure nothing of ours is left frozen (and the thaw hooks of the
 * hooks that ran have run); *err says what failed, naming the hook or mount. *messages gets the
 * hook results (freed by the caller).
 */
int quiesce_freeze(struct quiesce_plan *plan, const struct quiesce_opts *o, struct quiesce_handle **h,
		   strv *messages, char **err);
/* Let the watchdog keep the filesystems frozen after we exit (until timeout or a thaw request). */
int quiesce_detach(struct quiesce_handle *h);
/*
 * Thaw through the watchdog: fills the plan's states and frozen_ms, appends hook results to
 * MESSAGES; *timed_out says the watchdog's timer had fired first. 0, or -EIO when a filesystem or
 * hook failed to thaw.
 */
int quiesce_thaw(struct quiesce_handle *h, struct quiesce_plan *plan, strv *messages, bool *timed_out);
/* Readable when the watchdog says something (its timer fired) or died: for callers that poll. */
int quiesce_handle_fd(const struct quiesce_handle *h);
pid_t quiesce_handle_watchdog_pid(const struct quiesce_handle *h);
/* Close the lifeline: an attached (not detached) watchdog thaws everything at once. */
void quiesce_handle_free(struct quiesce_handle *h);
static inline void quiesce_handle_freep(struct quiesce_handle **h) { if (*h) quiesce_handle_free(*h); }
#define _cleanup_quiesce_handle_ _cleanup_(quiesce_handle_freep)

/* What the state directory says: the current or last freeze. */
struct quiesce_status {
	bool exists;           /* a state file is there */
	bool active;           /* filesystems may be frozen by us now */
	bool watchdog_alive;   /* its lock is held */
	pid_t watchdog_pid;
	unsigned long long watchdog_start; /* its start time (/proc/PID/stat): a reused pid is not it */
	long long started_ms, deadline_ms, thawed_ms; /* CLOCK_REALTIME ms; 0: not yet */
	int timeout_ms, hook_timeout_ms;
	char reason[32];       /* why it was thawed: request, timeout, caller-died, signal, orphan */
	struct quiesce_plan plan;
	strv hooks;            /* the freeze hooks that ran, in freeze order */
	strv messages;         /* what the watchdog collected while frozen */
};

/* OPT if set, else $MOBILITY_QUIESCE_STATE_DIR, else /run/mobility-agent. Every state_dir
 * argument below may be NULL for that default. */
const char *quiesce_state_dir(const char *opt);
int quiesce_status_read(const char *state_dir, struct quiesce_status *st);
void quiesce_status_free(struct quiesce_status *st);
/*
 * Thaw what the state directory says is frozen: signal its watchdog and wait for it, or, when the
 * watchdog is gone (killed), thaw the filesystems and run the thaw hooks ourselves. -ENOENT when
 * nothing is frozen. *st gets the result.
 */
int quiesce_thaw_state_dir(const char *state_dir, int wait_ms, struct quiesce_status *st);

const char *quiesce_fs_state_name(enum quiesce_fs_state s);
/* One line per filesystem ("/mnt/a (ext4, 7:0): frozen 1.204 s, thawed"), for after the thaw. */
void quiesce_print_report(FILE *f, const char *prog, const struct quiesce_plan *plan);

/* The plan as a JSON array of {"mount", "fstype", "device", "state", "error", "reason", "frozen_ms"}
 * ("reason": why a skipped entry is skipped, else null). */
struct cJSON *quiesce_plan_json(const struct quiesce_plan *plan);
/* The status as a JSON object (the "freeze" section of "mobility-agent status --json"). */
struct cJSON *quiesce_status_json(const struct quiesce_status *st);

#endif
