/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dmadirtyctl: replies from the stream, one JSON value at a time, with
 * stale ones (another request's id) skipped.
 */
#define G_LOG_DOMAIN "dmadirtyctl"

#include "config.h"

#include <string.h>

#include "ctl.h"

/*
 * Parses one JSON value from the start of conn->in.  @tok carries the
 * state across calls, @fed the bytes it has already seen.  On CTL_PARSE_OK
 * *@used is the value's length in conn->in.
 */
CtlParse ctl_parse(CtlConn *conn, json_tokener *tok, gsize *fed, json_object **out,
		   gsize *used)
{
	json_object *obj;
	gsize before = *fed;

	if (conn->in->len == *fed)
		return CTL_PARSE_MORE;
	obj = json_tokener_parse_ex(tok, (const char *)conn->in->data + before, conn->in->len - before);
	switch (json_tokener_get_error(tok)) {
	case json_tokener_success:
		*out = obj;
		*used = before + json_tokener_get_parse_end(tok);
		return CTL_PARSE_OK;
	case json_tokener_continue:
		*fed = conn->in->len;
		return *fed > CTL_MAX_REPLY ? CTL_PARSE_BAD : CTL_PARSE_MORE;
	default:
		return CTL_PARSE_BAD;
	}
}

json_tokener *ctl_tokener(void)
{
	json_tokener *tok = json_tokener_new_ex(64);

	/* A stream: a value may be followed by the next one. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
				    JSON_TOKENER_VALIDATE_UTF8);
	return tok;
}

/**
 * ctl_call:
 * Sends the request @req (a JSON object's text) and returns the agent's
 * reply object, which has a "return" or an "error" member.  A reply with
 * an id other than @id (stale) is skipped; one without an id is accepted.
 */
json_object *ctl_call(CtlConn *conn, const char *req, json_object *id, double timeout,
		      GError **error)
{
	gint64 deadline = ctl_deadline(timeout);
	json_tokener *tok = NULL;
	gsize fed = 0;

	conn->received = conn->in->len;
	if (!ctl_send(conn, req, strlen(req), deadline, timeout, error))
		return NULL;

	for (;;) {
		json_object *obj = NULL, *rid;
		gsize used = 0, skip = 0;
		CtlParse r;
		CtlFill fill;

		/* Whitespace and delimiter bytes between replies. */
		while (skip < conn->in->len && fed == 0 &&
		       (g_ascii_isspace(conn->in->data[skip]) || conn->in->data[skip] == QGA_DELIMITER))
			skip++;
		g_byte_array_remove_range(conn->in, 0, skip);
		if (!tok)
			tok = ctl_tokener();
		r = ctl_parse(conn, tok, &fed, &obj, &used);
		if (r == CTL_PARSE_MORE) {
			fill = ctl_fill(conn, deadline, error);
			if (fill == CTL_FILL_OK)
				continue;
			json_tokener_free(tok);
			if (error && *error)
				return NULL;
			if (fill == CTL_FILL_TIMEOUT && conn->in->len == 0)
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "no reply within %g s", timeout);
			else if (fill == CTL_FILL_TIMEOUT)
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "the reply was still incomplete after %g s (%u bytes received)",
					    timeout, conn->in->len);
			else if (conn->in->len == 0)
				g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
					    "the agent closed the connection without replying");
			else
				g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
					    "the reply was cut off: the connection closed after %u bytes",
					    conn->in->len);
			return NULL;
		}
		json_tokener_free(tok);
		tok = NULL;
		fed = 0;
		if (r == CTL_PARSE_BAD) {
			g_autofree char *q = qga_quote(conn->in->data, conn->in->len, CTL_QUOTE_MAX);

			if (conn->in->len > CTL_MAX_REPLY)
				g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
					    "the reply exceeds %u bytes: \"%s\"", CTL_MAX_REPLY, q);
			else
				g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
					    "the reply is not valid JSON: \"%s\"", q);
			return NULL;
		}
		if (qga_reply_kind(obj) == QGA_REPLY_INVALID) {
			g_autofree char *q = qga_quote(conn->in->data, used, CTL_QUOTE_MAX);

			json_object_put(obj);
			g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
				    "the reply is neither {\"return\": ...} nor {\"error\": ...}: \"%s\"", q);
			return NULL;
		}
		g_byte_array_remove_range(conn->in, 0, used);
		if (id && json_object_object_get_ex(obj, "id", &rid) && !json_object_equal(rid, id)) {
			/* A stale reply to somebody else's request. */
			json_object_put(obj);
			continue;
		}
		return obj;
	}
}

