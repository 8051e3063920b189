/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_UEVENT_H
#define DD_UEVENT_H

#include <glib.h>
#include <libudev.h>

/*
 * The agent's one source of device events: a libudev monitor on the
 * kernel's own uevents (no udevd needed, as in an initramfs), shared by
 * the parts that wait for a device: the channel (its virtio-serial port)
 * and the kernel interface (/dev/dmadirty).  Each subscribes to one
 * subsystem.
 */

typedef struct DdUevents DdUevents;

/* A uevent of a subscribed subsystem; @dev is only valid during the call. */
typedef void (*DdUeventFunc)(struct udev_device *dev, gpointer user_data);

/**
 * dd_uevents_new:
 * Never NULL: without libudev or netlink the monitor is missing (logged
 * once), and devices that appear later go unnoticed.
 */
DdUevents *dd_uevents_new(void);
void dd_uevents_free(DdUevents *uevents);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdUevents, dd_uevents_free)

/** dd_uevents_udev: the udev context, for enumerating; NULL without one. */
struct udev *dd_uevents_udev(DdUevents *uevents);

/**
 * dd_uevents_subscribe:
 * Calls @func for every uevent of @subsystem from now on, from the main
 * loop, until dd_uevents_unsubscribe() with the same @func and @user_data.
 * Returns FALSE when there is no monitor.
 */
gboolean dd_uevents_subscribe(DdUevents *uevents, const char *subsystem, DdUeventFunc func,
			      gpointer user_data);
void dd_uevents_unsubscribe(DdUevents *uevents, DdUeventFunc func, gpointer user_data);

#endif /* DD_UEVENT_H */
