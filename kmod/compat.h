/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences, one wrapper each.  The HAVE_* macros come from
 * the compile probes in probe.sh, run against the target kernel.
 */
#ifndef DMADIRTY_COMPAT_H
#define DMADIRTY_COMPAT_H

#include <linux/device.h>
#include <linux/swiotlb.h>
#include <linux/sysctl.h>

#include "dmadirty_config.h"

/* proc_handler takes a const table from 6.11 on. */
#ifdef HAVE_CTL_TABLE_CONST_HANDLER
#define dmadirty_ctl_table_t const struct ctl_table
#else
#define dmadirty_ctl_table_t struct ctl_table
#endif

/*
 * register_sysctl_sz() takes the table size and no sentinel; before it,
 * register_sysctl() wants a zeroed sentinel entry at the end.
 */
static inline struct ctl_table_header *
dmadirty_register_sysctl(const char *path, struct ctl_table *table, size_t n)
{
#ifdef HAVE_REGISTER_SYSCTL_SZ
	return register_sysctl_sz(path, table, n);
#else
	return register_sysctl(path, table);
#endif
}

/* Is @paddr a swiotlb bounce slot of @dev? */
static inline bool dmadirty_is_swiotlb(struct device *dev, phys_addr_t paddr)
{
#if defined(HAVE_SWIOTLB_FIND_POOL) && defined(CONFIG_SWIOTLB_DYNAMIC)
	/* __swiotlb_find_pool() is not exported: check the default pool. */
	struct io_tlb_mem *mem = dev->dma_io_tlb_mem;

	return mem && paddr >= mem->defpool.start && paddr < mem->defpool.end;
#elif defined(HAVE_SWIOTLB_FIND_POOL)
	return swiotlb_find_pool(dev, paddr);
#elif defined(HAVE_IS_SWIOTLB_BUFFER)
	return is_swiotlb_buffer(dev, paddr);
#else
	return false;
#endif
}

/*
 * Kernels with dev->dma_skip_sync (6.11+) skip the sync-for-cpu calls for
 * coherent devices before they reach the out-of-line function we probe.
 */
#ifdef HAVE_DEV_DMA_SKIP_SYNC
#define DMADIRTY_HAVE_SKIP_SYNC 1
/*
 * A bitfield: the store rewrites its neighbours (dma_coherent, dma_iommu...)
 * with the values just read; those are set up before a driver binds, so a
 * racing writer of them would already be a kernel bug.
 */
static inline bool dmadirty_clear_skip_sync(struct device *dev)
{
	if (!dev->dma_skip_sync)
		return false;
	dev->dma_skip_sync = false;
	return true;
}
#else
#define DMADIRTY_HAVE_SKIP_SYNC 0
static inline bool dmadirty_clear_skip_sync(struct device *dev)
{
	return false;
}
#endif

/* Out-of-line sync-for-cpu functions behind the inline checks (6.11+). */
#ifdef HAVE_DMA_SYNC_FOR_CPU_INTERNAL
#define DMADIRTY_SYM_SYNC_SINGLE	"__dma_sync_single_for_cpu"
#define DMADIRTY_SYM_SYNC_SG		"__dma_sync_sg_for_cpu"
#else
#define DMADIRTY_SYM_SYNC_SINGLE	"dma_sync_single_for_cpu"
#define DMADIRTY_SYM_SYNC_SG		"dma_sync_sg_for_cpu"
#endif

#endif /* DMADIRTY_COMPAT_H */
