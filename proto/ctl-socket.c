/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dmadirtyctl: the connection to the host end of the agent's port.  Every
 * wait has a deadline.
 */
#define G_LOG_DOMAIN "dmadirtyctl"

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

G_DEFINE_QUARK(dmadirtyctl-error-quark, ctl_error)

void ctl_conn_close(CtlConn *conn)
{
	if (conn->fd >= 0)
		close(conn->fd);
	g_clear_pointer(&conn->in, g_byte_array_unref);
}

/* The monotonic time @timeout seconds from now. */
gint64 ctl_deadline(double timeout)
{
	return g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);
}

static int ctl_ms_left(gint64 deadline)
{
	gint64 left = deadline - g_get_monotonic_time();

	if (left <= 0)
		return 0;
	return (int)MIN((left + 999) / 1000, G_MAXINT);
}

/**
 * ctl_connect:
 * Connects to the unix socket @path within @timeout seconds.  A listen
 * backlog that is full (EAGAIN) is retried until the deadline: the kernel
 * offers no event for it.
 */
gboolean ctl_connect(CtlConn *conn, const char *path, double timeout, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	gint64 deadline = ctl_deadline(timeout);

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE,
			    "socket path is longer than %zu bytes: %s", sizeof(addr.sun_path) - 1, path);
		return FALSE;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);

	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int err;

		if (fd < 0) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT, "socket: %s", g_strerror(errno));
			return FALSE;
		}
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			conn->fd = fd;
			return TRUE;
		}
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t len = sizeof(err);
			int n;

			do
				n = poll(&p, 1, ctl_ms_left(deadline));
			while (n < 0 && errno == EINTR);
			if (n == 0) {
				close(fd);
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "connecting to %s timed out after %g s", path, timeout);
				return FALSE;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
				conn->fd = fd;
				return TRUE;
			}
		}
		close(fd);
		if (err == EAGAIN && g_get_monotonic_time() < deadline) {
			g_usleep(MIN(10000, ctl_ms_left(deadline) * 1000));
			continue;
		}
		if (err == EAGAIN) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
				    "connecting to %s timed out after %g s (its listen queue stayed full)",
				    path, timeout);
			return FALSE;
		}
		g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
			    "cannot connect to %s: %s (is the VM running, and is this the host end of "
			    "its org.dmadirty.agent.0 channel?)", path, g_strerror(err));
		return FALSE;
	}
}

/* Sends all of @data before @deadline, waiting for POLLOUT in between. */
gboolean ctl_send(CtlConn *conn, const void *data, gsize len, gint64 deadline,
		  double timeout, GError **error)
{
	const guint8 *p = data;

	if (conn->verbose) {
		g_autofree char *q = qga_quote(data, len, 400);

		g_printerr("dmadirtyctl: -> %s\n", q);
	}
	while (len > 0) {
		ssize_t n = send(conn->fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = conn->fd, .events = POLLOUT };
			int r = poll(&pfd, 1, ctl_ms_left(deadline));

			if (r == 0) {
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "the peer took no data for %g s (is the agent running in the guest?)",
					    timeout);
				return FALSE;
			}
			continue;
		}
		g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
			    "sending to the agent failed: %s", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/* Reads what is available, waiting for it until @deadline. */
CtlFill ctl_fill(CtlConn *conn, gint64 deadline, GError **error)
{
	guint8 buf[65536];

	for (;;) {
		struct pollfd p = { .fd = conn->fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, ctl_ms_left(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return CTL_FILL_TIMEOUT;
		n = recv(conn->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
				    "receiving from the agent failed: %s", g_strerror(errno));
			return CTL_FILL_EOF;
		}
		if (n <= 0)
			return CTL_FILL_EOF;
		if (conn->verbose) {
			g_autofree char *q = qga_quote(buf, n, 400);

			g_printerr("dmadirtyctl: <- %s\n", q);
		}
		g_byte_array_append(conn->in, buf, n);
		conn->received += n;
		return CTL_FILL_OK;
	}
}

