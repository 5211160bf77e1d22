/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "engine.h"
#include "fileio.h"

#include <stdarg.h>

const char *status_name(enum status s)
{
	static const char *const names[ST__COUNT] = { "pass", "skip", "warn", "error", "fail" };

	return s < ST__COUNT ? names[s] : "error";
}

void result_init(struct result *r, const struct check *c)
{
	memset(r, 0, sizeof(*r));
	r->check = c;
	r->status = ST_PASS;
	r->evidence = cJSON_CreateArray();
	r->commands = cJSON_CreateArray();
}

void result_free(struct result *r)
{
	free(r->detail);
	free(r->rem_summary);
	cJSON_Delete(r->evidence);
	cJSON_Delete(r->commands);
	memset(r, 0, sizeof(*r));
}

void result_status(struct result *r, enum status s)
{
	if (s > r->status)
		r->status = s;
}

enum status result_get_status(const struct result *r) { return r->status; }

static void __attribute__((format(printf, 2, 0))) vdetail(struct result *r, const char *fmt, va_list ap)
{
	_cleanup_free_ char *add = NULL;

	if (vasprintf(&add, fmt, ap) < 0)
		abort();
	if (!r->detail) {
		r->detail = TAKE_PTR(add);
		return;
	}
	char *joined = xasprintf("%s %s", r->detail, add);
	free(r->detail);
	r->detail = joined;
}

void result_detail(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdetail(r, fmt, ap);
	va_end(ap);
}

void result_set(struct result *r, enum status s, const char *fmt, ...)
{
	va_list ap;

	result_status(r, s);
	va_start(ap, fmt);
	vdetail(r, fmt, ap);
	va_end(ap);
}

cJSON *result_evidence(struct result *r, const char *path, long line, const char *text)
{
	cJSON *e = cJSON_CreateObject();

	if (path)
		cJSON_AddStringToObject(e, "path", path);
	if (line > 0)
		cJSON_AddNumberToObject(e, "line", (double)line);
	if (text)
		cJSON_AddStringToObject(e, "text", text);
	cJSON_AddItemToArray(r->evidence, e);
	return e;
}

void result_remediation(struct result *r, bool fixable, const char *fmt, ...)
{
	va_list ap;

	free(r->rem_summary);
	va_start(ap, fmt);
	if (vasprintf(&r->rem_summary, fmt, ap) < 0)
		abort();
	va_end(ap);
	r->fixable = fixable;
}

void result_command(struct result *r, const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	const cJSON *c;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	cJSON_ArrayForEach(c, r->commands)
		if (streq(c->valuestring, cmd))
			return;
	cJSON_AddItemToArray(r->commands, cJSON_CreateString(cmd));
}

void result_file_error(struct result *r, const char *path, int neg_errno)
{
	result_set(r, ST_ERROR, "Cannot read %s: %s.", path, errstr(neg_errno));
	result_evidence(r, path, 0, NULL);
}
