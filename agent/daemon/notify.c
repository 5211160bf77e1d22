/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sd_notify by hand: the protocol is one datagram of "KEY=VALUE" lines to the socket named by
 * $NOTIFY_SOCKET ('@' = abstract namespace). Not linking libsystemd keeps the agent installable on
 * systems without it (and the package's dependencies the same on every family).
 */
#include "daemon.h"
#include "util.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

void sd_notify_simple(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}
