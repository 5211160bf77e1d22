/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan of `prepcheck --fix` as data: per failing fixable check, the actions that repair it.
 * Remediations (morph/<what>.c) only build actions from the check results' evidence; they never
 * touch the system. --dry-run prints the plan (exact diffs and commands); --fix hands it to the
 * executor (apply.c), which journals every change before making it.
 */
#ifndef MORPH_PLAN_H
#define MORPH_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "sysroot.h"
#include "util.h"

struct options;
struct report;
struct result;
struct target_profile;

enum action_kind {
	ACT_WRITE,   /* replace PATH by data (create it when absent) */
	ACT_REMOVE,  /* take PATH away: its bytes stay in the journal ("moved into the journal") */
	ACT_RUN,     /* run argv inside the root (in a chroot when --root is given) */
	ACT_REBUILD, /* build KVER's initramfs beside PATH, prove the drivers are in it, then swap */
};

struct action {
	enum action_kind kind;
	char *path;            /* guest path (WRITE, REMOVE, REBUILD: the image) */
	char *data;            /* WRITE: the new content */
	size_t len;
	char *orig;            /* WRITE/REMOVE: content the plan was made from (NULL: file absent) */
	size_t orig_len;
	mode_t mode;           /* WRITE of a file that does not exist yet */
	strv argv;             /* RUN; REBUILD: the build command writing PATH.mobility-new */
	char *kver;            /* REBUILD */
	strv modules;          /* REBUILD: modules the new image must contain */
	char *why;             /* one line for the plan */
};

struct fix {
	char *remedy;          /* "fstab", "initramfs"... */
	strv checks;           /* the check ids it answers */
	char *summary;
	struct action *v;
	size_t n;
};

struct plan {
	struct fix *v;
	size_t n;
	strv left;             /* "id: why" for failing checks that stay with the admin */
};

/* What a remediation sees. */
struct morph_ctx {
	const struct sysroot *root;
	const struct report *rep;
	const struct target_profile *target;
	const struct options *opts;
};

struct remedy {
	const char *name;
	const char *const *checks; /* the check ids it repairs, NULL-terminated */
	/*
	 * Fill FIX from the failing results of its checks (n >= 1). 0 with fix->n == 0 means there is
	 * nothing to do after all; -errno with *why (malloc'ed) leaves the checks to the admin.
	 */
	int (*plan)(const struct morph_ctx *m, const struct result *const *res, size_t n, struct fix *fix,
		    char **why);
};

extern const struct remedy remedy_fstab, remedy_repos, remedy_udev_net, remedy_udev_block, remedy_initramfs;
extern const struct remedy *const morph_remedies[];

/* Build the plan for every failing (warn/fail) result whose remediation is fixable. */
void plan_build(const struct morph_ctx *m, struct plan *p);
void plan_free(struct plan *p);
void fix_free(struct fix *f);
size_t plan_actions(const struct plan *p);
bool plan_rebuilds(const struct plan *p);
#define REBUILD_SUFFIX ".mobility-new"

/* Appending actions. The strings are copied; data is taken over. */
struct action *fix_add(struct fix *f, enum action_kind kind, const char *path, const char *why);
void action_set_orig(struct action *a, const char *orig, size_t len);
/* An edit of an existing file: write DATA (taken) if it differs from ORIG; false when unchanged. */
bool fix_add_edit(struct fix *f, const char *path, const char *orig, size_t orig_len, char *data, size_t len,
		  const char *why);

/* Print the plan: per check the unified diffs and the commands. */
int plan_print(FILE *out, const struct plan *p, const struct sysroot *sr);
/* A unified diff of A and B labelled with PATH ("" when equal); NULL sides mean "absent". */
int unified_diff(const char *path, const char *a, size_t alen, const char *b, size_t blen, char **out);
/* Shell-quoted one-line form of argv, for plans and logs. */
char *argv_to_string(char *const *argv);

/* Evidence helpers: string and number members of an evidence item. */
const char *ev_str(const cJSON *item, const char *key);
long ev_line(const cJSON *item);

#endif
