/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sd_notify() without libsystemd: one datagram to $NOTIFY_SOCKET, a path
 * or, with a leading '@', an abstract socket name.
 */
#define G_LOG_DOMAIN "dmadirty-notify"
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

gboolean
dd_notify(const char *state, GError **error)
{
	const char *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t addrlen;
	size_t len;
	ssize_t n;
	int fd, err;

	if (!path || !*path)
		return TRUE;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(addr.sun_path)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "NOTIFY_SOCKET '%s' is not a socket path or @name", path);
		return FALSE;
	}
	memcpy(addr.sun_path, path, len);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	addrlen = offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/');

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    "NOTIFY_SOCKET: socket: %s", g_strerror(err));
		return FALSE;
	}
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen);
	err = errno;
	close(fd);
	if (n < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    "NOTIFY_SOCKET %s: %s", path, g_strerror(err));
		return FALSE;
	}
	return TRUE;
}
