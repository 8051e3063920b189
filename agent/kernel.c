/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel interface: see kernel.h.
 */
#define G_LOG_DOMAIN "dmadirty-kernel"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib-unix.h>

#include "kernel.h"
#include "dmadirty_vendor.h"

struct DdKernel {
	char *sysctl_path;
	char *device_path;
	DdHostFunc host_changed;
	gpointer user_data;

	int dev_fd;		/* -1 when the device is not open */
	int dev_errno;		/* why not: the failed open()'s or HELLO's errno */
	gboolean dev_hello_failed;	/* dev_errno is HELLO's */
	guint32 dev_features;
	guint dev_watch;	/* POLLIN on dev_fd */

	DdUevents *uevents;
	guint initial_idle;	/* reports the host state found at open */
	struct dmadirty_host initial;
};

G_DEFINE_QUARK(dmadirty-kernel-error-quark, dd_kernel_error)

static void
set_errno_error(GError **error, int err, const char *what, const char *path)
{
	if (err == ENOENT)
		g_set_error(error, DD_KERNEL_ERROR, DD_KERNEL_ERROR_NO_SYSCTL,
			    "no sysctl %s: the dmadirty module is not loaded and the kernel "
			    "lacks vm.dma_mark_dirty", path);
	else if (err == EACCES || err == EPERM || err == EROFS)
		g_set_error(error, DD_KERNEL_ERROR, DD_KERNEL_ERROR_PERMISSION,
			    "permission denied %s %s: %s", what, path, g_strerror(err));
	else
		g_set_error(error, DD_KERNEL_ERROR, DD_KERNEL_ERROR_FAILED,
			    "%s %s: %s", what, path, g_strerror(err));
}

char **
dd_kernel_coverage(DdKernel *k, const char *which)
{
	g_autofree char *path = NULL;
	g_autofree char *text = NULL;
	struct stat st;

	if (stat(k->device_path, &st) < 0 || !S_ISCHR(st.st_mode))
		return NULL;
	path = g_strdup_printf("/sys/dev/char/%u:%u/%s", major(st.st_rdev), minor(st.st_rdev),
			       which);
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	g_strstrip(text);
	if (!*text)
		return g_new0(char *, 1);
	return g_strsplit(text, " ", -1);
}

/* Reads the sysctl's text, stripped. */
static gboolean
read_sysctl(DdKernel *k, char *buf, gsize size, GError **error)
{
	ssize_t n;
	int fd, err;

	fd = open(k->sysctl_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_errno_error(error, errno, "reading", k->sysctl_path);
		return FALSE;
	}
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (n < 0) {
		set_errno_error(error, err, "reading", k->sysctl_path);
		return FALSE;
	}
	buf[n] = '\0';
	g_strstrip(buf);
	return TRUE;
}

gboolean
dd_kernel_get(DdKernel *k, gboolean *on, GError **error)
{
	char buf[32];

	if (!read_sysctl(k, buf, sizeof(buf), error))
		return FALSE;
	if (strcmp(buf, "0") != 0 && strcmp(buf, "1") != 0) {
		g_set_error(error, DD_KERNEL_ERROR, DD_KERNEL_ERROR_READ_BACK,
			    "%s holds '%s', not 0 or 1", k->sysctl_path, buf);
		return FALSE;
	}
	*on = buf[0] == '1';
	return TRUE;
}

gboolean
dd_kernel_set(DdKernel *k, gboolean on, GError **error)
{
	const char *val = on ? "1\n" : "0\n";
	char buf[32];
	ssize_t n;
	int fd, err;

	/* No O_CREAT: a missing sysctl must stay missing. */
	fd = open(k->sysctl_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		set_errno_error(error, errno, "writing", k->sysctl_path);
		return FALSE;
	}
	/*
	 * The kernel's write handler returns only after the probes are armed
	 * (or disarmed) and an RCU grace period has passed.
	 */
	do
		n = write(fd, val, 2);
	while (n < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (n != 2 && n < 0 && on && err == EOPNOTSUPP) {
		g_auto(GStrv) missing = dd_kernel_coverage(k, "missing");
		g_autofree char *names = missing && missing[0] ?
			g_strjoinv(", ", missing) : g_strdup("(the module did not say)");

		g_set_error(error, DD_KERNEL_ERROR, DD_KERNEL_ERROR_COVERAGE,
			    "dirtying refused: the module cannot cover these DMA entry points "
			    "of the running kernel: %s", names);
		return FALSE;
	}
	if (n != 2) {
		set_errno_error(error, n < 0 ? err : EIO, "writing", k->sysctl_path);
		return FALSE;
	}

	if (!read_sysctl(k, buf, sizeof(buf), error))
		return FALSE;
	if (strcmp(buf, on ? "1" : "0") != 0) {
		g_set_error(error, DD_KERNEL_ERROR, DD_KERNEL_ERROR_READ_BACK,
			    "%s read back '%s' after writing %d", k->sysctl_path, buf, on ? 1 : 0);
		return FALSE;
	}
	return TRUE;
}

static int
xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

static void close_device(DdKernel *k);

static gboolean
on_device_ready(int fd, GIOCondition cond, gpointer user_data)
{
	DdKernel *k = user_data;
	struct dmadirty_host host;
	ssize_t n;

	if (cond & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
		g_warning("%s: the device went away", k->device_path);
		k->dev_watch = 0;
		close_device(k);
		return G_SOURCE_REMOVE;
	}
	n = read(fd, &host, sizeof(host));
	if (n == (ssize_t)sizeof(host)) {
		g_debug("host state %u, sequence %u (device)", host.state, host.sequence);
		if (host.present)
			k->host_changed(host.state, host.sequence, k->user_data);
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		g_warning("%s: read: %s; closing it", k->device_path, g_strerror(errno));
		k->dev_watch = 0;
		close_device(k);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
report_initial(gpointer user_data)
{
	DdKernel *k = user_data;

	k->initial_idle = 0;
	/* The host state found at open; dirty.c decides what it means. */
	if (k->initial.present)
		k->host_changed(k->initial.state, k->initial.sequence, k->user_data);
	return G_SOURCE_REMOVE;
}

static void
open_device(DdKernel *k)
{
	struct dmadirty_hello hello = { .version = DMADIRTY_API_VERSION };
	int fd;

	if (k->dev_fd >= 0)
		return;
	fd = open(k->device_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		k->dev_errno = errno;
		k->dev_hello_failed = FALSE;
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			g_debug("%s: %s: no module", k->device_path, g_strerror(errno));
		else if (errno == EBUSY)
			g_warning("cannot open %s: another process holds it: the module is "
				  "not watching the host for this agent", k->device_path);
		else
			g_warning("cannot open %s: %s", k->device_path, g_strerror(errno));
		return;
	}
	if (xioctl(fd, DMADIRTY_IOC_HELLO, &hello) < 0) {
		k->dev_errno = errno;
		k->dev_hello_failed = TRUE;
		g_warning("%s: HELLO failed: %s", k->device_path, g_strerror(errno));
		close(fd);
		return;
	}
	k->dev_fd = fd;
	k->dev_errno = 0;
	k->dev_hello_failed = FALSE;
	k->dev_features = hello.features;
	g_message("%s: module API version %u, features 0x%x", k->device_path,
		  hello.version, hello.features);
	k->dev_watch = g_unix_fd_add(fd, G_IO_IN | G_IO_ERR | G_IO_HUP, on_device_ready, k);

	if (xioctl(fd, DMADIRTY_IOC_HOST, &k->initial) == 0 && !k->initial_idle)
		k->initial_idle = g_idle_add(report_initial, k);
}

static void
close_device(DdKernel *k)
{
	g_clear_handle_id(&k->dev_watch, g_source_remove);
	g_clear_handle_id(&k->initial_idle, g_source_remove);
	if (k->dev_fd >= 0) {
		close(k->dev_fd);
		k->dev_fd = -1;
		k->dev_errno = ENODEV;
		k->dev_hello_failed = FALSE;
		g_message("%s closed", k->device_path);
	}
}

/*
 * The device's arrival and departure.  Host-state changes are read from the
 * device (POLLIN); the module's "change" uevents carry the same state and
 * are only a reason to try opening a device not open yet.
 */
static void
on_uevent(struct udev_device *dev, gpointer user_data)
{
	DdKernel *k = user_data;
	const char *action = udev_device_get_action(dev);
	const char *name = udev_device_get_sysname(dev);

	if (!action || !name || strcmp(name, DMADIRTY_DEVICE_NAME) != 0)
		return;
	if (strcmp(action, "remove") == 0)
		close_device(k);
	else
		open_device(k);
}

DdKernel *
dd_kernel_new(const char *sysctl_path, const char *device_path, DdUevents *uevents,
	      DdHostFunc host_changed, gpointer user_data)
{
	DdKernel *k = g_new0(DdKernel, 1);

	k->sysctl_path = g_strdup(sysctl_path);
	k->device_path = g_strdup(device_path);
	k->host_changed = host_changed;
	k->user_data = user_data;
	k->dev_fd = -1;
	k->dev_errno = ENOENT;
	k->uevents = uevents;
	if (!dd_uevents_subscribe(uevents, "misc", on_uevent, k))
		g_warning("%s: a module loaded later will not be noticed", k->device_path);
	open_device(k);
	return k;
}

void
dd_kernel_free(DdKernel *k)
{
	if (!k)
		return;
	close_device(k);
	dd_uevents_unsubscribe(k->uevents, on_uevent, k);
	g_free(k->sysctl_path);
	g_free(k->device_path);
	g_free(k);
}

gboolean
dd_kernel_ack(DdKernel *k, guint32 sequence, gboolean dirtying)
{
	struct dmadirty_ack ack = {
		.generation = sequence,
		.state = dirtying ? DMADIRTY_GUEST_STATE_DIRTYING : 0,
	};

	if (k->dev_fd < 0)
		return FALSE;
	if (xioctl(k->dev_fd, DMADIRTY_IOC_ACK, &ack) < 0) {
		g_warning("%s: ACK of %u failed: %s", k->device_path, sequence, g_strerror(errno));
		return FALSE;
	}
	return (ack.flags & DMADIRTY_ACK_BRIDGE) != 0;
}

gboolean
dd_kernel_status(DdKernel *k, struct dmadirty_status *status)
{
	memset(status, 0, sizeof(*status));
	if (k->dev_fd < 0)
		return FALSE;
	if (xioctl(k->dev_fd, DMADIRTY_IOC_STATUS, status) < 0) {
		g_warning("%s: STATUS failed: %s", k->device_path, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

DdDeviceState
dd_kernel_device_state(DdKernel *k, char **why)
{
	DdDeviceState state;

	if (k->dev_fd >= 0)
		state = DD_DEVICE_OPEN;
	else if (k->dev_errno == ENOENT || k->dev_errno == ENXIO || k->dev_errno == ENODEV)
		state = DD_DEVICE_ABSENT;
	else if (k->dev_errno == EBUSY && !k->dev_hello_failed)
		state = DD_DEVICE_BUSY;
	else
		state = DD_DEVICE_FAILED;
	if (!why)
		return state;
	switch (state) {
	case DD_DEVICE_OPEN:
		*why = NULL;
		break;
	case DD_DEVICE_ABSENT:
		*why = g_strdup_printf("%s does not exist: the dmadirty module is not loaded",
				       k->device_path);
		break;
	case DD_DEVICE_BUSY:
		*why = g_strdup_printf("%s is held by another process", k->device_path);
		break;
	case DD_DEVICE_FAILED:
		*why = g_strdup_printf("%s: %s failed: %s", k->device_path,
				       k->dev_hello_failed ? "the version handshake" : "open",
				       g_strerror(k->dev_errno));
		break;
	}
	return state;
}

const char *
dd_device_state_name(DdDeviceState state)
{
	static const char *const names[] = {
		[DD_DEVICE_OPEN] = "open",
		[DD_DEVICE_ABSENT] = "absent",
		[DD_DEVICE_BUSY] = "busy",
		[DD_DEVICE_FAILED] = "failed",
	};

	return names[state];
}

const char *
dd_kernel_source(DdKernel *k)
{
	struct dmadirty_status st;

	if (dd_kernel_status(k, &st))
		return st.source == DMADIRTY_SOURCE_MODULE ? "module" : "kernel";
	if (access(k->sysctl_path, F_OK) != 0)
		return "none";
	/*
	 * Without the module only the kernel can provide the sysctl.  With the
	 * module loaded but its device not ours, either may: only the module
	 * knows, and it cannot be asked.
	 */
	return dd_kernel_device_state(k, NULL) == DD_DEVICE_ABSENT ? "kernel" : "unknown";
}
