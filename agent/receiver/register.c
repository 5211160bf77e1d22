/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/file.h>
#include <sys/random.h>

#include "fileio.h"
#include "register.h"
#include "store.h"
#include "util.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static int random_hex(size_t nbytes, char *out)
{
	uint8_t b[32];

	if (nbytes > sizeof(b) || getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		return -EIO;
	hex(b, nbytes, out);
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

/* Takes AGENTS.lock; the fd is the lock. */
static int lock_agents(const char *agents_path)
{
	_cleanup_free_ char *p = xasprintf("%s.lock", agents_path);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int read_optional(const char *path, char **buf, size_t *len)
{
	int r = read_file_bounded(path, CONFIG_FILE_MAX, buf, len);

	if (r == -ENOENT) {
		*buf = xstrdup("");
		*len = 0;
		return 0;
	}
	return r;
}

int reg_keygen(const char *agents_path, long ttl, char *key, size_t keylen)
{
	_cleanup_close_ int lock = lock_agents(agents_path);
	_cleanup_free_ char *path = xasprintf("%s.keys", agents_path), *old = NULL, *txt = NULL;
	char secret[65], digest_hex[65];
	uint8_t digest[32];
	size_t len;
	int r;

	if (lock < 0)
		return lock;
	if (keylen < sizeof(REG_KEY_PREFIX) + 64)
		return -ENOBUFS;
	if ((r = random_hex(32, secret)) < 0)
		return r;
	snprintf(key, keylen, REG_KEY_PREFIX "%s", secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	if ((r = sha256_buf(key, strlen(key), digest)) < 0 || (r = read_optional(path, &old, &len)) < 0)
		return r;
	hex(digest, 32, digest_hex);
	txt = xasprintf("%s%s%s %lld\n", old, len && old[len - 1] != '\n' ? "\n" : "", digest_hex,
			(long long)time(NULL) + ttl);
	return write_file_atomic(path, txt, strlen(txt), 0600);
}

/* Rewrites the keys file without the key of digest_hex (and without expired keys); -EACCES if absent. */
static int consume_key(const char *agents_path, const char *digest_hex)
{
	_cleanup_free_ char *path = xasprintf("%s.keys", agents_path), *buf = NULL, *out = NULL;
	size_t len, olen = 0;
	struct line_iter it;
	bool found = false, has_nul;
	long long now = time(NULL);
	char *line;
	int r;

	if ((r = read_optional(path, &buf, &len)) < 0)
		return r;
	out = xmalloc(len + 1);
	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, &has_nul))) {
		char d[65];
		long long exp;

		if (has_nul || sscanf(line, "%64s %lld", d, &exp) != 2 || exp < now)
			continue; /* garbage and expired keys are dropped on the way */
		if (strlen(d) == 64 && CRYPTO_memcmp(d, digest_hex, 64) == 0) {
			found = true;
			continue;
		}
		olen += (size_t)sprintf(out + olen, "%s\n", line);
	}
	if (!found)
		return -EACCES;
	return write_file_atomic(path, out, olen, 0600);
}

static void id_from_hostname(const char *hostname, char *id, size_t idlen, const char *suffix)
{
	char base[41];
	size_t n = 0;

	for (const char *p = hostname ? hostname : ""; *p && n < sizeof(base) - 1; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_')
			base[n++] = *p;
	base[n] = 0;
	snprintf(id, idlen, "%s-%s", n ? base : "agent", suffix);
}

int reg_register(const char *agents_path, const char *key, const char *hostname, char *id, size_t idlen,
		 char *token, size_t toklen)
{
	_cleanup_close_ int lock = lock_agents(agents_path);
	_cleanup_free_ char *old = NULL, *txt = NULL;
	char digest_hex[65], suffix[17], secret[49];
	uint8_t digest[32];
	size_t len;
	int r;

	if (lock < 0)
		return lock;
	if (!startswith(key, REG_KEY_PREFIX) || strlen(key) != strlen(REG_KEY_PREFIX) + 64)
		return -EACCES;
	if ((r = sha256_buf(key, strlen(key), digest)) < 0)
		return r;
	hex(digest, 32, digest_hex);
	if ((r = read_file_bounded(agents_path, CONFIG_FILE_MAX, &old, &len)) < 0)
		return r;
	if ((r = consume_key(agents_path, digest_hex)) < 0)
		return r;
	if ((r = random_hex(8, suffix)) < 0 || (r = random_hex(24, secret)) < 0)
		return r;
	id_from_hostname(hostname, id, idlen, suffix);
	snprintf(token, toklen, "mt-%s", secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (!rstore_name_valid(id) || strlen(token) != 51)
		return -ENOBUFS;
	txt = xasprintf("%s%s%s %s\n", old, len && old[len - 1] != '\n' ? "\n" : "", id, token);
	r = write_file_atomic(agents_path, txt, strlen(txt), 0600);
	OPENSSL_cleanse(txt, strlen(txt));
	OPENSSL_cleanse(old, len);
	return r;
}
