/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command handlers: see commands.h and proto/rpc-schema.json.
 */
#define G_LOG_DOMAIN "dmadirty-commands"
#include "config.h"

#include "agent.h"
#include "commands.h"
#include "dmadirty_uapi.h"

static gint64
get_int(json_object *args, const char *name, gint64 dflt)
{
	json_object *v;

	return args && json_object_object_get_ex(args, name, &v) ? json_object_get_int64(v) : dflt;
}

static const char *
get_string(json_object *args, const char *name)
{
	json_object *v;

	return args && json_object_object_get_ex(args, name, &v) ? json_object_get_string(v) : NULL;
}

void
cmd_guest_sync(DdAgent *agent, json_object *args, DdRequest *req)
{
	dd_request_return(req, json_object_new_int64(get_int(args, "id", 0)));
}

void
cmd_guest_sync_delimited(DdAgent *agent, json_object *args, DdRequest *req)
{
	dd_request_set_delimited(req);
	dd_request_return(req, json_object_new_int64(get_int(args, "id", 0)));
}

void
cmd_guest_ping(DdAgent *agent, json_object *args, DdRequest *req)
{
	dd_request_return(req, json_object_new_object());
}

void
cmd_guest_info(DdAgent *agent, json_object *args, DdRequest *req)
{
	json_object *ret = json_object_new_object();
	json_object *cmds = json_object_new_array();
	guint i;

	for (i = 0; i < dd_rpc_n_commands; i++) {
		json_object *c = json_object_new_object();
		const char *name = dd_rpc_commands[i].name;

		json_object_object_add(c, "name", json_object_new_string(name));
		json_object_object_add(c, "enabled", json_object_new_boolean(
				       dd_dispatcher_enabled(agent->dispatcher, name)));
		json_object_object_add(c, "success-response", json_object_new_boolean(TRUE));
		json_object_array_add(cmds, c);
	}
	json_object_object_add(ret, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(ret, "supported_commands", cmds);
	dd_request_return(req, ret);
}

static void
switch_done(const DdDirtyResult *res, GError *error, gpointer user_data, gboolean with_source)
{
	DdRequest *req = user_data;
	json_object *ret;

	if (error) {
		dd_request_error(req, error);
		return;
	}
	ret = json_object_new_object();
	json_object_object_add(ret, "enabled", json_object_new_boolean(res->enabled));
	json_object_object_add(ret, "generation", json_object_new_int64(res->generation));
	json_object_object_add(ret, "ack", json_object_new_string(res->bridge ? "bridge" : "none"));
	if (with_source)
		json_object_object_add(ret, "source", json_object_new_string(res->source));
	dd_request_return(req, ret);
}

static void
enable_done(const DdDirtyResult *res, GError *error, gpointer user_data)
{
	switch_done(res, error, user_data, TRUE);
}

static void
disable_done(const DdDirtyResult *res, GError *error, gpointer user_data)
{
	switch_done(res, error, user_data, FALSE);
}

void
cmd_guest_dma_dirty_enable(DdAgent *agent, json_object *args, DdRequest *req)
{
	gint64 lease = get_int(args, "lease", 0);

	if (lease < 0) {
		dd_request_error(req, g_error_new(DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
			"lease is negative (%" G_GINT64_FORMAT ")", lease));
		return;
	}
	if (lease > DD_MAX_LEASE) {
		dd_request_error(req, g_error_new(DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
			"lease %" G_GINT64_FORMAT " s exceeds the maximum of %u s", lease,
			DD_MAX_LEASE));
		return;
	}
	dd_dirty_enable(agent->dirty, (guint)lease, get_string(args, "tag"), enable_done, req);
}

void
cmd_guest_dma_dirty_disable(DdAgent *agent, json_object *args, DdRequest *req)
{
	dd_dirty_disable(agent->dirty, get_string(args, "tag"), disable_done, req);
}

/* The module's coverage list @which as a JSON array, when it has one. */
static void
add_coverage(json_object *ret, DdKernel *kernel, const char *which)
{
	g_auto(GStrv) names = dd_kernel_coverage(kernel, which);
	json_object *list;
	guint i;

	if (!names)
		return;
	list = json_object_new_array();
	for (i = 0; names[i]; i++)
		json_object_array_add(list, json_object_new_string(names[i]));
	json_object_object_add(ret, which, list);
}

void
cmd_guest_dma_dirty_status(DdAgent *agent, json_object *args, DdRequest *req)
{
	static const char *const counter_names[] = DMADIRTY_COUNTER_NAMES;
	json_object *ret = json_object_new_object();
	json_object *bridge = json_object_new_object();
	json_object *counters = json_object_new_object();
	struct dmadirty_status st;
	gboolean on = FALSE;
	gboolean have_dev;
	g_autofree char *why = NULL;
	DdDeviceState dev;
	guint i;

	G_STATIC_ASSERT(G_N_ELEMENTS(counter_names) == DMADIRTY_NR_COUNTERS_USED);

	if (!dd_kernel_get(agent->kernel, &on, NULL))
		on = FALSE;
	have_dev = dd_kernel_status(agent->kernel, &st);

	json_object_object_add(ret, "enabled", json_object_new_boolean(on));
	json_object_object_add(ret, "source", json_object_new_string(dd_kernel_source(agent->kernel)));
	dev = dd_kernel_device_state(agent->kernel, &why);
	json_object_object_add(ret, "device", json_object_new_string(dd_device_state_name(dev)));
	if (why)
		json_object_object_add(ret, "device-error", json_object_new_string(why));
	json_object_object_add(ret, "generation",
			       json_object_new_int64(dd_dirty_generation(agent->dirty)));
	json_object_object_add(ret, "lease-remaining",
			       json_object_new_int64(dd_dirty_lease_remaining(agent->dirty)));
	json_object_object_add(bridge, "present",
			       json_object_new_boolean(have_dev && st.host.present));
	json_object_object_add(bridge, "host-state", json_object_new_int64(st.host.state));
	json_object_object_add(bridge, "acked-generation", json_object_new_int64(st.acked_sequence));
	json_object_object_add(ret, "bridge", bridge);
	if (have_dev)
		for (i = 0; i < DMADIRTY_NR_COUNTERS_USED; i++)
			json_object_object_add(counters, counter_names[i],
					       json_object_new_uint64(st.counters[i]));
	json_object_object_add(ret, "counters", counters);
	add_coverage(ret, agent->kernel, "hooks");
	add_coverage(ret, agent->kernel, "missing");
	add_coverage(ret, agent->kernel, "uncovered");
	dd_request_return(req, ret);
}
