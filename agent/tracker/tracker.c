/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tracker object: disk resolution, the reader thread, gaps, take/drain/stop; see tracker.h. */
#include "tracker.h"
#include "bitmap.h"
#include "blktrace.h"
#include "fileio.h"
#include "perf.h"
#include "records.h"
#include "state.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#define READ_SIZE (64u << 10)

struct tracker {
	char *disk;                /* /dev/NAME of the whole disk */
	char *name;                /* NAME, as in /sys/block */
	uint64_t chunk_size, disk_bytes;
	struct tracker_opts opts;
	struct dirty_bitmap bm;
	enum tracker_backend backend;  /* the one running */
	struct trk_trace tr;           /* TRACKER_BACKEND_BLKTRACE */
	struct trk_perf pf;            /* TRACKER_BACKEND_PERF */
	dev_t devno;
	struct trk_parser *parsers; /* one per relay file (CPU) */
	unsigned nparsers;
	int state_dirfd;
	struct trk_facts facts;

	pthread_mutex_t io_lock;   /* the relay files and parsers: reader thread vs tracker_drain */
	pthread_t thread;
	bool thread_started, stopped;
	int stop_flag;             /* atomic */
	unsigned gaps;             /* atomic: TRACKER_GAP_* not yet taken */
	uint64_t last_dropped;     /* under io_lock */
	uint64_t marked;           /* under io_lock */
	time_t cpu_check;          /* under io_lock: when offline CPUs were last looked for */
	/*
	 * perf: the kernel's own count of written and discarded sectors (/sys/block/<disk>/stat) against
	 * the sectors our samples marked, under io_lock. See check_sectors().
	 */
	int stat_fd;               /* /sys/block/<disk>/stat, open while the check runs; else -1 */
	uint64_t traced_sectors, kernel_base;
	uint64_t test_seen;        /* under io_lock: changes seen, for opts.test_lose_nth */
};

static void set_err(char **err, const char *fmt, ...) _printf_(2, 3);
static void set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

const char *tracker_backend_name(enum tracker_backend b)
{
	switch (b) {
	case TRACKER_BACKEND_BLKTRACE: return "blktrace";
	case TRACKER_BACKEND_PERF: return "perf";
	default: return "auto";
	}
}

const char *tracker_gap_names(unsigned gaps, char *buf, size_t len)
{
	static const char *const names[] = { "dropped", "no-marker", "boot", "kernel", "device",
					     "untracked-io", "corrupt", "unplaced", "pending" };
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(gaps & (1u << i)))
			continue;
		int n = snprintf(buf + off, len > off ? len - off : 0, "%s%s", off ? "," : "", names[i]);
		if (n > 0)
			off += (size_t)n;
	}
	return buf;
}

static void add_gap(struct tracker *t, unsigned gap)
{
	__atomic_fetch_or(&t->gaps, gap, __ATOMIC_ACQ_REL);
}

/*
 * disk -> the whole disk under it: /sys/dev/block/M:m is the device's sysfs directory; a partition
 * has a "partition" file and lives inside its disk's directory. Stacked devices (dm, md) sit on
 * several disks with their own mappings: the caller traces those disks instead.
 */
static int resolve_disk(const char *disk, char **devpath, char **name, dev_t *devno, char **err)
{
	char sys[64], real[PATH_MAX], probe[PATH_MAX + 32];
	_cleanup_closedir_ DIR *slaves = NULL;
	struct stat st, st2;
	const char *base;

	if (stat(disk, &st) < 0) {
		set_err(err, "%s: %s", disk, strerror(errno));
		return -errno;
	}
	if (!S_ISBLK(st.st_mode)) {
		set_err(err, "%s: not a block device", disk);
		return -ENOTBLK;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (!realpath(sys, real)) {
		set_err(err, "%s: %s: %s", disk, sys, strerror(errno));
		return -ENODEV;
	}
	snprintf(probe, sizeof(probe), "%s/partition", real);
	if (access(probe, F_OK) == 0)
		*strrchr(real, '/') = '\0';
	snprintf(probe, sizeof(probe), "%s/slaves", real);
	slaves = opendir(probe);
	for (struct dirent *de; slaves && (de = readdir(slaves));) {
		if (de->d_name[0] != '.') {
			set_err(err, "%s: a stacked device (dm/md over %s...): track the disks under it", disk,
				de->d_name);
			return -EOPNOTSUPP;
		}
	}
	base = strrchr(real, '/') + 1;
	*name = xstrdup(base);
	*devpath = xasprintf("/dev/%s", base);
	/* No udev here and there: the node must exist and be that very disk. */
	if (stat(*devpath, &st2) < 0 || !S_ISBLK(st2.st_mode)) {
		set_err(err, "%s: the whole disk of %s has no device node", *devpath, disk);
		return -ENOENT;
	}
	*devno = st2.st_rdev;
	/* DAX: a filesystem on it writes through memory mappings, never through the block layer. */
	_cleanup_free_ char *daxp = xasprintf("/sys/block/%s/queue/dax", base), *dax = NULL;
	if (read_file_bounded(daxp, 4096, &dax, NULL) == 0 && strstrip(dax)[0] == '1') {
		set_err(err, "%s: a DAX device: writes to it bypass the block layer and cannot be traced", *devpath);
		return -EOPNOTSUPP;
	}
	return 0;
}

static void on_event(uint64_t sector, uint32_t bytes, enum trk_effect effect, void *userdata)
{
	struct tracker *t = userdata;
	uint64_t start, end;

	switch (effect) {
	case TRK_IGNORE:
		return;
	case TRK_DIRTY_ALL:
		add_gap(t, TRACKER_GAP_UNPLACED);
		return;
	case TRK_DIRTY:
		break;
	}
	if (t->opts.test_lose_nth && ++t->test_seen % t->opts.test_lose_nth == 0)
		return;
	t->marked++;
	if (sector > UINT64_MAX / 512 || sector * 512 >= t->disk_bytes) {
		/* Beyond the disk: the record is wrong, so what it should have said is unknown. */
		add_gap(t, TRACKER_GAP_CORRUPT);
		return;
	}
	t->traced_sectors += bytes / 512;
	start = sector * 512;
	end = start + bytes; /* bytes < 4 GiB: cannot overflow after the check above */
	bitmap_mark(&t->bm, start / t->chunk_size, (end - 1) / t->chunk_size - start / t->chunk_size + 1);
}

static void on_record(const struct trk_record *r, void *userdata)
{
	on_event(r->sector, r->bytes, trk_classify(r), userdata);
}

static void check_dropped(struct tracker *t)
{
	uint64_t d = t->backend == TRACKER_BACKEND_PERF ? trk_perf_lost(&t->pf) : 0;

	if (t->backend == TRACKER_BACKEND_BLKTRACE && trk_trace_dropped(&t->tr, &d) < 0) {
		add_gap(t, TRACKER_GAP_DROPPED); /* cannot tell: assume the worst */
		return;
	}
	if (d > t->last_dropped) {
		t->last_dropped = d;
		add_gap(t, TRACKER_GAP_DROPPED);
	}
}

/* CPUs offline at start may be online now: once a second, pick up their streams. */
static void check_cpus(struct tracker *t)
{
	time_t now = time(NULL);

	if (now == t->cpu_check || !(t->tr.missing || t->pf.missing))
		return;
	t->cpu_check = now;
	if (t->backend == TRACKER_BACKEND_BLKTRACE)
		trk_trace_open_missing(&t->tr);
	else if (trk_perf_open_missing(&t->pf))
		add_gap(t, TRACKER_GAP_DROPPED); /* its completions before the open were not seen */
}

/* Written + discarded sectors as the block layer accounts them. The file stays open: the reader
 * thread asks at every wake-up (sysfs regenerates an attribute read from offset 0). */
static bool kernel_sectors(struct tracker *t, uint64_t *sectors)
{
	struct trk_facts f = { 0 };
	char buf[512];
	ssize_t n = pread(t->stat_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (!trk_stat_parse(buf, &f))
		return false;
	*sectors = f.write_sectors + f.discard_sectors;
	return true;
}

/* After the events are enabled: what completes from here on is both traced and counted. Off when the
 * kernel does not account the disk's I/O (queue/iostats 0: its counters prove nothing). */
static void sector_check_start(struct tracker *t)
{
	struct trk_facts f = { 0 };
	_cleanup_free_ char *path = xasprintf("/sys/block/%s/stat", t->name);

	if (trk_facts_disk(t->name, &f) < 0 || !f.stats_valid)
		return;
	t->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->stat_fd >= 0 && !kernel_sectors(t, &t->kernel_base)) {
		close(t->stat_fd);
		t->stat_fd = -1;
	}
}

/*
 * The perf tracepoint path can lose a sample without a trace: neither PERF_RECORD_LOST nor
 * PERF_FORMAT_LOST counts it (seen on Linux 6.18: a completion ftrace recorded, run in softirq on top
 * of an unrelated task, never reached our ring, the ring never full). The block layer accounts
 * every request's sectors in /sys/block/<disk>/stat right after it fires block_rq_complete
 * (blk_update_request, blk_complete_request), so once the rings are read after the counters, the
 * sectors we marked can only be >= what the kernel counted since we started. Fewer: a completion
 * we never saw. kernel is read before the rings; io_lock held.
 */
static void check_sectors(struct tracker *t, uint64_t kernel)
{
	if (kernel < t->kernel_base || kernel - t->kernel_base <= t->traced_sectors)
		return;
	add_gap(t, TRACKER_GAP_DROPPED);
	t->kernel_base = kernel - t->traced_sectors; /* declared: compare from here on */
}

/* Read every relay file until it has nothing more; io_lock held. */
static void read_all(struct tracker *t)
{
	uint64_t kernel = 0;
	bool counted = false;

	check_cpus(t);
	if (t->backend == TRACKER_BACKEND_PERF) {
		counted = t->stat_fd >= 0 && kernel_sectors(t, &kernel);
		trk_perf_read(&t->pf, on_event, t);
		if (counted)
			check_sectors(t, kernel);
	}
	for (unsigned c = 0; t->backend == TRACKER_BACKEND_BLKTRACE && c < t->tr.ncpus; c++) {
		int fd = t->tr.cpu_fd[c];

		while (fd >= 0) {
			size_t avail;
			void *space = trk_parser_space(&t->parsers[c], &avail);
			ssize_t n = read(fd, space, avail);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (trk_parser_commit(&t->parsers[c], (size_t)n, on_record, t) < 0)
				add_gap(t, TRACKER_GAP_CORRUPT);
			if ((size_t)n < avail)
				break; /* drained for now; the next wake-up comes back */
		}
	}
	check_dropped(t);
}

static void *reader_main(void *arg)
{
	struct tracker *t = arg;
	bool perf = t->backend == TRACKER_BACKEND_PERF;
	unsigned n = perf ? t->pf.ncpus : t->tr.ncpus;
	_cleanup_free_ struct pollfd *pfd = xcalloc(n, sizeof(*pfd));

	for (unsigned c = 0; c < n; c++) {
		pfd[c].fd = perf ? t->pf.fd[c] : t->tr.cpu_fd[c];
		pfd[c].events = POLLIN;
	}
	while (!__atomic_load_n(&t->stop_flag, __ATOMIC_ACQUIRE)) {
		/* relay signals POLLIN only for full sub-buffers, perf at a watermark: the timeout
		 * collects the rest. */
		poll(pfd, n, t->opts.poll_ms);
		pthread_mutex_lock(&t->io_lock);
		read_all(t);
		pthread_mutex_unlock(&t->io_lock);
	}
	return NULL;
}

static int open_state_dir(const char *dir, char **err)
{
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		set_err(err, "%s: cannot create state directory: %s", dir, strerror(errno));
		return -errno;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	return fd;
}

static int read_disk_size(const char *name, uint64_t *bytes)
{
	_cleanup_free_ char *path = xasprintf("/sys/block/%s/size", name), *txt = NULL;
	unsigned long long sectors;
	int r = read_file_bounded(path, 4096, &txt, NULL);

	if (r < 0)
		return r;
	if (sscanf(txt, "%llu", &sectors) != 1 || sectors == 0 || sectors > UINT64_MAX / 512)
		return -EBADMSG;
	*bytes = sectors * 512;
	return 0;
}

static int start_blktrace(struct tracker *t, char *msg, size_t len)
{
	uint32_t size = t->opts.buf_size ? t->opts.buf_size : 512u << 10, nr = t->opts.buf_nr ? t->opts.buf_nr : 4;
	int r = trk_trace_start(t->disk, size, nr, &t->tr, msg, len);

	if (r == -EBUSY && t->opts.reclaim_stale && t->state_dirfd >= 0 &&
	    trk_owner_is_dead(t->state_dirfd, t->name, t->facts.boot_id) && !trk_trace_in_use(t->name)) {
		/* Our predecessor was killed while tracing (and nobody reads the session now, so it is
		 * not someone else's blktrace started since): its session is ours to end. */
		if (trk_trace_teardown_stale(t->disk) == 0)
			r = trk_trace_start(t->disk, size, nr, &t->tr, msg, len);
	}
	return r;
}

static int start_perf(struct tracker *t, char *msg, size_t len)
{
	_cleanup_free_ char *mq = xasprintf("/sys/block/%s/mq", t->name);
	size_t ring = t->opts.buf_size ? (size_t)t->opts.buf_size * (t->opts.buf_nr ? t->opts.buf_nr : 1) : 2u << 20;
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	size_t cap = (16u << 20) / (size_t)(ncpus > 0 ? ncpus : 1);

	/* The rings are mapped into our memory: all CPUs together stay within 16 MiB (RSS budget
	 * 32 MiB), though never below 64 KiB each. */
	if (cap < (64u << 10))
		cap = 64u << 10;
	if (ring > cap)
		ring = cap;

	/* block_rq_complete exists only for request-based (blk-mq) disks. */
	if (access(mq, F_OK) < 0) {
		snprintf(msg, len, "%s: a bio-based disk: its completions have no usable tracepoint", t->disk);
		return -EOPNOTSUPP;
	}
	return trk_perf_start(t->devno, ring, &t->pf, msg, len);
}

/*
 * blktrace as the design says; perf when blktrace cannot deliver: relay files forbidden by lockdown
 * (-EPERM), no debugfs (-ENOENT), no blktrace in the kernel (-EOPNOTSUPP). Busy stays busy: somebody
 * is tracing this disk and must be told, not worked around.
 */
static int start_trace(struct tracker *t, char **err)
{
	char msg[512] = "", msg2[512] = "";
	int r = -EOPNOTSUPP;

	if (t->opts.backend != TRACKER_BACKEND_PERF) {
		r = start_blktrace(t, msg, sizeof(msg));
		if (r == 0) {
			t->backend = TRACKER_BACKEND_BLKTRACE;
			return 0;
		}
		bool unavailable = r == -EPERM || r == -ENOENT || r == -EOPNOTSUPP;

		if (t->opts.backend == TRACKER_BACKEND_BLKTRACE || !unavailable) {
			set_err(err, "%s", msg);
			return unavailable ? -EOPNOTSUPP : r;
		}
	}
	int r2 = start_perf(t, msg2, sizeof(msg2));
	if (r2 == 0) {
		t->backend = TRACKER_BACKEND_PERF;
		return 0;
	}
	if (msg[0])
		set_err(err, "%s; and the perf fallback: %s", msg, msg2);
	else
		set_err(err, "%s", msg2);
	/* Both unavailable: "fall back to hash mode" is what the caller must hear. */
	return r2 == -EACCES || r2 == -EPERM || r2 == -ENOENT || r2 == -ENODEV ? -EOPNOTSUPP : r2;
}

static void apply_defaults(struct tracker_opts *o, const struct tracker_opts *given)
{
	if (given)
		*o = *given;
	else
		memset(o, 0, sizeof(*o));
	if (o->poll_ms <= 0)
		o->poll_ms = 100;
}

int tracker_start(const char *disk, uint64_t chunk_size, const char *state_dir,
		  const struct tracker_opts *opts, struct tracker **ret, char **err)
{
	struct tracker *t;
	unsigned gaps;
	int r;

	if (err)
		*err = NULL;
	if (chunk_size < 4096 || (chunk_size & (chunk_size - 1)) || chunk_size > (1ull << 30)) {
		set_err(err, "chunk size %llu: must be a power of two from 4096 to 1 GiB",
			(unsigned long long)chunk_size);
		return -EINVAL;
	}
	t = xcalloc(1, sizeof(*t));
	t->state_dirfd = -1;
	t->stat_fd = -1;
	t->tr.fd = t->tr.dropped_fd = -1;
	t->chunk_size = chunk_size;
	pthread_mutex_init(&t->io_lock, NULL);
	apply_defaults(&t->opts, opts);
	r = resolve_disk(disk, &t->disk, &t->name, &t->devno, err);
	if (r == 0 && (r = read_disk_size(t->name, &t->disk_bytes)) < 0)
		set_err(err, "/sys/block/%s/size: %s", t->name, strerror(-r));
	if (r == 0 && (r = trk_facts_host(&t->facts)) < 0)
		set_err(err, "/proc/sys/kernel/random/boot_id: %s", strerror(-r));
	if (r == 0 && state_dir && (r = t->state_dirfd = open_state_dir(state_dir, err)) >= 0)
		r = 0;
	if (r == 0) {
		t->facts.chunk_size = (uint32_t)chunk_size;
		t->facts.disk_bytes = t->disk_bytes;
		t->facts.nchunks = (t->disk_bytes + chunk_size - 1) / chunk_size;
		r = bitmap_init(&t->bm, t->facts.nchunks);
		if (r < 0)
			set_err(err, "%s: dirty bitmap of %llu chunks: %s", t->disk,
				(unsigned long long)t->facts.nchunks, strerror(-r));
	}
	/* Trace first, then judge the saved state: nothing written from here on can be missed. */
	if (r == 0)
		r = start_trace(t, err);
	if (r < 0) {
		tracker_free(t);
		return r;
	}
	if (t->state_dirfd >= 0) {
		trk_owner_write(t->state_dirfd, t->name, t->facts.boot_id, t->backend == TRACKER_BACKEND_BLKTRACE);
		trk_facts_disk(t->name, &t->facts);
		gaps = trk_state_load(t->state_dirfd, t->name, &t->facts, &t->bm);
		r = trk_state_disarm(t->state_dirfd, t->name);
		if (r < 0) {
			set_err(err, "%s: cannot remove the clean-shutdown marker: %s", state_dir, strerror(-r));
			tracker_stop(t, false);
			tracker_free(t);
			return r;
		}
	} else {
		gaps = TRACKER_GAP_NO_MARKER;
	}
	add_gap(t, gaps);
	if (t->backend == TRACKER_BACKEND_PERF)
		sector_check_start(t);
	t->nparsers = t->backend == TRACKER_BACKEND_BLKTRACE ? t->tr.ncpus : 0;
	t->parsers = xcalloc(t->nparsers, sizeof(*t->parsers));
	for (unsigned c = 0; c < t->nparsers; c++) {
		/* A pdu is a cgroup id, a remap or a short message: anything near a sub-buffer is garbage. */
		trk_parser_init(&t->parsers[c], t->tr.version, t->tr.buf_size < 65536 ? t->tr.buf_size / 2 : 32768,
				READ_SIZE);
		trk_parser_expect_order(&t->parsers[c], t->tr.start_ns);
	}
	check_dropped(t);
	r = -pthread_create(&t->thread, NULL, reader_main, t);
	if (r < 0) {
		set_err(err, "%s: cannot start the reader thread: %s", t->disk, strerror(-r));
		tracker_stop(t, false);
		tracker_free(t);
		return r;
	}
	t->thread_started = true;
	*ret = t;
	return 0;
}

int tracker_drain(struct tracker *t)
{
	if (t->stopped)
		return 0;
	pthread_mutex_lock(&t->io_lock);
	read_all(t);
	pthread_mutex_unlock(&t->io_lock);
	return 0;
}

size_t tracker_take_dirty(struct tracker *t, uint64_t *cursor, uint64_t *chunks, size_t max)
{
	return bitmap_take(&t->bm, cursor, chunks, max);
}

bool tracker_take_verify(struct tracker *t, unsigned *gaps)
{
	unsigned g = __atomic_exchange_n(&t->gaps, 0, __ATOMIC_ACQ_REL);

	if (gaps)
		*gaps = g;
	return g != 0;
}

bool tracker_chunk_dirty(struct tracker *t, uint64_t chunk)
{
	return bitmap_test(&t->bm, chunk);
}

void tracker_status(struct tracker *t, struct tracker_status *st)
{
	memset(st, 0, sizeof(*st));
	st->disk = t->disk;
	st->disk_bytes = t->disk_bytes;
	st->chunk_size = t->chunk_size;
	st->nchunks = t->bm.nchunks;
	st->dirty_chunks = bitmap_count(&t->bm);
	st->gaps = __atomic_load_n(&t->gaps, __ATOMIC_ACQUIRE);
	st->backend = t->backend;
	st->trace_version = t->backend != TRACKER_BACKEND_BLKTRACE ? 0 : t->tr.version == TRK_TRACE_V2 ? 2 : 1;
	st->running = !t->stopped;
	pthread_mutex_lock(&t->io_lock);
	st->dropped = t->last_dropped;
	st->marked = t->marked;
	for (unsigned c = 0; c < t->nparsers; c++)
		st->records += t->parsers[c].records;
	st->records += t->pf.samples;
	pthread_mutex_unlock(&t->io_lock);
}

int tracker_stop(struct tracker *t, bool save)
{
	struct trk_facts f = t->facts;
	int r = 0;

	if (t->stopped)
		return 0;
	/* The counters while tracing still runs: a write after this point either is traced (and
	 * drained below) or moves them, which the next start sees. */
	if (save && t->state_dirfd >= 0)
		trk_facts_disk(t->name, &f);
	if (t->thread_started) {
		__atomic_store_n(&t->stop_flag, 1, __ATOMIC_RELEASE);
		pthread_join(t->thread, NULL);
		t->thread_started = false;
	}
	pthread_mutex_lock(&t->io_lock);
	if (t->backend == TRACKER_BACKEND_PERF) {
		trk_perf_stop(&t->pf);
		read_all(t);
		trk_perf_close(&t->pf);
	} else {
		trk_trace_stop(&t->tr);
		if (t->parsers)
			read_all(t);
		trk_trace_teardown(&t->tr);
	}
	t->stopped = true;
	pthread_mutex_unlock(&t->io_lock);
	if (t->state_dirfd >= 0) {
		if (save)
			r = trk_state_save(t->state_dirfd, t->name, &f, &t->bm, __atomic_load_n(&t->gaps, __ATOMIC_ACQUIRE));
		trk_owner_remove(t->state_dirfd, t->name);
	}
	return r;
}

void tracker_free(struct tracker *t)
{
	if (!t)
		return;
	if (!t->stopped && (t->tr.state || t->pf.ncpus))
		tracker_stop(t, false);
	for (unsigned c = 0; c < t->nparsers; c++)
		trk_parser_free(&t->parsers[c]);
	free(t->parsers);
	bitmap_free(&t->bm);
	if (t->state_dirfd >= 0)
		close(t->state_dirfd);
	if (t->stat_fd >= 0)
		close(t->stat_fd);
	pthread_mutex_destroy(&t->io_lock);
	free(t->disk);
	free(t->name);
	free(t);
}
