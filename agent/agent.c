/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent: ties the channel, the dispatcher and the dirtying state
 * together.  Each frame from the channel goes to the dispatcher; its reply
 * goes back to the channel, which then reads the next request.
 */
#define G_LOG_DOMAIN "dmadirty-agent"
#include "config.h"

#include "agent.h"

DdAgent *
dd_agent_new(DdConfig *config, GError **error)
{
	g_autoptr(DdAgent) agent = g_new0(DdAgent, 1);

	agent->config = config;
	agent->dispatcher = dd_dispatcher_new(agent, (const char *const *)config->allow_rpcs,
					      (const char *const *)config->block_rpcs, error);
	if (!agent->dispatcher)
		return NULL;
	dd_dispatcher_set_limits(agent->dispatcher, config->max_message_size,
				 config->max_nesting_depth);
	/* The state machine exists before the kernel can report to it. */
	agent->dirty = dd_dirty_new(NULL, config->hooks_dir, config->hook_timeout);
	agent->uevents = dd_uevents_new();
	agent->kernel = dd_kernel_new(config->sysctl_path, config->device_path, agent->uevents,
				      dd_dirty_host_changed, agent->dirty);
	dd_dirty_set_kernel(agent->dirty, agent->kernel);
	return g_steal_pointer(&agent);
}

void
dd_agent_free(DdAgent *agent)
{
	if (!agent)
		return;
	/* Fails any operation in flight while the channel can still take its reply. */
	g_clear_pointer(&agent->dirty, dd_dirty_free);
	g_clear_pointer(&agent->channel, dd_channel_free);
	g_clear_pointer(&agent->kernel, dd_kernel_free);
	g_clear_pointer(&agent->uevents, dd_uevents_free);
	g_clear_pointer(&agent->dispatcher, dd_dispatcher_free);
	g_clear_pointer(&agent->config, dd_config_free);
	g_free(agent);
}

static void
on_reply(GBytes *reply, gpointer user_data)
{
	DdAgent *agent = user_data;

	dd_channel_reply(agent->channel, reply);
}

static void
on_frame(DdChannel *channel, DdFrameKind kind, const char *msg, gsize len, gpointer user_data)
{
	DdAgent *agent = user_data;

	if (kind == DD_FRAME_MESSAGE)
		dd_dispatcher_handle(agent->dispatcher, msg, len, on_reply, agent);
	else
		dd_dispatcher_handle_frame_error(agent->dispatcher, kind, on_reply, agent);
}

gboolean
dd_agent_listen(DdAgent *agent, GError **error)
{
	agent->channel = dd_channel_new(agent->config, agent->uevents, on_frame, agent, error);
	return agent->channel != NULL;
}
