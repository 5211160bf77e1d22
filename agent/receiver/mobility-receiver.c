/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mobility-receiver: the reference appliance endpoint (design.md §1, §4; docs/protocol.md). */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <pthread.h>

#include "agents.h"
#include "cli.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "register.h"
#include "store.h"

static const char *const prog = "mobility-receiver";

static void usage(FILE *f)
{
	fputs("Usage:\n"
	      " mobility-receiver --listen ADDR:PORT --store DIR --tls-cert FILE --tls-key FILE\n"
	      "                   --agents FILE [options]\n"
	      " mobility-receiver keygen --agents FILE [--ttl SECONDS] [--count N]\n"
	      "\n"
	      "Receive disk replicas from mobility-agent over HTTPS (docs/protocol.md) and keep, for\n"
	      "each agent ID and disk NAME, the sparse raw image DIR/ID/NAME.raw. That image is always\n"
	      "the source disk as it was at the last committed pass: a pass is staged beside it, checked\n"
	      "chunk by chunk against the sender's SHA-256, and applied only on commit through a journal\n"
	      "that is replayed on start. A killed agent, a killed receiver or a broken connection leaves\n"
	      "the previous recovery point, and the agent resumes the open pass.\n"
	      "\n"
	      "Options:\n"
	      "  -l, --listen ADDR:PORT   address to listen on: 0.0.0.0:8443, 127.0.0.1:0 (any free\n"
	      "                           port, printed at start), [::]:8443\n"
	      "  -s, --store DIR          the replica store (created if missing)\n"
	      "  -c, --tls-cert FILE      PEM certificate chain of the receiver\n"
	      "  -k, --tls-key FILE       PEM private key of the certificate\n"
	      "  -a, --agents FILE        who may send: one 'AGENT_ID TOKEN' per line, '#' comments;\n"
	      "                           re-read when it changes\n"
	      "      --vhd                also keep DIR/ID/NAME.vhd, a fixed VHD (size rounded up to\n"
	      "                           1 MiB) ready to upload as an Azure page blob\n"
	      "      --max-connections N  connections in total (default 256)\n"
	      "      --max-per-ip N       connections per client address (default 32)\n"
	      "      --max-uploads N      chunk uploads in progress at once; more get 503 (default 16)\n"
	      "      --timeout SECONDS    close connections idle that long (default 30)\n"
	      "      --threads N          worker threads (default 4)\n"
	      "  -v, --verbose            also log every refused request and libmicrohttpd's messages\n"
	      "  -q, --quiet              log only errors\n" USAGE_HELP_OPTIONS
	      "\n"
	      "keygen: issue one-time registration keys (printed one per line) that an agent exchanges\n"
	      "once, with POST /v1/register, for its id and token; the receiver then appends the new\n"
	      "'ID TOKEN' line to the agents file. Keys are kept only as SHA-256 digests in FILE.keys and\n"
	      "expire after --ttl seconds (default 86400). The receiver need not be restarted.\n"
	      "\n"
	      "Signals: SIGTERM and SIGINT stop the receiver (a commit in progress is finished first; an open\n"
	      "pass stays staged for the agent to resume); SIGHUP re-reads the agents file.\n"
	      "\n"
	      "Exit status: 0 stopped by a signal, 1 could not start (bad certificate, address in use,\n"
	      "unreadable agents file), 3 usage error.\n"
	      "\n"
	      "Environment: MOBILITY_RECEIVER_TEST_PAUSE=commit-POINT (tests only) stops every commit at\n"
	      "POINT (before-journal, after-journal, mid-apply, after-apply, after-meta,\n"
	      "after-unlink-journal) until the process is killed.\n" USAGE_FOOTER("mobility-receiver(8) and docs/protocol.md"),
	      f);
}

static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	_cleanup_free_ char *host = NULL;
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || parse_long(colon + 1, &port) < 0 || port < 0 || port > 65535)
		return -EINVAL;
	host = xstrndup(s, (size_t)(colon - s));
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && endswith(host, "]")) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = 0;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

static unsigned parse_count(const char *opt, const char *s, long max)
{
	long v;

	if (parse_long(s, &v) < 0 || v < 1 || v > max)
		usage_error(prog, "%s: '%s' is not a number in 1..%ld", opt, s, max);
	return (unsigned)v;
}

/* MOBILITY_RECEIVER_TEST_PAUSE: hold the commit at a point so a test can kill -9 us there. */
static int test_pause_hook(void *userdata, const char *point)
{
	const char *want = userdata;

	if (streq(want, point)) {
		log_info("test pause at %s", point);
		for (;;)
			pause();
	}
	return 0;
}

struct config {
	const char *listen, *store, *cert, *key, *agents;
	bool vhd;
	struct http_options http;
};

static void parse_args(int argc, char **argv, struct config *c)
{
	enum { OPT_VHD = 256, OPT_MAXCONN, OPT_PERIP, OPT_UPLOADS, OPT_TIMEOUT, OPT_THREADS };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },   { "store", required_argument, NULL, 's' },
		{ "tls-cert", required_argument, NULL, 'c' }, { "tls-key", required_argument, NULL, 'k' },
		{ "agents", required_argument, NULL, 'a' },   { "vhd", no_argument, NULL, OPT_VHD },
		{ "max-connections", required_argument, NULL, OPT_MAXCONN },
		{ "max-per-ip", required_argument, NULL, OPT_PERIP },
		{ "max-uploads", required_argument, NULL, OPT_UPLOADS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "verbose", no_argument, NULL, 'v' },        { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },           { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	c->http.max_connections = 256, c->http.max_per_ip = 32, c->http.max_uploads = 16;
	c->http.timeout = 30, c->http.threads = 4;
	while ((o = getopt_long(argc, argv, "l:s:c:k:a:vqhV", opts, NULL)) != -1) {
		switch (o) {
		case 'l': c->listen = optarg; break;
		case 's': c->store = optarg; break;
		case 'c': c->cert = optarg; break;
		case 'k': c->key = optarg; break;
		case 'a': c->agents = optarg; break;
		case OPT_VHD: c->vhd = true; break;
		case OPT_MAXCONN: c->http.max_connections = parse_count("--max-connections", optarg, 100000); break;
		case OPT_PERIP: c->http.max_per_ip = parse_count("--max-per-ip", optarg, 100000); break;
		case OPT_UPLOADS: c->http.max_uploads = parse_count("--max-uploads", optarg, 4096); break;
		case OPT_TIMEOUT: c->http.timeout = parse_count("--timeout", optarg, 86400); break;
		case OPT_THREADS: c->http.threads = parse_count("--threads", optarg, 256); break;
		case 'v': log_setup(prog, LOG_LVL_DEBUG); break;
		case 'q': log_setup(prog, LOG_LVL_ERR); break;
		case 'h': usage(stdout); exit(0);
		case 'V': print_version(prog); exit(0);
		default: usage_error(prog, "invalid option");
		}
	}
	if (optind < argc)
		usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (!c->listen || !c->store || !c->cert || !c->key || !c->agents)
		usage_error(prog, "--listen, --store, --tls-cert, --tls-key and --agents are required");
	if (parse_listen(c->listen, &c->http.addr) < 0)
		usage_error(prog, "--listen '%s': expected IPV4:PORT or [IPV6]:PORT", c->listen);
}

static int read_pem(const char *path, char **out)
{
	size_t len;
	int r = read_file_bounded(path, 1u << 20, out, &len);

	if (r < 0)
		log_err("%s: %s", path, errstr(r));
	return r;
}

static void print_listening(const struct config *c, unsigned port)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (c->http.addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&c->http.addr)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&c->http.addr)->sin_addr, host, sizeof(host));
	log_info(c->http.addr.ss_family == AF_INET6 ? "listening on [%s]:%u" : "listening on %s:%u", host, port);
}

static int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agents", required_argument, NULL, 'a' }, { "ttl", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *agents = NULL;
	unsigned ttl = 86400, count = 1;
	char key[128];
	int o, r;

	while ((o = getopt_long(argc, argv, "a:t:n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'a': agents = optarg; break;
		case 't': ttl = parse_count("--ttl", optarg, 365L * 86400); break;
		case 'n': count = parse_count("--count", optarg, 1000); break;
		case 'h': usage(stdout); return 0;
		default: usage_error(prog, "keygen: invalid option");
		}
	}
	if (!agents || optind < argc)
		usage_error(prog, "keygen needs --agents FILE and no other argument");
	for (unsigned i = 0; i < count; i++) {
		if ((r = reg_keygen(agents, ttl, key, sizeof(key))) < 0) {
			log_err("%s.keys: cannot add a key: %s", agents, errstr(r));
			return 1;
		}
		printf("%s\n", key);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config c = { 0 };
	_cleanup_free_ char *cert = NULL, *key = NULL;
	const char *pause_at = getenv("MOBILITY_RECEIVER_TEST_PAUSE");
	struct rstore_options so = { 0 };
	struct rstore *store = NULL;
	struct agents *agents = NULL;
	struct http_server *srv = NULL;
	sigset_t mask;
	int r, sig = 0;

	close_stdout_atexit();
	log_setup(prog, LOG_LVL_INFO);
	if (argc > 1 && streq(argv[1], "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	parse_args(argc, argv, &c);
	if (read_pem(c.cert, &cert) < 0 || read_pem(c.key, &key) < 0)
		return 1;
	if ((r = agents_open(c.agents, &agents)) < 0) {
		if (r != -EINVAL)
			log_err("%s: %s", c.agents, errstr(r));
		return 1;
	}
	so.vhd = c.vhd;
	if (pause_at && startswith(pause_at, "commit-"))
		pause_at += strlen("commit-"); /* "commit-after-journal" and "after-journal" alike */
	if (pause_at && *pause_at) {
		so.hook = test_pause_hook;
		so.hook_userdata = (void *)pause_at;
	}
	if ((r = rstore_open(c.store, &so, &store)) < 0) {
		log_err("%s: cannot open the store: %s", c.store, errstr(r));
		agents_free(agents);
		return 1;
	}
	/* worker threads inherit this mask: signals reach only sigwait() below */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.http.cert_pem = cert;
	c.http.key_pem = key;
	if ((r = http_start(&c.http, store, agents, &srv)) < 0) {
		log_err("%s: cannot serve HTTPS with %s and %s: %s", c.listen, c.cert, c.key,
			r == -EINVAL ? "see the errors above" : errstr(r));
		rstore_free(store);
		agents_free(agents);
		return 1;
	}
	print_listening(&c, http_port(srv));
	while (sigwait(&mask, &sig) == 0 && sig == SIGHUP)
		agents_refresh(agents);
	log_info("signal %d: stopping", sig);
	http_stop(srv);
	rstore_free(store);
	agents_free(agents);
	return 0;
}
