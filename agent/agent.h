/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_AGENT_H
#define DD_AGENT_H

#include <glib.h>

#include "agent-config.h"
#include "channel.h"
#include "dirty.h"
#include "dispatch.h"
#include "kernel.h"
#include "uevent.h"

/*
 * The agent's state, in one struct passed explicitly to every handler.
 * dd_agent_new() builds everything but the channel, so that tests and the
 * fuzzer can drive the dispatcher without a transport.
 */
struct DdAgent {
	DdConfig *config;
	DdUevents *uevents;	/* device events for the kernel code and the channel */
	DdKernel *kernel;
	DdDirty *dirty;
	DdDispatcher *dispatcher;
	DdChannel *channel;	/* NULL until dd_agent_listen() */
};

/** dd_agent_new: takes @config. */
DdAgent *dd_agent_new(DdConfig *config, GError **error);
void dd_agent_free(DdAgent *agent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdAgent, dd_agent_free)

/** dd_agent_listen: opens the configured transport and starts serving. */
gboolean dd_agent_listen(DdAgent *agent, GError **error);

#endif /* DD_AGENT_H */
