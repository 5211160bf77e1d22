/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "fileio.h"
#include "identity-bind.h"
#include "identity.h"
#include "json.h"

#define IDBIND_FILE "identity"

struct idbind {
	int dirfd; /* the store's, not owned */
	pthread_mutex_t lock;
};

struct bound {
	char machine_id[IDENTITY_VALUE_MAX + 1];
	char product_uuid[IDENTITY_VALUE_MAX + 1];
};

int idbind_new(struct rstore *store, struct idbind **ret)
{
	struct idbind *b = xcalloc(1, sizeof(*b));

	b->dirfd = rstore_dirfd(store);
	pthread_mutex_init(&b->lock, NULL);
	*ret = b;
	return 0;
}

void idbind_free(struct idbind *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* STORE/AGENT/identity; -ENOENT when nothing is recorded, -EINVAL when it is garbled. */
static int load(const struct idbind *b, const char *agent, struct bound *out)
{
	_cleanup_close_ int afd = openat(b->dirfd, agent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ cJSON *j = NULL;
	size_t len;
	int r;

	if (afd < 0)
		return -errno;
	fd = openat(afd, IDBIND_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if ((r = read_fd_bounded(fd, 64u << 10, &buf, &len)) < 0)
		return r;
	j = cJSON_ParseWithLength(buf, len);
	return identity_from_json(j, out->machine_id, out->product_uuid) ? 0 : -EINVAL;
}

static int save(const struct idbind *b, const char *agent, const struct bound *id, const char *source)
{
	_cleanup_close_ int afd = -1;
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	_cleanup_free_ char *txt = NULL;

	if (mkdirat(b->dirfd, agent, 0700) < 0 && errno != EEXIST)
		return -errno;
	afd = openat(b->dirfd, agent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (afd < 0)
		return -errno;
	cJSON_AddStringToObject(j, "machine_id", id->machine_id);
	cJSON_AddStringToObject(j, "product_uuid", id->product_uuid);
	cJSON_AddNumberToObject(j, "recorded_at", (double)time(NULL));
	cJSON_AddStringToObject(j, "source", source);
	txt = cJSON_PrintUnformatted(j);
	if (!txt)
		return -ENOMEM;
	return write_file_atomic_at(afd, IDBIND_FILE, txt, strlen(txt), 0600);
}

/* Loads the bound identity, recording id first when none is (under the lock: one first use wins). */
static int load_or_record(struct idbind *b, const char *agent, const struct bound *id, const char *source,
			  struct bound *out)
{
	int r = load(b, agent, out);

	if (r != -ENOENT)
		return r;
	pthread_mutex_lock(&b->lock);
	r = load(b, agent, out);
	if (r == -ENOENT) {
		r = save(b, agent, id, source);
		if (r == 0)
			*out = *id;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

static const char *shown(const char *v)
{
	return v[0] ? v : "(none)";
}

static int load_failed(const char *agent, int r, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "%s/" IDBIND_FILE ": %s", agent,
		 r == -EINVAL ? "garbled identity record: fix or remove it by hand" : errstr(r));
	return r == -EPERM || r == -EBADMSG ? -EIO : r;
}

int idbind_check(struct idbind *b, const char *agent, const char *machine_id, const char *product_uuid,
		 char *msg, size_t msglen)
{
	struct bound want, have;
	int r;

	if (!machine_id && !product_uuid) { /* an agent older than identity binding */
		r = load(b, agent, &have);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return load_failed(agent, r, msg, msglen);
		snprintf(msg, msglen,
			 "agent %s is bound to machine-id %s, product UUID %s; this request presents no identity "
			 "(X-Mobility-Machine-Id, X-Mobility-Product-Uuid)", agent, shown(have.machine_id),
			 shown(have.product_uuid));
		return -EPERM;
	}
	if (!machine_id || !product_uuid) {
		snprintf(msg, msglen, "X-Mobility-Machine-Id and X-Mobility-Product-Uuid must both be sent");
		return -EBADMSG;
	}
	if (!identity_normalize(machine_id, want.machine_id) || !identity_normalize(product_uuid, want.product_uuid)) {
		snprintf(msg, msglen, "X-Mobility-Machine-Id and X-Mobility-Product-Uuid are [0-9A-Za-z-]{0,%d}",
			 IDENTITY_VALUE_MAX);
		return -EBADMSG;
	}
	r = load_or_record(b, agent, &want, "first request", &have);
	if (r < 0)
		return load_failed(agent, r, msg, msglen);
	if (streq(want.machine_id, have.machine_id) && streq(want.product_uuid, have.product_uuid))
		return 0;
	snprintf(msg, msglen,
		 "agent %s is bound to machine-id %s, product UUID %s; this request presents machine-id %s, "
		 "product UUID %s: a clone or a new VM (register it as a new agent); its disks are not mixed with "
		 "the recorded machine's", agent, shown(have.machine_id), shown(have.product_uuid),
		 shown(want.machine_id), shown(want.product_uuid));
	return -EPERM;
}

int idbind_record(struct idbind *b, const char *agent, const char *machine_id, const char *product_uuid)
{
	struct bound id, have;

	if (!machine_id && !product_uuid)
		return 0;
	/* as the agent: an unreadable or invalid value is "" (identity_read) */
	if (!identity_normalize(machine_id ? machine_id : "", id.machine_id))
		id.machine_id[0] = '\0';
	if (!identity_normalize(product_uuid ? product_uuid : "", id.product_uuid))
		id.product_uuid[0] = '\0';
	return load_or_record(b, agent, &id, "registration", &have);
}
