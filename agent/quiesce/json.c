/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The JSON shapes of "mobility-agent freeze|thaw|status --json". */
#include "quiesce-internal.h"
#include "json.h"

#include <time.h>

static void add_time(cJSON *o, const char *key, long long ms)
{
	char buf[64];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&t, &tm)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, key, buf);
}

cJSON *quiesce_plan_json(const struct quiesce_plan *plan)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < plan->n; i++) {
		const struct quiesce_fs *f = &plan->v[i];
		cJSON *o = cJSON_CreateObject();
		char dev[32];

		snprintf(dev, sizeof(dev), "%u:%u", f->major, f->minor);
		cJSON_AddStringToObject(o, "mount", f->mount);
		cJSON_AddStringToObject(o, "fstype", f->fstype);
		cJSON_AddStringToObject(o, "device", dev);
		cJSON_AddStringToObject(o, "state", quiesce_fs_state_name(f->state));
		json_add_str(o, "error", f->error ? strerror(f->error) : NULL);
		json_add_str(o, "reason", quiesce_fs_skip_reason(f));
		cJSON_AddNumberToObject(o, "frozen_ms", (double)f->frozen_ms);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

cJSON *quiesce_status_json(const struct quiesce_status *st)
{
	cJSON *o = cJSON_CreateObject(), *m;

	cJSON_AddBoolToObject(o, "active", st->active);
	cJSON_AddBoolToObject(o, "orphaned", st->active && !st->watchdog_alive);
	if (st->watchdog_pid)
		cJSON_AddNumberToObject(o, "watchdog_pid", st->watchdog_pid);
	else
		cJSON_AddNullToObject(o, "watchdog_pid");
	cJSON_AddBoolToObject(o, "watchdog_alive", st->watchdog_alive);
	cJSON_AddNumberToObject(o, "timeout", st->timeout_ms / 1000.0);
	add_time(o, "started_at", st->started_ms);
	add_time(o, "deadline", st->deadline_ms);
	add_time(o, "thawed_at", st->thawed_ms);
	json_add_str(o, "reason", st->reason[0] ? st->reason : NULL);
	cJSON_AddItemToObject(o, "filesystems", quiesce_plan_json(&st->plan));
	m = cJSON_AddArrayToObject(o, "messages");
	for (size_t i = 0; i < st->messages.n; i++)
		cJSON_AddItemToArray(m, cJSON_CreateString(st->messages.v[i]));
	return o;
}
