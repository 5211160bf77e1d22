/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Removing a finished pass's files. Once NAME.pass is renamed to NAME.pass-dead-ID (durably) the
 * pass is gone as far as anyone can see; deleting its files is only housekeeping, but unlinking a
 * sparse staging file of scattered chunks costs as much as writing them back (40 ms for 40 MiB on
 * ext4, a sixth of an incremental pass, while the agent waits for its commit — and during a cutover,
 * while the VM is frozen). So the reaper thread deletes them after the answer. Whatever it did not
 * get to (a crash, rstore_free) is found again by name when the disk is next loaded.
 */
#include <dirent.h>
#include <fcntl.h>

#include "fileio.h"
#include "log.h"
#include "store-internal.h"

struct reap_item {
	struct reap_item *next;
	int dirfd; /* the agent directory (a dup, owned) */
	char *name;
};

struct reaper {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct reap_item *head, **tail;
	bool stop, busy;
};

int pass_dir_remove(int dirfd, const char *name)
{
	static const char *const files[] = { "info", "boot", "data", "staged", "zero", "hashes" };
	_cleanup_close_ int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (unlinkat(dfd, files[i], 0) < 0 && errno != ENOENT)
			return -errno;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void item_free(struct reap_item *it)
{
	close(it->dirfd);
	free(it->name);
	free(it);
}

static void *reaper_main(void *arg)
{
	struct reaper *rp = arg;

	pthread_mutex_lock(&rp->lock);
	for (;;) {
		struct reap_item *it;
		int r;

		while (!rp->stop && !rp->head)
			pthread_cond_wait(&rp->cond, &rp->lock);
		if (rp->stop)
			break;
		it = rp->head;
		rp->head = it->next;
		if (!rp->head)
			rp->tail = &rp->head;
		rp->busy = true;
		pthread_mutex_unlock(&rp->lock);
		r = pass_dir_remove(it->dirfd, it->name);
		if (r < 0)
			log_warn("cannot remove the finished pass %s: %s (removed when the disk is next loaded)",
				 it->name, errstr(r));
		item_free(it);
		pthread_mutex_lock(&rp->lock);
		rp->busy = false;
		pthread_cond_broadcast(&rp->cond);
	}
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

struct reaper *reaper_new(void)
{
	struct reaper *rp = xcalloc(1, sizeof(*rp));

	pthread_mutex_init(&rp->lock, NULL);
	pthread_cond_init(&rp->cond, NULL);
	rp->tail = &rp->head;
	if (pthread_create(&rp->thread, NULL, reaper_main, rp) != 0) {
		pthread_cond_destroy(&rp->cond);
		pthread_mutex_destroy(&rp->lock);
		free(rp);
		return NULL; /* removals are then done in place */
	}
	return rp;
}

void reaper_add(struct reaper *rp, int dirfd, const char *name)
{
	struct reap_item *it;
	int fd;

	if (!rp || (fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3)) < 0) {
		(void)pass_dir_remove(dirfd, name);
		return;
	}
	it = xcalloc(1, sizeof(*it));
	it->dirfd = fd;
	it->name = xstrdup(name);
	pthread_mutex_lock(&rp->lock);
	*rp->tail = it;
	rp->tail = &it->next;
	pthread_cond_signal(&rp->cond);
	pthread_mutex_unlock(&rp->lock);
}

void reaper_flush(struct reaper *rp)
{
	if (!rp)
		return;
	pthread_mutex_lock(&rp->lock);
	while (rp->head || rp->busy)
		pthread_cond_wait(&rp->cond, &rp->lock);
	pthread_mutex_unlock(&rp->lock);
}

/* Stops after the removal in progress; the queued ones stay for the next load (no writes here). */
void reaper_free(struct reaper *rp)
{
	if (!rp)
		return;
	pthread_mutex_lock(&rp->lock);
	rp->stop = true;
	pthread_cond_broadcast(&rp->cond);
	pthread_mutex_unlock(&rp->lock);
	pthread_join(rp->thread, NULL);
	while (rp->head) {
		struct reap_item *it = rp->head;

		rp->head = it->next;
		item_free(it);
	}
	pthread_cond_destroy(&rp->cond);
	pthread_mutex_destroy(&rp->lock);
	free(rp);
}

/* "NAME.pass-dead-ID" (and "NAME.pass-dead" of older versions): a removed pass of disk NAME. */
static bool is_dead_pass_of(const char *entry, const char *disk)
{
	size_t n = strlen(disk);
	const char *rest;

	if (strncmp(entry, disk, n) != 0 || !startswith(entry + n, ".pass-dead"))
		return false;
	rest = entry + n + strlen(".pass-dead");
	if (*rest == '\0')
		return true;
	return *rest == '-' && rest[1] && strspn(rest + 1, "0123456789") == strlen(rest + 1);
}

void pass_leftovers_remove(const struct rdisk *d)
{
	char fn[DISK_FILE_MAX];
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	int fd;

	disk_file(fn, d, ".pass-new");
	(void)pass_dir_remove(d->dirfd, fn);
	fd = openat(d->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir)))
		if (is_dead_pass_of(de->d_name, d->name))
			(void)pass_dir_remove(d->dirfd, de->d_name);
}
