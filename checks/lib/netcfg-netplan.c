/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netplan YAML (libyaml's document API). netplan reads every *.yaml of /run/netplan, /etc/netplan and
 * /lib/netplan in file-name order and merges them: a later file's key overrides the same key of the
 * same interface in an earlier one. We merge the few keys the checks need the same way, so the result
 * says what netplan would apply, with the file and line that decided each value.
 */
#include "netcfg.h"

#include <strings.h>
#include <yaml.h>

struct np_field {
	int set;    /* -1 unset, else the value (bools) */
	char *path; /* file and line that decided it */
	long line;
	char *text;
};

struct np_iface {
	char *id;
	char *path;
	long line;
	char *text;
	struct np_field dhcp4, dhcp6, addresses, mac, set_name;
	char *mac_val, *set_name_val;
};

struct netplan_state {
	struct np_iface *v;
	size_t n;
};

struct np_file {
	struct netcfg *nc;
	const char *path, *buf;
	size_t len;
	yaml_document_t *doc;
};

struct netplan_state *netplan_new(void)
{
	return xcalloc(1, sizeof(struct netplan_state));
}

/* The text of line LINE (1-based) of the file, for evidence. */
static char *line_text(const struct np_file *f, long line)
{
	const char *p = f->buf, *end = f->buf + f->len;

	for (long l = 1; l < line && p < end; l++) {
		const char *nl = memchr(p, '\n', end - p);

		if (!nl)
			return NULL;
		p = nl + 1;
	}
	if (p >= end)
		return NULL;
	const char *nl = memchr(p, '\n', end - p);

	return xstrndup(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
}

static void field_set(const struct np_file *f, struct np_field *fl, int val, const yaml_node_t *key)
{
	free(fl->path);
	free(fl->text);
	fl->set = val;
	fl->path = xstrdup(f->path);
	fl->line = (long)key->start_mark.line + 1;
	fl->text = line_text(f, fl->line);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML 1.1 booleans as netplan accepts them; -1 for anything else. */
static int yaml_bool(const char *s)
{
	static const char *const t[] = { "true", "yes", "on", "y", NULL }, *const f[] = { "false", "no", "off", "n", NULL };

	for (size_t i = 0; s && t[i]; i++) {
		if (strcasecmp(s, t[i]) == 0)
			return 1;
		if (strcasecmp(s, f[i]) == 0)
			return 0;
	}
	return -1;
}

static yaml_node_t *map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key, yaml_node_t **keynode)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		const char *ks = scalar(k);

		if (ks && streq(ks, key)) {
			if (keynode)
				*keynode = k;
			return yaml_document_get_node(doc, p->value);
		}
	}
	return NULL;
}

static struct np_iface *iface_get(struct netplan_state *np, const struct np_file *f, const char *id,
				  const yaml_node_t *key)
{
	struct np_iface *i;

	for (size_t k = 0; k < np->n; k++)
		if (streq(np->v[k].id, id))
			return &np->v[k];
	np->v = xrealloc(np->v, (np->n + 1) * sizeof(*np->v));
	i = &np->v[np->n++];
	*i = (struct np_iface){ .id = xstrdup(id), .path = xstrdup(f->path), .line = (long)key->start_mark.line + 1 };
	i->text = line_text(f, i->line);
	i->dhcp4.set = i->dhcp6.set = i->addresses.set = i->mac.set = i->set_name.set = -1;
	return i;
}

static void bad_node(const struct np_file *f, const yaml_node_t *n, const char *why)
{
	long line = (long)n->start_mark.line + 1;
	_cleanup_free_ char *text = line_text(f, line);

	netcfg_add_bad(f->nc, f->path, line, why, text);
}

static void bool_key(const struct np_file *f, const yaml_node_t *def, const char *key, struct np_field *fl)
{
	yaml_node_t *k = NULL, *v = map_get(f->doc, def, key, &k);
	int b;

	if (!v)
		return;
	b = yaml_bool(scalar(v));
	if (b < 0)
		bad_node(f, v, "expected a boolean (true/false)");
	else
		field_set(f, fl, b, k);
}

static void one_iface(struct netplan_state *np, const struct np_file *f, yaml_node_t *key, yaml_node_t *def)
{
	const char *id = scalar(key);
	struct np_iface *i;
	yaml_node_t *k = NULL, *v, *match;

	if (!id || def->type != YAML_MAPPING_NODE) {
		bad_node(f, def, "an interface definition must be a mapping");
		return;
	}
	i = iface_get(np, f, id, key);
	bool_key(f, def, "dhcp4", &i->dhcp4);
	bool_key(f, def, "dhcp6", &i->dhcp6);
	if ((v = map_get(f->doc, def, "addresses", &k)))
		field_set(f, &i->addresses, v->type != YAML_SEQUENCE_NODE ||
			  v->data.sequence.items.top > v->data.sequence.items.start, k);
	if ((match = map_get(f->doc, def, "match", NULL)) && (v = map_get(f->doc, match, "macaddress", &k))) {
		/* netplan rejects the file over a non-scalar MAC: so must we, or a binding hides in it */
		if (!scalar(v)) {
			bad_node(f, v, "expected a MAC address");
		} else {
			field_set(f, &i->mac, 1, k);
			free(i->mac_val);
			i->mac_val = xstrdup(scalar(v));
		}
	}
	if ((v = map_get(f->doc, def, "set-name", &k)) && !scalar(v)) {
		bad_node(f, v, "expected an interface name");
	} else if (v) {
		field_set(f, &i->set_name, 1, k);
		free(i->set_name_val);
		i->set_name_val = xstrdup(scalar(v));
	}
}

static void walk(struct netplan_state *np, const struct np_file *f, yaml_node_t *root)
{
	static const char *const kinds[] = { "ethernets", "bonds", "bridges", "vlans", "wifis", NULL };
	yaml_node_t *net;

	if (!root)
		return; /* an empty file is valid */
	net = map_get(f->doc, root, "network", NULL);
	if (root->type != YAML_MAPPING_NODE || (net && net->type != YAML_MAPPING_NODE)) {
		bad_node(f, root, "expected a mapping with a 'network:' key");
		return;
	}
	for (size_t k = 0; net && kinds[k]; k++) {
		yaml_node_t *m = map_get(f->doc, net, kinds[k], NULL);

		if (!m)
			continue;
		if (m->type != YAML_MAPPING_NODE) {
			bad_node(f, m, "expected a mapping of interface ids");
			continue;
		}
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
			one_iface(np, f, yaml_document_get_node(f->doc, p->key),
				  yaml_document_get_node(f->doc, p->value));
	}
}

void netplan_add_file(struct netplan_state *np, struct netcfg *nc, const char *path, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct np_file f = { .nc = nc, .path = path, .buf = buf, .len = len, .doc = &doc };

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		long line = (long)parser.problem_mark.line + 1;
		_cleanup_free_ char *why = xasprintf("YAML: %s", parser.problem ? parser.problem : "syntax error");
		_cleanup_free_ char *text = line_text(&f, line);

		netcfg_add_bad(nc, path, line, why, text);
		yaml_parser_delete(&parser);
		return;
	}
	walk(np, &f, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

static void field_free(struct np_field *f)
{
	free(f->path);
	free(f->text);
}

static void emit(struct netcfg *nc, const struct np_iface *i)
{
	struct netcfg_iface *f = netcfg_add(nc, NETCFG_NETPLAN, i->path, i->line, i->text);

	f->name = xstrdup(i->id);
	f->loopback = streq(i->id, "lo");
	f->dhcp4 = i->dhcp4.set == 1;
	f->dhcp6 = i->dhcp6.set == 1;
	f->static_addr = i->addresses.set == 1;
	if (f->dhcp4 || f->dhcp6) {
		const struct np_field *d = f->dhcp4 ? &i->dhcp4 : &i->dhcp6;

		free(f->path);
		f->path = xstrdup(d->path);
		netcfg_set_addr(f, d->line, d->text);
	} else if (f->static_addr) {
		free(f->path);
		f->path = xstrdup(i->addresses.path);
		netcfg_set_addr(f, i->addresses.line, i->addresses.text);
	}
	if (i->mac.set == 1) {
		netcfg_set_mac(f, i->mac_val, i->mac.line, i->mac.text);
		if (!streq(i->mac.path, f->path)) /* the binding comes from another file */
			f->mac_path = xstrdup(i->mac.path);
	}
	if (i->set_name_val)
		f->set_name = xstrdup(i->set_name_val);
}

void netplan_finish(struct netplan_state *np, struct netcfg *nc)
{
	for (size_t k = 0; k < np->n; k++) {
		struct np_iface *i = &np->v[k];

		emit(nc, i);
		free(i->id), free(i->path), free(i->text), free(i->mac_val), free(i->set_name_val);
		field_free(&i->dhcp4), field_free(&i->dhcp6), field_free(&i->addresses);
		field_free(&i->mac), field_free(&i->set_name);
	}
	free(np->v);
	free(np);
}
