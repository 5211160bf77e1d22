/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fstab(5) as data. Parsing never fails as a whole: a malformed line is kept in `bad` with its line
 * number so the check can report it, and the rest of the file is still checked. Each entry keeps
 * where its device field sits in the line, so a remediation can replace exactly that field and
 * leave comments, spacing and options as the admin wrote them.
 */
#ifndef PREPCHECK_FSTAB_H
#define PREPCHECK_FSTAB_H

#include <stdbool.h>
#include <stddef.h>

struct fstab_entry {
	long line;
	char *spec;          /* decoded (\040 -> space) */
	char *file, *type, *opts;
	int freq, passno;
	size_t spec_off, spec_len; /* byte span of the raw device field within the line */
	char *text;          /* the whole line as written, for evidence */
};

struct fstab_bad {
	long line;
	char *reason;
	char *text;
};

struct fstab {
	struct fstab_entry *v;
	size_t n;
	struct fstab_bad *bad;
	size_t nbad;
};

enum spec_kind {
	SPEC_UUID,        /* UUID=, /dev/disk/by-uuid/ */
	SPEC_LABEL,       /* LABEL=, /dev/disk/by-label/ */
	SPEC_PARTUUID,    /* PARTUUID=, /dev/disk/by-partuuid/ */
	SPEC_PARTLABEL,   /* PARTLABEL=, /dev/disk/by-partlabel/ */
	SPEC_MAPPER,      /* /dev/mapper/NAME, /dev/VG/LV, /dev/mdN: named by content */
	SPEC_KERNEL_NAME, /* /dev/sda1, /dev/vdb, /dev/xvda1, /dev/nvme0n1p1, /dev/hda... */
	SPEC_BY_ID,       /* /dev/disk/by-id/: vendor, model, serial - change on the target */
	SPEC_BY_PATH,     /* /dev/disk/by-path/: bus position - changes on the target */
	SPEC_PSEUDO,      /* proc, tmpfs, none, sysfs... */
	SPEC_NETWORK,     /* server:/export, //server/share */
	SPEC_OTHER,       /* a file (swap file, loop image) or something we do not know */
};

void fstab_parse(char *text, size_t len, struct fstab *f);
void fstab_free(struct fstab *f);
enum spec_kind fstab_spec_kind(const char *spec, const char *type);
/* True for the kinds that survive a move to other hardware. */
bool spec_kind_stable(enum spec_kind k);
/* The value of a TAG=value spec (UUID=..., quotes removed), or NULL when SPEC is no such tag. */
char *fstab_tag_value(const char *spec, const char *tag);
/* True when the fstab options contain OPT (as a whole option). */
bool fstab_has_option(const char *opts, const char *opt);

#endif
