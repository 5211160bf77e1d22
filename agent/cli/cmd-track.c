/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-agent track --disk DEV: run the change tracker for a while and print what it saw. A
 * debugging tool (and what the tracker's integration tests drive); the daemon uses the library.
 */
#include "cli.h"
#include "commands.h"
#include "json.h"
#include "log.h"
#include "tracker.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <time.h>

#define PROG "mobility-agent track"

/* Exit codes beyond the shared ones: the caller falls back to hash mode on these. */
enum { EXIT_TRACK_BUSY = 4, EXIT_TRACK_UNAVAILABLE = 5 };

static void usage(void)
{
	fputs("Usage:\n " PROG " --disk DEV [options]\n\n"
	      "Trace the writes, discards and write-zeroes that complete on DEV's whole disk and print the\n"
	      "dirty chunks, the dropped-event count and whether the disk needs a verify pass.\n\n"
	      "Options:\n"
	      "  -d, --disk DEV           disk or partition to track (a partition's disk is traced)\n"
	      "  -c, --chunk-size N       bytes per chunk, a power of two >= 4096 [1048576]\n"
	      "  -s, --seconds S          trace for S seconds, 0 until SIGINT/SIGTERM [0]\n"
	      "      --state-dir DIR      save the bitmap there on exit and reload it on start\n"
	      "      --buf-size N         blktrace: relay sub-buffer bytes per CPU [524288];\n"
	      "                           perf: ring bytes per CPU are buf-size x buf-nr [2 MiB]\n"
	      "      --buf-nr N           relay sub-buffers per CPU [4]\n"
	      "      --backend B          auto, blktrace or perf [auto]\n"
	      "      --clear-verify       forget the gaps found at start, as if a verify pass ran (tests)\n"
	      "  -j, --json               print JSON\n" USAGE_HELP_OPTIONS
	      "\nExit status: 0 done, 1 failure, 3 usage, 4 the disk is traced by someone else (busy),\n"
	      "5 tracing is unavailable here (neither blktrace nor the block tracepoints can be used).\n"
	      USAGE_FOOTER("mobility-agent(8)"),
	      stdout);
}

static uint64_t parse_size(const char *s, const char *opt)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		usage_error(PROG, "%s: invalid number '%s'", opt, s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		usage_error(PROG, "%s: invalid number '%s'", opt, s);
	return v;
}

struct range {
	uint64_t first, count;
};

/* Dirty chunks as ranges, without clearing them (they are saved with the state). */
static size_t collect_ranges(struct tracker *t, uint64_t nchunks, struct range **out)
{
	struct range *v = NULL;
	size_t n = 0, cap = 0;

	for (uint64_t c = 0; c < nchunks; c++) {
		if (!tracker_chunk_dirty(t, c))
			continue;
		if (n && v[n - 1].first + v[n - 1].count == c) {
			v[n - 1].count++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = (struct range){ c, 1 };
	}
	*out = v;
	return n;
}

static void gap_list(unsigned gaps, char *buf, size_t len)
{
	tracker_gap_names(gaps, buf, len);
}

static int print_json(const struct tracker_status *st, const struct range *r, size_t n)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	cJSON *gaps = cJSON_AddArrayToObject(j, "gaps"), *ranges;
	char names[256];

	json_add_str(j, "disk", st->disk);
	cJSON_AddNumberToObject(j, "disk_bytes", (double)st->disk_bytes);
	cJSON_AddNumberToObject(j, "chunk_size", (double)st->chunk_size);
	cJSON_AddNumberToObject(j, "chunks", (double)st->nchunks);
	json_add_str(j, "backend", tracker_backend_name(st->backend));
	cJSON_AddNumberToObject(j, "trace_version", st->trace_version);
	cJSON_AddNumberToObject(j, "records", (double)st->records);
	cJSON_AddNumberToObject(j, "marked", (double)st->marked);
	cJSON_AddNumberToObject(j, "dropped", (double)st->dropped);
	cJSON_AddBoolToObject(j, "verify", st->gaps != 0);
	gap_list(st->gaps, names, sizeof(names));
	for (char *tok = strtok(names, ","); tok; tok = strtok(NULL, ","))
		cJSON_AddItemToArray(gaps, cJSON_CreateString(tok));
	cJSON_AddNumberToObject(j, "dirty_chunks", (double)st->dirty_chunks);
	ranges = cJSON_AddArrayToObject(j, "ranges");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "first", (double)r[i].first);
		cJSON_AddNumberToObject(o, "count", (double)r[i].count);
		cJSON_AddNumberToObject(o, "offset", (double)(r[i].first * st->chunk_size));
		cJSON_AddNumberToObject(o, "length", (double)(r[i].count * st->chunk_size));
		cJSON_AddItemToArray(ranges, o);
	}
	return json_print(stdout, j);
}

static void print_text(const struct tracker_status *st, const struct range *r, size_t n)
{
	char names[256];

	gap_list(st->gaps, names, sizeof(names));
	printf("disk:     %s (%llu bytes, %llu chunks of %llu)\n", st->disk, (unsigned long long)st->disk_bytes,
	       (unsigned long long)st->nchunks, (unsigned long long)st->chunk_size);
	if (st->backend == TRACKER_BACKEND_BLKTRACE)
		printf("trace:    blktrace v%u, %llu records, %llu marking\n", st->trace_version,
		       (unsigned long long)st->records, (unsigned long long)st->marked);
	else
		printf("trace:    %s, %llu records, %llu marking\n", tracker_backend_name(st->backend),
		       (unsigned long long)st->records, (unsigned long long)st->marked);
	printf("dropped:  %llu\n", (unsigned long long)st->dropped);
	printf("verify:   %s%s%s%s\n", st->gaps ? "yes" : "no", st->gaps ? " (" : "", names, st->gaps ? ")" : "");
	printf("dirty:    %llu chunks\n", (unsigned long long)st->dirty_chunks);
	for (size_t i = 0; i < n; i++)
		printf("  chunks %llu-%llu  bytes %llu-%llu\n", (unsigned long long)r[i].first,
		       (unsigned long long)(r[i].first + r[i].count - 1),
		       (unsigned long long)(r[i].first * st->chunk_size),
		       (unsigned long long)((r[i].first + r[i].count) * st->chunk_size - 1));
}

/* Wait for the time to pass or SIGINT/SIGTERM (blocked in every thread, taken here). */
static void wait_done(const sigset_t *set, long seconds)
{
	struct timespec ts = { .tv_sec = seconds };

	for (;;) {
		int s = seconds > 0 ? sigtimedwait(set, NULL, &ts) : sigwaitinfo(set, NULL);

		if (s >= 0 || errno != EINTR)
			return; /* a signal, or EAGAIN: the time is up */
	}
}

int cmd_track(int argc, char **argv)
{
	enum { OPT_STATE_DIR = 0x100, OPT_BUF_SIZE, OPT_BUF_NR, OPT_BACKEND, OPT_CLEAR_VERIFY };
	static const struct option longopts[] = {
		{ "disk", required_argument, NULL, 'd' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "buf-size", required_argument, NULL, OPT_BUF_SIZE },
		{ "buf-nr", required_argument, NULL, OPT_BUF_NR },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "clear-verify", no_argument, NULL, OPT_CLEAR_VERIFY },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	struct tracker_opts opts = { .reclaim_stale = true };
	const char *disk = NULL, *state_dir = NULL;
	uint64_t chunk_size = 1 << 20;
	long seconds = 0;
	bool json = false, clear_verify = false;
	struct tracker *t = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ struct range *ranges = NULL;
	struct tracker_status st;
	sigset_t set;
	size_t n;
	int c, r, rc;

	while ((c = getopt_long(argc, argv, "d:c:s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': disk = optarg; break;
		case 'c': chunk_size = parse_size(optarg, "--chunk-size"); break;
		case 's':
			if (parse_long(optarg, &seconds) < 0 || seconds < 0)
				usage_error(PROG, "--seconds: invalid value '%s'", optarg);
			break;
		case OPT_STATE_DIR: state_dir = optarg; break;
		case OPT_BUF_SIZE: opts.buf_size = (uint32_t)parse_size(optarg, "--buf-size"); break;
		case OPT_BUF_NR: opts.buf_nr = (uint32_t)parse_size(optarg, "--buf-nr"); break;
		case OPT_BACKEND:
			if (streq(optarg, "auto"))
				opts.backend = TRACKER_BACKEND_AUTO;
			else if (streq(optarg, "blktrace"))
				opts.backend = TRACKER_BACKEND_BLKTRACE;
			else if (streq(optarg, "perf"))
				opts.backend = TRACKER_BACKEND_PERF;
			else
				usage_error(PROG, "--backend: '%s' is not auto, blktrace or perf", optarg);
			break;
		case OPT_CLEAR_VERIFY: clear_verify = true; break;
		case 'j': json = true; break;
		case 'h': usage(); return 0;
		case 'V': print_version("mobility-agent"); return 0;
		default: usage_error(PROG, "invalid option");
		}
	}
	if (optind < argc)
		usage_error(PROG, "unexpected argument '%s'", argv[optind]);
	if (!disk)
		usage_error(PROG, "--disk is required");

	{
		/* tests: a tracker that loses samples the way the kernel's perf path can (silently) */
		const char *lose = getenv("MOBILITY_TRACKER_TEST_LOSE_NTH");

		opts.test_lose_nth = lose ? (unsigned)strtoul(lose, NULL, 10) : 0;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	r = tracker_start(disk, chunk_size, state_dir, &opts, &t, &err);
	if (r < 0) {
		log_err("%s", err ? err : strerror(-r));
		if (r == -EBUSY)
			return EXIT_TRACK_BUSY;
		if (r == -EOPNOTSUPP)
			return EXIT_TRACK_UNAVAILABLE;
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILURE;
	}
	if (clear_verify)
		tracker_take_verify(t, NULL);
	tracker_status(t, &st);
	log_info("tracking %s (%s)", st.disk, tracker_backend_name(st.backend));
	wait_done(&set, seconds);

	r = tracker_stop(t, state_dir != NULL);
	rc = EXIT_SUCCESS;
	if (r < 0) {
		log_err("%s: saving the tracker state failed: %s", state_dir, strerror(-r));
		rc = EXIT_FAILURE;
	}
	tracker_status(t, &st);
	n = collect_ranges(t, st.nchunks, &ranges);
	if (json) {
		if (print_json(&st, ranges, n) < 0)
			rc = EXIT_FAILURE;
	} else {
		print_text(&st, ranges, n);
	}
	tracker_free(t);
	return rc;
}
