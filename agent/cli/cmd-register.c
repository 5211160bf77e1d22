/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mobility-agent register: exchange a one-time registration key for this agent's id and token
 * (docs/protocol.md §9), store the token root-only and the id in the configuration.
 */
#include <getopt.h>
#include <sys/stat.h>

#include "cli.h"
#include "client.h"
#include "commands.h"
#include "fileio.h"
#include "json.h"
#include "log.h"

#define DEFAULT_CONFIG MOBILITY_SYSCONFDIR "/mobility-agent/agent.yaml"
#define DEFAULT_TOKEN MOBILITY_SYSCONFDIR "/mobility-agent/token"

static void __attribute__((noreturn)) usage(void)
{
	fputs("Usage:\n mobility-agent register --appliance URL --ca FILE --registration-key FILE [options]\n"
	      "\nExchange a one-time registration key from the appliance (mobility-receiver keygen) for\n"
	      "this agent's id and token. The token is stored root-only, the id in the configuration.\n"
	      "\nOptions:\n"
	      "  -a, --appliance URL      the appliance, https://HOST:PORT\n"
	      "      --ca FILE            CA certificate(s) the appliance's certificate must verify against\n"
	      "      --pin PIN            also require this public key: sha256//BASE64\n"
	      "  -k, --registration-key FILE  file holding the one-time key (mrk-...)\n"
	      "  -c, --config FILE        configuration to record the id in (default " DEFAULT_CONFIG ")\n"
	      "      --token-file FILE    where to store the token (default " DEFAULT_TOKEN ")\n"
	      "      --proxy URL          proxy to use (default: https_proxy from the environment)\n"
	      "  -h, --help               display this help and exit\n"
	      "\nExit status: 0 registered, 1 refused or unreachable (the message says which), 3 usage.\n"
	      USAGE_FOOTER("mobility-agent(8)"),
	      stdout);
	exit(0);
}

static char *read_trimmed(const char *path, size_t max)
{
	_cleanup_free_ char *buf = NULL;

	if (read_file_bounded(path, max, &buf, NULL) < 0)
		return NULL;
	return xstrdup(strstrip(buf));
}

/* Record the id: replace "  id: ..." under "agent:" (comments and the rest kept), or write a new file. */
static int record_id(const char *config, const char *url, const char *ca, const char *token_file, const char *id)
{
	_cleanup_free_ char *text = NULL, *out = NULL;
	size_t len = 0, cap;
	int r = read_file_bounded(config, 1u << 20, &text, &len);

	if (r == -ENOENT) {
		_cleanup_free_ char *s = xasprintf("# written by mobility-agent register\nappliance:\n  url: %s\n  ca: %s\n"
						   "agent:\n  id: %s\n  token_file: %s\n", url, ca, id, token_file);
		return write_file_atomic(config, s, strlen(s), 0600);
	}
	if (r < 0)
		return r;
	cap = len + strlen(id) + 64;
	out = xmalloc(cap);
	out[0] = '\0';
	bool in_agent = false, done = false;
	struct line_iter it;
	char *line;

	line_iter_init(&it, text, len);
	while ((line = line_iter_next(&it, NULL))) {
		if (line[0] != ' ' && line[0] != '#')
			in_agent = startswith(line, "agent:");
		if (in_agent && !done && startswith(line, "  id:")) {
			snprintf(out + strlen(out), cap - strlen(out), "  id: %s\n", id);
			done = true;
			continue;
		}
		snprintf(out + strlen(out), cap - strlen(out), "%s\n", line);
	}
	if (!done) {
		log_err("%s: no 'agent: id:' line to record the id %s in; add it by hand", config, id);
		return -EINVAL;
	}
	return write_file_atomic(config, out, strlen(out), 0600);
}

int cmd_register(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "appliance", required_argument, NULL, 'a' }, { "ca", required_argument, NULL, 'C' },
		{ "pin", required_argument, NULL, 'P' },       { "registration-key", required_argument, NULL, 'k' },
		{ "config", required_argument, NULL, 'c' },    { "token-file", required_argument, NULL, 'T' },
		{ "proxy", required_argument, NULL, 'x' },     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *ca = NULL, *pin = NULL, *keyfile = NULL, *proxy = NULL;
	const char *config = DEFAULT_CONFIG, *token_file = DEFAULT_TOKEN;
	_cleanup_free_ char *key = NULL, *machine_id = NULL, *product_uuid = NULL, *body = NULL;
	_cleanup_json_ cJSON *req = NULL, *resp = NULL;
	_cleanup_client_ struct client *c = NULL;
	struct http_resp hr = { 0 };
	char host[256] = "";
	int opt, r;

	while ((opt = getopt_long(argc, argv, "a:k:c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': url = optarg; break;
		case 'C': ca = optarg; break;
		case 'P': pin = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'c': config = optarg; break;
		case 'T': token_file = optarg; break;
		case 'x': proxy = optarg; break;
		case 'h': usage();
		default: usage_error("mobility-agent register", "invalid option");
		}
	}
	if (!url || !ca || !keyfile)
		usage_error("mobility-agent register", "--appliance, --ca and --registration-key are required");
	key = read_trimmed(keyfile, 4096);
	if (!key || !*key) {
		log_err("%s: cannot read the registration key", keyfile);
		return 1;
	}
	gethostname(host, sizeof(host) - 1);
	machine_id = read_trimmed("/etc/machine-id", 256);
	product_uuid = read_trimmed("/sys/class/dmi/id/product_uuid", 256);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "registration_key", key);
	cJSON_AddStringToObject(req, "hostname", host);
	json_add_str(req, "machine_id", machine_id);
	json_add_str(req, "product_uuid", product_uuid);
	body = cJSON_PrintUnformatted(req);

	struct client_opts co = { .url = url, .ca_file = ca, .pin = pin, .proxy = proxy, .retry_seconds = 30 };
	if (client_new(&co, &c) < 0) {
		log_err("%s: cannot set up the HTTPS client", url);
		return 1;
	}
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	r = client_call(c, "POST", "/v1/register", hdrs, body, strlen(body), &hr);
	if (r < 0) {
		log_err("%s", client_error(c));
		http_resp_clear(&hr);
		return 1;
	}
	if (hr.status != 201) {
		log_err("%s: registration refused (%ld %s)%s", url, hr.status, hr.error,
			hr.status == 401 ? ": the key is unknown, used or expired; ask the appliance for a new one" : "");
		http_resp_clear(&hr);
		return 1;
	}
	resp = cJSON_Parse(hr.body);
	http_resp_clear(&hr);
	const char *id = json_get_str(resp, "agent_id"), *token = json_get_str(resp, "token");
	if (!id || !token) {
		log_err("%s: the registration answer lacks agent_id or token", url);
		return 1;
	}
	_cleanup_free_ char *tok = xasprintf("%s\n", token);
	r = write_file_atomic(token_file, tok, strlen(tok), 0600);
	if (r < 0) {
		log_err("%s: cannot store the token: %s (the key is spent: ask for a new one)", token_file, strerror(-r));
		return 1;
	}
	r = record_id(config, url, ca, token_file, id);
	if (r < 0) {
		log_err("%s: cannot record the agent id %s: %s", config, id, strerror(-r));
		return 1;
	}
	printf("registered as %s (token in %s)\n", id, token_file);
	return 0;
}
