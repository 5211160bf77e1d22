/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "fileio.h"
#include "identity.h"
#include "json.h"

bool identity_normalize(const char *in, char out[IDENTITY_VALUE_MAX + 1])
{
	size_t n = 0;

	while (*in && isspace((unsigned char)*in))
		in++;
	for (; *in && !isspace((unsigned char)*in); in++) {
		char c = (char)tolower((unsigned char)*in);

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-') || n == IDENTITY_VALUE_MAX) {
			out[0] = '\0';
			return false;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	while (*in && isspace((unsigned char)*in))
		in++;
	if (*in) { /* white space inside: not one identifier */
		out[0] = '\0';
		return false;
	}
	return true;
}

/* Reads one value; "" and the reason when it cannot be had. */
static int read_value(const char *root, const char *path, char out[IDENTITY_VALUE_MAX + 1])
{
	_cleanup_free_ char *full = root && !streq(root, "/") ? xasprintf("%s%s", root, path) : xstrdup(path);
	_cleanup_free_ char *buf = NULL;
	int r;

	out[0] = '\0';
	r = read_file_bounded(full, 4096, &buf, NULL);
	if (r < 0)
		return r;
	if (!identity_normalize(buf, out))
		return -EBADMSG;
	/* an empty file (machine-id before first boot) is no identity either */
	return out[0] ? 0 : -ENOENT;
}

void identity_read(const char *root, struct identity *id)
{
	if (!root)
		root = getenv("MOBILITY_IDENTITY_ROOT");
	*id = (struct identity){ 0 };
	id->machine_id_error = read_value(root, IDENTITY_MACHINE_ID_PATH, id->machine_id);
	id->product_uuid_error = read_value(root, IDENTITY_PRODUCT_UUID_PATH, id->product_uuid);
}

bool identity_from_json(const cJSON *j, char machine_id[IDENTITY_VALUE_MAX + 1],
			char product_uuid[IDENTITY_VALUE_MAX + 1])
{
	const char *mid = json_get_str(j, "machine_id"), *uuid = json_get_str(j, "product_uuid");

	return mid && uuid && identity_normalize(mid, machine_id) && identity_normalize(uuid, product_uuid);
}

int identity_load(const char *state_dir, struct identity *first, long long *first_seen)
{
	_cleanup_free_ char *path = xasprintf("%s/" IDENTITY_STATE_FILE, state_dir), *buf = NULL;
	_cleanup_json_ cJSON *j = NULL;
	const cJSON *ts;
	size_t len;
	int r;

	*first = (struct identity){ 0 };
	r = read_file_bounded(path, 64u << 10, &buf, &len);
	if (r < 0)
		return r;
	j = cJSON_ParseWithLength(buf, len);
	if (!identity_from_json(j, first->machine_id, first->product_uuid))
		return -EINVAL;
	first->machine_id_error = first->machine_id[0] ? 0 : -ENOENT;
	first->product_uuid_error = first->product_uuid[0] ? 0 : -ENOENT;
	ts = cJSON_GetObjectItemCaseSensitive(j, "first_seen");
	if (first_seen)
		*first_seen = cJSON_IsNumber(ts) ? (long long)ts->valuedouble : 0;
	return 0;
}

int identity_save(const char *state_dir, const struct identity *id)
{
	_cleanup_free_ char *path = xasprintf("%s/" IDENTITY_STATE_FILE, state_dir), *txt = NULL;
	_cleanup_json_ cJSON *j = cJSON_CreateObject();

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	cJSON_AddStringToObject(j, "machine_id", id->machine_id);
	cJSON_AddStringToObject(j, "product_uuid", id->product_uuid);
	cJSON_AddNumberToObject(j, "first_seen", (double)time(NULL));
	txt = cJSON_Print(j);
	if (!txt)
		return -ENOMEM;
	return write_file_atomic(path, txt, strlen(txt), 0600); /* the product UUID is root-only in sysfs */
}

/* A value read now is comparable when it was read, or is known to be absent. */
static bool comparable(int err)
{
	return err == 0 || err == -ENOENT;
}

unsigned identity_changes(const struct identity *first, const struct identity *now)
{
	unsigned c = 0;

	if (comparable(now->machine_id_error) && !streq(first->machine_id, now->machine_id))
		c |= IDENTITY_MACHINE_ID_CHANGED;
	if (comparable(now->product_uuid_error) && !streq(first->product_uuid, now->product_uuid))
		c |= IDENTITY_PRODUCT_UUID_CHANGED;
	return c;
}

int identity_check(const char *root, const char *state_dir, bool record, struct identity_state *st)
{
	int r;

	*st = (struct identity_state){ 0 };
	identity_read(root, &st->current);
	r = identity_load(state_dir, &st->first, &st->first_seen);
	if (r == 0) {
		st->has_first = true;
		st->changed = identity_changes(&st->first, &st->current);
		return 0;
	}
	if (r != -ENOENT || !record)
		return r == -ENOENT ? 0 : r;
	if (!comparable(st->current.machine_id_error) || !comparable(st->current.product_uuid_error))
		return 0; /* not now: see identity.h */
	r = identity_save(state_dir, &st->current);
	if (r < 0)
		return r;
	st->first = st->current;
	st->has_first = st->recorded_now = true;
	st->first_seen = (long long)time(NULL);
	return 0;
}

static const char *shown(const char *v)
{
	return v[0] ? v : "(none)";
}

size_t identity_warnings(const struct identity_state *st, char *lines[3])
{
	size_t n = 0;

	if (st->changed & IDENTITY_PRODUCT_UUID_CHANGED)
		lines[n++] = xasprintf("product UUID changed from %s to %s: this is a clone or a new VM; "
				       "replication refuses to mix machines",
				       shown(st->first.product_uuid), shown(st->current.product_uuid));
	if (st->changed & IDENTITY_MACHINE_ID_CHANGED)
		lines[n++] = xasprintf("machine-id changed from %s to %s: this is a clone or a new VM; "
				       "replication refuses to mix machines",
				       shown(st->first.machine_id), shown(st->current.machine_id));
	lines[n] = NULL;
	return n;
}

static void add_error(cJSON *o, const char *key, int err)
{
	if (err)
		cJSON_AddStringToObject(o, key, err == -ENOENT ? "none on this machine" : errstr(err));
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *identity_state_json(const struct identity_state *st)
{
	cJSON *o = cJSON_CreateObject(), *w;
	char *lines[3];
	size_t n;

	cJSON_AddStringToObject(o, "machine_id", st->current.machine_id);
	cJSON_AddStringToObject(o, "product_uuid", st->current.product_uuid);
	add_error(o, "machine_id_error", st->current.machine_id_error);
	add_error(o, "product_uuid_error", st->current.product_uuid_error);
	if (st->has_first) {
		cJSON *f = cJSON_AddObjectToObject(o, "first_seen");
		cJSON_AddStringToObject(f, "machine_id", st->first.machine_id);
		cJSON_AddStringToObject(f, "product_uuid", st->first.product_uuid);
		cJSON_AddNumberToObject(f, "at", (double)st->first_seen);
	} else {
		cJSON_AddNullToObject(o, "first_seen");
	}
	cJSON_AddBoolToObject(o, "changed", st->changed != 0);
	w = cJSON_AddArrayToObject(o, "warnings");
	n = identity_warnings(st, lines);
	for (size_t i = 0; i < n; i++) {
		cJSON_AddItemToArray(w, cJSON_CreateString(lines[i]));
		free(lines[i]);
	}
	return o;
}

static char *header_line(const char *name, const char *value)
{
	return value[0] ? xasprintf("%s: %s", name, value) : xasprintf("%s;", name);
}

void identity_headers(const char *root, char *lines[2])
{
	struct identity id;

	identity_read(root, &id);
	lines[0] = header_line(IDENTITY_HEADER_MACHINE_ID, id.machine_id);
	lines[1] = header_line(IDENTITY_HEADER_PRODUCT_UUID, id.product_uuid);
}
