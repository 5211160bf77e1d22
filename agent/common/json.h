/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cJSON helpers shared by the report, the agent's --json outputs and the wire protocol. */
#ifndef MOBILITY_JSON_H
#define MOBILITY_JSON_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "util.h"

static inline void cjson_deletep(cJSON **j) { if (*j) cJSON_Delete(*j); }
#define _cleanup_json_ _cleanup_(cjson_deletep)

/* Print pretty JSON and a newline; -EIO if the stream reports an error. */
int json_print(FILE *f, const cJSON *j);
/* Add a string, or JSON null for NULL. */
cJSON *json_add_str(cJSON *obj, const char *key, const char *val);
/* The string member KEY of OBJ, or NULL when missing or not a string. */
const char *json_get_str(const cJSON *obj, const char *key);

#endif
