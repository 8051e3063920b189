/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_DIRTY_H
#define DD_DIRTY_H

#include <glib.h>

#include "kernel.h"

/*
 * The dirtying state machine: generation, lease, and the enable/disable
 * sequences shared by the RPC handlers, lease expiry and host-state
 * changes from the module.  Operations run one at a time, in order; those
 * that arrive while one runs wait in a short queue (a newer host-state
 * change replaces an older one still waiting).
 *
 * Enable:  pre-enable hooks -> sysctl 1 + read back -> generation+1 -> ack.
 *          When already on: renew the lease, keep the generation, ack again.
 * Disable: sysctl 0 + read back -> generation+1 (if it was on) -> ack ->
 *          post-disable hooks (only on a real transition).
 */

#define DD_MAX_LEASE	(30u * 24 * 3600)	/* seconds */

#define DD_DIRTY_ERROR (dd_dirty_error_quark())
GQuark dd_dirty_error_quark(void);

typedef enum {
	DD_DIRTY_ERROR_SHUTDOWN,	/* the agent stopped before the operation ran */
} DdDirtyError;

typedef struct DdDirty DdDirty;

typedef struct {
	gboolean enabled;
	guint32 generation;
	gboolean bridge;	/* the ack reached a vendor block */
	const char *source;	/* as dd_kernel_source() */
} DdDirtyResult;

/** DdDirtyDone: @error is NULL on success; the callee takes it. */
typedef void (*DdDirtyDone)(const DdDirtyResult *result, GError *error, gpointer user_data);

DdDirty *dd_dirty_new(DdKernel *kernel, const char *hooks_dir, guint hook_timeout_s);
void dd_dirty_free(DdDirty *dirty);

/** dd_dirty_set_kernel: the kernel interface, set once after dd_dirty_new(). */
void dd_dirty_set_kernel(DdDirty *dirty, DdKernel *kernel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdDirty, dd_dirty_free)

/**
 * dd_dirty_enable:
 * @lease: seconds, 0 for none (<= DD_MAX_LEASE).
 * @done is called from the main loop once dirtying is on, or failed.
 */
void dd_dirty_enable(DdDirty *dirty, guint lease, const char *tag,
		     DdDirtyDone done, gpointer user_data);

void dd_dirty_disable(DdDirty *dirty, const char *tag, DdDirtyDone done, gpointer user_data);

/** dd_dirty_host_changed: a host state from the module (a DdHostFunc). */
void dd_dirty_host_changed(guint32 state, guint32 sequence, gpointer dirty);

guint32 dd_dirty_generation(DdDirty *dirty);

/** dd_dirty_lease_remaining: whole seconds left, rounded up; 0 when none. */
guint dd_dirty_lease_remaining(DdDirty *dirty);

/** dd_dirty_busy: TRUE while an operation runs or waits. */
gboolean dd_dirty_busy(DdDirty *dirty);

#endif /* DD_DIRTY_H */
