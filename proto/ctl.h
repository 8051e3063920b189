/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DMADIRTYCTL_H
#define DMADIRTYCTL_H

/*
 * dmadirtyctl's parts, one role a file:
 *   ctl-socket.c   the connection: connect, send and receive with deadlines
 *   ctl-resync.c   0xFF + guest-sync-delimited, discarding what came before
 *   ctl-parse.c    reading replies from the stream, one JSON value at a time
 *   ctl-print.c    human output
 *   dmadirtyctl.c  the command line
 * The wire format itself (reply shape, 0xFF) is qga.h's, shared with the
 * agent.
 */

#include <glib.h>
#include <json-c/json.h>

#include "qga.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

/* Exit codes: documented in --help, relied upon by scripts. */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_AGENT_ERROR = 1,	/* the agent answered with an error */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_NO_AGENT = 3,		/* cannot connect, or closed without a word */
	CTL_EXIT_TIMEOUT = 4,
	CTL_EXIT_BAD_REPLY = 5,		/* garbage, a cut-off or malformed reply */
};

/* Error codes of CTL_ERROR map one to one onto the exit codes. */
#define CTL_ERROR (ctl_error_quark())
GQuark ctl_error_quark(void);

/* Replies larger than this are garbage: status is a few hundred bytes. */
#define CTL_MAX_REPLY (4u << 20)
/* How much of a bad reply a message quotes. */
#define CTL_QUOTE_MAX 60

typedef struct {
	int fd;
	GByteArray *in;		/* received, not yet consumed */
	gsize received;		/* bytes received since the last request */
	gboolean verbose;
} CtlConn;

/* ctl-socket.c */
void ctl_conn_close(CtlConn *conn);
gint64 ctl_deadline(double timeout);
gboolean ctl_connect(CtlConn *conn, const char *path, double timeout, GError **error);
gboolean ctl_send(CtlConn *conn, const void *data, gsize len, gint64 deadline,
		  double timeout, GError **error);

typedef enum { CTL_FILL_OK, CTL_FILL_EOF, CTL_FILL_TIMEOUT } CtlFill;

CtlFill ctl_fill(CtlConn *conn, gint64 deadline, GError **error);

/* ctl-parse.c */
typedef enum { CTL_PARSE_OK, CTL_PARSE_MORE, CTL_PARSE_BAD } CtlParse;

json_tokener *ctl_tokener(void);
CtlParse ctl_parse(CtlConn *conn, json_tokener *tok, gsize *fed, json_object **out,
		   gsize *used);
json_object *ctl_call(CtlConn *conn, const char *req, json_object *id, double timeout,
		      GError **error);

/* ctl-resync.c */
gboolean ctl_resync(CtlConn *conn, const char *sync_command, double timeout, GError **error);

/* ctl-print.c */
void ctl_print_human(const char *command, const char *const *members, json_object *ret);

#endif /* DMADIRTYCTL_H */
