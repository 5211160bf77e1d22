/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Package sources of every package manager as data: apt one-line (.list) and deb822 (.sources),
 * yum/dnf and zypper .repo files. Each source keeps the file and line it came from (apt: the line;
 * deb822: the URIs: line and the stanza's first line; yum/zypper: the [section] line), so a check can
 * quote it and `prepcheck --fix` can disable exactly that source. Malformed input lands in `bad` with
 * its line; parsing never fails as a whole.
 */
#ifndef PREPCHECK_REPOS_H
#define PREPCHECK_REPOS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct sysroot;

enum repo_dialect { REPO_APT_LINE, REPO_DEB822, REPO_YUM, REPO_ZYPPER, REPO__COUNT };
enum repo_url_kind { REPO_URL_BASE, REPO_URL_MIRRORLIST, REPO_URL_METALINK };

struct repo {
	enum repo_dialect dialect;
	char *path;
	long line;        /* apt: the line; deb822: the URIs: line; yum/zypper: the [id] line */
	char *text;       /* that line as written */
	long stanza_line; /* deb822: first line of the stanza (where Enabled: goes) */
	char *id;         /* yum/zypper section name */
	bool enabled;
	enum repo_url_kind kind;
	strv urls;        /* yum: variables substituted; alternatives in order */
	char *type;       /* apt: "deb" / "deb-src" */
	char *suite;      /* apt: the suite ("bookworm", or "./" for a flat repository) */
	char *proxy;      /* yum/zypper proxy= (NULL: not set; "" or "_none_": none) */
};

struct repo_bad {
	char *path;
	long line;
	char *reason;
	char *text;
};

struct repos {
	struct repo *v;
	size_t n;
	struct repo_bad *bad;
	size_t nbad;
};

/* $releasever & co. for yum/dnf/zypper. */
struct repo_vars {
	strv names, values;
};
void repo_vars_set(struct repo_vars *vars, const char *name, const char *value);
/* releasever from VERSION_ID (and its major part), basearch/arch from ARCH, then /etc/dnf/vars,
 * /etc/yum/vars and /etc/zypp/vars.d files, which override. */
void repo_vars_init(struct repo_vars *vars, const struct sysroot *sr, const char *version_id, const char *arch);
void repo_vars_free(struct repo_vars *vars);
/* $name and ${name} replaced; unknown variables are left as written. */
char *repo_vars_expand(const struct repo_vars *vars, const char *s);

const char *repo_dialect_name(enum repo_dialect d); /* "apt-line", "deb822", "yum", "zypper" */

void repos_parse_apt_list(struct repos *rs, const char *path, char *buf, size_t len);
void repos_parse_deb822(struct repos *rs, const char *path, char *buf, size_t len);
void repos_parse_yum(struct repos *rs, const char *path, char *buf, size_t len, const struct repo_vars *vars);
void repos_parse_zypper(struct repos *rs, const char *path, char *buf, size_t len, const struct repo_vars *vars);
/* Internal: the INI reader yum and zypper share. */
void repos_parse_ini(struct repos *rs, enum repo_dialect d, const char *path, char *buf, size_t len,
		     const struct repo_vars *vars);

/* Every source under the root: apt, yum/dnf, zypper. */
void repos_load(const struct sysroot *sr, const struct repo_vars *vars, struct repos *rs);
void repos_free(struct repos *rs);

enum repo_local { REPO_REMOTE, REPO_LOCAL_MEDIA, REPO_LOCAL_FILE, REPO_OTHER_SCHEME };
/* cdrom:, media:, dvd:, cd:, iso: and file: under /media, /mnt/cdrom... -> media; other file:, copy:, dir:, hd:
 * -> file; http(s)/ftp -> remote. */
enum repo_local repo_url_local(const char *url);

/* The metadata URL that proves a source works: apt dists/SUITE/InRelease (fallback: Release; for
 * mirror+http:// and mirror:// the mirror list), yum/zypper repodata/repomd.xml, or the
 * mirrorlist/metalink itself. NULL when there is no (fallback) URL. */
char *repo_probe_url(const struct repo *r, size_t url_index, bool fallback);

/* Proxy settings apt reads from /etc/apt/apt.conf and apt.conf.d (Acquire::http::Proxy, per-host
 * Acquire::http::Proxy::HOST "DIRECT"|URL, same for https). */
struct apt_proxy {
	char *http, *https;
	strv host_names, host_values; /* "http:host" -> URL or "DIRECT" */
};
void apt_proxy_load(const struct sysroot *sr, struct apt_proxy *p);
void apt_proxy_parse(struct apt_proxy *p, const char *buf, size_t len);
/* The proxy apt uses for URL: NULL when none is configured, "" for DIRECT. */
const char *apt_proxy_for(const struct apt_proxy *p, const char *url);
void apt_proxy_free(struct apt_proxy *p);

/* SUSE /etc/sysconfig/proxy, which libzypp reads: PROXY_ENABLED, HTTP_PROXY, HTTPS_PROXY, NO_PROXY. */
struct suse_proxy {
	bool enabled;
	char *http, *https, *no_proxy;
};
void suse_proxy_load(const struct sysroot *sr, struct suse_proxy *p);
/* NULL: none configured (the environment decides), "": NO_PROXY matches. */
const char *suse_proxy_for(const struct suse_proxy *p, const char *url);
void suse_proxy_free(struct suse_proxy *p);

/* yum.conf / dnf.conf [main] proxy=, or NULL. */
char *yum_main_proxy(const struct sysroot *sr);

#endif
