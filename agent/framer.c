/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stream framer: see framer.h.
 *
 * States: between messages (depth 0, not in a bare token), inside a
 * message (depth > 0 or a bare top-level token such as `123` or `"x"`),
 * and skipping (a message that broke a limit: its structure is still
 * tracked so that we know where it ends, but nothing is stored).
 */
#define G_LOG_DOMAIN "dmadirty-framer"
#include "config.h"

#include <string.h>

#include "framer.h"
#include "qga.h"

struct DdFramer {
	gsize max_size;
	guint max_depth;

	GByteArray *buf;	/* the current message, when not skipping */
	gsize size;		/* bytes of the current message so far */
	guint depth;		/* open braces and brackets */
	gboolean in_msg;	/* inside a message */
	gboolean bare;		/* the message is a bare top-level token */
	gboolean in_string;
	gboolean escape;	/* previous byte was a backslash in a string */
	gboolean skipping;	/* the message broke a limit: discard it */
	gboolean have_msg;	/* buf holds a complete message */
};

DdFramer *
dd_framer_new(gsize max_size, guint max_depth)
{
	DdFramer *f = g_new0(DdFramer, 1);

	f->max_size = max_size ? max_size : 1;
	f->max_depth = max_depth ? max_depth : 1;
	f->buf = g_byte_array_new();
	return f;
}

void
dd_framer_free(DdFramer *framer)
{
	if (!framer)
		return;
	g_byte_array_unref(framer->buf);
	g_free(framer);
}

static void
start_over(DdFramer *f)
{
	g_byte_array_set_size(f->buf, 0);
	/* Give back the memory of a large message rather than keep it. */
	if (f->size > 4096) {
		g_byte_array_unref(f->buf);
		f->buf = g_byte_array_new();
	}
	f->size = 0;
	f->depth = 0;
	f->in_msg = FALSE;
	f->bare = FALSE;
	f->in_string = FALSE;
	f->escape = FALSE;
	f->skipping = FALSE;
	f->have_msg = FALSE;
}

void
dd_framer_reset(DdFramer *framer)
{
	start_over(framer);
}

gboolean
dd_framer_idle(DdFramer *framer)
{
	return !framer->in_msg;
}

static gboolean
is_space(guint8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Bytes that reset the framer: 0xFF and control characters but \t \r \n. */
static gboolean
is_reset(guint8 c)
{
	return c == QGA_DELIMITER || (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F;
}

const char *
dd_framer_message(DdFramer *framer, gsize *len)
{
	g_return_val_if_fail(framer->have_msg, NULL);
	if (len)
		*len = framer->buf->len - 1;	/* without the NUL */
	return (const char *)framer->buf->data;
}

/* Ends the current message; returns the frame kind to report. */
static DdFrameKind
finish(DdFramer *f)
{
	if (f->skipping) {
		start_over(f);
		return DD_FRAME_NONE;
	}
	g_byte_array_append(f->buf, (const guint8 *)"", 1);
	f->in_msg = FALSE;
	f->bare = FALSE;
	f->depth = 0;
	f->size = 0;
	f->have_msg = TRUE;
	return DD_FRAME_MESSAGE;
}

gsize
dd_framer_feed(DdFramer *f, const guint8 *data, gsize len, DdFrameKind *kind)
{
	gsize i;

	*kind = DD_FRAME_NONE;
	if (f->have_msg) {
		g_byte_array_set_size(f->buf, 0);
		f->have_msg = FALSE;
	}

	for (i = 0; i < len; i++) {
		guint8 c = data[i];
		gboolean ends = FALSE;

		if (is_reset(c)) {
			start_over(f);
			continue;
		}

		if (f->in_msg && f->bare && !f->in_string &&
		    (is_space(c) || c == '{' || c == '[' || c == '"')) {
			/*
			 * A bare token (`123`, `true`, a stray `}`) ends at a
			 * delimiter, which then starts the next message: this
			 * byte is looked at again below, between messages.
			 */
			*kind = finish(f);
			if (*kind != DD_FRAME_NONE)
				return i;
		}
		if (!f->in_msg) {
			if (is_space(c))
				continue;
			f->in_msg = TRUE;
			f->bare = !(c == '{' || c == '[');
		}

		if (f->in_string) {
			if (f->escape)
				f->escape = FALSE;
			else if (c == '\\')
				f->escape = TRUE;
			else if (c == '"')
				f->in_string = FALSE, ends = f->bare && f->depth == 0;
		} else if (c == '"') {
			f->in_string = TRUE;
		} else if (c == '{' || c == '[') {
			f->depth++;
			if (f->depth > f->max_depth && !f->skipping) {
				f->skipping = TRUE;
				g_byte_array_set_size(f->buf, 0);
				*kind = DD_FRAME_TOO_DEEP;
				return i + 1;
			}
		} else if (c == '}' || c == ']') {
			if (f->depth > 0) {
				f->depth--;
				ends = f->depth == 0 && !f->bare;
			}
		}

		if (!f->skipping) {
			f->size++;
			if (f->size > f->max_size) {
				f->skipping = TRUE;
				g_byte_array_set_size(f->buf, 0);
				if (ends) {
					/* The limit broke on the last byte: nothing is left to skip. */
					start_over(f);
				}
				*kind = DD_FRAME_TOO_BIG;
				return i + 1;
			}
			g_byte_array_append(f->buf, &c, 1);
		}

		if (ends) {
			*kind = finish(f);
			if (*kind != DD_FRAME_NONE)
				return i + 1;
		}
	}
	return len;
}
