/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * zypper .repo files (/etc/zypp/repos.d): the same INI layout as yum, with zypper's own URL schemes
 * for media (cd:, dvd:, iso:, hd:, dir:) and enabled/autorefresh on by default (RepoInfo standard).
 * libzypp takes its proxy from /etc/sysconfig/proxy (YaST's proxy module), not from the .repo files.
 */
#include "repos.h"
#include "fileio.h"
#include "repo-probe.h"
#include "sysroot.h"

#include <strings.h>

void repos_parse_zypper(struct repos *rs, const char *path, char *buf, size_t len, const struct repo_vars *vars)
{
	repos_parse_ini(rs, REPO_ZYPPER, path, buf, len, vars);
}

/* A shell assignment's value as YaST writes it: "x", 'x' or bare. */
static char *unquote(const char *v)
{
	size_t l = strlen(v);

	if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0])
		return xstrndup(v + 1, l - 2);
	return xstrndup(v, strcspn(v, " \t#"));
}

void suse_proxy_load(const struct sysroot *sr, struct suse_proxy *p)
{
	_cleanup_free_ char *buf = NULL;
	struct line_iter it;
	size_t len;
	char *line;
	bool nul;

	memset(p, 0, sizeof(*p));
	if (sysroot_read_file(sr, "/etc/sysconfig/proxy", CONFIG_FILE_MAX, &buf, &len) < 0)
		return;
	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &nul))) {
		char *t = strstrip(line), *eq = strchr(t, '=');
		char **slot = NULL;
		_cleanup_free_ char *v = NULL;

		if (nul || *t == '#' || !eq)
			continue;
		*eq = '\0';
		v = unquote(strstrip(eq + 1));
		if (streq(t, "PROXY_ENABLED"))
			p->enabled = strcasecmp(v, "yes") == 0;
		else if (streq(t, "HTTP_PROXY"))
			slot = &p->http;
		else if (streq(t, "HTTPS_PROXY"))
			slot = &p->https;
		else if (streq(t, "NO_PROXY"))
			slot = &p->no_proxy;
		if (slot && *v) {
			free(*slot);
			*slot = TAKE_PTR(v);
		}
	}
}

const char *suse_proxy_for(const struct suse_proxy *p, const char *url)
{
	const char *host = strstr(url, "://");
	_cleanup_free_ char *h = NULL;

	if (!p->enabled || !host)
		return NULL;
	host += 3;
	h = xstrndup(host, strcspn(host, "/:?"));
	if (p->no_proxy && no_proxy_match(p->no_proxy, h))
		return "";
	return startswith(url, "https://") ? p->https : p->http;
}

void suse_proxy_free(struct suse_proxy *p)
{
	free(p->http);
	free(p->https);
	free(p->no_proxy);
	memset(p, 0, sizeof(*p));
}
