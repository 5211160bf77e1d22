/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading files with a size bound, splitting text into lines, and replacing files atomically
 * (temp file in the same directory, fsync, rename, fsync the directory): a crash at any instant
 * leaves the old or the new content, never a mix.
 */
#ifndef MOBILITY_FILEIO_H
#define MOBILITY_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Default bound for configuration files: no fstab or repo file is legitimately larger. */
#define CONFIG_FILE_MAX (16u << 20)

/*
 * Read all of fd (regular file, or a /proc-/sys-style file) into a NUL-terminated buffer.
 * -EFBIG if it holds more than max bytes, -EINVAL for FIFOs, sockets and devices (reading them
 * could block forever), -EISDIR for directories.
 */
int read_fd_bounded(int fd, size_t max, char **buf, size_t *len);
int read_file_bounded(const char *path, size_t max, char **buf, size_t *len);

/* Iterate the lines of a buffer; handles a missing final newline and strips '\r'. */
struct line_iter {
	char *pos, *end;
	unsigned lineno;
};
void line_iter_init(struct line_iter *it, char *buf, size_t len);
/* Returns the next line (NUL-terminated in place) or NULL at the end. *has_nul says the line held
 * a NUL byte (binary garbage: callers report it instead of silently parsing half a line). */
char *line_iter_next(struct line_iter *it, bool *has_nul);

/*
 * Lines continued with a trailing backslash, joined into one logical line (udev rules, ifupdown's
 * interfaces). add() appends LINE without its '\\' and returns true when LINE ended the logical line;
 * first is the number of its first physical line.
 */
struct joined_line {
	char *text;
	size_t len;
	long first;
};
bool joined_line_add(struct joined_line *j, const char *line, long lineno);
static inline bool joined_line_pending(const struct joined_line *j) { return j->text != NULL; }
void joined_line_clear(struct joined_line *j);

int write_all(int fd, const void *data, size_t len);
/*
 * The one atomic replacement every writer uses: a temp file beside dirfd/name (0600), FILL writes
 * its content and sets its metadata, then fsync, rename over name, fsync the directory. On any error
 * the temp file is removed and name is untouched.
 */
typedef int (*atomic_fill_fn)(int fd, void *userdata);
int atomic_replace_at(int dirfd, const char *name, atomic_fill_fn fill, void *userdata);
/* Replace dirfd/name with data atomically, then fsync the directory. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* strerror for our negative errno values, with the few codes we give a sharper meaning. */
const char *errstr(int neg_errno);

#endif
