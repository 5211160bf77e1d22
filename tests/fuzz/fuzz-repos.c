/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer: the package-source parsers. The first byte picks apt one-line, deb822, yum, zypper,
 * apt.conf proxies, variable expansion or no_proxy matching; the rest is the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "repo-probe.h"
#include "repos.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe_urls(const struct repos *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		for (size_t k = 0; k < rs->v[i].urls.n; k++) {
			free(repo_probe_url(&rs->v[i], k, false));
			free(repo_probe_url(&rs->v[i], k, true));
			(void)repo_url_local(rs->v[i].urls.v[k]);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repos rs = { 0 };
	struct repo_vars vars = { 0 };
	struct apt_proxy ap = { 0 };
	char *buf;

	if (size < 1)
		return 0;
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	repo_vars_set(&vars, "releasever", "9.3");
	repo_vars_set(&vars, "releasever_major", "9");
	repo_vars_set(&vars, "basearch", "x86_64");
	switch (data[0] % 7) {
	case 0:
		repos_parse_apt_list(&rs, "/sources.list", buf, size - 1);
		break;
	case 1:
		repos_parse_deb822(&rs, "/x.sources", buf, size - 1);
		break;
	case 2:
		repos_parse_yum(&rs, "/x.repo", buf, size - 1, &vars);
		break;
	case 3:
		repos_parse_zypper(&rs, "/x.repo", buf, size - 1, &vars);
		break;
	case 4:
		apt_proxy_parse(&ap, buf, size - 1);
		(void)apt_proxy_for(&ap, "http://deb.debian.org/debian");
		(void)apt_proxy_for(&ap, "https://h/x");
		break;
	case 5:
		free(repo_vars_expand(&vars, buf));
		break;
	default:
		(void)no_proxy_match(buf, "a.example.com");
		(void)no_proxy_match(buf, "10.1.2.3");
		break;
	}
	probe_urls(&rs);
	repos_free(&rs);
	repo_vars_free(&vars);
	apt_proxy_free(&ap);
	free(buf);
	return 0;
}
