/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "modname.h"
#include "util.h"

char *modname_normalize(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '-')
			*p = '_';
	return s;
}

char *modname_from_path(const char *path)
{
	static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t bl = strlen(base), sl = strlen(suffixes[i]);

		if (bl > sl && endswith(base, suffixes[i]))
			return modname_normalize(xstrndup(base, bl - sl));
	}
	return NULL;
}

bool modname_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		char ca = *a == '-' ? '_' : *a, cb = *b == '-' ? '_' : *b;

		if (ca != cb)
			return false;
		if (!ca)
			return true;
	}
}
