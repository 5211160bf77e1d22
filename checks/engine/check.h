/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The interface between prepcheck's engine and its checks. A check is a table entry (struct check)
 * plus one run() function in its own file checks/<id with '.' as '-'>.c, listed once in
 * checks/checks.def. The engine never knows a check by name: it runs what the table holds,
 * filtered by target and by --only/--skip.
 *
 * run() fills a struct result through the result_*() calls below. It must never abort the run:
 * unreadable files, garbage and missing tools become status "error" with a detail naming the file.
 */
#ifndef PREPCHECK_CHECK_H
#define PREPCHECK_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../../agent/common/sysroot.h"
#include "../../agent/common/util.h"
#include "host.h"
#include "target.h"

/* Ordered by severity: result_status() only ever raises. */
enum status { ST_PASS, ST_SKIP, ST_WARN, ST_ERROR, ST_FAIL, ST__COUNT };
const char *status_name(enum status s);

enum check_flags {
	CHECK_LIVE_ONLY = 1 << 0, /* meaningless offline (--root): skipped with that reason */
	CHECK_NETWORK = 1 << 1,   /* talks to the network: skipped with --no-network */
};

struct options;
struct disk_set;
struct fstab;

struct check_ctx {
	const struct options *opts;
	const struct target_profile *target;
	const struct sysroot *root;
	const struct host_facts *host;
	/* Gathered lazily and shared by the checks that need them; see ctx_disks(), ctx_fstab(). */
	struct disk_set *disks;
	struct fstab *fstab;
	int fstab_err;
	bool fstab_loaded;
	int timeout_ms;      /* per network check (--timeout), default 5000 */
	bool no_network;
};

struct result;

struct check {
	const char *id;          /* stable, design.md §3 */
	const char *title;       /* one line, shown in the report */
	const char *description; /* one line for --list */
	unsigned targets;        /* TGT_* mask; 0 means every target */
	unsigned flags;          /* CHECK_* */
	void (*run)(struct check_ctx *ctx, struct result *r);
};

/* Raise the status to s (never lowers it). */
void result_status(struct result *r, enum status s);
enum status result_get_status(const struct result *r);
/* Append a sentence to the detail text. */
void result_detail(struct result *r, const char *fmt, ...) _printf_(2, 3);
/* Status and detail at once. */
void result_set(struct result *r, enum status s, const char *fmt, ...) _printf_(3, 4);
/* Add an evidence item; line <= 0 and NULL text are omitted. Returns the object to add more keys. */
cJSON *result_evidence(struct result *r, const char *path, long line, const char *text);
/* The remediation block: summary and whether `prepcheck --fix` can apply it. */
void result_remediation(struct result *r, bool fixable, const char *fmt, ...) _printf_(3, 4);
/* One exact command for the admin (deduplicated). */
void result_command(struct result *r, const char *fmt, ...) _printf_(2, 3);
/* A file the check needed could not be read: status error, detail and evidence name it. */
void result_file_error(struct result *r, const char *path, int neg_errno);

/* Shared, lazily gathered facts. NULL / error codes are reported by the caller. */
struct disk_set *ctx_disks(struct check_ctx *ctx);
const struct fstab *ctx_fstab(struct check_ctx *ctx, int *err);

#endif
