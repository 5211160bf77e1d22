/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prepcheck's engine: options, the run over the check table, the report and its exit code. */
#ifndef PREPCHECK_ENGINE_H
#define PREPCHECK_ENGINE_H

#include <stdio.h>

#include "check.h"

enum report_format { FORMAT_TEXT, FORMAT_JSON };

struct options {
	const char *root;         /* "/" live */
	const char *target;       /* profile name */
	enum report_format format;
	const char *output;       /* NULL: stdout */
	strv only, skip;
	strv disks;
	bool no_network;
	int timeout_ms;
	bool color;
	unsigned sysroot_flags;   /* SYSROOT_* (tests force the portable resolver) */
};

struct result {
	const struct check *check;
	enum status status;
	char *detail;
	cJSON *evidence;   /* array */
	char *rem_summary;
	bool fixable;
	cJSON *commands;   /* array of strings */
	double seconds;
};

struct report {
	const struct target_profile *target;
	char *root;
	char generated_at[32];
	struct host_facts host;
	struct result *results;
	size_t n;
	unsigned counts[ST__COUNT];
};

/* The table of every check, NULL-terminated (registry.c, from checks.def). */
extern const struct check *const prepcheck_checks[];
const struct check *check_find(const char *id);

/* Validate --only/--skip ids; on an unknown one, *bad names it and -EINVAL is returned. */
int engine_validate_ids(const struct options *o, const char **bad);
/* Run every check; 0, or a negative errno when the root cannot be opened (*why says so). */
int engine_run(const struct options *o, struct report *rep, char **why);
void report_free(struct report *rep);
/* design.md §2: 0 ready, 1 warnings (or checks that could not decide), 2 a blocker. */
int report_exit_code(const struct report *rep);
bool report_ready(const struct report *rep);

cJSON *report_to_json(const struct report *rep);
void report_print_text(FILE *f, const struct report *rep, bool color);

void result_init(struct result *r, const struct check *c);
void result_free(struct result *r);

#endif
