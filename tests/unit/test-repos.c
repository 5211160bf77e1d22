/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Package-source parsers (apt one-line and deb822, yum/dnf, zypper) on the fixture roots and on odd
 * or malformed buffers; variable substitution; apt.conf proxies; no_proxy matching; metadata URLs;
 * and the probe's error classification against a closed port and a bad proxy on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "repo-probe.h"
#include "repos.h"
#include "sysroot.h"
#include "util.h"

#define FIX TEST_SOURCE_DIR "/fixtures/netrepo/"

static void load(const char *root, const char *version, struct repos *rs)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	_cleanup_free_ char *p = xasprintf(FIX "%s", root);
	struct repo_vars vars;

	assert_int_equal(sysroot_new(p, 0, &sr), 0);
	repo_vars_init(&vars, sr, version, "x86_64");
	memset(rs, 0, sizeof(*rs));
	repos_load(sr, &vars, rs);
	repo_vars_free(&vars);
}

static const struct repo *by_line(const struct repos *rs, const char *file, long line, size_t nth)
{
	for (size_t i = 0; i < rs->n; i++)
		if (endswith(rs->v[i].path, file) && rs->v[i].line == line && nth-- == 0)
			return &rs->v[i];
	return NULL;
}

static bool bad_at(const struct repos *rs, const char *file, long line)
{
	for (size_t i = 0; i < rs->nbad; i++)
		if (endswith(rs->bad[i].path, file) && rs->bad[i].line == line)
			return true;
	return false;
}

static void test_apt(void **state)
{
	struct repos rs;
	const struct repo *r;
	_cleanup_free_ char *u1 = NULL, *u2 = NULL, *u3 = NULL;

	load("debian-root", "12", &rs);
	r = by_line(&rs, "/etc/apt/sources.list", 3, 0);
	assert_non_null(r);
	assert_int_equal(r->dialect, REPO_APT_LINE);
	assert_string_equal(r->urls.v[0], "cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 "
					  "20230610-10:23]/");
	assert_string_equal(r->suite, "bookworm");
	assert_int_equal(repo_url_local(r->urls.v[0]), REPO_LOCAL_MEDIA);
	r = by_line(&rs, "/etc/apt/sources.list", 4, 0);
	assert_string_equal(r->urls.v[0], "http://deb.debian.org/debian");
	u1 = repo_probe_url(r, 0, false);
	u2 = repo_probe_url(r, 0, true);
	assert_string_equal(u1, "http://deb.debian.org/debian/dists/bookworm/InRelease");
	assert_string_equal(u2, "http://deb.debian.org/debian/dists/bookworm/Release");
	r = by_line(&rs, "/etc/apt/sources.list", 5, 0);
	assert_string_equal(r->type, "deb-src");
	r = by_line(&rs, "/etc/apt/sources.list", 6, 0); /* flat repository "./" */
	assert_string_equal(r->suite, "./");
	u3 = repo_probe_url(r, 0, false);
	assert_string_equal(u3, "file:/srv/mirror/InRelease");
	assert_int_equal(repo_url_local(r->urls.v[0]), REPO_LOCAL_FILE);
	assert_null(by_line(&rs, "/etc/apt/sources.list", 1, 0)); /* commented out */
	assert_true(bad_at(&rs, "/etc/apt/sources.list", 8));
	assert_true(bad_at(&rs, "/etc/apt/sources.list", 9));

	/* deb822: URIs x Suites, continuation lines, Enabled: no, missing URIs */
	r = by_line(&rs, "extra.sources", 3, 0);
	assert_non_null(r);
	assert_int_equal(r->dialect, REPO_DEB822);
	assert_int_equal(r->stanza_line, 2);
	assert_string_equal(r->suite, "bookworm-updates");
	assert_string_equal(by_line(&rs, "extra.sources", 3, 1)->suite, "bookworm-backports");
	assert_null(by_line(&rs, "extra.sources", 3, 2));
	r = by_line(&rs, "extra.sources", 14, 0);
	assert_false(r->enabled);
	assert_true(by_line(&rs, "extra.sources", 20, 0)->enabled);
	assert_true(bad_at(&rs, "extra.sources", 24));
	repos_free(&rs);
}

static void test_yum(void **state)
{
	struct repos rs;
	const struct repo *r;
	_cleanup_free_ char *u = NULL;

	load("rhel-root", "8.9", &rs);
	r = by_line(&rs, "rocky.repo", 1, 0);
	assert_string_equal(r->id, "baseos");
	assert_int_equal(r->kind, REPO_URL_MIRRORLIST);
	assert_true(r->enabled); /* no enabled=: on */
	assert_string_equal(r->urls.v[0], "https://mirrors.rockylinux.org/mirrorlist?arch=x86_64&repo=BaseOS-8.9");
	u = repo_probe_url(r, 0, false);
	assert_string_equal(u, r->urls.v[0]);
	r = by_line(&rs, "rocky.repo", 7, 0);
	assert_string_equal(r->id, "appstream");
	assert_int_equal(r->urls.n, 2); /* continuation line */
	assert_string_equal(r->urls.v[0], "http://dl.rockylinux.org/pub/8/AppStream/x86_64/os/");
	assert_string_equal(r->urls.v[1], "http://mirror2.example/rocky/8.9/AppStream/x86_64/os/");
	assert_string_equal(r->proxy, "_none_");
	free(u);
	u = repo_probe_url(r, 1, false);
	assert_string_equal(u, "http://mirror2.example/rocky/8.9/AppStream/x86_64/os/repodata/repomd.xml");
	assert_false(by_line(&rs, "rocky.repo", 14, 0)->enabled);
	r = by_line(&rs, "media.repo", 2, 0);
	assert_int_equal(repo_url_local(r->urls.v[0]), REPO_LOCAL_MEDIA); /* file:///media/cdrom */
	assert_true(bad_at(&rs, "media.repo", 7)); /* no URL */
	repos_free(&rs);

	{
		_cleanup_sysroot_ struct sysroot *sr = NULL;
		_cleanup_free_ char *proxy = NULL;

		assert_int_equal(sysroot_new(FIX "rhel-root", 0, &sr), 0);
		proxy = yum_main_proxy(sr);
		assert_string_equal(proxy, "http://proxy.corp.example:3128");
	}
}

static void test_zypper(void **state)
{
	struct repos rs;
	const struct repo *r;

	load("suse-root", "15.5", &rs);
	r = by_line(&rs, "dvd.repo", 1, 0);
	assert_int_equal(r->dialect, REPO_ZYPPER);
	assert_int_equal(repo_url_local(r->urls.v[0]), REPO_LOCAL_MEDIA);
	assert_false(by_line(&rs, "dvd.repo", 6, 0)->enabled);
	r = by_line(&rs, "dvd.repo", 10, 0);
	assert_true(r->enabled);
	assert_string_equal(r->urls.v[0], "http://download.opensuse.org/distribution/leap/15.5/repo/oss/");
	assert_int_equal(repo_url_local("plugin:/susecloud?x"), REPO_OTHER_SCHEME);
	assert_int_equal(rs.nbad, 0);
	repos_free(&rs);

	{
		_cleanup_sysroot_ struct sysroot *sr = NULL;
		struct suse_proxy p;

		assert_int_equal(sysroot_new(FIX "suse-root", 0, &sr), 0);
		suse_proxy_load(sr, &p);
		assert_string_equal(suse_proxy_for(&p, "http://download.opensuse.org/x"), "http://proxy.suse.example:3128");
		assert_string_equal(suse_proxy_for(&p, "https://download.opensuse.org/x"), "http://proxy.suse.example:3129");
		assert_string_equal(suse_proxy_for(&p, "http://repo.internal.example/x"), "");
		assert_string_equal(suse_proxy_for(&p, "http://127.0.0.1:8080/x"), "");
		suse_proxy_free(&p);
	}
}

static void test_malformed_buffers(void **state)
{
	struct repos rs = { 0 };
	char list[] = "deb [arch=amd64 http://x/ y\ndeb http://x/[unterminated y\ndeb\n\0\n";
	char d822[] = " leading continuation\nTypes deb\nURIs: http://x/\n\nEnabled: no\n";
	char ini[] = "key=before\n[ok\n[]\n[a]\nnot a pair\n[b]\nbaseurl=\n";

	repos_parse_apt_list(&rs, "/l", list, sizeof(list) - 1);
	repos_parse_deb822(&rs, "/d", d822, strlen(d822));
	repos_parse_yum(&rs, "/y", ini, strlen(ini), NULL);
	assert_int_equal(rs.n, 0);
	assert_true(bad_at(&rs, "/l", 1) && bad_at(&rs, "/l", 2) && bad_at(&rs, "/l", 3) && bad_at(&rs, "/l", 4));
	assert_true(bad_at(&rs, "/d", 1) && bad_at(&rs, "/d", 2) && bad_at(&rs, "/d", 3) && bad_at(&rs, "/d", 5));
	assert_true(bad_at(&rs, "/y", 1) && bad_at(&rs, "/y", 2) && bad_at(&rs, "/y", 3) && bad_at(&rs, "/y", 5));
	assert_true(bad_at(&rs, "/y", 6) && bad_at(&rs, "/y", 4));
	repos_free(&rs);
}

static void test_apt_mirror_method(void **state)
{
	struct repos rs = { 0 };
	char list[] = "deb mirror+http://127.0.0.1/mirrors.txt bookworm main\n"
		      "deb mirror://mirrors.example/list.txt bookworm main\n"
		      "deb tor+https://onion.example/debian bookworm main\n";
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	repos_parse_apt_list(&rs, "/l", list, strlen(list));
	assert_int_equal(rs.n, 3);
	a = repo_probe_url(&rs.v[0], 0, false);
	assert_string_equal(a, "http://127.0.0.1/mirrors.txt");
	assert_null(repo_probe_url(&rs.v[0], 0, true));
	b = repo_probe_url(&rs.v[1], 0, false);
	assert_string_equal(b, "http://mirrors.example/list.txt");
	c = repo_probe_url(&rs.v[2], 0, false);
	assert_string_equal(c, "https://onion.example/debian/dists/bookworm/InRelease");
	d = repo_probe_url(&rs.v[2], 0, true);
	assert_string_equal(d, "https://onion.example/debian/dists/bookworm/Release");
	assert_int_equal(repo_url_local(rs.v[0].urls.v[0]), REPO_REMOTE);
	repos_free(&rs);
}

static void test_vars(void **state)
{
	struct repo_vars v = { 0 };
	_cleanup_free_ char *a = NULL, *b = NULL;

	repo_vars_set(&v, "releasever", "9.3");
	repo_vars_set(&v, "releasever_major", "9");
	repo_vars_set(&v, "basearch", "aarch64");
	a = repo_vars_expand(&v, "x/$releasever_major/${basearch}/$releasever/$unknown/${open/$");
	assert_string_equal(a, "x/9/aarch64/9.3/$unknown/${open/$");
	b = repo_vars_expand(NULL, "$releasever");
	assert_string_equal(b, "$releasever");
	repo_vars_free(&v);
}

static void test_apt_proxy(void **state)
{
	_cleanup_sysroot_ struct sysroot *sr = NULL;
	struct apt_proxy p = { 0 };
	const char conf[] = "Acquire::HTTP::Proxy \"http://a:1\";\n# comment\nAcquire::http::Proxy::h.example DIRECT;\n";

	assert_int_equal(sysroot_new(FIX "debian-root", 0, &sr), 0);
	apt_proxy_load(sr, &p);
	assert_string_equal(apt_proxy_for(&p, "http://security.debian.org/x"), "http://proxy.example:3128/");
	assert_string_equal(apt_proxy_for(&p, "https://esm.ubuntu.com/x"), "http://tls-proxy.example:3128");
	assert_string_equal(apt_proxy_for(&p, "http://deb.debian.org/debian"), "");
	apt_proxy_free(&p);

	apt_proxy_parse(&p, conf, sizeof(conf) - 1);
	assert_string_equal(apt_proxy_for(&p, "http://b/x"), "http://a:1");
	assert_string_equal(apt_proxy_for(&p, "https://b/x"), "http://a:1"); /* https falls back to http */
	apt_proxy_free(&p);
	apt_proxy_parse(&p, "{{{ }}} ; \"dangling", 18);
	assert_null(apt_proxy_for(&p, "http://b/"));
	apt_proxy_free(&p);
}

static void test_no_proxy(void **state)
{
	assert_true(no_proxy_match("localhost,.example.com", "a.example.com"));
	assert_true(no_proxy_match("example.com", "example.com"));
	assert_true(no_proxy_match("example.com", "deep.a.example.com"));
	assert_false(no_proxy_match("example.com", "badexample.com"));
	assert_true(no_proxy_match("*", "anything"));
	assert_true(no_proxy_match("10.0.0.0/8, 127.0.0.1:8080", "127.0.0.1"));
	assert_true(no_proxy_match("10.0.0.0/8", "10.20.30.40"));
	assert_false(no_proxy_match("10.0.0.0/8", "11.0.0.1"));
	assert_false(no_proxy_match("", "x"));
}

static void test_env_proxy(void **state)
{
	char *p;

	setenv("http_proxy", "http://envproxy:3128", 1);
	setenv("no_proxy", "127.0.0.2", 1);
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	p = env_proxy_for("http://127.0.0.1:9/x");
	assert_string_equal(p, "http://envproxy:3128");
	free(p);
	assert_null(env_proxy_for("http://127.0.0.2:9/x"));
	assert_null(env_proxy_for("https://127.0.0.1:9/x"));
	unsetenv("http_proxy");
	unsetenv("no_proxy");
}

static void test_probe_classify(void **state)
{
	struct probe p[3] = {
		{ .url = xstrdup("http://127.0.0.1:1/dists/x/InRelease"), .proxy = xstrdup("") },
		{ .url = xstrdup("http://127.0.0.1:2/x"), .proxy = xstrdup("http://127.0.0.1:3") },
		{ .url = xstrdup("http://name.invalid/x"), .proxy = xstrdup("_none_") },
	};

	assert_int_equal(repo_probe_all(p, 3, 3000), 0);
	assert_int_equal(p[0].cause, PROBE_CONNECT);
	assert_null(p[0].proxy_used);
	assert_int_equal(p[1].cause, PROBE_PROXY);
	assert_non_null(strstr(p[1].error, "127.0.0.1:3"));
	/* .invalid never resolves (RFC 6761); without a resolver at all it can also time out */
	assert_true(p[2].cause == PROBE_DNS || p[2].cause == PROBE_TIMEOUT);
	for (size_t i = 0; i < 3; i++)
		probe_clear(&p[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apt),        cmocka_unit_test(test_yum),
		cmocka_unit_test(test_zypper),     cmocka_unit_test(test_malformed_buffers),
		cmocka_unit_test(test_apt_mirror_method),
		cmocka_unit_test(test_vars),       cmocka_unit_test(test_apt_proxy),
		cmocka_unit_test(test_no_proxy),   cmocka_unit_test(test_env_proxy),
		cmocka_unit_test(test_probe_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
