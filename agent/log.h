/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_LOG_H
#define DD_LOG_H

#include <glib.h>

/*
 * The agent's log lines: "dmadirty-agent: LEVEL: [COMPONENT: ]MESSAGE".
 * COMPONENT is the log domain without its "dmadirty-" prefix ("channel"),
 * a library's domain as it is ("GLib-GIO"), and nothing for the agent's
 * own domain, "dmadirty-agent".
 */

/** dd_log_format: the line for one message, without a newline. */
char *dd_log_format(const char *domain, GLogLevelFlags level, const char *message);

#endif /* DD_LOG_H */
