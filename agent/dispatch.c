/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RPC dispatch: see dispatch.h.  Error texts follow qemu's QMP dispatcher
 * where it has one, so that tools written against qemu-ga read ours too.
 */
#define G_LOG_DOMAIN "dmadirty-dispatch"
#include "config.h"

#include <string.h>

#include "agent-config.h"
#include "dispatch.h"
#include "qga.h"

struct DdDispatcher {
	DdAgent *agent;
	gboolean *enabled;	/* indexed like dd_rpc_commands */
	gsize max_size;
	guint max_depth;
};

struct DdRequest {
	const DdCommand *cmd;
	json_object *id;	/* NULL when the request had none */
	gboolean delimited;
	DdReplyFunc done;
	gpointer user_data;
};

G_DEFINE_QUARK(dmadirty-rpc-error-quark, dd_rpc_error)

const DdCommand *
dd_rpc_lookup(const char *name)
{
	guint i;

	for (i = 0; i < dd_rpc_n_commands; i++)
		if (strcmp(dd_rpc_commands[i].name, name) == 0)
			return &dd_rpc_commands[i];
	return NULL;
}

static gboolean
check_list(const char *const *list, const char *what, GError **error)
{
	for (; list && *list; list++) {
		if (!dd_rpc_lookup(*list)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "%s: unknown command '%s'", what, *list);
			return FALSE;
		}
	}
	return TRUE;
}

DdDispatcher *
dd_dispatcher_new(DdAgent *agent, const char *const *allow, const char *const *block,
		  GError **error)
{
	g_autoptr(DdDispatcher) d = NULL;
	guint i;

	if (!check_list(allow, "allow-rpcs", error) || !check_list(block, "block-rpcs", error))
		return NULL;

	d = g_new0(DdDispatcher, 1);
	d->agent = agent;
	d->max_size = DD_DEFAULT_MAX_MESSAGE_SIZE;
	d->max_depth = DD_DEFAULT_MAX_NESTING_DEPTH;
	d->enabled = g_new0(gboolean, dd_rpc_n_commands);
	for (i = 0; i < dd_rpc_n_commands; i++) {
		const char *name = dd_rpc_commands[i].name;

		d->enabled[i] = (!allow || g_strv_contains(allow, name)) &&
				!(block && g_strv_contains(block, name));
	}
	return g_steal_pointer(&d);
}

void
dd_dispatcher_free(DdDispatcher *dispatcher)
{
	if (!dispatcher)
		return;
	g_free(dispatcher->enabled);
	g_free(dispatcher);
}

void
dd_dispatcher_set_limits(DdDispatcher *dispatcher, gsize max_size, guint max_depth)
{
	dispatcher->max_size = max_size;
	dispatcher->max_depth = max_depth;
}

gboolean
dd_dispatcher_enabled(DdDispatcher *dispatcher, const char *name)
{
	const DdCommand *cmd = dd_rpc_lookup(name);

	return cmd && dispatcher->enabled[cmd - dd_rpc_commands];
}

static void
finish(DdRequest *req, json_object *reply)
{
	GString *s = g_string_sized_new(64);
	g_autoptr(GBytes) bytes = NULL;

	if (req->id)
		json_object_object_add(reply, "id", json_object_get(req->id));
	if (req->delimited)
		g_string_append_c(s, (char)QGA_DELIMITER);
	g_string_append(s, json_object_to_json_string_ext(reply,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	g_string_append_c(s, '\n');
	json_object_put(reply);

	bytes = g_string_free_to_bytes(s);
	req->done(bytes, req->user_data);
	json_object_put(req->id);
	g_free(req);
}

void
dd_request_return(DdRequest *req, json_object *ret)
{
	finish(req, qga_reply_return(ret));
}

void
dd_request_error(DdRequest *req, GError *error)
{
	const char *klass = "GenericError";

	if (g_error_matches(error, DD_RPC_ERROR, DD_RPC_ERROR_COMMAND_NOT_FOUND))
		klass = "CommandNotFound";
	if (req->cmd)
		g_info("%s failed: %s", req->cmd->name, error->message);
	finish(req, qga_reply_error(klass, error->message));
	g_error_free(error);
}

void
dd_request_set_delimited(DdRequest *req)
{
	req->delimited = TRUE;
}

static const char *
type_name(DdArgType type)
{
	switch (type) {
	case DD_ARG_INT:
		return "integer";
	case DD_ARG_STRING:
		return "string";
	case DD_ARG_BOOL:
		return "boolean";
	}
	return "?";
}

static gboolean
type_matches(json_object *val, DdArgType type)
{
	switch (type) {
	case DD_ARG_INT:
		return json_object_is_type(val, json_type_int);
	case DD_ARG_STRING:
		return json_object_is_type(val, json_type_string);
	case DD_ARG_BOOL:
		return json_object_is_type(val, json_type_boolean);
	}
	return FALSE;
}

/* Checks @args against the command's specs; NULL @args means none given. */
static gboolean
check_args(const DdCommand *cmd, json_object *args, GError **error)
{
	guint i;

	if (args) {
		json_object_object_foreach(args, key, val) {
			const DdArgSpec *spec = NULL;

			(void)val;
			for (i = 0; i < cmd->n_args; i++)
				if (strcmp(cmd->args[i].name, key) == 0)
					spec = &cmd->args[i];
			if (!spec) {
				g_set_error(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
					    "Parameter '%s' is unexpected", key);
				return FALSE;
			}
		}
	}
	for (i = 0; i < cmd->n_args; i++) {
		const DdArgSpec *spec = &cmd->args[i];
		json_object *val = NULL;

		if (!args || !json_object_object_get_ex(args, spec->name, &val)) {
			if (spec->optional)
				continue;
			g_set_error(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
				    "Parameter '%s' is missing", spec->name);
			return FALSE;
		}
		if (!type_matches(val, spec->type)) {
			g_set_error(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
				    "Invalid parameter type for '%s', expected: %s",
				    spec->name, type_name(spec->type));
			return FALSE;
		}
	}
	return TRUE;
}

/* Checks the request's shape and finds its command. */
static const DdCommand *
check_request(DdDispatcher *d, json_object *obj, json_object **args, GError **error)
{
	json_object *execute = NULL;
	const DdCommand *cmd;
	const char *name;

	if (!json_object_is_type(obj, json_type_object)) {
		g_set_error_literal(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
				    "QMP input must be a JSON object");
		return NULL;
	}
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (strcmp(key, "execute") != 0 && strcmp(key, "arguments") != 0 &&
		    strcmp(key, "id") != 0) {
			g_set_error(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
				    "QMP input member '%s' is unexpected", key);
			return NULL;
		}
	}
	if (!json_object_object_get_ex(obj, "execute", &execute)) {
		g_set_error_literal(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
				    "QMP input lacks member 'execute'");
		return NULL;
	}
	if (!json_object_is_type(execute, json_type_string)) {
		g_set_error_literal(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
				    "QMP input member 'execute' must be a string");
		return NULL;
	}
	*args = NULL;
	if (json_object_object_get_ex(obj, "arguments", args) &&
	    !json_object_is_type(*args, json_type_object)) {
		g_set_error_literal(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
				    "QMP input member 'arguments' must be an object");
		return NULL;
	}

	name = json_object_get_string(execute);
	cmd = dd_rpc_lookup(name);
	if (!cmd) {
		g_set_error(error, DD_RPC_ERROR, DD_RPC_ERROR_COMMAND_NOT_FOUND,
			    "The command %s has not been found", name);
		return NULL;
	}
	if (!d->enabled[cmd - dd_rpc_commands]) {
		g_set_error(error, DD_RPC_ERROR, DD_RPC_ERROR_COMMAND_NOT_FOUND,
			    "The command %s has been disabled for this instance", name);
		return NULL;
	}
	if (!check_args(cmd, *args, error))
		return NULL;
	return cmd;
}

static json_object *
parse(const char *msg, gsize len, guint max_depth, GError **error)
{
	json_tokener *tok = json_tokener_new_ex((int)max_depth + 1);
	enum json_tokener_error jerr;
	json_object *obj;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* Include the NUL so that a bare number at the end terminates. */
	obj = json_tokener_parse_ex(tok, msg, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
		json_object_put(obj);
		obj = NULL;
		jerr = json_tokener_error_parse_unexpected;
	}
	if (!obj) {
		g_set_error(error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
			    "JSON parse error: %s",
			    jerr == json_tokener_success ? "empty message"
							 : json_tokener_error_desc(jerr));
	}
	json_tokener_free(tok);
	return obj;
}

void
dd_dispatcher_handle(DdDispatcher *d, const char *msg, gsize len,
		     DdReplyFunc done, gpointer user_data)
{
	DdRequest *req = g_new0(DdRequest, 1);
	g_autoptr(GError) error = NULL;
	json_object *obj, *args = NULL, *id = NULL;
	const DdCommand *cmd;

	req->done = done;
	req->user_data = user_data;

	obj = parse(msg, len, d->max_depth, &error);
	if (!obj) {
		dd_request_error(req, g_steal_pointer(&error));
		return;
	}
	if (json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, "id", &id))
		req->id = json_object_get(id);

	cmd = check_request(d, obj, &args, &error);
	if (!cmd) {
		json_object_put(obj);
		dd_request_error(req, g_steal_pointer(&error));
		return;
	}
	req->cmd = cmd;
	g_debug("running %s", cmd->name);
	json_object_get(args);
	json_object_put(obj);
	cmd->func(d->agent, args, req);
	json_object_put(args);
}

void
dd_dispatcher_handle_frame_error(DdDispatcher *d, DdFrameKind kind,
				 DdReplyFunc done, gpointer user_data)
{
	DdRequest *req = g_new0(DdRequest, 1);
	GError *error = NULL;

	req->done = done;
	req->user_data = user_data;
	if (kind == DD_FRAME_TOO_BIG)
		g_set_error(&error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
			    "message exceeds the size limit of %" G_GSIZE_FORMAT
			    " bytes (max-message-size); skipped", d->max_size);
	else
		g_set_error(&error, DD_RPC_ERROR, DD_RPC_ERROR_GENERIC,
			    "message exceeds the nesting limit of %u (max-nesting-depth); skipped",
			    d->max_depth);
	g_info("%s", error->message);
	dd_request_error(req, error);
}
