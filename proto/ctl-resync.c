/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dmadirtyctl: resynchronising the stream.  It may hold anything when we
 * connect: replies a previous client never read, the agent's answer to our
 * 0xFF, or noise from something that is not an agent at all.  So
 * everything before the 0xFF-prefixed reply that carries our random sync
 * id is discarded.
 */
#define G_LOG_DOMAIN "dmadirtyctl"

#include "config.h"

#include <string.h>

#include "ctl.h"

/**
 * ctl_resync:
 * Sends 0xFF + @sync_command (guest-sync-delimited) with a random id and
 * discards everything up to the 0xFF-prefixed reply that echoes it.
 */
gboolean ctl_resync(CtlConn *conn, const char *sync_command, double timeout, GError **error)
{
	gint64 deadline = ctl_deadline(timeout);
	gint64 id = g_random_int_range(1, G_MAXINT32);
	g_autofree char *req = g_strdup_printf("%c{\"execute\": \"%s\", \"arguments\": "
					       "{\"id\": %" G_GINT64_FORMAT "}}\n",
					       QGA_DELIMITER, sync_command, id);
	gsize discarded = 0;
	g_autofree char *first = NULL;

	conn->received = 0;
	if (!ctl_send(conn, req, strlen(req), deadline, timeout, error))
		return FALSE;

	for (;;) {
		guint8 *ff;
		CtlFill fill;

		/* Skip to the next 0xFF: nothing before it can be our reply. */
		ff = conn->in->len ? memchr(conn->in->data, QGA_DELIMITER, conn->in->len) : NULL;
		if (ff) {
			g_autoptr(json_object) obj = NULL;
			json_tokener *tok = ctl_tokener();
			gsize skip = ff - conn->in->data + 1, fed = 0, used = 0;
			CtlParse r;

			if (!first && skip > 1)
				first = qga_quote(conn->in->data, skip - 1, CTL_QUOTE_MAX);
			discarded += skip;
			g_byte_array_remove_range(conn->in, 0, skip);
			/* Parse what follows the 0xFF, reading more as needed. */
			for (;;) {
				r = ctl_parse(conn, tok, &fed, &obj, &used);
				if (r != CTL_PARSE_MORE)
					break;
				fill = ctl_fill(conn, deadline, error);
				if (fill != CTL_FILL_OK)
					break;
			}
			json_tokener_free(tok);
			if (r == CTL_PARSE_OK) {
				json_object *ret;

				if (json_object_is_type(obj, json_type_object) &&
				    json_object_object_get_ex(obj, "return", &ret) &&
				    json_object_is_type(ret, json_type_int) &&
				    json_object_get_int64(ret) == id) {
					g_byte_array_remove_range(conn->in, 0, used);
					if (conn->verbose && discarded)
						g_printerr("dmadirtyctl: resync discarded %zu stale bytes\n",
							   discarded);
					return TRUE;
				}
				/* A stale sync reply, or an error about the 0xFF. */
				if (!first)
					first = qga_quote(conn->in->data, used, CTL_QUOTE_MAX);
				discarded += used;
				g_byte_array_remove_range(conn->in, 0, used);
				continue;
			}
			if (r == CTL_PARSE_BAD) {
				/* Not JSON after all: look for the next 0xFF. */
				if (!first)
					first = qga_quote(conn->in->data, conn->in->len, CTL_QUOTE_MAX);
				continue;
			}
			if (error && *error)
				return FALSE;
			/* fill ended the wait: EOF or the deadline, handled below. */
		} else {
			if (!first && conn->in->len)
				first = qga_quote(conn->in->data, conn->in->len, CTL_QUOTE_MAX);
			discarded += conn->in->len;
			g_byte_array_set_size(conn->in, 0);
			fill = ctl_fill(conn, deadline, error);
			if (fill == CTL_FILL_OK)
				continue;
			if (error && *error)
				return FALSE;
		}

		if (conn->received == 0 && g_get_monotonic_time() >= deadline) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
				    "no answer to %s within %g s: is dmadirty-agent running in the guest?",
				    sync_command, timeout);
		} else if (conn->received == 0) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
				    "the peer closed the connection without answering %s",
				    sync_command);
		} else if (g_get_monotonic_time() >= deadline) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
				    "no valid answer to %s within %g s, only %zu bytes of something else "
				    "(is this an agent's port?), starting with \"%s\"",
				    sync_command, timeout, conn->received, first ? first : "");
		} else {
			g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
				    "the peer closed the connection before a valid answer to %s, after %zu "
				    "bytes of something else (is this an agent's port?), starting with \"%s\"",
				    sync_command, conn->received, first ? first : "");
		}
		return FALSE;
	}
}

