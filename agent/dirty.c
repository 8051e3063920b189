/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirtying state machine: see dirty.h.
 */
#define G_LOG_DOMAIN "dmadirty-dirty"
#include "config.h"

#include "dirty.h"
#include "hooks.h"
#include "dmadirty_vendor.h"

typedef enum {
	OP_ENABLE,
	OP_DISABLE,
} OpKind;

typedef enum {
	ORIGIN_RPC,
	ORIGIN_LEASE,
	ORIGIN_HOST,
} OpOrigin;

typedef struct {
	OpKind kind;
	OpOrigin origin;
	guint lease;
	char *tag;
	guint32 host_seq;	/* ORIGIN_HOST: the sequence to acknowledge */
	DdDirtyDone done;
	gpointer user_data;
	DdDirtyResult result;	/* filled as the op proceeds */
} Op;

struct DdDirty {
	DdKernel *kernel;
	char *hooks_dir;
	guint hook_timeout;

	guint32 generation;
	guint lease_id;
	gint64 lease_end;	/* monotonic µs; 0 without lease */
	guint lease_s;

	GQueue queue;		/* of Op, waiting */
	Op *current;
	DdHookRun *hooks;
	guint idle_id;		/* starts the next op from the main loop */
	gboolean have_host_seq;
	guint32 host_seq;	/* last host sequence acted on */
};

G_DEFINE_QUARK(dmadirty-dirty-error-quark, dd_dirty_error)

static void op_free(Op *op)
{
	g_free(op->tag);
	g_free(op);
}

static void schedule(DdDirty *d);

static void
complete(DdDirty *d, GError *error)
{
	Op *op = g_steal_pointer(&d->current);

	op->result.generation = d->generation;
	op->result.source = dd_kernel_source(d->kernel);
	if (op->done) {
		op->done(&op->result, error, op->user_data);
	} else if (error) {
		g_warning("%s (%s) failed: %s", op->kind == OP_ENABLE ? "enable" : "disable",
			  op->origin == ORIGIN_HOST ? "host request" : "lease expiry",
			  error->message);
		g_error_free(error);
	} else {
		g_message("DMA dirtying %s (generation %u, ack %s)",
			  op->result.enabled ? "on" : "off", d->generation,
			  op->result.bridge ? "bridge" : "none");
	}
	op_free(op);
	schedule(d);
}

static guint32
ack_sequence(DdDirty *d, Op *op)
{
	return op->origin == ORIGIN_HOST ? op->host_seq : d->generation;
}

static gboolean on_lease_expired(gpointer user_data);

static void
set_lease(DdDirty *d, guint lease)
{
	g_clear_handle_id(&d->lease_id, g_source_remove);
	d->lease_end = 0;
	d->lease_s = lease;
	if (!lease)
		return;
	d->lease_end = g_get_monotonic_time() + (gint64)lease * G_USEC_PER_SEC;
	d->lease_id = g_timeout_add_full(G_PRIORITY_DEFAULT, lease * 1000u, on_lease_expired, d, NULL);
}

static void
enable_after_hooks(GError *error, gpointer user_data)
{
	DdDirty *d = user_data;
	Op *op = d->current;

	d->hooks = NULL;
	if (error) {
		complete(d, error);
		return;
	}
	if (!dd_kernel_set(d->kernel, TRUE, &error)) {
		complete(d, error);
		return;
	}
	d->generation++;
	set_lease(d, op->lease);
	op->result.enabled = TRUE;
	op->result.bridge = dd_kernel_ack(d->kernel, ack_sequence(d, op), TRUE);
	g_message("DMA dirtying on: generation %u, lease %u s, tag '%s', ack %s",
		  d->generation, op->lease, op->tag ? op->tag : "",
		  op->result.bridge ? "bridge" : "none");
	complete(d, NULL);
}

static void
run_enable(DdDirty *d, Op *op)
{
	gboolean on = FALSE;

	if (dd_kernel_get(d->kernel, &on, NULL) && on) {
		/* Already on: renew (or drop) the lease, keep the generation. */
		set_lease(d, op->lease);
		op->result.enabled = TRUE;
		op->result.bridge = dd_kernel_ack(d->kernel, ack_sequence(d, op), TRUE);
		if (op->lease)
			g_info("DMA dirtying already on: lease renewed to %u s", op->lease);
		else
			g_info("DMA dirtying already on: no lease");
		complete(d, NULL);
		return;
	}
	d->hooks = dd_hooks_run(d->hooks_dir, "pre-enable", op->tag, d->generation + 1,
				d->hook_timeout, FALSE, enable_after_hooks, d);
}

static void
disable_after_hooks(GError *error, gpointer user_data)
{
	DdDirty *d = user_data;

	d->hooks = NULL;
	complete(d, error);
}

static void
run_disable(DdDirty *d, Op *op)
{
	g_autoptr(GError) error = NULL;
	gboolean was_on = FALSE;

	if (!dd_kernel_get(d->kernel, &was_on, NULL))
		was_on = FALSE;
	set_lease(d, 0);
	if (!dd_kernel_set(d->kernel, FALSE, &error)) {
		complete(d, g_steal_pointer(&error));
		return;
	}
	if (was_on)
		d->generation++;
	op->result.enabled = FALSE;
	op->result.bridge = dd_kernel_ack(d->kernel, ack_sequence(d, op), FALSE);
	if (!was_on) {
		complete(d, NULL);
		return;
	}
	g_message("DMA dirtying off: generation %u, tag '%s', ack %s", d->generation,
		  op->tag ? op->tag : "", op->result.bridge ? "bridge" : "none");
	/* Dirtying is off already; a failing hook is reported all the same. */
	d->hooks = dd_hooks_run(d->hooks_dir, "post-disable", op->tag, d->generation,
				d->hook_timeout, TRUE, disable_after_hooks, d);
}

static gboolean
run_next(gpointer user_data)
{
	DdDirty *d = user_data;

	d->idle_id = 0;
	if (d->current)
		return G_SOURCE_REMOVE;
	d->current = g_queue_pop_head(&d->queue);
	if (!d->current)
		return G_SOURCE_REMOVE;
	if (d->current->kind == OP_ENABLE)
		run_enable(d, d->current);
	else
		run_disable(d, d->current);
	return G_SOURCE_REMOVE;
}

/* Ops start from the main loop, so that no callback runs inside its caller. */
static void
schedule(DdDirty *d)
{
	if (!d->current && !g_queue_is_empty(&d->queue) && !d->idle_id)
		d->idle_id = g_idle_add(run_next, d);
}

static void
push(DdDirty *d, OpKind kind, OpOrigin origin, guint lease, const char *tag,
     guint32 host_seq, DdDirtyDone done, gpointer user_data)
{
	Op *op = g_new0(Op, 1);

	op->kind = kind;
	op->origin = origin;
	op->lease = lease;
	op->tag = g_strdup(tag);
	op->host_seq = host_seq;
	op->done = done;
	op->user_data = user_data;
	g_queue_push_tail(&d->queue, op);
	schedule(d);
}

static gboolean
on_lease_expired(gpointer user_data)
{
	DdDirty *d = user_data;

	d->lease_id = 0;
	d->lease_end = 0;
	g_warning("lease of %u s expired without renewal: switching DMA dirtying off",
		  d->lease_s);
	push(d, OP_DISABLE, ORIGIN_LEASE, 0, "lease-expired", 0, NULL, NULL);
	return G_SOURCE_REMOVE;
}

void
dd_dirty_enable(DdDirty *d, guint lease, const char *tag, DdDirtyDone done, gpointer user_data)
{
	push(d, OP_ENABLE, ORIGIN_RPC, MIN(lease, DD_MAX_LEASE), tag, 0, done, user_data);
}

void
dd_dirty_disable(DdDirty *d, const char *tag, DdDirtyDone done, gpointer user_data)
{
	push(d, OP_DISABLE, ORIGIN_RPC, 0, tag, 0, done, user_data);
}

void
dd_dirty_host_changed(guint32 state, guint32 sequence, gpointer user_data)
{
	DdDirty *d = user_data;
	GList *l;

	/* The state found at open and the first read may be the same change: act once. */
	if (d->have_host_seq && d->host_seq == sequence)
		return;
	/*
	 * The first state seen after the device opened is not a change: an
	 * idle host must not undo a boot-time dmadirty.enable=1.  A host
	 * already in pre-copy (agent restarted mid-migration) is acted on.
	 */
	if (!d->have_host_seq && state != DMADIRTY_HOST_PRECOPY) {
		d->have_host_seq = TRUE;
		d->host_seq = sequence;
		g_debug("host idle (sequence %u) when first seen", sequence);
		return;
	}
	d->have_host_seq = TRUE;
	d->host_seq = sequence;
	g_message("host state %u (sequence %u): switching DMA dirtying %s", state, sequence,
		  state == DMADIRTY_HOST_PRECOPY ? "on" : "off");

	/* A newer host state replaces one still waiting. */
	for (l = d->queue.head; l; l = l->next) {
		Op *op = l->data;

		if (op->origin == ORIGIN_HOST) {
			op_free(op);
			g_queue_delete_link(&d->queue, l);
			break;
		}
	}
	push(d, state == DMADIRTY_HOST_PRECOPY ? OP_ENABLE : OP_DISABLE, ORIGIN_HOST, 0,
	     "host", sequence, NULL, NULL);
}

DdDirty *
dd_dirty_new(DdKernel *kernel, const char *hooks_dir, guint hook_timeout_s)
{
	DdDirty *d = g_new0(DdDirty, 1);

	d->kernel = kernel;
	d->hooks_dir = g_strdup(hooks_dir);
	d->hook_timeout = hook_timeout_s;
	g_queue_init(&d->queue);
	return d;
}

void
dd_dirty_set_kernel(DdDirty *d, DdKernel *kernel)
{
	d->kernel = kernel;
}

void
dd_dirty_free(DdDirty *d)
{
	Op *op;

	if (!d)
		return;
	g_clear_pointer(&d->hooks, dd_hooks_cancel);
	g_clear_handle_id(&d->idle_id, g_source_remove);
	g_clear_handle_id(&d->lease_id, g_source_remove);
	/* Running and waiting ops fail; their callers must still be alive. */
	if (d->current)
		g_queue_push_head(&d->queue, g_steal_pointer(&d->current));
	while ((op = g_queue_pop_head(&d->queue))) {
		if (op->done) {
			op->result.generation = d->generation;
			op->result.source = "none";
			op->done(&op->result, g_error_new_literal(DD_DIRTY_ERROR,
				 DD_DIRTY_ERROR_SHUTDOWN, "the agent is shutting down"),
				 op->user_data);
		}
		op_free(op);
	}
	g_free(d->hooks_dir);
	g_free(d);
}

guint32
dd_dirty_generation(DdDirty *d)
{
	return d->generation;
}

guint
dd_dirty_lease_remaining(DdDirty *d)
{
	gint64 left;

	if (!d->lease_end)
		return 0;
	left = d->lease_end - g_get_monotonic_time();
	if (left <= 0)
		return 0;
	return (guint)((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

gboolean
dd_dirty_busy(DdDirty *d)
{
	return d->current || !g_queue_is_empty(&d->queue);
}
