/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ordering of kernel version strings as package managers order them: digit runs compare as numbers,
 * letter runs as strings, separators only separate ("5.14.0-362.el9" > "5.14.0-70.el9",
 * "6.1.0-50-amd64" > "6.1.0-9-amd64"). rpmvercmp semantics, which dpkg agrees with on kernel names.
 */
#ifndef PREPCHECK_KVER_H
#define PREPCHECK_KVER_H

int kver_cmp(const char *a, const char *b);
void kver_sort(char **v, unsigned long n);

#endif
