/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The netcfg model shared by the dialect parsers, and the loader that finds every dialect's files. */
#include "netcfg.h"
#include "fileio.h"
#include "sysroot.h"

const char *netcfg_dialect_name(enum netcfg_dialect d)
{
	static const char *const n[NETCFG__COUNT] = { "ifcfg", "suse-ifcfg", "interfaces", "netplan",
						      "nm-keyfile", "networkd", "networkd-link" };

	return d < NETCFG__COUNT ? n[d] : "unknown";
}

struct netcfg_iface *netcfg_add(struct netcfg *nc, enum netcfg_dialect d, const char *path, long line,
				const char *text)
{
	struct netcfg_iface *f;

	nc->v = xrealloc(nc->v, (nc->n + 1) * sizeof(*nc->v));
	f = &nc->v[nc->n++];
	*f = (struct netcfg_iface){ .dialect = d, .path = xstrdup(path), .line = line };
	f->text = text ? xstrdup(text) : NULL;
	return f;
}

void netcfg_add_bad(struct netcfg *nc, const char *path, long line, const char *reason, const char *text)
{
	nc->bad = xrealloc(nc->bad, (nc->nbad + 1) * sizeof(*nc->bad));
	nc->bad[nc->nbad++] = (struct netcfg_bad){ xstrdup(path), line, xstrdup(reason), text ? xstrdup(text) : NULL };
}

void netcfg_set_mac(struct netcfg_iface *ifc, const char *mac, long line, const char *text)
{
	free(ifc->mac);
	free(ifc->mac_text);
	ifc->mac = xstrdup(mac);
	ifc->mac_line = line;
	ifc->mac_text = text ? xstrdup(text) : NULL;
}

void netcfg_set_addr(struct netcfg_iface *ifc, long line, const char *text)
{
	free(ifc->addr_text);
	ifc->addr_line = line;
	ifc->addr_text = text ? xstrdup(text) : NULL;
}

int netcfg_ini_line(char *line, char **section, char **key, char **value)
{
	char *s = strstrip(line), *eq;

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');

		if (!end || end[1])
			return -EBADMSG;
		*end = '\0';
		*section = s + 1;
		return 1;
	}
	eq = strchr(s, '=');
	if (!eq || eq == s)
		return -EBADMSG;
	*eq = '\0';
	*key = strstrip(s);
	*value = strstrip(eq + 1);
	return **key ? 2 : -EBADMSG;
}

static bool backup_name(const char *n)
{
	static const char *const suffixes[] = { "~", ".bak", ".orig", ".rpmnew", ".rpmorig", ".rpmsave",
						".dpkg-old", ".dpkg-dist", ".dpkg-new", ".swp", NULL };

	if (n[0] == '.')
		return true;
	for (size_t i = 0; suffixes[i]; i++)
		if (endswith(n, suffixes[i]))
			return true;
	return false;
}

static int by_basename(const void *a, const void *b)
{
	return strcmp(strrchr(*(char *const *)a, '/'), strrchr(*(char *const *)b, '/'));
}

void netcfg_list_files(const struct sysroot *sr, const char *const *dirs, const char *suffix, bool by_name,
		       strv *out)
{
	_cleanup_strv_ strv seen = { 0 };
	size_t start = out->n;

	for (size_t d = 0; dirs[d]; d++) {
		_cleanup_strv_ strv names = { 0 };

		if (sysroot_list_dir(sr, dirs[d], &names) < 0)
			continue;
		for (size_t i = 0; i < names.n; i++) {
			_cleanup_free_ char *p = xasprintf("%s/%s", dirs[d], names.v[i]);
			struct stat st;

			if (backup_name(names.v[i]) || (suffix && !endswith(names.v[i], suffix)))
				continue;
			if (by_name && strv_contains(&seen, names.v[i]))
				continue;
			if (sysroot_stat(sr, p, &st) < 0 || !S_ISREG(st.st_mode))
				continue; /* /dev/null masks, directories */
			strv_push(&seen, names.v[i]);
			strv_push_take(out, TAKE_PTR(p));
		}
	}
	if (by_name && out->n > start)
		qsort(out->v + start, out->n - start, sizeof(char *), by_basename);
}

/* Read PATH and hand it to PARSE; an unreadable file is an error item, not silence. */
static char *read_or_bad(const struct sysroot *sr, struct netcfg *nc, const char *path, size_t *len)
{
	char *buf = NULL;
	int r = sysroot_read_file(sr, path, CONFIG_FILE_MAX, &buf, len);

	if (r < 0) {
		netcfg_add_bad(nc, path, 0, errstr(r), NULL);
		return NULL;
	}
	return buf;
}

static void load_ifcfg(const struct sysroot *sr, struct netcfg *nc, const char *dir, bool suse)
{
	const char *const dirs[] = { dir, NULL };
	_cleanup_strv_ strv files = { 0 };

	netcfg_list_files(sr, dirs, NULL, false, &files);
	for (size_t i = 0; i < files.n; i++) {
		const char *base = strrchr(files.v[i], '/') + 1;
		_cleanup_free_ char *buf = NULL;
		size_t len;

		if (!startswith(base, "ifcfg-") || streq(base, "ifcfg-lo"))
			continue;
		if ((buf = read_or_bad(sr, nc, files.v[i], &len)))
			netcfg_parse_ifcfg(nc, files.v[i], buf, len, suse);
	}
}

static void load_dir_set(const struct sysroot *sr, struct netcfg *nc, const char *const *dirs, const char *suffix,
			 void (*parse)(struct netcfg *, const char *, char *, size_t, bool), bool flag)
{
	_cleanup_strv_ strv files = { 0 };

	netcfg_list_files(sr, dirs, suffix, true, &files);
	for (size_t i = 0; i < files.n; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len;

		if ((buf = read_or_bad(sr, nc, files.v[i], &len)))
			parse(nc, files.v[i], buf, len, flag);
	}
}

static void parse_keyfile_adapter(struct netcfg *nc, const char *path, char *buf, size_t len, bool unused)
{
	netcfg_parse_keyfile(nc, path, buf, len);
}

static void load_netplan(const struct sysroot *sr, struct netcfg *nc)
{
	/* netplan(5): same-named files in later directories shadow earlier ones; /run beats /etc beats /lib. */
	static const char *const dirs[] = { "/run/netplan", "/etc/netplan", "/lib/netplan", NULL };
	_cleanup_strv_ strv files = { 0 };
	struct netplan_state *np = netplan_new();

	netcfg_list_files(sr, dirs, ".yaml", true, &files);
	for (size_t i = 0; i < files.n; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len;

		if ((buf = read_or_bad(sr, nc, files.v[i], &len)))
			netplan_add_file(np, nc, files.v[i], buf, len);
	}
	netplan_finish(np, nc);
}

/* systemd ships .network templates (containers, VMs): they only configure anything when networkd runs. */
static bool networkd_enabled(const struct sysroot *sr)
{
	_cleanup_strv_ strv dirs = { 0 };

	if (sysroot_list_dir(sr, "/etc/systemd/system", &dirs) < 0)
		return false;
	for (size_t i = 0; i < dirs.n; i++) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (!endswith(dirs.v[i], ".wants"))
			continue;
		p = xasprintf("/etc/systemd/system/%s/systemd-networkd.service", dirs.v[i]);
		if (sysroot_lstat(sr, p, &st) == 0)
			return true;
	}
	return false;
}

void netcfg_load(const struct sysroot *sr, struct netcfg *nc)
{
	static const char *const nm_dirs[] = { "/run/NetworkManager/system-connections",
					       "/etc/NetworkManager/system-connections",
					       "/usr/lib/NetworkManager/system-connections", NULL };
	static const char *const nd_dirs[] = { "/etc/systemd/network", "/run/systemd/network",
					       "/usr/lib/systemd/network", "/lib/systemd/network", NULL };
	_cleanup_free_ char *buf = NULL;
	size_t len;

	load_ifcfg(sr, nc, "/etc/sysconfig/network-scripts", false);
	load_ifcfg(sr, nc, "/etc/sysconfig/network", true);
	if (sysroot_exists(sr, "/etc/network/interfaces") &&
	    (buf = read_or_bad(sr, nc, "/etc/network/interfaces", &len)))
		netcfg_parse_interfaces(nc, sr, "/etc/network/interfaces", buf, len);
	load_netplan(sr, nc);
	load_dir_set(sr, nc, nm_dirs, NULL, parse_keyfile_adapter, false);
	if (networkd_enabled(sr))
		load_dir_set(sr, nc, nd_dirs, ".network", netcfg_parse_networkd, false);
	load_dir_set(sr, nc, nd_dirs, ".link", netcfg_parse_networkd, true);
}

void netcfg_free(struct netcfg *nc)
{
	for (size_t i = 0; i < nc->n; i++) {
		struct netcfg_iface *f = &nc->v[i];

		free(f->path);
		free(f->text);
		free(f->name);
		free(f->addr_text);
		free(f->mac);
		free(f->mac_text);
		free(f->mac_path);
		free(f->bus_path);
		free(f->set_name);
	}
	for (size_t i = 0; i < nc->nbad; i++) {
		free(nc->bad[i].path);
		free(nc->bad[i].reason);
		free(nc->bad[i].text);
	}
	free(nc->v);
	free(nc->bad);
	memset(nc, 0, sizeof(*nc));
}

void netcfg_keep(char **slot, const char *val, long *lslot, char **tslot, long line, const char *text)
{
	free(*slot);
	*slot = xstrdup(val);
	if (lslot && tslot) {
		*lslot = line;
		free(*tslot);
		*tslot = text ? xstrdup(text) : NULL;
	}
}

void netcfg_ini_walk(struct netcfg *nc, const char *path, char *buf, size_t len, const char *section_word,
		     netcfg_ini_fn fn, void *userdata)
{
	_cleanup_free_ char *sec = NULL;
	struct line_iter it;
	char *line;
	bool nul;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		_cleanup_free_ char *text = xstrdup(line);
		char *s = NULL, *key = NULL, *val = NULL;
		int r;

		if (nul) {
			netcfg_add_bad(nc, path, it.lineno, "contains a NUL byte (binary garbage)", NULL);
			continue;
		}
		r = netcfg_ini_line(line, &s, &key, &val);
		if (r < 0 || (r == 2 && !sec)) {
			_cleanup_free_ char *why = r < 0 ? xasprintf("neither [%s] nor key=value", section_word)
							 : xasprintf("key=value before any [%s]", section_word);
			netcfg_add_bad(nc, path, it.lineno, why, text);
			continue;
		}
		if (r == 1) {
			free(sec);
			sec = xstrdup(s);
			fn(userdata, sec, NULL, NULL, it.lineno, text);
		} else if (r == 2) {
			fn(userdata, sec, key, val, it.lineno, text);
		}
	}
}
