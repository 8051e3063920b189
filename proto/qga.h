/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_QGA_H
#define DD_QGA_H

#include <glib.h>
#include <json-c/json.h>

/*
 * The qemu-guest-agent wire format, as both ends use it: the agent builds
 * replies, dmadirtyctl and the tests read them.
 *
 * A reply is one JSON object with either "return" (any value) or "error"
 * ({"class": CLASS, "desc": TEXT}), the request's "id" echoed, and a
 * newline after it; a guest-sync-delimited reply has QGA_DELIMITER before
 * it.  QGA_DELIMITER in a request stream resets the agent's parser.
 */

#define QGA_DELIMITER	0xFF

typedef enum {
	QGA_REPLY_INVALID,	/* not an object, or not exactly one of the two */
	QGA_REPLY_RETURN,
	QGA_REPLY_ERROR,
} QgaReplyKind;

/** qga_reply_return: {"return": @ret}; takes @ret. */
json_object *qga_reply_return(json_object *ret);

/** qga_reply_error: {"error": {"class": @klass, "desc": @desc}}. */
json_object *qga_reply_error(const char *klass, const char *desc);

/** qga_reply_kind: what @reply is; INVALID for anything but a reply. */
QgaReplyKind qga_reply_kind(json_object *reply);

/** qga_reply_error_class: an error reply's class, else NULL. */
const char *qga_reply_error_class(json_object *reply);

/** qga_reply_error_desc: an error reply's desc, else NULL. */
const char *qga_reply_error_desc(json_object *reply);

/**
 * qga_quote:
 * A printable excerpt of the first @max bytes of @data, other bytes as
 * \xNN, "..." when cut: for messages about what a peer sent.
 */
char *qga_quote(const guint8 *data, gsize len, gsize max);

#endif /* DD_QGA_H */
