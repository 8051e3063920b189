/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_FRAMER_H
#define DD_FRAMER_H

#include <glib.h>

/*
 * Splits the host's byte stream into JSON messages, the way qemu's
 * json-streamer does: a message ends when its braces and brackets balance,
 * with no delimiter.  Strings and escapes are tracked so that braces inside
 * strings do not count.  The framer does not parse JSON; json-c parses each
 * complete message.
 *
 * A 0xFF byte or an ASCII control character other than tab, CR and LF
 * resets the framer silently (that is how the host resynchronises).  A
 * message that grows past max_size bytes, or nests deeper than max_depth,
 * yields one error frame; the rest of that message is then skipped without
 * being buffered, so memory stays bounded by max_size.
 */

typedef enum {
	DD_FRAME_NONE,		/* input used up, no frame complete yet */
	DD_FRAME_MESSAGE,	/* a complete message: dd_framer_message() */
	DD_FRAME_TOO_BIG,	/* the message exceeds max_size; skipping it */
	DD_FRAME_TOO_DEEP,	/* the message exceeds max_depth; skipping it */
} DdFrameKind;

typedef struct DdFramer DdFramer;

DdFramer *dd_framer_new(gsize max_size, guint max_depth);
void dd_framer_free(DdFramer *framer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdFramer, dd_framer_free)

/**
 * dd_framer_feed:
 * Consumes bytes from @data until a frame is complete or the input is used
 * up, and returns how many bytes it consumed.  *@kind tells which frame, if
 * any, ended; the caller feeds the rest of @data afterwards.
 */
gsize dd_framer_feed(DdFramer *framer, const guint8 *data, gsize len, DdFrameKind *kind);

/**
 * dd_framer_message:
 * The message of the last DD_FRAME_MESSAGE, NUL-terminated; valid until the
 * next dd_framer_feed() or dd_framer_reset().
 */
const char *dd_framer_message(DdFramer *framer, gsize *len);

/** dd_framer_reset: forget any partial message (host disconnect, resync). */
void dd_framer_reset(DdFramer *framer);

/** dd_framer_idle: TRUE when no partial message is buffered or skipped. */
gboolean dd_framer_idle(DdFramer *framer);

#endif /* DD_FRAMER_H */
