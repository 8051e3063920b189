/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transports: see channel.h.
 *
 * Watches, by state:
 *   listening (socket, no client)  listen_watch
 *   connected, idle                conn_watch (POLLIN)
 *   request in flight              none: backpressure
 *   reply pending                  out_watch (POLLOUT) + out_timer
 *   virtio host disconnected       none but sigio_watch: virtio_console
 *                                  signals SIGIO when the host connects
 *
 * virtio_console reports POLLHUP while the host is not connected, and a
 * write then fails with EAGAIN, so no watch may stay armed on the port
 * then: it would fire on every loop iteration.  A reply meets POLLHUP in
 * two cases.  The host that asked hung up: the reply is dropped, so that
 * the next host does not receive it.  Or the host is still connecting:
 * its data can overtake the port-open notice (virtio_console handles
 * control messages in a work queue), so a request is read while the port
 * still reports POLLHUP; that reply waits for SIGIO, bounded by out_timer.
 */
#define G_LOG_DOMAIN "dmadirty-channel"
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1	/* accept4 */
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include <glib-unix.h>

#include "channel.h"

#define INBUF_SIZE 4096

struct DdChannel {
	DdMethod method;
	char *path;		/* socket path, or the open virtio device node */
	char *port_name;	/* virtio-serial: the port's name */
	gboolean explicit_path;
	guint reply_timeout;
	DdFrameFunc on_frame;
	gpointer user_data;
	DdFramer *framer;

	int listen_fd;
	guint listen_watch;

	int conn_fd;
	guint conn_watch;
	guint64 conn_serial;	/* bumped on every disconnect */
	gboolean host_away;	/* virtio: POLLHUP seen, waiting for SIGIO */
	gboolean host_seen;	/* virtio: the host was connected since the
				 * request in flight (or the pending reply's) was read */

	guint8 inbuf[INBUF_SIZE];
	gsize in_off, in_len;

	gboolean in_flight;
	guint64 in_flight_serial;
	gboolean pumping;

	GBytes *out;
	gsize out_off;
	guint out_watch;
	guint out_timer;

	/* virtio-serial */
	int sigio_fd;
	guint sigio_watch;
	DdUevents *uevents;
	gboolean subscribed;
};

static void pump(DdChannel *ch);
static void update_watches(DdChannel *ch);

static gboolean
is_socket_method(DdChannel *ch)
{
	return ch->method != DD_METHOD_VIRTIO_SERIAL;
}

/* Is a host connected to the port now?  Always TRUE for a socket client. */
static gboolean
host_connected(DdChannel *ch)
{
	struct pollfd p = { .fd = ch->conn_fd, .events = POLLOUT };

	if (is_socket_method(ch))
		return TRUE;
	return poll(&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* Forgets the current client: its partial input, its pending reply. */
static void
drop_client(DdChannel *ch, const char *why)
{
	if (ch->conn_fd < 0)
		return;
	if (why)
		g_info("%s", why);
	g_clear_handle_id(&ch->conn_watch, g_source_remove);
	g_clear_handle_id(&ch->out_watch, g_source_remove);
	g_clear_handle_id(&ch->out_timer, g_source_remove);
	g_clear_pointer(&ch->out, g_bytes_unref);
	ch->in_off = ch->in_len = 0;
	dd_framer_reset(ch->framer);
	ch->conn_serial++;
	if (is_socket_method(ch)) {
		close(ch->conn_fd);
		ch->conn_fd = -1;
	}
	update_watches(ch);
}

static void
close_port(DdChannel *ch)
{
	if (is_socket_method(ch) || ch->conn_fd < 0)
		return;
	drop_client(ch, "virtio-serial port closed");
	close(ch->conn_fd);
	ch->conn_fd = -1;
	ch->host_away = FALSE;
	g_message("closed %s", ch->path);
}

static gboolean
on_out_timeout(gpointer user_data)
{
	DdChannel *ch = user_data;
	g_autofree char *why = NULL;

	ch->out_timer = 0;
	why = g_strdup_printf("the host did not read a reply within %u ms: dropping it and the client",
			      ch->reply_timeout);
	g_warning("%s", why);
	drop_client(ch, NULL);
	pump(ch);
	return G_SOURCE_REMOVE;
}

/*
 * Writes as much of the pending reply as the fd takes; never blocks and
 * never retries on EAGAIN without waiting for POLLOUT.  Returns FALSE when
 * the client was dropped.
 */
static gboolean
flush_out(DdChannel *ch)
{
	gsize len;
	const guint8 *data = g_bytes_get_data(ch->out, &len);

	while (ch->out_off < len) {
		ssize_t n;

		if (is_socket_method(ch))
			n = send(ch->conn_fd, data + ch->out_off, len - ch->out_off, MSG_NOSIGNAL);
		else
			n = write(ch->conn_fd, data + ch->out_off, len - ch->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* The deadline runs from the first time the reply had to wait. */
			if (!ch->out_timer)
				ch->out_timer = g_timeout_add(ch->reply_timeout, on_out_timeout, ch);
			update_watches(ch);
			return TRUE;
		}
		if (n <= 0) {
			g_autofree char *why = g_strdup_printf("writing a reply failed (%s): "
							       "dropping it and the client",
							       n < 0 ? g_strerror(errno) : "no progress");
			drop_client(ch, why);
			return FALSE;
		}
		ch->out_off += n;
	}
	g_clear_pointer(&ch->out, g_bytes_unref);
	g_clear_handle_id(&ch->out_timer, g_source_remove);
	update_watches(ch);
	return TRUE;
}

/* Marks the virtio host away and forgets its client, as for a hang-up. */
static void
host_hung_up(DdChannel *ch, const char *why)
{
	if (is_socket_method(ch)) {
		drop_client(ch, why);
		return;
	}
	/*
	 * virtio_console reports POLLHUP for as long as the host is away, and
	 * a write fails with EAGAIN: waiting for POLLOUT or POLLIN would spin.
	 * Stop watching the port until SIGIO says the host connection changed.
	 * But a host may have connected again since the hang-up was seen, and
	 * its SIGIO been handled already (the main loop dispatches the
	 * signalfd and a stale POLLHUP in either order): then the next SIGIO
	 * is that host's hang-up, and waiting for it would leave its request
	 * unread.  So ask the port whether a host is there now.
	 */
	drop_client(ch, why);
	ch->host_away = !host_connected(ch);
	if (!ch->host_away)
		g_debug("a host is connected again: watching the port");
}

/* virtio: the host may be there again; watch the port for it. */
static void
watch_port_again(DdChannel *ch)
{
	ch->host_away = FALSE;
	update_watches(ch);
}

static gboolean
on_writable(int fd, GIOCondition cond, gpointer user_data)
{
	DdChannel *ch = user_data;

	ch->out_watch = 0;
	/*
	 * A hang-up ends the reply: the host that asked for it is gone, and a
	 * host that connects later must not receive it.  A host that was not
	 * seen connected yet is still connecting: wait for SIGIO.
	 */
	if ((cond & (G_IO_HUP | G_IO_ERR)) && !(cond & G_IO_OUT)) {
		/*
		 * The revents of one poll are dispatched after any source the
		 * same main-loop iteration dispatched first: a SIGIO for a host
		 * that has connected since makes this hang-up stale.
		 */
		if (!is_socket_method(ch) && host_connected(ch)) {
			g_debug("the host connected after the poll that saw it away: writing");
			ch->host_seen = TRUE;
			watch_port_again(ch);
			return G_SOURCE_REMOVE;
		}
		if (!is_socket_method(ch) && !ch->host_seen) {
			g_debug("the host is not connected yet: the reply waits for it");
			ch->host_away = TRUE;
			update_watches(ch);
			return G_SOURCE_REMOVE;
		}
		host_hung_up(ch, "the host hung up before reading a reply: dropping it");
		pump(ch);
		return G_SOURCE_REMOVE;
	}
	if (flush_out(ch))
		pump(ch);
	return G_SOURCE_REMOVE;
}

void
dd_channel_reply(DdChannel *ch, GBytes *reply)
{
	g_return_if_fail(ch->in_flight);
	ch->in_flight = FALSE;
	if (reply && ch->in_flight_serial == ch->conn_serial && ch->conn_fd >= 0) {
		ch->out = g_bytes_ref(reply);
		ch->out_off = 0;
		if (!flush_out(ch))
			return;
	} else if (reply) {
		g_info("the client went away: dropping its reply");
	}
	if (!ch->pumping)
		pump(ch);
}

/* Hands buffered input to the framer, one frame at a time. */
static void
pump(DdChannel *ch)
{
	ch->pumping = TRUE;
	while (!ch->in_flight && !ch->out && ch->conn_fd >= 0 && ch->in_off < ch->in_len) {
		DdFrameKind kind;
		const char *msg = NULL;
		gsize len = 0;

		ch->in_off += dd_framer_feed(ch->framer, ch->inbuf + ch->in_off,
					     ch->in_len - ch->in_off, &kind);
		if (kind == DD_FRAME_NONE)
			continue;
		if (kind == DD_FRAME_MESSAGE)
			msg = dd_framer_message(ch->framer, &len);
		ch->in_flight = TRUE;
		ch->in_flight_serial = ch->conn_serial;
		ch->host_seen = host_connected(ch);
		ch->on_frame(ch, kind, msg, len, ch->user_data);
	}
	ch->pumping = FALSE;
	update_watches(ch);
}

static gboolean
on_readable(int fd, GIOCondition cond, gpointer user_data)
{
	DdChannel *ch = user_data;
	ssize_t n;

	if (cond & G_IO_IN) {
		do
			n = read(fd, ch->inbuf, sizeof(ch->inbuf));
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			ch->in_off = 0;
			ch->in_len = n;
			pump(ch);
			return G_SOURCE_CONTINUE;
		}
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
	}
	/* EOF, an error, or POLLHUP with nothing left to read. */
	ch->conn_watch = 0;
	host_hung_up(ch, is_socket_method(ch) ? "client disconnected" :
		     "host disconnected from the virtio-serial port");
	pump(ch);
	return G_SOURCE_REMOVE;
}

static gboolean on_accept(int fd, GIOCondition cond, gpointer user_data);

/* Sets the fd watches that the state calls for (see the table on top). */
static void
update_watches(DdChannel *ch)
{
	gboolean want_read = ch->conn_fd >= 0 && !ch->host_away && !ch->in_flight &&
			     !ch->out && ch->in_off >= ch->in_len;
	gboolean want_write = ch->conn_fd >= 0 && !ch->host_away && ch->out != NULL;
	gboolean want_accept = ch->listen_fd >= 0 && ch->conn_fd < 0;

	if (want_read && !ch->conn_watch)
		ch->conn_watch = g_unix_fd_add(ch->conn_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					       on_readable, ch);
	else if (!want_read)
		g_clear_handle_id(&ch->conn_watch, g_source_remove);

	if (want_write && !ch->out_watch)
		ch->out_watch = g_unix_fd_add(ch->conn_fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
					      on_writable, ch);
	else if (!want_write)
		g_clear_handle_id(&ch->out_watch, g_source_remove);

	if (want_accept && !ch->listen_watch)
		ch->listen_watch = g_unix_fd_add(ch->listen_fd, G_IO_IN, on_accept, ch);
	else if (!want_accept)
		g_clear_handle_id(&ch->listen_watch, g_source_remove);
}

static gboolean
on_accept(int fd, GIOCondition cond, gpointer user_data)
{
	DdChannel *ch = user_data;
	int c;

	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			g_warning("accept: %s", g_strerror(errno));
		return G_SOURCE_CONTINUE;
	}
	g_info("client connected");
	ch->conn_fd = c;
	ch->listen_watch = 0;
	update_watches(ch);
	return G_SOURCE_REMOVE;
}

/* Binds a non-blocking listening socket to addr; what names it in messages. */
static gboolean
listen_on(DdChannel *ch, const struct sockaddr *addr, socklen_t len, const char *what,
	  GError **error)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, addr, len) < 0 || listen(fd, 4) < 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    "cannot listen on %s %s: %s", what, ch->path, g_strerror(err));
		return FALSE;
	}
	ch->listen_fd = fd;
	g_message("listening on %s %s", what, ch->path);
	return TRUE;
}

static gboolean
listen_unix(DdChannel *ch, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(ch->path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
			    "socket path too long: %s", ch->path);
		return FALSE;
	}
	strncpy(addr.sun_path, ch->path, sizeof(addr.sun_path) - 1);
	/* A socket left by an earlier run is replaced; any other file is not. */
	if (lstat(ch->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(ch->path);
	return listen_on(ch, (struct sockaddr *)&addr, sizeof(addr), "unix socket", error);
}

static gboolean
listen_vsock(DdChannel *ch, GError **error)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	g_auto(GStrv) parts = g_strsplit(ch->path, ":", 2);
	guint64 cid = VMADDR_CID_ANY, port;

	if ((parts[1] && !g_ascii_string_to_unsigned(parts[0], 10, 0, G_MAXUINT32, &cid, NULL)) ||
	    !g_ascii_string_to_unsigned(parts[1] ? parts[1] : parts[0], 10, 0, G_MAXUINT32,
					&port, NULL)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "vsock-listen: path '%s' is not [CID:]PORT", ch->path);
		return FALSE;
	}
	addr.svm_cid = (unsigned int)cid;
	addr.svm_port = (unsigned int)port;
	return listen_on(ch, (struct sockaddr *)&addr, sizeof(addr), "vsock", error);
}

/* ------------------------------------------------------------ virtio-serial */

static gboolean
open_port(DdChannel *ch, const char *node, GError **error)
{
	int fd, flags;

	fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int err = errno;

		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    "cannot open %s: %s", node, g_strerror(err));
		return FALSE;
	}
	/* SIGIO on host connect/disconnect (virtio_console's fasync). */
	flags = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETOWN, getpid()) < 0 || fcntl(fd, F_SETFL, flags | O_ASYNC) < 0)
		g_warning("%s: cannot enable SIGIO (%s): a host that connects later may go unnoticed",
			  node, g_strerror(errno));
	g_free(ch->path);
	ch->path = g_strdup(node);
	ch->conn_fd = fd;
	ch->host_away = FALSE;
	ch->conn_serial++;
	g_message("opened virtio-serial port %s", node);
	update_watches(ch);
	return TRUE;
}

/* Is @dev the virtio-serial port we serve? */
static gboolean
is_our_port(DdChannel *ch, struct udev_device *dev)
{
	const char *name = udev_device_get_sysattr_value(dev, "name");

	return name && strcmp(name, ch->port_name) == 0;
}

static void
open_udev_port(DdChannel *ch, struct udev_device *dev)
{
	g_autoptr(GError) error = NULL;
	const char *node = udev_device_get_devnode(dev);

	if (ch->conn_fd >= 0)
		return;
	if (!node) {
		g_warning("virtio-serial port %s has no device node", ch->port_name);
		return;
	}
	if (!open_port(ch, node, &error))
		g_warning("%s", error->message);
}

static void
find_port(DdChannel *ch)
{
	struct udev *udev = dd_uevents_udev(ch->uevents);
	struct udev_enumerate *en;
	struct udev_list_entry *e;

	if (!udev) {
		g_warning("no udev: cannot look for virtio-serial port %s", ch->port_name);
		return;
	}
	en = udev_enumerate_new(udev);

	udev_enumerate_add_match_subsystem(en, "virtio-ports");
	udev_enumerate_add_match_sysattr(en, "name", ch->port_name);
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev = udev_device_new_from_syspath(udev,
								       udev_list_entry_get_name(e));

		if (dev && is_our_port(ch, dev))
			open_udev_port(ch, dev);
		if (dev)
			udev_device_unref(dev);
		if (ch->conn_fd >= 0)
			break;
	}
	udev_enumerate_unref(en);
	if (ch->conn_fd < 0)
		g_message("virtio-serial port %s not present: waiting for it", ch->port_name);
}

static void
on_port_uevent(struct udev_device *dev, gpointer user_data)
{
	DdChannel *ch = user_data;
	const char *action, *node;

	action = udev_device_get_action(dev);
	node = udev_device_get_devnode(dev);
	if (g_strcmp0(action, "remove") == 0) {
		if (node && ch->conn_fd >= 0 && g_strcmp0(node, ch->path) == 0)
			close_port(ch);
	} else if (ch->conn_fd < 0 && is_our_port(ch, dev)) {
		/* "change" too: the port's name arrives after its "add". */
		open_udev_port(ch, dev);
	}
}

static gboolean
on_sigio(int fd, GIOCondition cond, gpointer user_data)
{
	DdChannel *ch = user_data;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si))
		;
	if (ch->conn_fd < 0)
		return G_SOURCE_CONTINUE;
	if (host_connected(ch)) {
		ch->host_seen = TRUE;
	} else if (ch->host_seen && (ch->in_flight || ch->out)) {
		/* The host that asked left while its request ran: no reply for the next. */
		host_hung_up(ch, "the host hung up before reading a reply: dropping it");
		return G_SOURCE_CONTINUE;
	}
	if (ch->host_away) {
		g_debug("SIGIO: watching the port again");
		watch_port_again(ch);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
setup_virtio(DdChannel *ch, GError **error)
{
	sigset_t mask;

	/* main() blocked SIGIO before any thread started; it arrives here. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGIO);
	ch->sigio_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ch->sigio_fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "signalfd: %s", g_strerror(errno));
		return FALSE;
	}
	ch->sigio_watch = g_unix_fd_add(ch->sigio_fd, G_IO_IN, on_sigio, ch);

	if (ch->explicit_path)
		return open_port(ch, ch->path, error);

	if (!dd_uevents_udev(ch->uevents)) {
		g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
				    "no udev: cannot look for the virtio-serial port");
		return FALSE;
	}
	ch->subscribed = dd_uevents_subscribe(ch->uevents, "virtio-ports", on_port_uevent, ch);
	if (!ch->subscribed)
		g_warning("a virtio-serial port that appears later goes unnoticed");
	find_port(ch);
	return TRUE;
}

DdChannel *
dd_channel_new(const DdConfig *config, DdUevents *uevents, DdFrameFunc on_frame,
	       gpointer user_data, GError **error)
{
	g_autoptr(DdChannel) ch = g_new0(DdChannel, 1);
	gboolean ok = FALSE;

	ch->method = config->method;
	ch->explicit_path = config->path != NULL;
	ch->path = g_strdup(config->path);
	ch->port_name = g_strdup(DD_DEFAULT_PORT_NAME);
	ch->reply_timeout = config->reply_timeout;
	ch->on_frame = on_frame;
	ch->user_data = user_data;
	ch->uevents = uevents;
	ch->framer = dd_framer_new(config->max_message_size, config->max_nesting_depth);
	ch->listen_fd = ch->conn_fd = ch->sigio_fd = -1;

	switch (ch->method) {
	case DD_METHOD_UNIX_LISTEN:
		ok = listen_unix(ch, error);
		break;
	case DD_METHOD_VSOCK_LISTEN:
		ok = listen_vsock(ch, error);
		break;
	case DD_METHOD_VIRTIO_SERIAL:
		ok = setup_virtio(ch, error);
		break;
	}
	if (!ok)
		return NULL;
	update_watches(ch);
	return g_steal_pointer(&ch);
}

void
dd_channel_free(DdChannel *ch)
{
	if (!ch)
		return;
	g_clear_handle_id(&ch->conn_watch, g_source_remove);
	g_clear_handle_id(&ch->out_watch, g_source_remove);
	g_clear_handle_id(&ch->out_timer, g_source_remove);
	g_clear_handle_id(&ch->listen_watch, g_source_remove);
	g_clear_handle_id(&ch->sigio_watch, g_source_remove);
	if (ch->subscribed)
		dd_uevents_unsubscribe(ch->uevents, on_port_uevent, ch);
	g_clear_pointer(&ch->out, g_bytes_unref);
	if (ch->conn_fd >= 0)
		close(ch->conn_fd);
	if (ch->listen_fd >= 0) {
		close(ch->listen_fd);
		if (ch->method == DD_METHOD_UNIX_LISTEN)
			unlink(ch->path);
	}
	if (ch->sigio_fd >= 0)
		close(ch->sigio_fd);
	dd_framer_free(ch->framer);
	g_free(ch->path);
	g_free(ch->port_name);
	g_free(ch);
}
