/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "json.h"

int json_print(FILE *f, const cJSON *j)
{
	_cleanup_free_ char *s = cJSON_Print(j);

	if (!s)
		return -ENOMEM;
	if (fputs(s, f) == EOF || fputc('\n', f) == EOF || fflush(f) == EOF || ferror(f))
		return -EIO;
	return 0;
}

cJSON *json_add_str(cJSON *obj, const char *key, const char *val)
{
	return val ? cJSON_AddStringToObject(obj, key, val) : cJSON_AddNullToObject(obj, key);
}

const char *json_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}
