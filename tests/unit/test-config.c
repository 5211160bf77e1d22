/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's YAML configuration (design.md §6): every key, defaults, and errors naming the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"

static int parse(const char *text, struct agent_config *c, char **err)
{
	return config_parse(text, strlen(text), "agent.yaml", c, err);
}

static void test_full(void **state)
{
	static const char text[] = "appliance:\n"
				   "  url: https://appliance.example:8443\n"
				   "  ca: /etc/mobility-agent/appliance-ca.pem\n"
				   "  pin: \"sha256//AAAA\"\n"
				   "  proxy: http://proxy.example:3128\n"
				   "  no_proxy: [\".privatelink.example\", \"10.200.0.0/16\"]\n"
				   "  connections: 12\n"
				   "agent:\n"
				   "  id: web01\n"
				   "  token_file: /etc/mobility-agent/token\n"
				   "disks:\n"
				   "  - device: /dev/sda\n"
				   "    name: sda\n"
				   "  - device: /dev/nvme0n1\n"
				   "state_dir: /var/lib/mobility-agent\n"
				   "control_socket: /run/mobility-agent/control\n"
				   "freeze:\n"
				   "  timeout: 90\n"
				   "  hooks_dir: /etc/mobility-agent/freeze.d\n"
				   "future_key: 1\n";
	struct agent_config c;
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(text, &c, &err), 0);
	assert_string_equal(c.appliance_url, "https://appliance.example:8443");
	assert_string_equal(c.pin, "sha256//AAAA");
	assert_int_equal(c.no_proxy.n, 2);
	assert_string_equal(c.no_proxy.v[1], "10.200.0.0/16");
	assert_string_equal(c.agent_id, "web01");
	assert_int_equal(c.ndisks, 2);
	assert_string_equal(c.disks[1].name, "nvme0n1"); /* defaults to the device's name */
	assert_int_equal(c.freeze_timeout, 90);
	assert_int_equal(c.connections, 12);
	assert_int_equal(c.warnings.n, 1);
	assert_non_null(strstr(c.warnings.v[0], "agent.yaml:20"));
	assert_non_null(strstr(c.warnings.v[0], "future_key"));
	config_free(&c);
}

static void test_defaults(void **state)
{
	struct agent_config c;
	char *err = NULL;

	(void)state;
	assert_int_equal(parse("agent:\n  id: x\n", &c, &err), 0);
	assert_string_equal(c.control_socket, "/run/mobility-agent/control");
	assert_int_equal(c.freeze_timeout, 60);
	assert_non_null(c.state_dir);
	config_free(&c);
	assert_int_equal(parse("", &c, &err), 0); /* an empty file is an empty configuration */
	config_free(&c);
}

static void test_errors(void **state)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "agent:\n  id: [1, 2]\n", "agent.yaml:2:7" },
		{ "freeze:\n  timeout: soon\n", "agent.yaml:2:12" },
		{ "freeze:\n  timeout: 0\n", "freeze.timeout" },
		{ "appliance:\n  connections: 17\n", "appliance.connections" },
		{ "appliance:\n  connections: 0\n", "appliance.connections" },
		{ "disks:\n  - name: x\n", "device" },
		{ "disks: /dev/sda\n", "disks" },
		{ "appliance: [\n", "agent.yaml:2" },
		{ "- just\n- a list\n", "mapping" },
		{ "appliance:\n  url: a\n\tca: b\n", "agent.yaml:3" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct agent_config c;
		char *err = NULL;

		if (parse(cases[i].text, &c, &err) != -EINVAL)
			fail_msg("case %zu accepted", i);
		if (!err || !strstr(err, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err ? err : "(null)", cases[i].want);
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
