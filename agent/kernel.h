/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_KERNEL_H
#define DD_KERNEL_H

#include <glib.h>

#include "dmadirty_uapi.h"
#include "uevent.h"

/*
 * The kernel interface: the vm.dma_mark_dirty sysctl and the module's
 * control device /dev/dmadirty (proto/dmadirty_uapi.h).
 *
 * The device is kept open while the agent runs, because the module only
 * watches the host while it is open.  When it is missing at start (module
 * loaded later), its "add" uevent opens it.  Host-state changes are read
 * from the device (POLLIN) and go to the DdHostFunc; the state found at
 * open goes there too, so it may see one sequence twice.
 */

#define DD_KERNEL_ERROR (dd_kernel_error_quark())
GQuark dd_kernel_error_quark(void);

typedef enum {
	DD_KERNEL_ERROR_NO_SYSCTL,	/* the sysctl does not exist */
	DD_KERNEL_ERROR_PERMISSION,	/* permission denied */
	DD_KERNEL_ERROR_READ_BACK,	/* read back a different value */
	DD_KERNEL_ERROR_FAILED,		/* any other I/O error */
	DD_KERNEL_ERROR_COVERAGE,	/* the module cannot hook every DMA entry point */
} DdKernelError;

typedef struct DdKernel DdKernel;

/* A host-state change: DMADIRTY_HOST_* and the host sequence. */
typedef void (*DdHostFunc)(guint32 state, guint32 sequence, gpointer user_data);

/**
 * dd_kernel_new:
 * Opens @device_path when it exists (its absence is not an error: no
 * module) and watches @uevents, which must outlive it, for it.
 * @host_changed is called from the main loop, never from within
 * dd_kernel_new().
 */
DdKernel *dd_kernel_new(const char *sysctl_path, const char *device_path, DdUevents *uevents,
			DdHostFunc host_changed, gpointer user_data);
void dd_kernel_free(DdKernel *kernel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdKernel, dd_kernel_free)

/** dd_kernel_get: reads the sysctl. */
gboolean dd_kernel_get(DdKernel *kernel, gboolean *on, GError **error);

/**
 * dd_kernel_set: writes the sysctl and reads it back.  When the module
 * refuses to turn dirtying on because a DMA entry point of the running
 * kernel escapes its hooks, the error is DD_KERNEL_ERROR_COVERAGE and
 * names them.
 */
gboolean dd_kernel_set(DdKernel *kernel, gboolean on, GError **error);

/**
 * dd_kernel_coverage:
 * The module's word on its DMA coverage, from the sysfs directory of the
 * control device (/sys/dev/char/MAJOR:MINOR): @which is "hooks" (the DMA
 * API functions hooked), "missing" (those it cannot cover) or "uncovered"
 * (what no hook can see on any kernel).  The names,
 * NULL-terminated, to be freed with g_strfreev(); NULL when the device
 * node or the attribute does not exist (no module, or no such module).
 */
char **dd_kernel_coverage(DdKernel *kernel, const char *which);

/**
 * dd_kernel_ack:
 * Has the module record @sequence (the agent's generation or the host
 * sequence) and @dirtying in the vendor block.  Returns TRUE when a block
 * took it ("bridge"), FALSE when there is no device or no block ("none");
 * a failing ioctl is logged, as it does not undo the switch.
 */
gboolean dd_kernel_ack(DdKernel *kernel, guint32 sequence, gboolean dirtying);

/** dd_kernel_status: the module's status; FALSE when no device is open. */
gboolean dd_kernel_status(DdKernel *kernel, struct dmadirty_status *status);

/* Why the control device is, or is not, in use. */
typedef enum {
	DD_DEVICE_OPEN,		/* the agent holds it */
	DD_DEVICE_ABSENT,	/* no such device: the module is not loaded */
	DD_DEVICE_BUSY,		/* another process holds it (EBUSY) */
	DD_DEVICE_FAILED,	/* open or the version handshake failed otherwise */
} DdDeviceState;

/**
 * dd_kernel_device_state:
 * The control device's state; with @why, also a sentence saying why it is
 * not in use (NULL when it is open), to be freed.
 */
DdDeviceState dd_kernel_device_state(DdKernel *kernel, char **why);

/** dd_device_state_name: "open", "absent", "busy" or "failed" (the RPC's words). */
const char *dd_device_state_name(DdDeviceState state);

/**
 * dd_kernel_source:
 * Who provides the sysctl: "module" or "kernel" as the module reports it;
 * "kernel" when the module is not loaded; "unknown" when the module is
 * loaded but its device is not in use (see dd_kernel_device_state()); "none"
 * when there is no sysctl.
 */
const char *dd_kernel_source(DdKernel *kernel);

#endif /* DD_KERNEL_H */
