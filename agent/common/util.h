/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers every module uses. Error handling style of the whole project: functions return 0 or a
 * negative errno and log at the edge (the caller that knows the context); resources are released by
 * cleanup attributes (_cleanup_free_ and friends), so error paths are plain "return".
 */
#ifndef MOBILITY_UTIL_H
#define MOBILITY_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(const int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership out of a cleanup variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}
bool endswith(const char *s, const char *suffix);

/* Allocation that aborts on OOM: an agent that cannot allocate a few bytes cannot report either. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

/* Strip leading and trailing white space in place; returns the start. */
char *strstrip(char *s);

/* A NULL-terminated, heap-allocated string vector. */
typedef struct strv {
	char **v;
	size_t n, cap;
} strv;
void strv_push(strv *s, const char *str);
void strv_push_take(strv *s, char *str);
bool strv_contains(const strv *s, const char *str);
void strv_sort(strv *s);
void strv_free(strv *s);
static inline void strv_freep(strv *s) { strv_free(s); }
#define _cleanup_strv_ _cleanup_(strv_freep)

/* Parse a decimal integer in full; -EINVAL on garbage, -ERANGE on overflow. */
int parse_long(const char *s, long *out);

#endif
