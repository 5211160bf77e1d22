/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The JSON report, schema "prepcheck/1" (design.md §3): the names here are a contract. */
#include "engine.h"
#include "json.h"

static cJSON *host_json(const struct report *rep)
{
	const struct host_facts *h = &rep->host;
	cJSON *o = cJSON_CreateObject(), *k = cJSON_CreateArray();

	json_add_str(o, "os_id", h->os_id);
	json_add_str(o, "os_version_id", h->os_version_id);
	json_add_str(o, "os_pretty_name", h->os_pretty_name);
	json_add_str(o, "kernel_running", h->kernel_running);
	for (size_t i = 0; i < h->kernels.n; i++)
		cJSON_AddItemToArray(k, cJSON_CreateString(h->kernels.v[i]));
	cJSON_AddItemToObject(o, "kernels_installed", k);
	cJSON_AddStringToObject(o, "initramfs_generator", generator_name(h->generator));
	cJSON_AddStringToObject(o, "firmware", firmware_name(h->firmware));
	cJSON_AddBoolToObject(o, "secure_boot", h->secure_boot);
	json_add_str(o, "machine_id", h->machine_id);
	json_add_str(o, "product_uuid", h->product_uuid);
	return o;
}

static cJSON *result_json(const struct result *r)
{
	cJSON *o = cJSON_CreateObject(), *rem = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", r->check->id);
	cJSON_AddStringToObject(o, "status", status_name(r->status));
	cJSON_AddStringToObject(o, "title", r->check->title);
	cJSON_AddStringToObject(o, "detail", r->detail ? r->detail : "");
	cJSON_AddItemToObject(o, "evidence", cJSON_Duplicate(r->evidence, 1));
	cJSON_AddStringToObject(rem, "summary", r->rem_summary ? r->rem_summary : "");
	cJSON_AddItemToObject(rem, "commands", cJSON_Duplicate(r->commands, 1));
	cJSON_AddBoolToObject(rem, "fixable", r->fixable);
	cJSON_AddItemToObject(o, "remediation", rem);
	return o;
}

cJSON *report_to_json(const struct report *rep)
{
	cJSON *o = cJSON_CreateObject(), *tool = cJSON_CreateObject(), *sum = cJSON_CreateObject();
	cJSON *results = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "schema", "prepcheck/1");
	cJSON_AddStringToObject(tool, "name", "prepcheck");
	cJSON_AddStringToObject(tool, "version", MOBILITY_VERSION);
	cJSON_AddItemToObject(o, "tool", tool);
	cJSON_AddStringToObject(o, "target", rep->target->name);
	cJSON_AddStringToObject(o, "root", rep->root);
	cJSON_AddStringToObject(o, "generated_at", rep->generated_at);
	cJSON_AddItemToObject(o, "host", host_json(rep));
	static const enum status order[] = { ST_PASS, ST_WARN, ST_FAIL, ST_SKIP, ST_ERROR };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		cJSON_AddNumberToObject(sum, status_name(order[i]), rep->counts[order[i]]);
	cJSON_AddBoolToObject(sum, "ready", report_ready(rep));
	cJSON_AddItemToObject(o, "summary", sum);
	for (size_t i = 0; i < rep->n; i++)
		cJSON_AddItemToArray(results, result_json(&rep->results[i]));
	cJSON_AddItemToObject(o, "results", results);
	return o;
}
