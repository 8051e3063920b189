/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_COMMANDS_H
#define DD_COMMANDS_H

#include "dispatch.h"

/*
 * Command handlers, one per command of proto/rpc-schema.json, named after
 * the wire command.  The generated table (rpc-table.c) refers to each;
 * arguments have been validated against the schema before a handler runs.
 * @args is NULL when the request had no "arguments"; a handler that needs
 * it after returning must copy it.
 */
void cmd_guest_sync(DdAgent *agent, json_object *args, DdRequest *req);
void cmd_guest_sync_delimited(DdAgent *agent, json_object *args, DdRequest *req);
void cmd_guest_ping(DdAgent *agent, json_object *args, DdRequest *req);
void cmd_guest_info(DdAgent *agent, json_object *args, DdRequest *req);
void cmd_guest_dma_dirty_enable(DdAgent *agent, json_object *args, DdRequest *req);
void cmd_guest_dma_dirty_disable(DdAgent *agent, json_object *args, DdRequest *req);
void cmd_guest_dma_dirty_status(DdAgent *agent, json_object *args, DdRequest *req);

#endif /* DD_COMMANDS_H */
