/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "fileio.h"

#include <yaml.h>

struct walk {
	yaml_document_t *doc;
	const char *name;
	char **err;
};

static int fail_at(const struct walk *w, const yaml_node_t *n, const char *fmt, const char *what)
{
	_cleanup_free_ char *msg = NULL;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	msg = xasprintf(fmt, what);
#pragma GCC diagnostic pop
	*w->err = xasprintf("%s:%zu:%zu: %s", w->name, n->start_mark.line + 1, n->start_mark.column + 1, msg);
	return -EINVAL;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_str(const struct walk *w, const yaml_node_t *n, const char *key, char **out)
{
	const char *s = scalar(n);

	if (!s)
		return fail_at(w, n, "'%s' must be a string", key);
	free(*out);
	*out = xstrdup(s);
	return 0;
}

static int get_int(const struct walk *w, const yaml_node_t *n, const char *key, int lo, int hi, int *out)
{
	const char *s = scalar(n);
	long v;

	if (!s || parse_long(s, &v) < 0 || v < lo || v > hi)
		return fail_at(w, n, "'%s' must be a whole number in range", key);
	*out = (int)v;
	return 0;
}

static int get_strv(const struct walk *w, const yaml_node_t *n, const char *key, strv *out)
{
	if (n->type == YAML_SCALAR_NODE) { /* a single value is accepted as a one-item list */
		strv_push(out, scalar(n));
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(w, n, "'%s' must be a list of strings", key);
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
		const yaml_node_t *item = yaml_document_get_node(w->doc, *i);
		if (!scalar(item))
			return fail_at(w, item, "'%s' items must be strings", key);
		strv_push(out, scalar(item));
	}
	return 0;
}

typedef int (*section_fn)(const struct walk *w, const char *key, const yaml_node_t *val, struct agent_config *c);

static void unknown(const struct walk *w, struct agent_config *c, const char *section, const char *key,
		    const yaml_node_t *k)
{
	strv_push_take(&c->warnings, xasprintf("%s:%zu: unknown key '%s%s%s' ignored", w->name,
					       k->start_mark.line + 1, section, *section ? "." : "", key));
}

/* Walk a mapping node, calling fn for each key; fn returns 1 for an unknown key. */
static int each_pair(const struct walk *w, const yaml_node_t *map, const char *section, section_fn fn,
		     struct agent_config *c)
{
	if (map->type != YAML_MAPPING_NODE)
		return fail_at(w, map, "'%s' must be a mapping (key: value)", *section ? section : "the document");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *key = scalar(k);
		int r;

		if (!key)
			return fail_at(w, k, "keys must be plain strings%s", "");
		r = fn(w, key, v, c);
		if (r < 0)
			return r;
		if (r == 1)
			unknown(w, c, section, key, k);
	}
	return 0;
}

static int appliance_key(const struct walk *w, const char *key, const yaml_node_t *v, struct agent_config *c)
{
	if (streq(key, "url"))
		return get_str(w, v, "appliance.url", &c->appliance_url);
	if (streq(key, "ca"))
		return get_str(w, v, "appliance.ca", &c->ca);
	if (streq(key, "pin"))
		return get_str(w, v, "appliance.pin", &c->pin);
	if (streq(key, "proxy"))
		return get_str(w, v, "appliance.proxy", &c->proxy);
	if (streq(key, "no_proxy"))
		return get_strv(w, v, "appliance.no_proxy", &c->no_proxy);
	if (streq(key, "connections"))
		return get_int(w, v, "appliance.connections", 1, 16, &c->connections);
	return 1;
}

static int agent_key(const struct walk *w, const char *key, const yaml_node_t *v, struct agent_config *c)
{
	if (streq(key, "id"))
		return get_str(w, v, "agent.id", &c->agent_id);
	if (streq(key, "token_file"))
		return get_str(w, v, "agent.token_file", &c->token_file);
	return 1;
}

static int freeze_key(const struct walk *w, const char *key, const yaml_node_t *v, struct agent_config *c)
{
	if (streq(key, "timeout"))
		return get_int(w, v, "freeze.timeout", 1, 3600, &c->freeze_timeout);
	if (streq(key, "hooks_dir"))
		return get_str(w, v, "freeze.hooks_dir", &c->hooks_dir);
	return 1;
}

static int tracker_key(const struct walk *w, const char *key, const yaml_node_t *v, struct agent_config *c)
{
	if (streq(key, "buffer_kib"))
		return get_int(w, v, "tracker.buffer_kib", 1, 65536, &c->tracker_buf_kib);
	if (streq(key, "buffers"))
		return get_int(w, v, "tracker.buffers", 1, 256, &c->tracker_buf_nr);
	return 1;
}

static int disk_key(const struct walk *w, const char *key, const yaml_node_t *v, struct agent_config *c)
{
	struct config_disk *d = &c->disks[c->ndisks - 1];

	if (streq(key, "device"))
		return get_str(w, v, "disks[].device", &d->device);
	if (streq(key, "name"))
		return get_str(w, v, "disks[].name", &d->name);
	return 1;
}

static int disks(const struct walk *w, const yaml_node_t *n, struct agent_config *c)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(w, n, "'%s' must be a list of {device, name}", "disks");
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
		const yaml_node_t *item = yaml_document_get_node(w->doc, *i);
		int r;

		c->disks = xrealloc(c->disks, (c->ndisks + 1) * sizeof(*c->disks));
		c->disks[c->ndisks++] = (struct config_disk){ 0 };
		r = each_pair(w, item, "disks[]", disk_key, c);
		if (r < 0)
			return r;
		if (!c->disks[c->ndisks - 1].device)
			return fail_at(w, item, "a disk needs '%s'", "device");
		if (!c->disks[c->ndisks - 1].name) {
			const char *dev = c->disks[c->ndisks - 1].device, *slash = strrchr(dev, '/');
			c->disks[c->ndisks - 1].name = xstrdup(slash ? slash + 1 : dev);
		}
	}
	return 0;
}

static int top_key(const struct walk *w, const char *key, const yaml_node_t *v, struct agent_config *c)
{
	if (streq(key, "appliance"))
		return each_pair(w, v, "appliance", appliance_key, c);
	if (streq(key, "agent"))
		return each_pair(w, v, "agent", agent_key, c);
	if (streq(key, "freeze"))
		return each_pair(w, v, "freeze", freeze_key, c);
	if (streq(key, "disks"))
		return disks(w, v, c);
	if (streq(key, "tracker"))
		return each_pair(w, v, "tracker", tracker_key, c);
	if (streq(key, "state_dir"))
		return get_str(w, v, "state_dir", &c->state_dir);
	if (streq(key, "control_socket"))
		return get_str(w, v, "control_socket", &c->control_socket);
	return 1;
}

static void defaults(struct agent_config *c)
{
	if (!c->state_dir)
		c->state_dir = xstrdup(CONFIG_DEFAULT_STATE_DIR);
	if (!c->control_socket)
		c->control_socket = xstrdup(CONFIG_DEFAULT_CONTROL);
	if (!c->hooks_dir)
		c->hooks_dir = xasprintf("%s/mobility-agent/freeze.d", MOBILITY_SYSCONFDIR);
	if (!c->freeze_timeout)
		c->freeze_timeout = 60;
}

int config_parse(const char *text, size_t len, const char *name, struct agent_config *c, char **err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct walk w = { .doc = &doc, .name = name, .err = err };
	int r = 0;

	memset(c, 0, sizeof(*c));
	*err = NULL;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		*err = xasprintf("%s:%zu:%zu: %s", name, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "not valid YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root)
		r = each_pair(&w, root, "", top_key, c);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (r < 0) {
		config_free(c);
		return r;
	}
	defaults(c);
	return 0;
}

int config_load(const char *path, struct agent_config *c, char **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_bounded(path, 1u << 20, &text, &len);

	if (r < 0) {
		memset(c, 0, sizeof(*c));
		*err = xasprintf("%s: %s", path, errstr(r));
		return r;
	}
	return config_parse(text, len, path, c, err);
}

void config_free(struct agent_config *c)
{
	free(c->appliance_url);
	free(c->ca);
	free(c->pin);
	free(c->proxy);
	strv_free(&c->no_proxy);
	free(c->agent_id);
	free(c->token_file);
	for (size_t i = 0; i < c->ndisks; i++) {
		free(c->disks[i].device);
		free(c->disks[i].name);
	}
	free(c->disks);
	free(c->state_dir);
	free(c->control_socket);
	free(c->hooks_dir);
	strv_free(&c->warnings);
	memset(c, 0, sizeof(*c));
}
