// SPDX-License-Identifier: GPL-2.0
/*
 * What enable does besides arming the hooks, so that no mapping made
 * before it can reach the CPU unmarked:
 *
 *  - dma_skip_sync is cleared on every device (and again by every
 *    dma_set_mask() while dirtying is on, see dirty.c).  With it set, the
 *    kernel skips sync-for-cpu calls before they reach a hook, and from
 *    6.17 drivers that ask dma_need_unmap() never unmap at all.
 *
 *  - In-flight block requests are drained: every blk-mq queue is frozen
 *    (which waits for the requests already issued) and thawed, one queue
 *    at a time.  A request mapped before the flag was cleared may have
 *    decided then not to unmap; once drained, its DMA is over before
 *    enable returns, so the host's first RAM pass, which starts after the
 *    ack, copies its pages.  One queue at a time, because a stacked device
 *    (loop, request-based dm) drains through the queue below it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/slab.h>

#include "compat.h"
#include "dmadirty.h"

#if !defined(HAVE_DEV_CLEAR_DMA_SKIP_SYNC) && defined(HAVE_DEV_DMA_SKIP_SYNC)
/*
 * dma_skip_sync is a bitfield: find its bit by setting it in a zeroed
 * struct device, so that it can be cleared with clear_bit(), an atomic
 * read-modify-write of its word that cannot rewrite a neighbour
 * (offline, can_match, state_synced) with a stale value.  The kernel's
 * own plain stores to a neighbour can still undo a clear made at the same
 * instant; on a DMA device they happen only as a driver binds, before its
 * probe calls dma_set_mask(), and every unmap hook clears the flag again.
 */
static unsigned int dmadirty_skip_sync_word;	/* in longs from dev */
static unsigned int dmadirty_skip_sync_bit;

int dmadirty_skip_sync_init(void)
{
	struct device *dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	const unsigned long *w = (const unsigned long *)dev;
	unsigned int i, found = 0;

	if (!dev)
		return -ENOMEM;
	dev->dma_skip_sync = true;
	for (i = 0; i < sizeof(*dev) / sizeof(long); i++) {
		if (!w[i])
			continue;
		dmadirty_skip_sync_word = i;
		dmadirty_skip_sync_bit = __ffs(w[i]);
		found++;
	}
	kfree(dev);
	if (found != 1) {
		pr_err("cannot locate dma_skip_sync in struct device\n");
		return -EINVAL;
	}
	return 0;
}

void dmadirty_clear_skip_sync_bit(struct device *dev)
{
	clear_bit(dmadirty_skip_sync_bit,
		  (unsigned long *)dev + dmadirty_skip_sync_word);
}
#endif

bool dmadirty_clear_skip_sync(struct device *dev)
{
	if (!dmadirty_test_skip_sync(dev))
		return false;
	dmadirty_clear_skip_sync_bit(dev);
	dmadirty_count(DMADIRTY_CTR_SKIP_SYNC_CLEARED, 1);
	return true;
}

/*
 * Every device the driver core has registered, whatever its bus (a device
 * does DMA once its driver is bound, so registered): they all hang in its
 * kset of devices, which platform_bus (registered at boot) belongs to, as
 * the shutdown path walks it.  The walk only clears a bit, so it holds
 * the list's spinlock throughout.  The flag is left clear when dirtying
 * goes off: a clear flag only costs a call into the sync path, while
 * setting it wrongly would lose syncs.
 */
void dmadirty_clear_all_skip_sync(void)
{
	struct kset *devices = platform_bus.kobj.kset;
	struct kobject *k;

	spin_lock(&devices->list_lock);
	list_for_each_entry(k, &devices->list, entry)
		dmadirty_clear_skip_sync(container_of(k, struct device, kobj));
	spin_unlock(&devices->list_lock);
}

/* The block class, found through any disk below a PCI or platform device. */
static int dmadirty_find_block_class(struct device *dev, void *data)
{
	const struct class **cls = data;

	if (dev->class && !strcmp(dev->class->name, "block")) {
		*cls = dev->class;
		return 1;
	}
	return device_for_each_child(dev, data, dmadirty_find_block_class);
}

static int dmadirty_drain_disk(struct device *dev, void *data)
{
	struct request_queue *q;
	unsigned int *n = data;

	/* Partitions share their disk's queue. */
	if (!dev->type || strcmp(dev->type->name, "disk"))
		return 0;
	q = dev_to_disk(dev)->queue;
	if (!q || !queue_is_mq(q))
		return 0;
	dmadirty_drain_queue(q);
	(*n)++;
	return 0;
}

unsigned int dmadirty_drain_block(void)
{
	const struct class *cls = NULL;
	unsigned int n = 0;

	bus_for_each_dev(&pci_bus_type, NULL, &cls, dmadirty_find_block_class);
	if (!cls)
		bus_for_each_dev(&platform_bus_type, NULL, &cls,
				 dmadirty_find_block_class);
	if (cls)
		class_for_each_device((struct class *)cls, NULL, &n,
				      dmadirty_drain_disk);
	return n;
}
