/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences, one wrapper each.  The HAVE_* macros come from
 * the compile probes in probe.sh, run against the target kernel.
 */
#ifndef DMADIRTY_COMPAT_H
#define DMADIRTY_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/device.h>
#include <linux/ftrace.h>
#include <linux/swiotlb.h>
#include <linux/sysctl.h>

#include "dmadirty_config.h"

/* dirty.c reads x86 call instructions; the supported guests are x86-64. */
#ifndef CONFIG_X86_64
#error "dmadirty supports x86-64 guests only"
#endif

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
#elif defined(HAVE_IS_SWIOTLB_BUFFER_PHYS)
	return is_swiotlb_buffer(paddr);
#else
	return false;
#endif
}

/*
 * dma_skip_sync (6.11+): the kernel skips sync-for-cpu calls, and from
 * 6.17 some drivers skip unmaps (dma_need_unmap()), for devices with the
 * flag set.  DMADIRTY_KERNEL_SKIPS_SYNC says the kernel has the mechanism
 * (its out-of-line __dma_sync_*_for_cpu); DMADIRTY_CAN_CLEAR_SKIP_SYNC that
 * this build can clear the flag.  The first without the second is a hole
 * in coverage that dirty.c reports at enable.
 *
 * 7.2 moved the flag into dev->flags with atomic accessors.  Before, it
 * is a bitfield next to offline, can_match and state_synced, which the
 * driver core writes at run time: dirty.c finds its bit at load and
 * clears it with an atomic bit operation, so a neighbour is never
 * rewritten with a stale value.
 */
#ifdef HAVE_DMA_SYNC_FOR_CPU_INTERNAL
#define DMADIRTY_KERNEL_SKIPS_SYNC	1
#else
#define DMADIRTY_KERNEL_SKIPS_SYNC	0
#endif

#if defined(HAVE_DEV_CLEAR_DMA_SKIP_SYNC)
#define DMADIRTY_CAN_CLEAR_SKIP_SYNC	1
static inline int dmadirty_skip_sync_init(void)
{
	return 0;
}

static inline bool dmadirty_test_skip_sync(struct device *dev)
{
	return dev_dma_skip_sync(dev);
}

static inline void dmadirty_clear_skip_sync_bit(struct device *dev)
{
	dev_clear_dma_skip_sync(dev);
}
#elif defined(HAVE_DEV_DMA_SKIP_SYNC)
#define DMADIRTY_CAN_CLEAR_SKIP_SYNC	1
int dmadirty_skip_sync_init(void);
void dmadirty_clear_skip_sync_bit(struct device *dev);
/* A plain read of the bitfield, as test_bit() is: no module data to load. */
static inline bool dmadirty_test_skip_sync(struct device *dev)
{
	return dev->dma_skip_sync;
}
#else
#define DMADIRTY_CAN_CLEAR_SKIP_SYNC	0
static inline int dmadirty_skip_sync_init(void)
{
	return 0;
}

static inline bool dmadirty_test_skip_sync(struct device *dev)
{
	return false;
}

static inline void dmadirty_clear_skip_sync_bit(struct device *dev)
{
}
#endif

/* Out-of-line sync-for-cpu functions behind the inline checks (6.11+). */
#ifdef HAVE_DMA_SYNC_FOR_CPU_INTERNAL
#define dmadirty_sync_single_for_cpu	__dma_sync_single_for_cpu
#define dmadirty_sync_sg_for_cpu	__dma_sync_sg_for_cpu
#else
#define dmadirty_sync_single_for_cpu	dma_sync_single_for_cpu
#define dmadirty_sync_sg_for_cpu	dma_sync_sg_for_cpu
#endif

/*
 * The ftrace callback: struct ftrace_regs from 5.11, struct pt_regs
 * before.  Where ftrace fills ftrace_regs with the argument registers
 * (DYNAMIC_FTRACE_WITH_ARGS: ftrace_regs_get_argument() from 6.2, the
 * pt_regs inside x86's ftrace_regs before), the callback needs no full
 * pt_regs; elsewhere FTRACE_OPS_FL_SAVE_REGS asks for them.  The callback
 * cannot recurse (it calls no function it hooks), so it asks for no
 * recursion guard: FTRACE_OPS_FL_RECURSION unset from 5.11, and
 * FTRACE_OPS_FL_RECURSION_SAFE, the same promise, before.
 */
#ifdef HAVE_FTRACE_REGS
#define dmadirty_fregs_t	struct ftrace_regs
#if defined(HAVE_FTRACE_REGS_GET_ARGUMENT)
#define DMADIRTY_FTRACE_FLAGS	0
static inline unsigned long dmadirty_farg(struct ftrace_regs *f, int n)
{
	return ftrace_regs_get_argument(f, n);
}
#elif defined(HAVE_FTRACE_REGS_REGS) && defined(CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS)
#define DMADIRTY_FTRACE_FLAGS	0
static inline unsigned long dmadirty_farg(struct ftrace_regs *f, int n)
{
	return regs_get_kernel_argument(&f->regs, n);
}
#else
#define DMADIRTY_FTRACE_FLAGS	FTRACE_OPS_FL_SAVE_REGS
static inline unsigned long dmadirty_farg(struct ftrace_regs *f, int n)
{
	return regs_get_kernel_argument(ftrace_get_regs(f), n);
}
#endif
#else
#define dmadirty_fregs_t	struct pt_regs
#define DMADIRTY_FTRACE_FLAGS	(FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION_SAFE)
static inline unsigned long dmadirty_farg(struct pt_regs *regs, int n)
{
	return regs_get_kernel_argument(regs, n);
}
#endif

/*
 * A direct call: the call at the start of a hooked function goes to a
 * function of ours instead of an ftrace trampoline.  x86-64 only, where a
 * C function that keeps every register (__no_caller_saved_registers) can
 * be that target.  The kernel takes it for the functions in the filter of
 * an ops (DMADIRTY_DIRECT_OPS: register_ftrace_direct() from 6.5,
 * register_ftrace_direct_multi() from 5.16), or before 5.16 for one
 * address at a time (register_ftrace_direct() on an address).
 */
#if defined(CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS) && defined(CONFIG_X86_64) && \
	__has_attribute(__no_caller_saved_registers__)
#if defined(HAVE_FTRACE_DIRECT_OPS) || defined(HAVE_FTRACE_DIRECT_MULTI)
#define DMADIRTY_DIRECT		1
#define DMADIRTY_DIRECT_OPS	1
#elif defined(HAVE_FTRACE_DIRECT_IP)
#define DMADIRTY_DIRECT		1
#endif
#endif

#ifdef DMADIRTY_DIRECT_OPS
/* The direct call to @addr from each function in the filter of @ops. */
static inline int dmadirty_register_direct(struct ftrace_ops *ops, unsigned long addr)
{
#ifdef HAVE_FTRACE_DIRECT_OPS
	return register_ftrace_direct(ops, addr);
#else
	return register_ftrace_direct_multi(ops, addr);
#endif
}

/* Takes it away, and keeps the filter. */
static inline int dmadirty_unregister_direct(struct ftrace_ops *ops, unsigned long addr)
{
#ifdef HAVE_FTRACE_DIRECT_OPS
	return unregister_ftrace_direct(ops, addr, false);
#else
	return unregister_ftrace_direct_multi(ops, addr);
#endif
}
#elif defined(DMADIRTY_DIRECT)
/*
 * The direct call to @addr from each of @ips, all or none.  Taking one
 * away fails only where it is not there (short of the kernel's own
 * warning), so a failure leaves nothing behind.
 */
static inline int dmadirty_register_direct_ips(const unsigned long *ips, unsigned int n,
					       unsigned long addr)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = register_ftrace_direct(ips[i], addr);
	if (ret)
		while (--i > 0)
			unregister_ftrace_direct(ips[i - 1], addr);
	return ret;
}

/*
 * Takes them all away, the last first.  Taking away the last address that
 * calls @addr waits for every task still in it (synchronize_rcu_tasks()).
 */
static inline int dmadirty_unregister_direct_ips(const unsigned long *ips, unsigned int n,
						 unsigned long addr)
{
	int ret = 0;

	while (n--)
		ret = unregister_ftrace_direct(ips[n], addr) ?: ret;
	return ret;
}
#endif

/*
 * Adds @ips to the filter of @ops, or takes them out (@remove), as one
 * change where the kernel can.  Before 5.18, one address at a time; a
 * removal that fails half way puts back what it took, so that the filter
 * is as it was.
 */
static inline int dmadirty_filter_ips(struct ftrace_ops *ops, unsigned long *ips,
				      unsigned int n, int remove)
{
#ifdef HAVE_FTRACE_SET_FILTER_IPS
	return ftrace_set_filter_ips(ops, ips, n, remove, 0);
#else
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = ftrace_set_filter_ip(ops, ips[i], remove, 0);
	if (ret && remove)
		while (--i > 0)
			ftrace_set_filter_ip(ops, ips[i - 1], 0, 0);
	return ret;
#endif
}

/* Freeze and thaw a blk-mq queue; 6.14 made the freeze return memflags. */
static inline void dmadirty_drain_queue(struct request_queue *q)
{
#ifdef HAVE_BLK_MQ_FREEZE_MEMFLAGS
	unsigned int memflags = blk_mq_freeze_queue(q);

	blk_mq_unfreeze_queue(q, memflags);
#else
	blk_mq_freeze_queue(q);
	blk_mq_unfreeze_queue(q);
#endif
}

#endif /* DMADIRTY_COMPAT_H */
