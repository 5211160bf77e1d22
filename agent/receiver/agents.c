/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/stat.h>

#include "agents.h"
#include "fileio.h"
#include "log.h"
#include "store.h"

struct agent {
	char *id, *token;
};

struct agents {
	char *path;
	pthread_mutex_t lock;
	struct agent *v;
	size_t n;
	struct stat st; /* of the version loaded */
};

static void table_free(struct agent *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		OPENSSL_clear_free(v[i].token, strlen(v[i].token));
	}
	free(v);
}

static bool token_valid(const char *t)
{
	size_t n = strlen(t);

	if (n < AGENT_TOKEN_MIN || n > AGENT_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] > '~')
			return false;
	return true;
}

/* One line: false when it is not "ID TOKEN" or repeats an id or a token. *id NULL: nothing on it. */
static bool parse_line(char *line, bool has_nul, const struct agent *v, size_t n, char **id, char **token)
{
	char *save = NULL;

	*id = NULL;
	line = strstrip(line);
	if (has_nul)
		return false;
	if (!*line || *line == '#')
		return true;
	*id = strtok_r(line, " \t", &save);
	*token = strtok_r(NULL, " \t", &save);
	if (!*id || !*token || strtok_r(NULL, " \t", &save) || !rstore_name_valid(*id) || !token_valid(*token))
		return false;
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].id, *id) || streq(v[i].token, *token))
			return false;
	return true;
}

int agents_parse(const char *path, char *buf, size_t len, struct agents *into)
{
	struct agent *v = NULL;
	size_t n = 0;
	struct line_iter it;
	bool has_nul;
	char *line, *id, *token;

	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &has_nul))) {
		if (!parse_line(line, has_nul, v, n, &id, &token)) {
			/* the message must not quote the line: it holds a token */
			log_err("%s:%u: expected 'AGENT_ID TOKEN' (id [A-Za-z0-9._-]{1,64}, token 16..256 "
				"printable characters, both unique)", path, it.lineno);
			table_free(v, n);
			return -EINVAL;
		}
		if (!id)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].id = xstrdup(id);
		v[n].token = xstrdup(token);
		n++;
	}
	table_free(into->v, into->n);
	into->v = v;
	into->n = n;
	return 0;
}

static int load(struct agents *a)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	if (stat(a->path, &st) < 0)
		return -errno;
	if ((r = read_file_bounded(a->path, CONFIG_FILE_MAX, &buf, &len)) < 0) {
		log_err("%s: %s", a->path, errstr(r));
		return r;
	}
	r = agents_parse(a->path, buf, len, a);
	OPENSSL_cleanse(buf, len);
	if (r == 0)
		a->st = st;
	return r;
}

int agents_open(const char *path, struct agents **ret)
{
	struct agents *a = xcalloc(1, sizeof(*a));
	int r;

	a->path = xstrdup(path);
	pthread_mutex_init(&a->lock, NULL);
	if ((r = load(a)) < 0) {
		agents_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

void agents_free(struct agents *a)
{
	if (!a)
		return;
	table_free(a->v, a->n);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}

const char *agents_path(const struct agents *a)
{
	return a->path;
}

void agents_refresh(struct agents *a)
{
	struct stat st;

	pthread_mutex_lock(&a->lock);
	if (stat(a->path, &st) == 0 &&
	    (st.st_ino != a->st.st_ino || st.st_size != a->st.st_size ||
	     st.st_mtim.tv_sec != a->st.st_mtim.tv_sec || st.st_mtim.tv_nsec != a->st.st_mtim.tv_nsec)) {
		if (load(a) == 0)
			log_info("%s: reloaded, %zu agents", a->path, a->n);
		else
			a->st = st; /* do not retry (and log) on every request; the old table stays */
	}
	pthread_mutex_unlock(&a->lock);
}

int agents_find(struct agents *a, const char *token, char *id, size_t idlen)
{
	size_t tlen = strlen(token);
	int found = -1;

	pthread_mutex_lock(&a->lock);
	/* every entry compared in constant time: the reply time says nothing about the token */
	for (size_t i = 0; i < a->n; i++) {
		size_t n = strlen(a->v[i].token);
		if (n == tlen && CRYPTO_memcmp(a->v[i].token, token, n) == 0)
			found = (int)i;
	}
	if (found >= 0)
		snprintf(id, idlen, "%s", a->v[found].id);
	pthread_mutex_unlock(&a->lock);
	return found >= 0 ? 0 : -EACCES;
}
