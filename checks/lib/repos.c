/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The repos model: loading every package manager's sources, URL classification, metadata URLs. */
#include "repos.h"
#include "fileio.h"
#include "sysroot.h"

#include <strings.h>

const char *repo_dialect_name(enum repo_dialect d)
{
	static const char *const n[REPO__COUNT] = { "apt-line", "deb822", "yum", "zypper" };

	return d < REPO__COUNT ? n[d] : "unknown";
}

static void add_read_error(struct repos *rs, const char *path, int err)
{
	rs->bad = xrealloc(rs->bad, (rs->nbad + 1) * sizeof(*rs->bad));
	rs->bad[rs->nbad++] = (struct repo_bad){ xstrdup(path), 0, xstrdup(errstr(err)), NULL };
}

typedef void (*parse_fn)(struct repos *, const char *, char *, size_t, const struct repo_vars *);

static void parse_list_adapter(struct repos *rs, const char *p, char *b, size_t l, const struct repo_vars *v)
{
	repos_parse_apt_list(rs, p, b, l);
}

static void parse_deb822_adapter(struct repos *rs, const char *p, char *b, size_t l, const struct repo_vars *v)
{
	repos_parse_deb822(rs, p, b, l);
}

static void load_file(const struct sysroot *sr, const char *path, parse_fn fn, const struct repo_vars *vars,
		      struct repos *rs)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = sysroot_read_file(sr, path, CONFIG_FILE_MAX, &buf, &len);

	if (r == -ENOENT)
		return;
	if (r < 0) {
		add_read_error(rs, path, r);
		return;
	}
	fn(rs, path, buf, len, vars);
}

static void load_dir(const struct sysroot *sr, const char *dir, const char *suffix, parse_fn fn,
		     const struct repo_vars *vars, struct repos *rs)
{
	_cleanup_strv_ strv names = { 0 };

	if (sysroot_list_dir(sr, dir, &names) < 0)
		return;
	for (size_t i = 0; i < names.n; i++) {
		_cleanup_free_ char *p = NULL;

		if (names.v[i][0] == '.' || !endswith(names.v[i], suffix))
			continue;
		p = xasprintf("%s/%s", dir, names.v[i]);
		load_file(sr, p, fn, vars, rs);
	}
}

void repos_load(const struct sysroot *sr, const struct repo_vars *vars, struct repos *rs)
{
	load_file(sr, "/etc/apt/sources.list", parse_list_adapter, vars, rs);
	load_dir(sr, "/etc/apt/sources.list.d", ".list", parse_list_adapter, vars, rs);
	load_dir(sr, "/etc/apt/sources.list.d", ".sources", parse_deb822_adapter, vars, rs);
	load_dir(sr, "/etc/yum.repos.d", ".repo", repos_parse_yum, vars, rs);
	load_dir(sr, "/etc/zypp/repos.d", ".repo", repos_parse_zypper, vars, rs);
}

void repos_free(struct repos *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct repo *r = &rs->v[i];

		free(r->path), free(r->text), free(r->id), free(r->type), free(r->suite), free(r->proxy);
		strv_free(&r->urls);
	}
	for (size_t i = 0; i < rs->nbad; i++) {
		free(rs->bad[i].path);
		free(rs->bad[i].reason);
		free(rs->bad[i].text);
	}
	free(rs->v);
	free(rs->bad);
	memset(rs, 0, sizeof(*rs));
}

/* file:///media/cdrom, /mnt/cdrom, /run/media/...: a mounted disc, not a local mirror. */
static bool on_media_path(const char *p)
{
	static const char *const dirs[] = { "/media/", "/mnt/cdrom", "/mnt/dvd", "/run/media/", "/cdrom", "/mnt/iso" };

	while (p[0] == '/' && p[1] == '/')
		p++;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (startswith(p, dirs[i]))
			return true;
	return false;
}

enum repo_local repo_url_local(const char *url)
{
	static const char *const media[] = { "cdrom:", "media:", "dvd:", "cd:", "iso:" };
	static const char *const file[] = { "file:", "copy:", "dir:", "hd:" };
	static const char *const remote[] = { "http://", "https://", "ftp://", "mirror://", "mirror+http://",
					      "mirror+https://", "tor+http://", "tor+https://" };

	for (size_t i = 0; i < ARRAY_SIZE(media); i++)
		if (strncasecmp(url, media[i], strlen(media[i])) == 0)
			return REPO_LOCAL_MEDIA;
	for (size_t i = 0; i < ARRAY_SIZE(file); i++)
		if (strncasecmp(url, file[i], strlen(file[i])) == 0)
			return on_media_path(url + strlen(file[i])) ? REPO_LOCAL_MEDIA : REPO_LOCAL_FILE;
	if (url[0] == '/')
		return REPO_LOCAL_FILE; /* zypper accepts a bare path */
	for (size_t i = 0; i < ARRAY_SIZE(remote); i++)
		if (strncasecmp(url, remote[i], strlen(remote[i])) == 0)
			return REPO_REMOTE;
	return REPO_OTHER_SCHEME;
}

static char *join(const char *base, const char *rel)
{
	size_t l = strlen(base);

	return xasprintf("%s%s%s", base, l && base[l - 1] == '/' ? "" : "/", rel);
}

char *repo_probe_url(const struct repo *r, size_t i, bool fallback)
{
	const char *u;

	if (i >= r->urls.n)
		return NULL;
	u = r->urls.v[i];
	if (r->dialect == REPO_APT_LINE || r->dialect == REPO_DEB822) {
		const char *file = fallback ? "Release" : "InRelease";

		/* apt's mirror method: the URI names a mirror list, which is what must answer */
		if (startswith(u, "mirror+"))
			return fallback ? NULL : xstrdup(u + strlen("mirror+"));
		if (startswith(u, "mirror://"))
			return fallback ? NULL : xasprintf("http://%s", u + strlen("mirror://"));
		if (startswith(u, "tor+"))
			u += strlen("tor+");
		size_t sl = strlen(r->suite);

		if (sl && r->suite[sl - 1] == '/') { /* flat repository: SUITE is a path */
			_cleanup_free_ char *dir = join(u, streq(r->suite, "./") ? "" : r->suite);

			return join(dir, file);
		}
		_cleanup_free_ char *dists = join(u, "dists");
		_cleanup_free_ char *suite = join(dists, r->suite);

		return join(suite, file);
	}
	if (fallback)
		return NULL;
	if (r->kind != REPO_URL_BASE)
		return xstrdup(u);
	return join(u, "repodata/repomd.xml");
}
