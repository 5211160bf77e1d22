/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-agent sync: one sync pass of each --disk to the appliance (design.md §4 and §6,
 * docs/replication.md). Exit status: 0 every disk committed, 1 a pass failed or was refused, 3 usage.
 */
#include "cli.h"
#include "commands.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "replicate.h"

#include <getopt.h>
#include <libgen.h>
#include <time.h>

#define TOKEN_MAX 4096

struct sync_cli {
	struct client_opts copts;
	strv disks, names;
	const char *state_dir;
	const char *token_file;
	uint32_t chunk_size;
	unsigned connections;
	bool full, json;
};

static void usage(void)
{
	fputs("Usage:\n"
	      " mobility-agent sync --appliance URL --ca FILE --agent-id ID --token-file FILE --disk PATH... [options]\n"
	      "\nSend the disks' changed chunks to the appliance and commit them as its new recovery point.\n"
	      "\nOptions:\n"
	      "  -a, --appliance URL      the appliance, https://HOST:PORT\n"
	      "      --ca FILE            CA certificate(s) the appliance's certificate must verify against\n"
	      "      --pin PIN            also require this public key: sha256//BASE64[;sha256//...]\n"
	      "      --agent-id ID        this agent's id at the appliance\n"
	      "      --token-file FILE    file holding this agent's token\n"
	      "  -d, --disk PATH          block device or raw image to replicate (repeatable)\n"
	      "  -n, --name NAME          name of the matching --disk at the appliance (default: its file name)\n"
	      "      --state-dir DIR      where manifests are kept (default " MOBILITY_LOCALSTATEDIR "/lib/mobility-agent)\n"
	      "      --proxy URL          proxy to use (default: https_proxy/http_proxy from the environment)\n"
	      "      --no-proxy LIST      comma-separated hosts, domains and CIDRs reached without the proxy\n"
	      "      --chunk-size BYTES   chunk size of a disk new to the appliance (default: 64 KiB, doubled\n"
	      "                           until the disk has at most 524288 chunks)\n"
	      "      --connections N      parallel uploads, 1 to 16 (default 4; more help over a long round trip)\n"
	      "      --full               trust no manifest or appliance hash: send every non-zero chunk\n"
	      "      --json               print per-disk statistics as JSON\n"
	      "  -v, --verbose            log more\n"
	      "  -q, --quiet              log errors only\n" USAGE_HELP_OPTIONS USAGE_FOOTER("mobility-agent(8)"),
	      stdout);
}

static void parse_args(int argc, char **argv, struct sync_cli *a)
{
	enum { OPT_CA = 256, OPT_PIN, OPT_AGENT, OPT_TOKEN, OPT_STATE, OPT_PROXY, OPT_NOPROXY, OPT_CHUNK, OPT_FULL, OPT_JSON,
	       OPT_CONN };
	static const struct option longopts[] = {
		{ "appliance", required_argument, NULL, 'a' }, { "ca", required_argument, NULL, OPT_CA },
		{ "pin", required_argument, NULL, OPT_PIN },   { "agent-id", required_argument, NULL, OPT_AGENT },
		{ "token-file", required_argument, NULL, OPT_TOKEN }, { "disk", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },      { "state-dir", required_argument, NULL, OPT_STATE },
		{ "proxy", required_argument, NULL, OPT_PROXY }, { "no-proxy", required_argument, NULL, OPT_NOPROXY },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK }, { "full", no_argument, NULL, OPT_FULL },
		{ "json", no_argument, NULL, OPT_JSON },       { "verbose", no_argument, NULL, 'v' },
		{ "connections", required_argument, NULL, OPT_CONN },
		{ "quiet", no_argument, NULL, 'q' },           { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },         { NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "a:d:n:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': a->copts.url = optarg; break;
		case OPT_CA: a->copts.ca_file = optarg; break;
		case OPT_PIN: a->copts.pin = optarg; break;
		case OPT_AGENT: a->copts.agent_id = optarg; break;
		case OPT_TOKEN: a->token_file = optarg; break;
		case 'd': strv_push(&a->disks, optarg); break;
		case 'n': strv_push(&a->names, optarg); break;
		case OPT_STATE: a->state_dir = optarg; break;
		case OPT_PROXY: a->copts.proxy = optarg; break;
		case OPT_NOPROXY: a->copts.no_proxy = optarg; break;
		case OPT_CHUNK:
			if (parse_long(optarg, &v) < 0 || v < 65536 || v > (16l << 20) || (v & (v - 1)) != 0)
				usage_error("mobility-agent sync", "--chunk-size: '%s' is not a power of two from 65536 to 16777216", optarg);
			a->chunk_size = (uint32_t)v;
			break;
		case OPT_CONN:
			if (parse_long(optarg, &v) < 0 || v < 1 || v > 16)
				usage_error("mobility-agent sync", "--connections: '%s' is not a number from 1 to 16", optarg);
			a->connections = (unsigned)v;
			break;
		case OPT_FULL: a->full = true; break;
		case OPT_JSON: a->json = true; break;
		case 'v': log_setup("mobility-agent", LOG_LVL_DEBUG); break;
		case 'q': log_setup("mobility-agent", LOG_LVL_ERR); break;
		case 'h': usage(); exit(0);
		case 'V': print_version("mobility-agent"); exit(0);
		default: usage_error("mobility-agent sync", "invalid option");
		}
	}
	if (optind < argc)
		usage_error("mobility-agent sync", "unexpected argument '%s'", argv[optind]);
	if (!a->copts.url || !a->copts.ca_file || !a->copts.agent_id || !a->token_file || a->disks.n == 0)
		usage_error("mobility-agent sync", "--appliance, --ca, --agent-id, --token-file and --disk are required");
	if (!startswith(a->copts.url, "https://"))
		usage_error("mobility-agent sync", "--appliance '%s': only https:// URLs are accepted", a->copts.url);
	if (a->copts.pin && !startswith(a->copts.pin, "sha256//"))
		usage_error("mobility-agent sync", "--pin '%s': expected sha256//BASE64", a->copts.pin);
	if (!sync_name_valid(a->copts.agent_id))
		usage_error("mobility-agent sync", "--agent-id '%s': use 1 to 64 of A-Z a-z 0-9 . _ -", a->copts.agent_id);
	if (a->names.n > a->disks.n)
		usage_error("mobility-agent sync", "more --name than --disk options");
}

/* Disk names: given, or the disk's file name; each valid and unique. */
static void complete_names(struct sync_cli *a)
{
	for (size_t i = a->names.n; i < a->disks.n; i++) {
		_cleanup_free_ char *p = xstrdup(a->disks.v[i]);
		strv_push(&a->names, basename(p));
	}
	for (size_t i = 0; i < a->names.n; i++) {
		if (!sync_name_valid(a->names.v[i]))
			usage_error("mobility-agent sync", "disk name '%s' (of %s): use 1 to 64 of A-Z a-z 0-9 . _ -; give --name",
				    a->names.v[i], a->disks.v[i]);
		for (size_t j = 0; j < i; j++)
			if (streq(a->names.v[i], a->names.v[j]))
				usage_error("mobility-agent sync", "disk name '%s' given twice", a->names.v[i]);
	}
}

static int read_token(const char *path, char **token)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_file_bounded(path, TOKEN_MAX, &buf, &len);

	if (r < 0) {
		log_err("token file %s: %s", path, errstr(r));
		return r;
	}
	if (strlen(buf) != len || strstrip(buf)[0] == '\0' || strpbrk(strstrip(buf), " \t\r\n")) {
		log_err("token file %s: expected one token on one line", path);
		return -EINVAL;
	}
	*token = xstrdup(strstrip(buf));
	return 0;
}

struct progress_state {
	double last;
	bool shown;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void show_progress(void *ud, const struct sync_progress *p)
{
	struct progress_state *ps = ud;
	double now = mono_now();

	if (now - ps->last < 0.25 && p->done != p->total)
		return;
	ps->last = now;
	ps->shown = true;
	fprintf(stderr, "\r%s: %3ju%% %ju/%ju chunks, %.1f MiB read, %.1f MiB sent ", p->name,
		(uintmax_t)(p->total ? p->done * 100 / p->total : 100), (uintmax_t)p->done, (uintmax_t)p->total,
		p->bytes_read / 1048576.0, p->bytes_sent / 1048576.0);
}

static unsigned env_uint(const char *name)
{
	const char *s = getenv(name);
	long v;

	return s && parse_long(s, &v) == 0 && v > 0 ? (unsigned)v : 0;
}

static cJSON *stats_json(const char *name, const struct sync_stats *st)
{
	cJSON *o = cJSON_CreateObject();

	json_add_str(o, "name", name);
	cJSON_AddNumberToObject(o, "bytes_read", (double)st->bytes_read);
	cJSON_AddNumberToObject(o, "bytes_sent", (double)st->bytes_sent);
	cJSON_AddNumberToObject(o, "chunks_sent", (double)st->chunks_sent);
	cJSON_AddNumberToObject(o, "zero_chunks", (double)st->zero_chunks);
	cJSON_AddNumberToObject(o, "seconds", (double)(int64_t)(st->seconds * 1000 + 0.5) / 1000.0);
	return o;
}

/* One disk: open, pass, report. Returns the pass's result. */
static int sync_one(struct client *cl, const struct sync_cli *a, size_t i, const struct sync_opts *o, cJSON *arr)
{
	struct progress_state ps = { 0 };
	struct sync_stats st = { 0 };
	struct chunk_filter all = { .kind = CHUNKS_ALL };
	struct sync_opts lo = *o;
	struct disk d;
	int r = disk_open(a->disks.v[i], &d);

	if (r < 0) {
		log_err("%s: cannot open %s: %s", a->names.v[i], a->disks.v[i],
			r == -ENOTBLK ? "not a block device or regular file" : errstr(r));
		return r;
	}
	if (!d.direct)
		log_warn("%s: %s does not support O_DIRECT; reading through the page cache", a->names.v[i], d.path);
	lo.progress = isatty(STDERR_FILENO) ? show_progress : NULL;
	lo.userdata = &ps;
	r = sync_pass(cl, &d, a->names.v[i], &all, &lo, &st);
	if (ps.shown)
		fputc('\n', stderr);
	disk_close(&d);
	cJSON_AddItemToArray(arr, stats_json(a->names.v[i], &st));
	if (r == 0)
		log_info("%s: pass %ju committed: %ju chunks sent (%.1f MiB), %ju zero, %.1f MiB read in %.1fs",
			 a->names.v[i], (uintmax_t)st.committed_pass, (uintmax_t)st.chunks_sent, st.bytes_sent / 1048576.0,
			 (uintmax_t)st.zero_chunks, st.bytes_read / 1048576.0, st.seconds);
	return r;
}

int cmd_sync(int argc, char **argv)
{
	struct sync_cli a = { .state_dir = MOBILITY_LOCALSTATEDIR "/lib/mobility-agent" };
	_cleanup_strv_ strv disks_guard = { 0 };
	_cleanup_strv_ strv names_guard = { 0 };
	_cleanup_free_ char *token = NULL;
	_cleanup_client_ struct client *cl = NULL;
	_cleanup_json_ cJSON *out = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(out, "disks");
	struct sync_opts o = { 0 };
	int failed = 0, r;

	parse_args(argc, argv, &a);
	disks_guard = a.disks;
	complete_names(&a);
	names_guard = a.names;
	if (read_token(a.token_file, &token) < 0)
		return EXIT_FAILURE;
	a.copts.token = token;
	a.copts.retry_seconds = env_uint("MOBILITY_SYNC_RETRY_SECONDS");
	r = client_new(&a.copts, &cl);
	if (r < 0) {
		log_err("%s: %s", a.copts.url, errstr(r));
		return EXIT_FAILURE;
	}
	o = (struct sync_opts){ .state_dir = a.state_dir, .url = a.copts.url, .agent_id = a.copts.agent_id,
				.chunk_size = a.chunk_size, .full = a.full, .connections = a.connections,
				.test_corrupt_put = env_uint("MOBILITY_SYNC_TEST_CORRUPT"),
				.test_delay_ms = env_uint("MOBILITY_SYNC_TEST_DELAY_MS") };
	for (size_t i = 0; i < a.disks.n; i++) {
		r = sync_one(cl, &a, i, &o, arr);
		if (r < 0)
			failed++;
		if (r == -EACCES)
			break; /* the appliance refused us: the other disks would be refused alike */
		o.test_corrupt_put = 0;
	}
	if (a.json && json_print(stdout, out) < 0)
		return EXIT_USAGE;
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
