/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer: the network configuration parsers. The first byte picks the dialect (ifcfg, SUSE
 * ifcfg, ifupdown interfaces, NetworkManager keyfile, networkd .network/.link, netplan YAML);
 * the rest is the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "netcfg.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netcfg nc = { 0 };
	char *buf;
	struct netplan_state *np;

	if (size < 1)
		return 0;
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	switch (data[0] % 7) {
	case 0:
		netcfg_parse_ifcfg(&nc, "/ifcfg-fuzz", buf, size - 1, false);
		break;
	case 1:
		netcfg_parse_ifcfg(&nc, "/ifcfg-fuzz", buf, size - 1, true);
		break;
	case 2:
		netcfg_parse_interfaces(&nc, NULL, "/interfaces", buf, size - 1);
		break;
	case 3:
		netcfg_parse_keyfile(&nc, "/fuzz.nmconnection", buf, size - 1);
		break;
	case 4:
		netcfg_parse_networkd(&nc, "/fuzz.network", buf, size - 1, false);
		break;
	case 5:
		netcfg_parse_networkd(&nc, "/fuzz.link", buf, size - 1, true);
		break;
	default:
		np = netplan_new();
		netplan_add_file(np, &nc, "/a.yaml", buf, size - 1);
		netplan_add_file(np, &nc, "/b.yaml", buf, size - 1); /* merging a file onto itself */
		netplan_finish(np, &nc);
		break;
	}
	netcfg_free(&nc);
	free(buf);
	return 0;
}
