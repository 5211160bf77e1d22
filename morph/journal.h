/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The journal of one `prepcheck --fix`: ROOT/var/lib/mobility-agent/morph/<UTC timestamp>/ holding
 *   manifest      one record per change, appended and fsync'ed BEFORE the change is made:
 *                   "file N PATH"  PATH existed; its bytes are files/N, its metadata files/N.meta
 *                   "new PATH"     PATH did not exist (undo removes it)
 *                   "dir PATH"     a directory --fix created (undo removes it when empty)
 *                   "temp PATH"    a scratch file beside a target (a rebuilt image before its swap)
 *                 A last line without its newline was cut by a kill: the change it announced never
 *                 started, so it is ignored.
 *   files/        the originals, byte for byte; N.meta: mode, owner, times, every xattr (hex)
 *   commands.log  each command run, its exit status and output
 *   undone        written once --undo (or a rollback) restored the tree
 * Files are only ever replaced by rename, so a kill at any instant leaves each file old or new, and
 * --undo replays the manifest backwards from whatever point the kill left.
 */
#ifndef MORPH_JOURNAL_H
#define MORPH_JOURNAL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "run.h"
#include "sysroot.h"
#include "util.h"

#define MORPH_STATE_DIR "/var/lib/mobility-agent/morph"
#define MORPH_LOCK_PATH MORPH_STATE_DIR "/.lock"

/* Metadata of a file that undo must give back: mode, owner, times, extended attributes. */
struct file_meta {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime;
	strv xnames;
	char **xvals;
	size_t *xlens;
};

int meta_read_fd(int fd, struct file_meta *m);
/* Give fd M's owner, mode, xattrs (and times when with_times). Owner first: chown clears set-id bits
 * and file capabilities. */
int meta_apply_fd(int fd, const struct file_meta *m, bool with_times);
char *meta_format(const struct file_meta *m);
int meta_parse(const char *text, struct file_meta *m);
void meta_free(struct file_meta *m);

/*
 * Replace DIRFD/NAME atomically by DATA (or the content of SRC_FD when data is NULL): temp file in the
 * same directory, metadata (META, or MODE for a new file) set BEFORE the rename so that the file is never
 * visible with the wrong owner or label, fsync, rename, fsync the directory. fileio.h's
 * write_file_atomic_at() does not take metadata, hence this variant.
 */
int replace_file_at(int dirfd, const char *name, const void *data, size_t len, int src_fd,
		    const struct file_meta *meta, bool with_times, mode_t mode);
/* Copy the content of SRC_FD into a new file DIRFD/NAME (fsync'ed). */
int copy_fd_to(int src_fd, int dirfd, const char *name, mode_t mode);

/* Make directory PATH and its parents inside the root; *created gets the guest paths made. */
int sysroot_mkdir_p(const struct sysroot *sr, const char *path, mode_t mode, strv *created);

struct journal;

/* Create a fresh journal directory. *dir gets its guest path. */
int journal_create(const struct sysroot *sr, struct journal **out);
void journal_free(struct journal *j);
static inline void journal_freep(struct journal **j) { if (*j) journal_free(*j); }
#define _cleanup_journal_ _cleanup_(journal_freep)
const char *journal_path(const struct journal *j);

/* Save PATH (bytes and metadata, or its absence) before it changes. LINK: try a hard link first (an
 * initramfs image about to be replaced by rename keeps its inode: no copy of tens of MB). */
int journal_save(struct journal *j, const char *path, bool link);
int journal_note(struct journal *j, const char *kind, const char *path);
void journal_log_cmd(struct journal *j, char *const *argv, const char *chroot_dir, const struct run_result *res,
		     int run_err);

/*
 * Undo: replay a journal backwards. With dir NULL, the newest journal not yet undone. Prints what it
 * restored to OUT. 0 when restored (or nothing to undo: *found false), -errno on the first failure.
 */
int journal_undo(const struct sysroot *sr, const char *dir, FILE *out, bool *found);

/* The lock every --fix and --undo holds. -EBUSY with *why when another one holds it. */
int morph_lock(const struct sysroot *sr, int *fd, char **why);

/* Test hook: MOBILITY_MORPH_TEST_PAUSE=STEP[:N] stops the process (SIGSTOP) the Nth time it reaches
 * STEP, so a test can kill -9 it exactly there. */
void morph_test_pause(const char *step);

#endif
