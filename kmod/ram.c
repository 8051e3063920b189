// SPDX-License-Identifier: GPL-2.0
/*
 * Which page frames are RAM: the "System RAM" ranges of the iomem tree,
 * the test of page_is_ram(), less the memory sections that are offline,
 * read once into a sorted array and kept current by a memory hotplug
 * notifier.  The DMA hooks look a frame up without a lock (RCU), in any
 * context: page_is_ram() takes the resource lock on every call, a read
 * lock that a hard interrupt must not take.
 *
 * New memory enters the array when it is going online, before the page
 * allocator can hand out its pages.  Offlined memory leaves it after: no
 * DMA can target it, its pages all free, and once it is removed its
 * "System RAM" range goes with no notifier call, but its linear mapping
 * goes too, and a mark there would fault.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "dmadirty.h"

struct dmadirty_ram __rcu *dmadirty_ram;
static DEFINE_MUTEX(dmadirty_ram_lock);

/*
 * The array lives in module data, next to the pointer the hooks read, in
 * one of two slots: a lookup then reads no memory but this module's data,
 * and under emulation every page a hook touches can cost it a TLB miss.
 * A reload fills the slot not published, publishes it, then waits out
 * the readers of the old one, so that the next reload may fill that.  A
 * machine with more ranges than a slot holds gets an allocated array.
 */
#define DMADIRTY_RAM_SLOT	16

static union dmadirty_ram_slot {
	struct dmadirty_ram ram;
	char bytes[sizeof(struct dmadirty_ram) +
		   DMADIRTY_RAM_SLOT * sizeof(struct dmadirty_ram_range)];
} dmadirty_ram_slots[2];

static bool dmadirty_ram_in_slot(const struct dmadirty_ram *ram)
{
	return ram == &dmadirty_ram_slots[0].ram || ram == &dmadirty_ram_slots[1].ram;
}

struct dmadirty_ram_walk {
	struct dmadirty_ram *ram;	/* NULL: count only */
	unsigned int cap;		/* ranges ram holds */
	unsigned int nr;
	unsigned long end;		/* of the last range */
	/* A block changing state: count it as going_online says. */
	unsigned long going_start, going_end;
	bool going_online;
};

/*
 * Whether the memory section of @pfn is online.  The block a notifier
 * call is about has not changed state yet when it is going online, and
 * may be half way when it is cancelled: it counts as the call says.
 */
static bool dmadirty_ram_online(const struct dmadirty_ram_walk *w, unsigned long pfn)
{
	if (pfn >= w->going_start && pfn < w->going_end)
		return w->going_online;
	return pfn_to_online_page(pfn);
}

static int dmadirty_ram_push(struct dmadirty_ram_walk *w, unsigned long start,
			     unsigned long end)
{
	/* Hot-added blocks come one resource each: join the adjacent. */
	if (w->nr && start == w->end) {
		if (w->ram)
			w->ram->range[w->nr - 1].end = end;
		w->end = end;
		return 0;
	}
	if (w->ram) {
		if (w->nr >= w->cap)
			return -EAGAIN;	/* grew since the count */
		w->ram->range[w->nr].start = start;
		w->ram->range[w->nr].end = end;
	}
	w->nr++;
	w->end = end;
	return 0;
}

/* A "System RAM" range, less its offline sections. */
static int dmadirty_ram_add(struct resource *res, void *arg)
{
	struct dmadirty_ram_walk *w = arg;
	unsigned long pfn = PFN_UP(res->start);
	unsigned long end = PFN_DOWN(res->end + 1);
	unsigned long next;
	int ret;

	for (; pfn < end; pfn = next) {
		next = min(end, ALIGN(pfn + 1, PAGES_PER_SECTION));
		if (!dmadirty_ram_online(w, pfn))
			continue;
		ret = dmadirty_ram_push(w, pfn, next);
		if (ret)
			return ret;
	}
	return 0;
}

static int dmadirty_ram_walk(struct dmadirty_ram_walk *w)
{
	w->nr = 0;
	w->end = 0;
	/* In address order. */
	return walk_iomem_res_desc(IORES_DESC_NONE,
				   IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
				   0, -1, w, dmadirty_ram_add);
}

/* Read the ranges into @w->ram, a free slot or a new array. */
static int dmadirty_ram_read(struct dmadirty_ram_walk *w, struct dmadirty_ram *slot)
{
	int tries;
	int ret;

	for (tries = 0; tries < 3; tries++) {
		w->ram = NULL;
		ret = dmadirty_ram_walk(w);
		/* -EINVAL: no range at all, which is not a machine we run on. */
		if (ret == -EINVAL || (!ret && !w->nr))
			return -ENODEV;
		if (ret)
			return ret;
		if (w->nr <= DMADIRTY_RAM_SLOT) {
			w->ram = slot;
			w->cap = DMADIRTY_RAM_SLOT;
		} else {
			w->ram = kzalloc(struct_size(w->ram, range, w->nr + 8), GFP_KERNEL);
			if (!w->ram)
				return -ENOMEM;
			w->cap = w->nr + 8;
		}
		ret = dmadirty_ram_walk(w);
		if (!ret)
			return 0;
		if (w->ram != slot)
			kfree(w->ram);
	}
	return ret;
}

/*
 * Read the ranges again and publish them, with @going (NULL: none) counted
 * as @online says.  dmadirty_ram_lock held.
 */
static int dmadirty_ram_reload(const struct memory_notify *going, bool online)
{
	struct dmadirty_ram *old = rcu_dereference_protected(dmadirty_ram,
						lockdep_is_held(&dmadirty_ram_lock));
	/* The slot not published, which no reader is left in (see below). */
	struct dmadirty_ram *slot = old == &dmadirty_ram_slots[0].ram ?
				    &dmadirty_ram_slots[1].ram : &dmadirty_ram_slots[0].ram;
	struct dmadirty_ram_walk w = { };
	unsigned int i;
	int ret;

	if (going) {
		w.going_start = going->start_pfn;
		w.going_end = going->start_pfn + going->nr_pages;
		w.going_online = online;
	}
	ret = dmadirty_ram_read(&w, slot);
	if (ret)
		return ret;
	w.ram->nr = w.nr;
	w.ram->big = w.ram->range[0];
	for (i = 1; i < w.nr; i++)
		if (w.ram->range[i].end - w.ram->range[i].start >
		    w.ram->big.end - w.ram->big.start)
			w.ram->big = w.ram->range[i];
	rcu_assign_pointer(dmadirty_ram, w.ram);
	if (old) {
		/* Since 4.20 this waits for RCU-sched readers too. */
		synchronize_rcu();
		if (!dmadirty_ram_in_slot(old))
			kfree(old);
	}
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
	ret = dmadirty_ram_reload(data, action == MEM_GOING_ONLINE);
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

static void dmadirty_ram_free(void)
{
	struct dmadirty_ram *ram = rcu_dereference_protected(dmadirty_ram, true);

	if (!dmadirty_ram_in_slot(ram))
		kfree(ram);
	RCU_INIT_POINTER(dmadirty_ram, NULL);
}

int dmadirty_ram_init(void)
{
	int ret;

	mutex_lock(&dmadirty_ram_lock);
	ret = dmadirty_ram_reload(NULL, false);
	mutex_unlock(&dmadirty_ram_lock);
	if (ret)
		return ret;
	ret = register_memory_notifier(&dmadirty_ram_nb);
	if (ret)
		goto err_free;
	/* Memory that came online between the read and the notifier. */
	mutex_lock(&dmadirty_ram_lock);
	ret = dmadirty_ram_reload(NULL, false);
	mutex_unlock(&dmadirty_ram_lock);
	if (ret)
		goto err_unregister;
	return 0;

err_unregister:
	unregister_memory_notifier(&dmadirty_ram_nb);
err_free:
	dmadirty_ram_free();
	return ret;
}

void dmadirty_ram_exit(void)
{
	unregister_memory_notifier(&dmadirty_ram_nb);
	/* The hooks are gone: no reader is left. */
	synchronize_rcu();
	dmadirty_ram_free();
}
