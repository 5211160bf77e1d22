/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The human report: the same content as the JSON, problems first, colour only on a terminal. */
#include "engine.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"

static const char *status_colour(enum status s)
{
	static const char *const c[ST__COUNT] = { "\033[32m", "\033[90m", "\033[33m", "\033[35m", "\033[31m" };
	return c[s];
}

static void print_result(FILE *f, const struct result *r, bool color)
{
	const cJSON *e, *c;
	char label[8];

	snprintf(label, sizeof(label), "%s", status_name(r->status));
	for (char *p = label; *p; p++)
		*p = (char)(*p - 'a' + 'A');
	fprintf(f, "%s%-5s%s %s%s%s — %s\n", color ? status_colour(r->status) : "", label, color ? C_RESET : "",
		color ? C_BOLD : "", r->check->id, color ? C_RESET : "", r->check->title);
	if (r->detail && *r->detail && r->status != ST_PASS)
		fprintf(f, "      %s\n", r->detail);
	if (r->status == ST_PASS || r->status == ST_SKIP)
		return;
	cJSON_ArrayForEach(e, r->evidence) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
		const cJSON *line = cJSON_GetObjectItem(e, "line");
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(e, "text"));

		fprintf(f, "      %s", path ? path : "");
		if (cJSON_IsNumber(line))
			fprintf(f, ":%d", line->valueint);
		if (text)
			fprintf(f, "%s%s", path ? ": " : "", text);
		fputc('\n', f);
	}
	if (r->rem_summary && *r->rem_summary)
		fprintf(f, "      fix: %s%s\n", r->rem_summary, r->fixable ? " (prepcheck --fix can do this)" : "");
	cJSON_ArrayForEach(c, r->commands)
		fprintf(f, "        # %s\n", c->valuestring);
}

void report_print_text(FILE *f, const struct report *rep, bool color)
{
	static const enum status order[] = { ST_FAIL, ST_ERROR, ST_WARN, ST_PASS, ST_SKIP };
	const struct host_facts *h = &rep->host;

	fprintf(f, "prepcheck %s — readiness of %s for %s\n", MOBILITY_VERSION,
		streq(rep->root, "/") ? "this system" : rep->root, rep->target->pretty);
	fprintf(f, "  os: %s   kernels: %zu (newest %s)   initramfs: %s   firmware: %s%s\n\n",
		h->os_pretty_name ? h->os_pretty_name : "unknown", h->kernels.n,
		h->kernels.n ? h->kernels.v[h->kernels.n - 1] : "none", generator_name(h->generator),
		firmware_name(h->firmware), h->secure_boot ? " (Secure Boot on)" : "");
	for (size_t o = 0; o < ARRAY_SIZE(order); o++)
		for (size_t i = 0; i < rep->n; i++)
			if (rep->results[i].status == order[o])
				print_result(f, &rep->results[i], color);
	fprintf(f, "\n%u passed, %u warnings, %u failed, %u skipped, %u errors — %s\n", rep->counts[ST_PASS],
		rep->counts[ST_WARN], rep->counts[ST_FAIL], rep->counts[ST_SKIP], rep->counts[ST_ERROR],
		rep->counts[ST_FAIL] ? "NOT READY: fix the failures before migrating"
		: report_ready(rep)  ? "ready to migrate"
				     : "ready with warnings: review them");
}
