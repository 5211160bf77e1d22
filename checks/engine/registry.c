/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The check table, generated from checks.def: one line there per check file. */
#include "engine.h"

#define CHECK(sym) extern const struct check check_##sym;
#include "../checks.def"
#undef CHECK

const struct check *const prepcheck_checks[] = {
#define CHECK(sym) &check_##sym,
#include "../checks.def"
#undef CHECK
	NULL,
};

const struct check *check_find(const char *id)
{
	for (size_t i = 0; prepcheck_checks[i]; i++)
		if (streq(prepcheck_checks[i]->id, id))
			return prepcheck_checks[i];
	return NULL;
}
