/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the udev rules parser and the net/block rule classification on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "udev-rules.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = xmalloc(size + 1);
	struct udev_rules rs = { 0 };

	memcpy(buf, data, size);
	buf[size] = '\0';
	udev_rules_parse(&rs, "/fuzz.rules", buf, size);
	for (size_t i = 0; i < rs.n; i++) {
		(void)udev_rule_net_kind(&rs.v[i]);
		(void)udev_rule_block_reliance(&rs.v[i]);
	}
	udev_rules_free(&rs);
	free(buf);
	return 0;
}
