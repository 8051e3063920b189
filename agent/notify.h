/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_NOTIFY_H
#define DD_NOTIFY_H

#include <glib.h>

/**
 * dd_notify:
 * Sends @state ("READY=1", "STOPPING=1", ...) to the service manager
 * through $NOTIFY_SOCKET, as sd_notify() does, without libsystemd.  Does
 * nothing when NOTIFY_SOCKET is unset.
 */
gboolean dd_notify(const char *state, GError **error);

#endif /* DD_NOTIFY_H */
