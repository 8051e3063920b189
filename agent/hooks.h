/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_HOOKS_H
#define DD_HOOKS_H

#include <glib.h>

/*
 * Admin hooks: every executable regular file in the hooks directory, in
 * name order (names starting with '.' and ending in '~' are skipped), run
 * one after another with one argument (the phase: "pre-enable" or
 * "post-disable") and DMADIRTY_TAG / DMADIRTY_GENERATION in the
 * environment.  Output is logged line by line.  A hook that runs past the
 * timeout is killed with its process group.  Nothing blocks: the run
 * proceeds from main-loop callbacks.
 */

#define DD_HOOKS_ERROR (dd_hooks_error_quark())
GQuark dd_hooks_error_quark(void);

typedef enum {
	DD_HOOKS_ERROR_FAILED,		/* exited with a non-zero status */
	DD_HOOKS_ERROR_SIGNALED,	/* killed by a signal */
	DD_HOOKS_ERROR_TIMED_OUT,	/* ran past the timeout and was killed */
	DD_HOOKS_ERROR_START,		/* could not be started */
} DdHooksError;

typedef struct DdHookRun DdHookRun;

/**
 * DdHooksDone:
 * @error: NULL on success, else the first failure (naming the hook);
 *   the callee takes it.
 */
typedef void (*DdHooksDone)(GError *error, gpointer user_data);

/**
 * dd_hooks_run:
 * Starts the hooks of @phase.  @done is called exactly once, from the main
 * loop (never from within this call), unless the run is cancelled.  With
 * @keep_going, later hooks still run after one failed.
 */
DdHookRun *dd_hooks_run(const char *dir, const char *phase, const char *tag,
			guint32 generation, guint timeout_s, gboolean keep_going,
			DdHooksDone done, gpointer user_data);

/** dd_hooks_cancel: kills a running hook; @done is not called. */
void dd_hooks_cancel(DdHookRun *run);

/** dd_hooks_list: the hooks that would run, sorted (for tests and logs). */
char **dd_hooks_list(const char *dir, GError **error);

#endif /* DD_HOOKS_H */
