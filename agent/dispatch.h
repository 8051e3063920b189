/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_DISPATCH_H
#define DD_DISPATCH_H

#include <glib.h>
#include <json-c/json.h>

#include "framer.h"

/*
 * The RPC dispatcher: parses one framed message with json-c, checks it
 * against the command table generated from proto/rpc-schema.json (request
 * shape, command name, allow/block lists, argument names and types) and
 * calls the handler.  A handler finishes its DdRequest exactly once, at
 * once or later (enable waits for hooks), with dd_request_return() or
 * dd_request_error(); the reply then goes to the DdReplyFunc given to
 * dd_dispatcher_handle().
 */

typedef struct DdAgent DdAgent;
typedef struct DdRequest DdRequest;
typedef struct DdDispatcher DdDispatcher;

typedef enum {
	DD_ARG_INT,
	DD_ARG_STRING,
	DD_ARG_BOOL,
} DdArgType;

typedef struct {
	const char *name;
	DdArgType type;
	gboolean optional;
} DdArgSpec;

typedef void (*DdCommandFunc)(DdAgent *agent, json_object *args, DdRequest *req);

typedef struct {
	const char *name;
	const DdArgSpec *args;
	guint n_args;
	DdCommandFunc func;
} DdCommand;

/* rpc-table.c, generated from proto/rpc-schema.json */
extern const DdCommand dd_rpc_commands[];
extern const guint dd_rpc_n_commands;

#define DD_RPC_ERROR (dd_rpc_error_quark())
GQuark dd_rpc_error_quark(void);

/* The error classes of the wire protocol. */
typedef enum {
	DD_RPC_ERROR_GENERIC,		/* GenericError */
	DD_RPC_ERROR_COMMAND_NOT_FOUND,	/* CommandNotFound */
} DdRpcError;

/**
 * DdReplyFunc:
 * Receives the reply to one message: the bytes to send (with the trailing
 * newline, and the 0xFF prefix for guest-sync-delimited), or NULL when
 * there is nothing to send.
 */
typedef void (*DdReplyFunc)(GBytes *reply, gpointer user_data);

/** dd_rpc_lookup: the table entry of command @name, or NULL. */
const DdCommand *dd_rpc_lookup(const char *name);

/**
 * dd_dispatcher_new:
 * @allow: when not NULL, only these commands are enabled;
 * @block: these commands are disabled.
 * Fails when a list names a command that does not exist.
 */
DdDispatcher *dd_dispatcher_new(DdAgent *agent, const char *const *allow,
				const char *const *block, GError **error);
void dd_dispatcher_free(DdDispatcher *dispatcher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdDispatcher, dd_dispatcher_free)

gboolean dd_dispatcher_enabled(DdDispatcher *dispatcher, const char *name);

/** dd_dispatcher_handle: dispatches the JSON message @msg (NUL-terminated). */
void dd_dispatcher_handle(DdDispatcher *dispatcher, const char *msg, gsize len,
			  DdReplyFunc done, gpointer user_data);

/** dd_dispatcher_set_limits: the framer's limits, for parsing and error texts. */
void dd_dispatcher_set_limits(DdDispatcher *dispatcher, gsize max_size, guint max_depth);

/** dd_dispatcher_handle_frame_error: replies to a framer error frame. */
void dd_dispatcher_handle_frame_error(DdDispatcher *dispatcher, DdFrameKind kind,
				      DdReplyFunc done, gpointer user_data);

/** dd_request_return: finishes @req with @ret (taking its reference). */
void dd_request_return(DdRequest *req, json_object *ret);

/** dd_request_error: finishes @req with @error (taking it). */
void dd_request_error(DdRequest *req, GError *error);

/** dd_request_set_delimited: prefix the reply with 0xFF. */
void dd_request_set_delimited(DdRequest *req);

#endif /* DD_DISPATCH_H */
