/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon.h"
#include "control.h"
#include "fileio.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "manifest.h"
#include "quiesce.h"
#include "replicate.h"
#include "tracker.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>

/* Cutover converges while each pass leaves fewer dirty chunks, at most this many passes. */
#define CUTOVER_REFREEZE_MAX 2
#define CUTOVER_MAX_PASSES 8
/* Few enough dirty chunks to freeze now: the frozen pass then takes a moment. */
#define CUTOVER_SMALL_ENOUGH 64

struct ddisk {
	const struct config_disk *cfg;
	struct tracker *tr;
	char *tracker_error;   /* why this disk is in hash mode */
	uint32_t chunk_size;
	uint64_t size;         /* bytes, when the daemon started */
	uint8_t *pending;      /* chunks taken from the tracker whose pass has not committed yet */
	uint64_t nchunks;
	bool verify_next;      /* a verify pass was due and did not commit */
	unsigned last_gaps;
	uint64_t last_pass;
	struct sync_stats last;
	char *last_error;
	time_t last_time;
};

struct daemon {
	const struct agent_config *cfg;
	struct ddisk *disks;
	size_t n;
	char *token;
	pthread_mutex_t lock;  /* one command that changes state at a time (a sync, freeze, thaw) */
	/* The trackers and each disk's last-pass fields: short holds, so status answers during a sync. */
	pthread_mutex_t state;
	struct quiesce_handle *qh;
	struct quiesce_plan qplan;
};

static int read_token(const char *path, char **out)
{
	_cleanup_free_ char *buf = NULL;
	int r;

	if (!path)
		return -ENOENT;
	r = read_file_bounded(path, 4096, &buf, NULL);
	if (r < 0)
		return r;
	*out = xstrdup(strstrip(buf));
	return **out ? 0 : -ENODATA;
}

/* (Re)start the tracker of K at K's chunk size; on failure the disk is in hash mode, and says why. */
/* Under d->state (or before any pass): every write that completed by now is in the bitmap, not
 * still in a ring; a gap the tracker found makes k's next pass a verify. */
static void collect_gaps(struct ddisk *k)
{
	unsigned gaps = 0;

	tracker_drain(k->tr);
	if (tracker_take_verify(k->tr, &gaps)) {
		k->verify_next = true;
		k->last_gaps = gaps;
	}
}

static void tracker_begin(struct daemon *d, struct ddisk *k)
{
	_cleanup_free_ char *dir = xasprintf("%s/tracker", d->cfg->state_dir);
	/* reclaim_stale: a predecessor killed with -9 leaves its trace set up in the kernel. */
	struct tracker_opts to = { .buf_size = (uint32_t)d->cfg->tracker_buf_kib * 1024,
				   .buf_nr = (uint32_t)d->cfg->tracker_buf_nr, .reclaim_stale = true };
	char *err = NULL;
	int r;

	mkdir(d->cfg->state_dir, 0700);
	mkdir(dir, 0700);
	free(k->tracker_error);
	k->tracker_error = NULL;
	free(k->pending);
	k->pending = xcalloc((k->nchunks + 7) / 8 + 1, 1);
	r = tracker_start(k->cfg->device, k->chunk_size, dir, &to, &k->tr, &err);
	if (r < 0) {
		k->tracker_error = err ? err : xasprintf("%s: cannot track: %s", k->cfg->device, strerror(-r));
		k->tr = NULL;
		log_warn("%s: hash mode (every pass reads the whole disk): %s", k->cfg->name, k->tracker_error);
		return;
	}
	/* A clean restart (bitmap and marker reloaded, no gap) needs no verify. */
	collect_gaps(k);
	log_info("%s: tracking %s in %u-byte chunks%s", k->cfg->name, k->cfg->device, k->chunk_size,
		 k->verify_next ? " (the next pass verifies)" : "");
}

static void disk_start(struct daemon *d, struct ddisk *k)
{
	_cleanup_free_ char *mpath = xasprintf("%s/%s.manifest", d->cfg->state_dir, k->cfg->name);
	struct manifest *m = NULL;
	uint64_t size = 0;
	struct disk disk;

	if (disk_open(k->cfg->device, &disk) == 0) {
		size = disk.size;
		disk_close(&disk);
	}
	k->size = size;
	/* The tracker's chunks must be the replica's: the committed manifest's size, else sync's default. */
	k->chunk_size = sync_default_chunk_size(size);
	if (manifest_load(mpath, &m) == 0) {
		k->last_pass = m->committed_pass; /* survives restarts */
		if (m->chunk_size)
			k->chunk_size = m->chunk_size;
		manifest_free(m);
	}
	k->nchunks = disk_nchunks(size, k->chunk_size);
	k->verify_next = !k->last_pass; /* nothing committed yet: the first pass reads everything */
	tracker_begin(d, k);
	if (!k->tr)
		k->verify_next = true;
}

/* The appliance decided another chunk size (an existing replica): follow it, and verify once. */
static void follow_chunk_size(struct daemon *d, struct ddisk *k, uint32_t chunk_size)
{
	if (!chunk_size || chunk_size == k->chunk_size)
		return;
	log_warn("%s: the replica uses %u-byte chunks, not %u: tracking again at its size", k->cfg->name, chunk_size,
		 k->chunk_size);
	if (k->tr) {
		tracker_stop(k->tr, false);
		tracker_free(k->tr);
		k->tr = NULL;
	}
	k->chunk_size = chunk_size;
	k->nchunks = disk_nchunks(k->size, chunk_size);
	k->verify_next = true;
	tracker_begin(d, k);
}

static struct client *make_client(struct daemon *d, char **err)
{
	_cleanup_free_ char *no_proxy = NULL;
	struct client *c = NULL;
	struct client_opts o = {
		.url = d->cfg->appliance_url, .ca_file = d->cfg->ca, .pin = d->cfg->pin,
		.agent_id = d->cfg->agent_id, .token = d->token, .proxy = d->cfg->proxy,
	};

	for (size_t i = 0; i < d->cfg->no_proxy.n; i++) {
		char *s = xasprintf("%s%s%s", no_proxy ? no_proxy : "", no_proxy ? "," : "", d->cfg->no_proxy.v[i]);
		free(no_proxy);
		no_proxy = s;
	}
	o.no_proxy = no_proxy;
	if (client_new(&o, &c) < 0) {
		*err = xstrdup("cannot set up the HTTPS client (check appliance.url and appliance.ca)");
		return NULL;
	}
	return c;
}

/* Move the tracker's dirty chunks into the disk's pending set (cleared before the read). */
static uint64_t take_dirty(struct ddisk *k)
{
	uint64_t chunks[4096], cursor = 0, total = 0;
	size_t n;

	while ((n = tracker_take_dirty(k->tr, &cursor, chunks, ARRAY_SIZE(chunks))) > 0)
		for (size_t i = 0; i < n; i++)
			if (chunks[i] < k->nchunks) {
				bitmap_set(k->pending, chunks[i]);
				total++;
			}
	return total;
}

static int pass_done(struct daemon *d, struct ddisk *k, int r, const struct sync_stats *st);

static int disk_pass(struct daemon *d, struct client *c, struct ddisk *k, bool full, const char *state_dir,
		     struct sync_stats *st)
{
	const char *delay = getenv("MOBILITY_SYNC_TEST_DELAY_MS"); /* tests: a pass that takes a while */
	struct sync_opts o = { .state_dir = state_dir ? state_dir : d->cfg->state_dir, .url = d->cfg->appliance_url,
			       .agent_id = d->cfg->agent_id, .chunk_size = k->chunk_size, .full = full,
			       .connections = (unsigned)d->cfg->connections,
			       .test_delay_ms = delay ? (unsigned)strtoul(delay, NULL, 10) : 0 };
	struct chunk_filter all = { .kind = CHUNKS_ALL };
	struct chunk_filter dirty = { .kind = CHUNKS_BITMAP, .bitmap = k->pending, .nbits = k->nchunks };
	const struct chunk_filter *which = &all;
	struct disk disk;
	int r;

	pthread_mutex_lock(&d->state);
	if (k->tr)
		collect_gaps(k);
	if (k->tr && !k->verify_next && !full) {
		take_dirty(k);
		which = &dirty;
	} else if (k->tr) {
		char names[128];

		log_info("%s: this pass reads every chunk (%s)", k->cfg->name,
			 full ? "--full" : k->last_gaps ? tracker_gap_names(k->last_gaps, names, sizeof(names)) : "verify due");
		take_dirty(k); /* a verify pass reads everything anyway: start the next set from now */
	}
	pthread_mutex_unlock(&d->state);
	r = disk_open(k->cfg->device, &disk);
	if (r < 0) {
		pthread_mutex_lock(&d->state);
		free(k->last_error);
		k->last_error = xasprintf("%s: cannot open: %s", k->cfg->device, strerror(-r));
		pthread_mutex_unlock(&d->state);
		return r;
	}
	memset(st, 0, sizeof(*st));
	r = sync_pass(c, &disk, k->cfg->name, which, &o, st);
	disk_close(&disk);
	pthread_mutex_lock(&d->state);
	r = pass_done(d, k, r, st);
	pthread_mutex_unlock(&d->state);
	return r;
}

/* Record the pass's outcome (under d->state). */
static int pass_done(struct daemon *d, struct ddisk *k, int r, const struct sync_stats *st)
{
	free(k->last_error);
	k->last_error = NULL;
	k->last_time = time(NULL);
	if (r < 0) {
		/* Nothing is lost: the pending set stays, a due verify stays due. */
		k->last_error = xasprintf("%s: pass failed: %s", k->cfg->name, strerror(-r));
		return r;
	}
	memset(k->pending, 0, (k->nchunks + 7) / 8 + 1);
	k->verify_next = false;
	k->last = *st;
	k->last_pass = st->committed_pass;
	follow_chunk_size(d, k, st->chunk_size);
	return 0;
}

static cJSON *stats_json(const char *name, const struct sync_stats *st)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddNumberToObject(o, "bytes_read", (double)st->bytes_read);
	cJSON_AddNumberToObject(o, "bytes_sent", (double)st->bytes_sent);
	cJSON_AddNumberToObject(o, "chunks_sent", (double)st->chunks_sent);
	cJSON_AddNumberToObject(o, "zero_chunks", (double)st->zero_chunks);
	cJSON_AddNumberToObject(o, "seconds", st->seconds);
	return o;
}

static uint64_t dirty_now(struct daemon *d, struct ddisk *k)
{
	struct tracker_status ts = { 0 };

	pthread_mutex_lock(&d->state);
	if (k->tr)
		tracker_status(k->tr, &ts);
	pthread_mutex_unlock(&d->state);
	return k->tr ? ts.dirty_chunks : k->nchunks;
}

/* One pass over every disk; fills resp_disks with the stats. STATE_DIR overrides the configured one. */
static int pass_all(struct daemon *d, struct client *c, bool full, const char *state_dir, cJSON *resp_disks,
		    char **err)
{
	for (size_t i = 0; i < d->n; i++) {
		struct sync_stats st;
		int r = disk_pass(d, c, &d->disks[i], full, state_dir, &st);

		if (r < 0) {
			*err = xstrdup(d->disks[i].last_error ? d->disks[i].last_error : "pass failed");
			return r;
		}
		if (resp_disks) {
			/* The slot of disk i keeps its last pass (cutover makes several). */
			cJSON_ReplaceItemInArray(resp_disks, (int)i, stats_json(d->disks[i].cfg->name, &st));
		}
	}
	return 0;
}

static char **mounts_arg(const cJSON *req)
{
	const cJSON *m = cJSON_GetObjectItem(req, "mounts"), *e;
	size_t n = 0, i = 0;
	char **v;

	if (!cJSON_IsArray(m) || !cJSON_GetArraySize(m))
		return NULL;
	n = (size_t)cJSON_GetArraySize(m);
	v = xcalloc(n + 1, sizeof(char *));
	cJSON_ArrayForEach(e, m)
		if (cJSON_IsString(e))
			v[i++] = e->valuestring;
	return v;
}

/* KEEP (may be NULL): a directory the frozen phase writes to; freezing its filesystem is refused. */
static int do_freeze(struct daemon *d, const cJSON *req, const char *keep, char **err)
{
	_cleanup_free_ char **only = mounts_arg(req);
	const cJSON *t = cJSON_GetObjectItem(req, "timeout");
	struct quiesce_opts o = { .timeout_ms = cJSON_IsNumber(t) ? t->valueint * 1000 : d->cfg->freeze_timeout * 1000,
				  .hooks_dir = d->cfg->hooks_dir };
	_cleanup_strv_ strv msgs = { 0 };
	char *bad = NULL;
	int r;

	if (d->qh) {
		*err = xstrdup("already frozen by this daemon; thaw first");
		return -EBUSY;
	}
	r = quiesce_plan_read(NULL, (const char *const *)only, &d->qplan, &bad);
	if (r < 0) {
		*err = xasprintf("cannot plan the freeze%s%s: %s", bad ? ": " : "", bad ? bad : "", strerror(-r));
		free(bad);
		return r;
	}
	struct stat st;
	if (keep && stat(keep, &st) == 0 && quiesce_plan_has_dev(&d->qplan, st.st_dev)) {
		*err = xasprintf("%s is on a filesystem the cutover would freeze; the final pass writes its state "
				 "there (keep the control socket's directory on /run)", keep);
		quiesce_plan_free(&d->qplan);
		return -EDEADLK;
	}
	r = quiesce_freeze(&d->qplan, &o, &d->qh, &msgs, err);
	if (r < 0) {
		quiesce_plan_free(&d->qplan);
		d->qh = NULL;
	}
	return r;
}

static int do_thaw(struct daemon *d, cJSON *resp, bool *watchdog_fired, char **err)
{
	_cleanup_strv_ strv msgs = { 0 };
	bool timed_out = false;
	int r;

	if (!d->qh) {
		*err = xstrdup("nothing is frozen by this daemon");
		return -ENOENT;
	}
	r = quiesce_thaw(d->qh, &d->qplan, &msgs, &timed_out);
	if (watchdog_fired)
		*watchdog_fired = timed_out;
	if (resp) {
		cJSON_AddItemToObject(resp, "filesystems", quiesce_plan_json(&d->qplan));
		cJSON_AddBoolToObject(resp, "watchdog_timed_out", timed_out);
	}
	quiesce_print_report(stderr, "mobility-agent", &d->qplan);
	quiesce_handle_free(d->qh);
	d->qh = NULL;
	quiesce_plan_free(&d->qplan);
	if (r < 0)
		*err = xstrdup("a filesystem or hook failed to thaw (see the daemon's log)");
	return r;
}

/*
 * Test hook: with MOBILITY_CUTOVER_TEST_PAUSE=FILE, the committed, still frozen state is held until
 * FILE (created here) is removed, so a test can compare source and replica at the frozen instant
 * (thawing ext4 rewrites its superblock). Bounded: the watchdog's timer thaws anyway.
 */
static void test_pause_frozen(void)
{
	const char *f = getenv("MOBILITY_CUTOVER_TEST_PAUSE");
	int fd;

	if (!f || !*f)
		return;
	fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	close(fd);
	for (int i = 0; i < 6000 && access(f, F_OK) == 0; i++)
		usleep(20000);
}

/* Copy STATE_DIR/NAME.{manifest,pass} between the state directory and the cutover's directory. */
static int copy_state(const char *from, const char *to, const char *name)
{
	static const char *const suffixes[] = { "manifest", "pass" };

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		_cleanup_free_ char *src = xasprintf("%s/%s.%s", from, name, suffixes[i]);
		_cleanup_free_ char *dst = xasprintf("%s/%s.%s", to, name, suffixes[i]);
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		int r = read_file_bounded(src, 1u << 30, &buf, &len);

		if (r == -ENOENT) {
			unlink(dst);
			continue;
		}
		if (r < 0 || (r = write_file_atomic(dst, buf, len, 0600)) < 0)
			return r;
	}
	return 0;
}

static int stage_state(struct daemon *d, const char *frozen_state, char **err)
{
	int r;

	if (mkdir(frozen_state, 0700) < 0 && errno != EEXIST) {
		*err = xasprintf("%s: %s", frozen_state, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < d->n; i++)
		if ((r = copy_state(d->cfg->state_dir, frozen_state, d->disks[i].cfg->name)) < 0) {
			*err = xasprintf("%s: cannot stage the state of %s: %s", frozen_state, d->disks[i].cfg->name,
					 strerror(-r));
			return r;
		}
	return 0;
}

/*
 * Drained after the freeze flushed everything: the final pass sees every write, or the drain finds
 * that one was not seen (the perf backend's sector count, agent/tracker/tracker.c) and that disk must
 * be verified. True if a tracked disk must. test_gap: tests, as if every tracker had found a gap.
 */
static bool frozen_gaps(struct daemon *d, bool test_gap)
{
	bool any = false;

	pthread_mutex_lock(&d->state);
	for (size_t i = 0; i < d->n; i++) {
		struct ddisk *k = &d->disks[i];

		if (!k->tr)
			continue;
		collect_gaps(k);
		k->verify_next = k->verify_next || test_gap;
		any = any || k->verify_next;
	}
	pthread_mutex_unlock(&d->state);
	return any;
}

/*
 * Converge while the dirty set shrinks, then freeze, drain, final pass, commit, thaw.
 *
 * The final pass runs while the filesystems are frozen, and the state directory (manifests, pass
 * logs) usually lives on one of them: writing there would block until the watchdog thaws. So the
 * frozen pass keeps its state beside the control socket (on /run), and it is copied back after thaw.
 *
 * The final pass reads only the dirty chunks: the VM stays frozen for the changed data, not for the
 * size of its disks. When the frozen drain finds that a tracker missed a write, that disk must be
 * verified (read whole); that is done thawed, then the freeze is tried again, up to
 * CUTOVER_REFREEZE_MAX times; after that the verify runs frozen (the watchdog still bounds it).
 */
static int do_cutover(struct daemon *d, struct client *c, const cJSON *req, cJSON *disks, cJSON *resp, char **err)
{
	_cleanup_free_ char *sock = xstrdup(d->cfg->control_socket);
	_cleanup_free_ char *frozen_state = NULL;
	uint64_t prev = UINT64_MAX, dirty = 0;
	bool fired = false, test_gap = getenv("MOBILITY_CUTOVER_TEST_GAP") != NULL;
	enum log_level saved = log_get_level();
	char *slash = strrchr(sock, '/'), *thaw_err = NULL;
	int passes = 0, refreezes, r, t;

	if (slash)
		*slash = '\0';
	frozen_state = xasprintf("%s/cutover-state", slash ? sock : ".");
	for (; passes < CUTOVER_MAX_PASSES; passes++) {
		r = pass_all(d, c, false, NULL, disks, err);
		if (r < 0)
			return r;
		dirty = 0;
		for (size_t i = 0; i < d->n; i++)
			dirty += dirty_now(d, &d->disks[i]);
		if (dirty <= CUTOVER_SMALL_ENOUGH || dirty >= prev)
			break;
		prev = dirty;
	}
	for (refreezes = 0;; refreezes++) {
		if ((r = stage_state(d, frozen_state, err)) < 0 || (r = do_freeze(d, req, frozen_state, err)) < 0)
			return r;
		/* While frozen, say only what must be said: stderr may end in a journal on a frozen /var. */
		log_setup("mobility-agent", LOG_LVL_ERR);
		if (!frozen_gaps(d, refreezes == 0 && test_gap) || refreezes == CUTOVER_REFREEZE_MAX)
			break;
		/* A disk must be verified: do that thawed (it reads the whole disk) and freeze again. */
		t = do_thaw(d, NULL, NULL, &thaw_err);
		log_setup("mobility-agent", saved);
		if (t < 0) {
			*err = thaw_err;
			return t;
		}
		log_warn("cutover: a tracker missed a write before the freeze; thawed to verify, freezing again");
		if ((r = pass_all(d, c, false, NULL, disks, err)) < 0)
			return r;
		passes++;
	}
	r = pass_all(d, c, false, frozen_state, disks, err);
	if (r == 0)
		test_pause_frozen();
	t = do_thaw(d, resp, &fired, &thaw_err);
	log_setup("mobility-agent", saved);
	for (size_t i = 0; i < d->n && r == 0; i++)
		if ((r = copy_state(frozen_state, d->cfg->state_dir, d->disks[i].cfg->name)) < 0)
			*err = xasprintf("%s: cannot store the state of %s: %s", d->cfg->state_dir,
					 d->disks[i].cfg->name, strerror(-r));
	if (r == 0 && t < 0) {
		*err = thaw_err;
		thaw_err = NULL;
		r = t;
	}
	free(thaw_err);
	/* The watchdog thawed before we did: the final pass may have read a live filesystem. */
	if (r == 0 && fired) {
		*err = xasprintf("the freeze timed out (freeze.timeout %d s) before the final pass finished: the replica "
				 "is not a consistent cutover point; raise the timeout or cut over again",
				 d->cfg->freeze_timeout);
		r = -ETIMEDOUT;
	}
	cJSON_AddNumberToObject(resp, "passes", passes + 2);
	cJSON_AddNumberToObject(resp, "dirty_before_freeze", (double)dirty);
	cJSON_AddNumberToObject(resp, "refreezes", refreezes);
	return r;
}

static cJSON *handle_sync(struct daemon *d, const cJSON *req)
{
	bool full = cJSON_IsTrue(cJSON_GetObjectItem(req, "full"));
	bool cutover = cJSON_IsTrue(cJSON_GetObjectItem(req, "cutover"));
	_cleanup_free_ char *err = NULL;
	struct client *c = make_client(d, &err);
	cJSON *resp, *disks = cJSON_CreateArray();
	int r;

	if (!c) {
		cJSON_Delete(disks);
		return control_error("%s", err);
	}
	for (size_t i = 0; i < d->n; i++)
		cJSON_AddItemToArray(disks, cJSON_CreateNull());
	resp = control_ok();
	r = cutover ? do_cutover(d, c, req, disks, resp, &err) : pass_all(d, c, full, NULL, disks, &err);
	client_free(c);
	if (r < 0) {
		cJSON_Delete(resp);
		cJSON_Delete(disks);
		return control_error("%s", err ? err : "sync failed");
	}
	cJSON_AddItemToObject(resp, "disks", disks);
	return resp;
}

static cJSON *disk_status(struct ddisk *k)
{
	cJSON *o = cJSON_CreateObject();
	char gaps[128];

	cJSON_AddStringToObject(o, "name", k->cfg->name);
	cJSON_AddStringToObject(o, "device", k->cfg->device);
	cJSON_AddNumberToObject(o, "chunk_size", k->chunk_size);
	cJSON_AddNumberToObject(o, "chunks", (double)k->nchunks);
	if (k->tr) {
		struct tracker_status ts;

		tracker_status(k->tr, &ts);
		cJSON_AddStringToObject(o, "tracker", ts.running ? "tracking" : "stopped");
		cJSON_AddNumberToObject(o, "dirty_chunks", (double)ts.dirty_chunks);
		cJSON_AddNumberToObject(o, "dropped", (double)ts.dropped);
		cJSON_AddStringToObject(o, "gaps", tracker_gap_names(ts.gaps | k->last_gaps, gaps, sizeof(gaps)));
	} else {
		cJSON_AddStringToObject(o, "tracker", "hash mode");
		json_add_str(o, "tracker_error", k->tracker_error);
	}
	cJSON_AddBoolToObject(o, "verify_pending", k->verify_next);
	if (k->last_time)
		cJSON_AddBoolToObject(o, "last_pass_verified", k->last.read_all);
	cJSON_AddNumberToObject(o, "last_committed_pass", (double)k->last_pass);
	if (k->last_time) {
		char when[32];
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&k->last_time));
		cJSON_AddStringToObject(o, "last_sync", when);
		cJSON_AddItemToObject(o, "last_stats", stats_json(k->cfg->name, &k->last));
	}
	json_add_str(o, "last_error", k->last_error);
	return o;
}

static cJSON *handle_status(struct daemon *d)
{
	cJSON *resp = control_ok(), *disks = cJSON_CreateArray();
	struct quiesce_status qs;
	struct identity_state id;

	json_add_str(resp, "agent_id", d->cfg->agent_id);
	cJSON_AddNumberToObject(resp, "pid", getpid());
	for (size_t i = 0; i < d->n; i++)
		cJSON_AddItemToArray(disks, disk_status(&d->disks[i]));
	cJSON_AddItemToObject(resp, "disks", disks);
	if (quiesce_status_read(NULL, &qs) == 0) {
		cJSON_AddItemToObject(resp, "freeze", quiesce_status_json(&qs));
		quiesce_status_free(&qs);
	}
	identity_check(NULL, d->cfg->state_dir, false, &id);
	cJSON_AddItemToObject(resp, "identity", identity_state_json(&id));
	return resp;
}

/* Records the first-seen identity, or says loudly that this is not the machine it was (a clone). */
static void identity_at_start(const struct agent_config *cfg)
{
	struct identity_state st;
	char *lines[3];
	int r = identity_check(NULL, cfg->state_dir, true, &st);

	if (r < 0)
		log_err("%s/" IDENTITY_STATE_FILE ": %s", cfg->state_dir, errstr(r));
	else if (st.recorded_now)
		log_info("identity recorded: machine-id %s, product UUID %s", st.current.machine_id,
			 st.current.product_uuid[0] ? st.current.product_uuid : "(none)");
	for (size_t i = 0, n = identity_warnings(&st, lines); i < n; i++) {
		log_warn("%s", lines[i]);
		free(lines[i]);
	}
}

static cJSON *handler(void *userdata, const cJSON *req)
{
	struct daemon *d = userdata;
	const char *cmd = json_get_str(req, "cmd");
	_cleanup_free_ char *err = NULL;
	cJSON *resp;
	int r;

	if (!cmd)
		return control_error("the request has no \"cmd\"");
	if (streq(cmd, "status")) {
		pthread_mutex_lock(&d->state);
		resp = handle_status(d);
		pthread_mutex_unlock(&d->state);
		return resp;
	}
	pthread_mutex_lock(&d->lock);
	if (streq(cmd, "sync")) {
		resp = handle_sync(d, req);
	} else if (streq(cmd, "freeze")) {
		r = do_freeze(d, req, NULL, &err);
		resp = r < 0 ? control_error("%s", err ? err : strerror(-r)) : control_ok();
		if (r == 0)
			cJSON_AddItemToObject(resp, "filesystems", quiesce_plan_json(&d->qplan));
	} else if (streq(cmd, "thaw")) {
		resp = control_ok();
		r = do_thaw(d, resp, NULL, &err);
		if (r < 0) {
			cJSON_Delete(resp);
			resp = control_error("%s", err ? err : strerror(-r));
		}
	} else {
		resp = control_error("unknown command '%s' (status, sync, freeze, thaw)", cmd);
	}
	pthread_mutex_unlock(&d->lock);
	return resp;
}

static void shutdown_disks(struct daemon *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct ddisk *k = &d->disks[i];

		if (k->tr) {
			/* Chunks taken but not committed go back as a gap: the next start verifies. */
			bool clean = true;
			for (uint64_t c = 0; c < k->nchunks && clean; c++)
				clean = !bitmap_test(k->pending, c);
			tracker_stop(k->tr, clean && !k->verify_next);
			tracker_free(k->tr);
		}
		free(k->pending);
		free(k->tracker_error);
		free(k->last_error);
	}
	free(d->disks);
}

int daemon_run(const struct agent_config *cfg, int ready_fd)
{
	struct daemon d = { .cfg = cfg };
	sigset_t mask;
	int lfd, sfd, r = 0;

	if (!cfg->appliance_url || !cfg->agent_id || !cfg->ndisks) {
		log_err("the configuration needs appliance.url, agent.id and at least one disk");
		return -EINVAL;
	}
	r = read_token(cfg->token_file, &d.token);
	if (r < 0) {
		log_err("%s: cannot read the agent token: %s", cfg->token_file ? cfg->token_file : "agent.token_file",
			errstr(r));
		return r;
	}
	identity_at_start(cfg);
	/* Signals go to the signalfd only: every thread started from here inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.state, NULL);

	d.n = cfg->ndisks;
	d.disks = xcalloc(d.n, sizeof(*d.disks));
	for (size_t i = 0; i < d.n; i++) {
		d.disks[i].cfg = &cfg->disks[i];
		disk_start(&d, &d.disks[i]);
	}
	lfd = control_listen(cfg->control_socket);
	if (lfd < 0) {
		log_err("%s: cannot listen: %s", cfg->control_socket,
			lfd == -EADDRINUSE ? "another daemon answers there" : strerror(-lfd));
		r = lfd;
		goto out;
	}
	log_info("listening on %s", cfg->control_socket);
	sd_notify_simple("READY=1\nSTATUS=tracking");
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "1", 1);
		close(ready_fd);
	}
	for (;;) {
		struct pollfd pf[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (pf[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("signal %u: stopping", si.ssi_signo);
			break;
		}
		if (pf[0].revents)
			(void)control_accept(lfd, handler, &d);
	}
	sd_notify_simple("STOPPING=1");
	close(lfd);
	unlink(cfg->control_socket);
	/* Wait for a running command (a sync pass) to finish before the trackers go away. */
	pthread_mutex_lock(&d.lock);
	if (d.qh) {
		char *err = NULL;
		do_thaw(&d, NULL, NULL, &err);
		free(err);
	}
out:
	shutdown_disks(&d);
	free(d.token);
	close(sfd);
	return r;
}
