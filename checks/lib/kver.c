/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "kver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int kver_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		/* '~' sorts before everything, even the end (rpm and dpkg agree). */
		if (*a == '~' || *b == '~') {
			if (*a != '~')
				return 1;
			if (*b != '~')
				return -1;
			a++, b++;
			continue;
		}
		while (*a && !isalnum((unsigned char)*a) && *a != '~')
			a++;
		while (*b && !isalnum((unsigned char)*b) && *b != '~')
			b++;
		if (!*a || !*b)
			break;
		if (isdigit((unsigned char)*a) != isdigit((unsigned char)*b))
			return isdigit((unsigned char)*a) ? 1 : -1; /* a number beats letters */
		if (isdigit((unsigned char)*a)) {
			const char *ea, *eb;
			size_t la, lb;
			int c;

			while (*a == '0')
				a++;
			while (*b == '0')
				b++;
			for (ea = a; isdigit((unsigned char)*ea); ea++)
				;
			for (eb = b; isdigit((unsigned char)*eb); eb++)
				;
			la = ea - a, lb = eb - b;
			if (la != lb)
				return la > lb ? 1 : -1;
			c = strncmp(a, b, la);
			if (c)
				return c > 0 ? 1 : -1;
			a = ea, b = eb;
		} else {
			const char *ea, *eb;
			size_t la, lb;
			int c;

			for (ea = a; isalpha((unsigned char)*ea); ea++)
				;
			for (eb = b; isalpha((unsigned char)*eb); eb++)
				;
			la = ea - a, lb = eb - b;
			c = strncmp(a, b, la < lb ? la : lb);
			if (c)
				return c > 0 ? 1 : -1;
			if (la != lb)
				return la > lb ? 1 : -1;
			a = ea, b = eb;
		}
	}
	if (!*a && !*b)
		return 0;
	return *a ? 1 : -1; /* the longer one wins */
}

static int cmp(const void *x, const void *y)
{
	return kver_cmp(*(char *const *)x, *(char *const *)y);
}

void kver_sort(char **v, unsigned long n)
{
	if (n > 1)
		qsort(v, n, sizeof(char *), cmp);
}
