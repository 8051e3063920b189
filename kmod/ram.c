// SPDX-License-Identifier: GPL-2.0
/*
 * Which page frames are RAM: the "System RAM" ranges of the iomem tree,
 * the same test as page_is_ram(), read once into a sorted array and kept
 * current by a memory hotplug notifier.  The DMA hooks look a frame up
 * without a lock (RCU), in any context: page_is_ram() takes the resource
 * lock on every call, a read lock that a hard interrupt must not take.
 *
 * New memory enters the array when it is going online, before the page
 * allocator can hand out its pages; offlined memory leaves it after.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "dmadirty.h"

struct dmadirty_ram __rcu *dmadirty_ram;
static DEFINE_MUTEX(dmadirty_ram_lock);

struct dmadirty_ram_walk {
	struct dmadirty_ram *ram;	/* NULL: count only */
	unsigned int nr;
};

static int dmadirty_ram_add(struct resource *res, void *arg)
{
	struct dmadirty_ram_walk *w = arg;
	unsigned long start = PFN_UP(res->start);
	unsigned long end = PFN_DOWN(res->end + 1);

	if (start >= end)
		return 0;
	if (w->ram) {
		if (w->nr >= w->ram->nr)
			return -EAGAIN;	/* grew since the count */
		w->ram->range[w->nr].start = start;
		w->ram->range[w->nr].end = end;
	}
	w->nr++;
	return 0;
}

static int dmadirty_ram_walk(struct dmadirty_ram_walk *w)
{
	w->nr = 0;
	return walk_iomem_res_desc(IORES_DESC_NONE,
				   IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
				   0, -1, w, dmadirty_ram_add);
}

/* Read the ranges again and publish them.  dmadirty_ram_lock held. */
static int dmadirty_ram_reload(void)
{
	struct dmadirty_ram_walk w = { };
	struct dmadirty_ram *old;
	int tries;
	int ret;

	for (tries = 0; tries < 3; tries++) {
		w.ram = NULL;
		ret = dmadirty_ram_walk(&w);
		/* -EINVAL: no range at all, which is not a machine we run on. */
		if (ret)
			return ret == -EINVAL ? -ENODEV : ret;
		w.ram = kzalloc(struct_size(w.ram, range, w.nr + 8), GFP_KERNEL);
		if (!w.ram)
			return -ENOMEM;
		w.ram->nr = w.nr + 8;
		ret = dmadirty_ram_walk(&w);
		if (!ret)
			break;
		kfree(w.ram);
		w.ram = NULL;
	}
	if (!w.ram)
		return ret;
	/* walk_iomem_res_desc() goes in address order. */
	w.ram->nr = w.nr;
	old = rcu_replace_pointer(dmadirty_ram, w.ram,
				  lockdep_is_held(&dmadirty_ram_lock));
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

static int dmadirty_ram_notify(struct notifier_block *nb, unsigned long action,
			       void *data)
{
	int ret = 0;

	if (action != MEM_GOING_ONLINE && action != MEM_OFFLINE &&
	    action != MEM_CANCEL_ONLINE)
		return NOTIFY_OK;
	mutex_lock(&dmadirty_ram_lock);
	ret = dmadirty_ram_reload();
	mutex_unlock(&dmadirty_ram_lock);
	if (ret) {
		/* The old ranges stay: new memory is not marked, so refuse it. */
		pr_err("cannot reread the RAM ranges: %d\n", ret);
		return action == MEM_GOING_ONLINE ? notifier_from_errno(ret) : NOTIFY_OK;
	}
	return NOTIFY_OK;
}

static struct notifier_block dmadirty_ram_nb = {
	.notifier_call = dmadirty_ram_notify,
};

int dmadirty_ram_init(void)
{
	int ret;

	mutex_lock(&dmadirty_ram_lock);
	ret = dmadirty_ram_reload();
	mutex_unlock(&dmadirty_ram_lock);
	if (ret)
		return ret;
	ret = register_memory_notifier(&dmadirty_ram_nb);
	if (ret)
		goto err_free;
	/* Memory that came online between the read and the notifier. */
	mutex_lock(&dmadirty_ram_lock);
	ret = dmadirty_ram_reload();
	mutex_unlock(&dmadirty_ram_lock);
	if (ret)
		goto err_unregister;
	return 0;

err_unregister:
	unregister_memory_notifier(&dmadirty_ram_nb);
err_free:
	kfree(rcu_dereference_protected(dmadirty_ram, true));
	RCU_INIT_POINTER(dmadirty_ram, NULL);
	return ret;
}

void dmadirty_ram_exit(void)
{
	unregister_memory_notifier(&dmadirty_ram_nb);
	/* The hooks are gone: no reader is left. */
	synchronize_rcu();
	kfree(rcu_dereference_protected(dmadirty_ram, true));
	RCU_INIT_POINTER(dmadirty_ram, NULL);
}
