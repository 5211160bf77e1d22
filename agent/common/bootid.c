/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "bootid.h"
#include "fileio.h"
#include "util.h"

int boot_id_read(char *out, size_t len)
{
	_cleanup_free_ char *buf = NULL;
	const char *id;
	int r = read_file_bounded(BOOT_ID_PATH, 256, &buf, NULL);

	if (r < 0)
		return r;
	id = strstrip(buf);
	if (strlen(id) >= len)
		return -ENAMETOOLONG;
	memcpy(out, id, strlen(id) + 1);
	return 0;
}
