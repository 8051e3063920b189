/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_CHANNEL_H
#define DD_CHANNEL_H

#include <glib.h>

#include "agent-config.h"
#include "framer.h"
#include "uevent.h"

/*
 * Transports: virtio-serial (the port found by name through libudev),
 * unix-listen and vsock-listen, all non-blocking in the main loop.
 *
 * The channel reads the host's bytes, frames them, and hands each frame
 * to the DdFrameFunc; the consumer answers it with dd_channel_reply(),
 * at once or later.  Until then, and until the reply has been written,
 * the channel reads nothing more: one request at a time, bounded memory.
 * A reply waits for POLLOUT for at most reply_timeout ms; then the reply
 * and the client are dropped.  A disconnect (for virtio-serial: the host
 * hanging up, also while a request runs or its reply waits) drops the
 * reply and resets the framer, so nothing of one client reaches the next.
 */

typedef struct DdChannel DdChannel;

typedef void (*DdFrameFunc)(DdChannel *channel, DdFrameKind kind, const char *msg,
			    gsize len, gpointer user_data);

/**
 * dd_channel_new:
 * Opens the transport of @config.  virtio-serial finds its port through
 * @uevents, which must outlive the channel.
 */
DdChannel *dd_channel_new(const DdConfig *config, DdUevents *uevents, DdFrameFunc on_frame,
			  gpointer user_data, GError **error);
void dd_channel_free(DdChannel *channel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdChannel, dd_channel_free)

/** dd_channel_reply: answers the frame in flight; @reply may be NULL. */
void dd_channel_reply(DdChannel *channel, GBytes *reply);

#endif /* DD_CHANNEL_H */
