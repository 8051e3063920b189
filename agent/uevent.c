/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device events: see uevent.h.
 */
#define G_LOG_DOMAIN "dmadirty-uevent"
#include "config.h"

#include <string.h>

#include <glib-unix.h>

#include "uevent.h"

typedef struct {
	char *subsystem;
	DdUeventFunc func;
	gpointer user_data;
} Subscriber;

struct DdUevents {
	struct udev *udev;
	struct udev_monitor *monitor;
	guint watch;
	GArray *subscribers;	/* of Subscriber */
};

static void
clear_subscriber(gpointer p)
{
	Subscriber *s = p;

	g_free(s->subsystem);
}

static gboolean
on_uevent(int fd, GIOCondition cond, gpointer user_data)
{
	DdUevents *u = user_data;
	struct udev_device *dev = udev_monitor_receive_device(u->monitor);
	const char *subsystem;
	guint i;

	if (!dev)
		return G_SOURCE_CONTINUE;
	subsystem = udev_device_get_subsystem(dev);
	g_debug("uevent %s %s %s", udev_device_get_action(dev), subsystem ? subsystem : "",
		udev_device_get_sysname(dev));
	/*
	 * Backwards, so that a callback may unsubscribe itself (though no
	 * other subscriber).
	 */
	for (i = u->subscribers->len; i-- > 0;) {
		Subscriber *s = &g_array_index(u->subscribers, Subscriber, i);

		if (g_strcmp0(s->subsystem, subsystem) == 0)
			s->func(dev, s->user_data);
	}
	udev_device_unref(dev);
	return G_SOURCE_CONTINUE;
}

DdUevents *
dd_uevents_new(void)
{
	DdUevents *u = g_new0(DdUevents, 1);

	u->subscribers = g_array_new(FALSE, TRUE, sizeof(Subscriber));
	g_array_set_clear_func(u->subscribers, clear_subscriber);
	u->udev = udev_new();
	if (u->udev)
		u->monitor = udev_monitor_new_from_netlink(u->udev, "kernel");
	if (!u->monitor) {
		g_warning("no udev monitor: devices that appear later go unnoticed");
		return u;
	}
	/* Filters are added as parts subscribe; until then, nothing passes. */
	if (udev_monitor_filter_add_match_subsystem_devtype(u->monitor, "dmadirty-none", NULL) < 0 ||
	    udev_monitor_enable_receiving(u->monitor) < 0) {
		g_warning("cannot receive uevents: devices that appear later go unnoticed");
		g_clear_pointer(&u->monitor, udev_monitor_unref);
		return u;
	}
	u->watch = g_unix_fd_add(udev_monitor_get_fd(u->monitor), G_IO_IN, on_uevent, u);
	return u;
}

void
dd_uevents_free(DdUevents *u)
{
	if (!u)
		return;
	g_clear_handle_id(&u->watch, g_source_remove);
	g_clear_pointer(&u->monitor, udev_monitor_unref);
	g_clear_pointer(&u->udev, udev_unref);
	g_array_unref(u->subscribers);
	g_free(u);
}

struct udev *
dd_uevents_udev(DdUevents *u)
{
	return u->udev;
}

gboolean
dd_uevents_subscribe(DdUevents *u, const char *subsystem, DdUeventFunc func, gpointer user_data)
{
	Subscriber s = { g_strdup(subsystem), func, user_data };

	if (!u->monitor) {
		g_free(s.subsystem);
		return FALSE;
	}
	if (udev_monitor_filter_add_match_subsystem_devtype(u->monitor, subsystem, NULL) < 0 ||
	    udev_monitor_filter_update(u->monitor) < 0) {
		g_warning("cannot watch uevents of %s", subsystem);
		g_free(s.subsystem);
		return FALSE;
	}
	g_array_append_val(u->subscribers, s);
	return TRUE;
}

void
dd_uevents_unsubscribe(DdUevents *u, DdUeventFunc func, gpointer user_data)
{
	guint i;

	for (i = 0; i < u->subscribers->len; i++) {
		Subscriber *s = &g_array_index(u->subscribers, Subscriber, i);

		if (s->func == func && s->user_data == user_data) {
			g_array_remove_index(u->subscribers, i);
			return;
		}
	}
}
