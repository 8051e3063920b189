// SPDX-License-Identifier: GPL-2.0
/*
 * DMA page dirtying: an ftrace callback at the entry of every DMA API
 * function through which a buffer that a device may have written returns
 * to the CPU (unmap, sync-for-cpu, IOVA unlink and destroy, coherent
 * free), or for the unmap and sync of one range, a direct call where the
 * kernel takes one.  Each such page gets a locked add of 0 on an aligned
 * word inside the buffer, a CPU write the hypervisor's dirty log sees.
 *
 * The filters are set at load, which resolves every symbol; the ops are
 * registered only while vm.dma_mark_dirty is 1, so while off no call site
 * is patched.  They are FTRACE_OPS_FL_PERMANENT: while they are registered
 * nobody can switch function tracing off under them
 * (kernel.ftrace_enabled), and registering fails, instead of silently not
 * tracing, while it is off.
 *
 * Coverage is decided at load and is all or nothing.  Every entry point
 * the running kernel has must be hooked; one this build has no handler
 * for, or cannot hook, is "missing", and enable then fails with
 * -EOPNOTSUPP and the name in /sys/class/misc/dmadirty/missing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/iommu.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "dmadirty.h"

static bool dmadirty_skip_sync_clear = true;
module_param_named(skip_sync_clear, dmadirty_skip_sync_clear, bool, 0444);
MODULE_PARM_DESC(skip_sync_clear,
		 "Clear dma_skip_sync while dirtying is on (default 1; 0 leaves coverage incomplete, so enable fails)");

static char *dmadirty_break_hook;
module_param_named(break_hook, dmadirty_break_hook, charp, 0444);
MODULE_PARM_DESC(break_hook,
		 "Testing only: treat this DMA API function as impossible to hook");

static DEFINE_MUTEX(dmadirty_switch_lock);
static bool dmadirty_armed;
static bool dmadirty_kernel_mode;

static bool dmadirty_use_skip_sync(void)
{
	return DMADIRTY_CAN_CLEAR_SKIP_SYNC && dmadirty_skip_sync_clear;
}

/*
 * A cmpxchg of a byte or half-word with itself: a write that keeps it.
 * It and the other functions the unmap and sync fast path calls keep
 * every register, so that the direct entry (below) need save none; and
 * none is traced, since ftrace's trampoline does not keep them all.
 */
static noinline notrace __no_caller_saved_registers void dmadirty_touch_small(void *p, size_t len)
{
	unsigned long w = ALIGN((unsigned long)p, sizeof(u16));

	if (w + sizeof(u16) <= (unsigned long)p + len) {
		u16 *q = (u16 *)w;
		u16 v = READ_ONCE(*q);

		while (cmpxchg(q, v, v) != v)
			v = READ_ONCE(*q);
	} else {
		u8 *q = p;
		u8 v = READ_ONCE(*q);

		while (cmpxchg(q, v, v) != v)
			v = READ_ONCE(*q);
	}
}

/*
 * Locked add of 0 on the widest aligned word inside [p, p + len).  Inline:
 * every page marked passes here, and a range of 8 bytes or more, the
 * usual case, holds an aligned u64.
 */
static __always_inline void dmadirty_touch(void *p, size_t len)
{
	unsigned long a = (unsigned long)p;
	unsigned long end = a + len;
	unsigned long w;

	w = ALIGN(a, sizeof(u64));
	if (likely(w + sizeof(u64) <= end)) {
		atomic64_add(0, (atomic64_t *)w);
		return;
	}
	w = ALIGN(a, sizeof(u32));
	if (w + sizeof(u32) <= end) {
		atomic_add(0, (atomic_t *)w);
		return;
	}
	dmadirty_touch_small(p, len);
}

/* Mark [phys, phys + size): one touch per page, RAM only. */
static noinline void dmadirty_mark_phys_range(phys_addr_t phys, size_t size)
{
	phys_addr_t end = phys + size;
	unsigned long ram = 0;	/* RAM frames left from this one */
	u64 marked = 0, skipped = 0;

	while (phys < end) {
		size_t len = min_t(u64, end - phys, PAGE_SIZE - offset_in_page(phys));

		if (!ram)
			ram = dmadirty_ram_run(PHYS_PFN(phys));
		if (ram) {
			/* x86-64 keeps all of System RAM in its linear map. */
			dmadirty_touch(phys_to_virt(phys), len);
			marked++;
			ram--;
		} else {
			skipped++;
		}
		phys += len;
	}
	dmadirty_count(DMADIRTY_CTR_PAGES_MARKED, marked);
	if (skipped)
		dmadirty_count(DMADIRTY_CTR_SKIP_NONRAM, skipped);
}

/*
 * The same, inline where [phys, phys + size) lies in one page, as most
 * mappings that reach a hook do: no loop, and no call out of the hook.
 */
static __always_inline void dmadirty_mark_phys(phys_addr_t phys, size_t size)
{
	if (likely(size && offset_in_page(phys) + size <= PAGE_SIZE)) {
		if (likely(dmadirty_ram_run(PHYS_PFN(phys)))) {
			dmadirty_touch(phys_to_virt(phys), size);
			dmadirty_count(DMADIRTY_CTR_PAGES_MARKED, 1);
		} else {
			dmadirty_count(DMADIRTY_CTR_SKIP_NONRAM, 1);
		}
		return;
	}
	dmadirty_mark_phys_range(phys, size);
}

static struct iommu_domain *dmadirty_dma_domain(struct device *dev)
{
	struct iommu_domain *dom;

	/* No IOMMU group, no translation: skip the group lookup. */
	if (!device_iommu_mapped(dev))
		return NULL;
	dom = iommu_get_domain_for_dev(dev);

	if (dom && (dom->type & __IOMMU_DOMAIN_DMA_API))
		return dom;
	return NULL;
}

static __always_inline void dmadirty_mark_cpu(struct device *dev, phys_addr_t phys,
					      size_t size)
{
	if (dmadirty_is_swiotlb(dev, phys))
		dmadirty_count(DMADIRTY_CTR_SKIP_SWIOTLB,
			       DIV_ROUND_UP(offset_in_page(phys) + size, PAGE_SIZE));
	else
		dmadirty_mark_phys(phys, size);
}

/* A range over a page boundary, or a bounce slot: out of line. */
static noinline notrace __no_caller_saved_registers void
dmadirty_mark_cpu_slow(struct device *dev, phys_addr_t phys, size_t size)
{
	dmadirty_mark_cpu(dev, phys, size);
}

/*
 * Behind an IOMMU, pages are translated one by one, and runs that come out
 * contiguous are marked together.
 */
static noinline void dmadirty_mark_iommu(struct device *dev, struct iommu_domain *dom,
					 dma_addr_t addr, size_t size)
{
	dma_addr_t end = addr + size;
	phys_addr_t run = 0;
	size_t run_len = 0;

	while (addr < end) {
		size_t len = min_t(u64, end - addr, PAGE_SIZE - offset_in_page(addr));
		phys_addr_t phys = iommu_iova_to_phys(dom, addr);

		if (!phys) {
			dmadirty_count(DMADIRTY_CTR_TRANSLATE_FAIL, 1);
		} else if (run_len && phys == run + run_len) {
			run_len += len;
		} else {
			if (run_len)
				dmadirty_mark_cpu(dev, run, run_len);
			run = phys;
			run_len = len;
		}
		addr += len;
	}
	if (run_len)
		dmadirty_mark_cpu(dev, run, run_len);
}

/*
 * Mark a mapping [addr, addr + size) of @dev, at entry of its unmap or
 * sync, while the translation (IOMMU page table or direct offset) still
 * holds.  A direct mapping is one physical run.
 */
static __always_inline void dmadirty_mark_dma(struct device *dev, dma_addr_t addr,
					      size_t size)
{
	struct iommu_domain *dom = dmadirty_dma_domain(dev);

	if (likely(!dom))
		dmadirty_mark_cpu(dev, dma_to_phys(dev, addr), size);
	else
		dmadirty_mark_iommu(dev, dom, addr, size);
}

/*
 * An enum arrives in the low half of its register; the rest of it is
 * left undefined, so it is read through the type.
 */
static bool dmadirty_dir_writes(enum dma_data_direction dir)
{
	return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL;
}

/* The same, counting the calls it rules out. */
static bool dmadirty_dir_written(enum dma_data_direction dir)
{
	if (dmadirty_dir_writes(dir))
		return true;
	dmadirty_count(DMADIRTY_CTR_SKIP_TO_DEVICE, 1);
	return false;
}

/*
 * The handlers read the arguments of the hooked function from the ftrace
 * registers, only those they use.
 *
 * dma_unmap_sg_attrs(dev, sg, nents, dir, attrs),
 * [__]dma_sync_sg_for_cpu(dev, sg, nelems, dir)
 */
static noinline void dmadirty_on_sg(struct device *dev, dmadirty_fregs_t *regs)
{
	struct scatterlist *sgl = (struct scatterlist *)dmadirty_farg(regs, 1);
	int nents = dmadirty_farg(regs, 2);
	struct scatterlist *sg;
	bool direct;
	int i;

	if (!sgl || !dmadirty_dir_written(dmadirty_farg(regs, 3)))
		return;
	/*
	 * The CPU pages are sg_phys().  A direct mapping maps each entry one
	 * to one, so its DMA address tells whether swiotlb bounced it (the
	 * copy back dirties the page then).
	 */
	direct = !dmadirty_dma_domain(dev);
	for_each_sg(sgl, sg, nents, i) {
		if (direct && dmadirty_is_swiotlb(dev, dma_to_phys(dev, sg_dma_address(sg)))) {
			dmadirty_count(DMADIRTY_CTR_SKIP_SWIOTLB,
				       DIV_ROUND_UP(offset_in_page(sg->offset) + sg->length,
						    PAGE_SIZE));
			continue;
		}
		dmadirty_mark_phys(sg_phys(sg), sg->length);
	}
}

#ifdef HAVE_DMA_IOVA
/* dma_iova_unlink(dev, state, offset, size, dir, attrs) */
static noinline void dmadirty_on_iova_unlink(struct device *dev, dmadirty_fregs_t *regs)
{
	struct dma_iova_state *state = (struct dma_iova_state *)dmadirty_farg(regs, 1);
	size_t size = dmadirty_farg(regs, 3);

	if (state && size && dmadirty_dir_written(dmadirty_farg(regs, 4)))
		dmadirty_mark_dma(dev, state->addr + dmadirty_farg(regs, 2), size);
}

/* dma_iova_destroy(dev, state, mapped_len, dir, attrs) */
static noinline void dmadirty_on_iova_destroy(struct device *dev, dmadirty_fregs_t *regs)
{
	struct dma_iova_state *state = (struct dma_iova_state *)dmadirty_farg(regs, 1);
	size_t size = dmadirty_farg(regs, 2);

	if (state && size && dmadirty_dir_written(dmadirty_farg(regs, 3)))
		dmadirty_mark_dma(dev, state->addr, size);
}
#endif

/*
 * dma_free_attrs(dev, size, cpu_addr, dma_handle, attrs): coherent memory
 * is marked through its CPU mapping as it is freed.
 */
static noinline void dmadirty_on_free(dmadirty_fregs_t *regs)
{
	size_t size = dmadirty_farg(regs, 1);
	unsigned long a = dmadirty_farg(regs, 2);
	unsigned long end = a + size;

	if (!a || !size)
		return;
	dmadirty_count(DMADIRTY_CTR_COHERENT_FREED, 1);
	while (a < end) {
		size_t len = min(end - a, PAGE_SIZE - offset_in_page(a));
		unsigned long pfn = 0;

		if (is_vmalloc_addr((void *)a))
			pfn = vmalloc_to_pfn((void *)a);
		else if (virt_addr_valid((void *)a))
			pfn = PHYS_PFN(__pa(a));
		if (pfn && dmadirty_ram_run(pfn)) {
			dmadirty_touch((void *)a, len);
			dmadirty_count(DMADIRTY_CTR_PAGES_MARKED, 1);
		} else {
			dmadirty_count(DMADIRTY_CTR_SKIP_NONRAM, 1);
		}
		a += len;
	}
}

/* What a hooked function is to its callback. */
enum dmadirty_kind {
	DMADIRTY_SINGLE,	/* one DMA range: unmap_page, unmap_phys, sync_single */
	DMADIRTY_SG,		/* a scatterlist: unmap_sg, sync_sg */
	DMADIRTY_IOVA_UNLINK,
	DMADIRTY_IOVA_DESTROY,
	DMADIRTY_FREE,		/* coherent memory, by its CPU address */
	/*
	 * dma_map_*(dev, ...), dma_iova_link(dev, ...), dma_need_unmap(dev):
	 * the kernel recomputes dma_skip_sync in dma_set_mask(), so every
	 * map clears it again on its device, and so does the question a
	 * driver asks, at map time, before deciding to skip its unmap.  Armed
	 * with the others; once the dma_set_mask() hook below is, they are
	 * needed only until the calls of it that started before are over
	 * (dmadirty_settle()).
	 */
	DMADIRTY_KEEP_SYNC,
	/*
	 * dma_set_mask(dev, mask), the only place the kernel sets the flag:
	 * its callers are sent to a wrapper that clears it on return.
	 */
	DMADIRTY_SET_MASK,
};

/*
 * Registering an ops walks every function ftrace knows (some 50,000,
 * 15 ms or more under emulation), and the host waits on enable for the
 * ack.  So enable registers one, the shared ops, for every hook but
 * dma_set_mask()'s: its callback tells them apart by the address.  A
 * moment later (dmadirty_settle()) the single-range hooks, which every
 * sync and unmap of a page meets, get an entry of their own, a direct
 * call where the kernel takes one, else their own ops, whose callback
 * needs no lookup; then they leave the shared filter.  dma_set_mask()'s
 * hook changes where the call goes and comes then too.  Once settled,
 * the keep-sync hooks leave the shared filter as well.
 */
enum dmadirty_ops_id {
	DMADIRTY_OPS_SINGLE,
	DMADIRTY_OPS_MARK,
	DMADIRTY_OPS_SET_MASK,
	DMADIRTY_NR_OPS
};

static enum dmadirty_ops_id dmadirty_ops_of(enum dmadirty_kind kind)
{
	switch (kind) {
	case DMADIRTY_SINGLE:
		return DMADIRTY_OPS_SINGLE;
	case DMADIRTY_SET_MASK:
		return DMADIRTY_OPS_SET_MASK;
	default:
		return DMADIRTY_OPS_MARK;
	}
}

/* Whether the shared ops' filter holds the hooks of @kind from enable. */
static bool dmadirty_shared(enum dmadirty_kind kind)
{
	return kind != DMADIRTY_SET_MASK;
}

/*
 * Out of the shared filter, until the next enable puts them back: the
 * keep-sync hooks (settled) and the single-range hooks (their own entry
 * is armed).
 */
static bool dmadirty_keep_sync_dropped;
static bool dmadirty_single_dropped;

struct dmadirty_hook {
	const char *name;
	unsigned long addr;	/* the function; 0: no handler in this build */
	enum dmadirty_kind kind;
	const char *callee;	/* a hooked function it may call to do its work */
	/* Found at load. */
	unsigned long size;	/* of its code, where its callback tells by the address */
	bool present;		/* the running kernel has it */
	bool hooked;		/* in the ftrace filter */
	bool nested;		/* calls its callee: marked there, not here */
};

/* __stringify() expands compat.h's names first. */
#define DMADIRTY_HOOK(sym, k, inner)					\
	{ .name = __stringify(sym), .addr = (unsigned long)sym,	\
	  .kind = DMADIRTY_##k, .callee = inner }
#define DMADIRTY_SYNC_HOOK(sym)	DMADIRTY_HOOK(sym, KEEP_SYNC, NULL)
/* An entry point this build has no handler for: missing if the kernel has it. */
#define DMADIRTY_NO_HOOK(sym)	{ .name = sym }

static struct dmadirty_hook dmadirty_hooks[] = {
	DMADIRTY_HOOK(dma_unmap_page_attrs, SINGLE, "dma_unmap_phys"),
	DMADIRTY_HOOK(dma_unmap_sg_attrs, SG, NULL),
#ifdef HAVE_DMA_MAP_PHYS
	DMADIRTY_HOOK(dma_unmap_phys, SINGLE, NULL),
#else
	DMADIRTY_NO_HOOK("dma_unmap_phys"),
#endif
#ifdef HAVE_DMA_IOVA
	DMADIRTY_HOOK(dma_iova_unlink, IOVA_UNLINK, NULL),
	DMADIRTY_HOOK(dma_iova_destroy, IOVA_DESTROY, "dma_iova_unlink"),
#else
	DMADIRTY_NO_HOOK("dma_iova_unlink"),
	DMADIRTY_NO_HOOK("dma_iova_destroy"),
#endif
	DMADIRTY_HOOK(dmadirty_sync_single_for_cpu, SINGLE, NULL),
	DMADIRTY_HOOK(dmadirty_sync_sg_for_cpu, SG, NULL),
#ifdef HAVE_DMA_SYNC_FOR_CPU_INTERNAL
	DMADIRTY_NO_HOOK("dma_sync_single_for_cpu"),
	DMADIRTY_NO_HOOK("dma_sync_sg_for_cpu"),
#else
	DMADIRTY_NO_HOOK("__dma_sync_single_for_cpu"),
	DMADIRTY_NO_HOOK("__dma_sync_sg_for_cpu"),
#endif
	DMADIRTY_HOOK(dma_free_attrs, FREE, NULL),
#if DMADIRTY_CAN_CLEAR_SKIP_SYNC
#ifdef HAVE_DMA_MAP_PHYS
	DMADIRTY_HOOK(dma_map_page_attrs, KEEP_SYNC, "dma_map_phys"),
	DMADIRTY_SYNC_HOOK(dma_map_phys),
#else
	DMADIRTY_SYNC_HOOK(dma_map_page_attrs),
#endif
	DMADIRTY_SYNC_HOOK(dma_map_sg_attrs),
#ifdef HAVE_DMA_IOVA
	DMADIRTY_SYNC_HOOK(dma_iova_link),
#endif
#ifdef HAVE_DMA_NEED_UNMAP
	DMADIRTY_SYNC_HOOK(dma_need_unmap),
#endif
	DMADIRTY_HOOK(dma_set_mask, SET_MASK, NULL),
#endif
};

/*
 * The keep-sync and dma_set_mask() hooks exist only to keep dma_skip_sync
 * clear: a module that does not clear it neither sets nor needs them.
 */
static bool dmadirty_hook_wanted(const struct dmadirty_hook *h)
{
	return (h->kind != DMADIRTY_KEEP_SYNC && h->kind != DMADIRTY_SET_MASK) ||
	       dmadirty_use_skip_sync();
}

/*
 * What every hooked call does first: keep its device's dma_skip_sync
 * clear (the keep-sync hooks exist for that, and an unmap or sync clears
 * it too).  @dev may be NULL.  No need to read skip_sync_clear: where the
 * kernel sets the flag, a 0 there leaves coverage incomplete, and the
 * hooks are never armed.
 */
static __always_inline void dmadirty_enter(struct device *dev)
{
	if (likely(dev) && DMADIRTY_CAN_CLEAR_SKIP_SYNC && unlikely(dmadirty_test_skip_sync(dev)))
		dmadirty_clear_skip_sync(dev);
}

/*
 * The single-range hooks: dma_unmap_page_attrs(dev, addr, size, dir, attrs),
 * dma_unmap_phys(dev, addr, size, dir, attrs) and
 * [__]dma_sync_single_for_cpu(dev, addr, size, dir).  All of it, out of line.
 */
static noinline notrace __no_caller_saved_registers void
dmadirty_single_slow(struct device *dev, dma_addr_t addr, size_t size,
		     enum dma_data_direction dir)
{
	dmadirty_enter(dev);
	dmadirty_count(DMADIRTY_CTR_CALLS, 1);
	if (likely(dev) && size && dmadirty_dir_written(dir))
		dmadirty_mark_dma(dev, addr, size);
}

/*
 * What every sync and unmap of a page runs: the same work as
 * dmadirty_single_slow(), inline where a device whose flag is clear gave
 * back a direct mapping that lies within one page of the largest RAM
 * range, and every other case a call that keeps every register.
 */
static __always_inline void dmadirty_single(struct device *dev, dma_addr_t addr,
					    size_t size, enum dma_data_direction dir)
{
	phys_addr_t phys;

	if (unlikely(!dev || !size || dmadirty_test_skip_sync(dev) ||
		     device_iommu_mapped(dev) || !dmadirty_dir_writes(dir))) {
		dmadirty_single_slow(dev, addr, size, dir);
		return;
	}
	phys = dma_to_phys(dev, addr);
	if (likely(offset_in_page(phys) + size <= PAGE_SIZE) &&
	    likely(!dmadirty_is_swiotlb(dev, phys)) &&
	    likely(dmadirty_ram_in_big(PHYS_PFN(phys)))) {
		dmadirty_touch(phys_to_virt(phys), size);
		dmadirty_count_one_page();
		return;
	}
	dmadirty_count(DMADIRTY_CTR_CALLS, 1);
	dmadirty_mark_cpu_slow(dev, phys, size);
}

/*
 * The ftrace callback of the single-range hooks.  With every call a tail
 * call, it builds no stack frame.
 */
static void notrace dmadirty_single_func(unsigned long ip, unsigned long parent_ip,
					 struct ftrace_ops *op, dmadirty_fregs_t *regs)
{
	dmadirty_single((struct device *)dmadirty_farg(regs, 0), dmadirty_farg(regs, 1),
			dmadirty_farg(regs, 2), dmadirty_farg(regs, 3));
}

#ifdef DMADIRTY_DIRECT
/*
 * The same hooks' direct entry: the call at the start of the hooked
 * function comes straight here, with its arguments in their registers,
 * and returns to it.  No ftrace trampoline runs, and this function saves
 * only the registers it uses: it must keep every one, because the hooked
 * function has yet to read its arguments.  Call depth tracking
 * (retbleed=stuff) does not count the call that comes here, so it sees
 * the return stack run out one return early and refills it: safe.
 */
static void notrace __no_caller_saved_registers
dmadirty_single_direct(struct device *dev, dma_addr_t addr, size_t size,
		       enum dma_data_direction dir)
{
	dmadirty_single(dev, addr, size, dir);
}
#endif

/*
 * Where the shared callback finds what its hooked function is: the code
 * of each function in the filter of its ops, by kind, then a last entry
 * that holds any address.  Written at load, before the ops is ever
 * registered.  The trampoline ftrace builds for an ops calls its callback
 * directly, so this short scan is the whole price of sharing one ops.
 */
struct dmadirty_site {
	unsigned long start;
	unsigned long size;
	enum dmadirty_kind kind;
};

static struct dmadirty_site dmadirty_sites[ARRAY_SIZE(dmadirty_hooks) + 1];

static void notrace dmadirty_mark_func(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *op, dmadirty_fregs_t *regs)
{
	const struct dmadirty_site *site = dmadirty_sites;
	struct device *dev = (struct device *)dmadirty_farg(regs, 0);

	while (ip - site->start >= site->size)
		site++;
	if (site->kind == DMADIRTY_SINGLE) {
		dmadirty_single(dev, dmadirty_farg(regs, 1), dmadirty_farg(regs, 2),
				dmadirty_farg(regs, 3));
		return;
	}
	dmadirty_enter(dev);
	if (site->kind == DMADIRTY_KEEP_SYNC)
		return;
	dmadirty_count(DMADIRTY_CTR_CALLS, 1);
	switch (site->kind) {
	case DMADIRTY_SG:
		if (likely(dev))
			dmadirty_on_sg(dev, regs);
		break;
#ifdef HAVE_DMA_IOVA
	case DMADIRTY_IOVA_UNLINK:
		if (likely(dev))
			dmadirty_on_iova_unlink(dev, regs);
		break;
	case DMADIRTY_IOVA_DESTROY:
		if (likely(dev))
			dmadirty_on_iova_destroy(dev, regs);
		break;
#endif
	case DMADIRTY_FREE:
		dmadirty_on_free(regs);
		break;
	default:
		break;
	}
}

/*
 * The size of the function that starts at @addr, from kallsyms; 0 where
 * @addr is not the start of a symbol.
 */
static unsigned long dmadirty_func_size(unsigned long addr)
{
	char sym[KSYM_SYMBOL_LEN];
	unsigned long size;
	const char *slash;

	sprint_symbol(sym, addr);
	slash = strrchr(sym, '/');
	if (!slash || kstrtoul(slash + 1, 16, &size))
		return 0;
	/* "name+0x0/0xsize" */
	if (!strstr(sym, "+0x0/"))
		return 0;
	return size;
}

/*
 * The hooks of the shared ops, by kind, the single-range ones first, and
 * the catch-all.
 */
static void dmadirty_sites_init(void)
{
	unsigned int n = 0;
	int k, i;

	for (k = 0; k <= DMADIRTY_SET_MASK; k++) {
		if (!dmadirty_shared(k))
			continue;
		for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++) {
			const struct dmadirty_hook *h = &dmadirty_hooks[i];

			if (h->hooked && h->kind == k)
				dmadirty_sites[n++] = (struct dmadirty_site) {
					.start = h->addr, .size = h->size, .kind = k,
				};
		}
	}
	/* None is called here (the filter holds the above): nothing to mark. */
	dmadirty_sites[n] = (struct dmadirty_site) {
		.start = 0, .size = ULONG_MAX, .kind = DMADIRTY_KEEP_SYNC,
	};
}

#if DMADIRTY_CAN_CLEAR_SKIP_SYNC
/*
 * dma_set_mask() recomputes dma_skip_sync, and nothing else in the kernel
 * sets it.  Its callers run this instead, which calls it and clears the
 * flag before the caller can map anything: a synchronous return hook,
 * which needs no per-call state.  The callback lets the call from here
 * through, knowing it by its return address; the clear after it keeps it
 * from being a tail call, which would return straight to the caller and
 * be sent here again.  dma_set_mask() does not sleep, which
 * dmadirty_settle() relies on; nor does this, so the RCU-tasks wait of
 * unregistering the ops also waits for a task still in here.
 */
static int dmadirty_set_mask(struct device *dev, u64 mask)
{
	int ret = dma_set_mask(dev, mask);

	dmadirty_clear_skip_sync(dev);
	return ret;
}

static void notrace dmadirty_set_mask_func(unsigned long ip, unsigned long parent_ip,
					   struct ftrace_ops *op, dmadirty_fregs_t *regs)
{
	if (!within_module(parent_ip, THIS_MODULE))
		instruction_pointer_set(ftrace_get_regs(regs), (unsigned long)dmadirty_set_mask);
}
#endif

/*
 * The callbacks may run preemptible (they need no more: per-CPU counters
 * are single instructions, the RAM lookup an RCU-sched reader); ftrace's
 * RCU-tasks waits cover them on unregister.  An ops is registered only
 * with a filter that names at least one function: an empty filter would
 * trace them all.
 */
#define DMADIRTY_OPS(id, fn)						\
	[DMADIRTY_OPS_##id] = {						\
		.func = fn,						\
		.flags = DMADIRTY_FTRACE_FLAGS | FTRACE_OPS_FL_PERMANENT, \
	}

static struct ftrace_ops dmadirty_ops[DMADIRTY_NR_OPS] = {
	DMADIRTY_OPS(SINGLE, dmadirty_single_func),
	DMADIRTY_OPS(MARK, dmadirty_mark_func),
#if DMADIRTY_CAN_CLEAR_SKIP_SYNC
	/* It changes where the call goes: full registers, and exclusive. */
	[DMADIRTY_OPS_SET_MASK] = {
		.func = dmadirty_set_mask_func,
		.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
			 FTRACE_OPS_FL_PERMANENT,
	},
#endif
};

static void dmadirty_filter_free(struct ftrace_ops *ops)
{
#ifdef HAVE_FTRACE_FREE_FILTER
	ftrace_free_filter(ops);
#else
	ftrace_set_filter(ops, NULL, 0, 1);
#endif
}

/* Which ops have a function in their filter, and which are registered. */
static bool dmadirty_ops_used[DMADIRTY_NR_OPS];
static bool dmadirty_ops_registered[DMADIRTY_NR_OPS];

static bool dmadirty_direct_call = true;
module_param_named(direct_call, dmadirty_direct_call, bool, 0644);
MODULE_PARM_DESC(direct_call,
		 "Enter the unmap and sync hooks by a direct call where the kernel takes one (default 1; read at enable)");

/* The addresses of the hooked functions of @kind, into @ips: how many. */
static unsigned int dmadirty_hook_ips(enum dmadirty_kind kind, unsigned long *ips)
{
	unsigned int n = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++)
		if (dmadirty_hooks[i].hooked && dmadirty_hooks[i].kind == kind)
			ips[n++] = dmadirty_hooks[i].addr;
	return n;
}

#ifdef DMADIRTY_DIRECT
#define DMADIRTY_DIRECT_ENTRY	((unsigned long)dmadirty_single_direct)
#endif

#ifdef DMADIRTY_DIRECT_OPS
/*
 * The ops of the direct call.  Its filter is replaced at each enable: in
 * some kernels register_ftrace_direct() overwrites the flags of the ops,
 * the one that says it was initialised among them, and setting a filter
 * initialises it again.  Nor is it freed before unload: 6.12's
 * ftrace_free_filter() leaves the ops pointing at the freed hash.  The
 * flags that register_ftrace_direct() sets may lack
 * FTRACE_OPS_FL_PERMANENT: the direct call is armed only while the shared
 * ops, which has it, is registered, and that keeps function tracing on.
 */
static struct ftrace_ops dmadirty_direct_ops = {
	.flags = FTRACE_OPS_FL_PERMANENT,
};

static bool dmadirty_direct_filtered;
static bool dmadirty_direct_on;

/* Whether the single-range hooks are entered by direct call now. */
static bool dmadirty_direct_armed(void)
{
	return dmadirty_direct_on;
}

static int dmadirty_direct_attach(unsigned long *ips, unsigned int n)
{
	int ret = ftrace_set_filter_ips(&dmadirty_direct_ops, ips, n, 0, 1);

	if (ret)
		return ret;
	dmadirty_direct_filtered = true;
	ret = dmadirty_register_direct(&dmadirty_direct_ops, DMADIRTY_DIRECT_ENTRY);
	dmadirty_direct_on = !ret;
	return ret;
}

/* Waits, as unregistering any ops does, for every task still in it. */
static int dmadirty_direct_detach(void)
{
	int ret = dmadirty_unregister_direct(&dmadirty_direct_ops, DMADIRTY_DIRECT_ENTRY);

	dmadirty_direct_on = ret != 0;
	return ret;
}

static void dmadirty_direct_exit(void)
{
	if (dmadirty_direct_filtered)
		dmadirty_filter_free(&dmadirty_direct_ops);
}
#elif defined(DMADIRTY_DIRECT)
/* One address at a time, before 5.16: those that call the entry now. */
static unsigned long dmadirty_direct_ips[ARRAY_SIZE(dmadirty_hooks)];
static unsigned int dmadirty_direct_n;

static bool dmadirty_direct_armed(void)
{
	return dmadirty_direct_n;
}

static int dmadirty_direct_attach(unsigned long *ips, unsigned int n)
{
	int ret = dmadirty_register_direct_ips(ips, n, DMADIRTY_DIRECT_ENTRY);

	if (ret)
		return ret;
	memcpy(dmadirty_direct_ips, ips, n * sizeof(*ips));
	dmadirty_direct_n = n;
	return 0;
}

/*
 * Waits for every task still in the entry.  Nothing is left after it,
 * even where it fails (see dmadirty_unregister_direct_ips()).
 */
static int dmadirty_direct_detach(void)
{
	int ret = dmadirty_unregister_direct_ips(dmadirty_direct_ips, dmadirty_direct_n,
						 DMADIRTY_DIRECT_ENTRY);

	dmadirty_direct_n = 0;
	return ret;
}

static void dmadirty_direct_exit(void)
{
}
#endif

#ifdef DMADIRTY_DIRECT
static int dmadirty_direct_arm(void)
{
	unsigned long ips[ARRAY_SIZE(dmadirty_hooks)];
	unsigned int n;

	if (!READ_ONCE(dmadirty_direct_call) || !dmadirty_ops_registered[DMADIRTY_OPS_MARK])
		return -EPERM;
	n = dmadirty_hook_ips(DMADIRTY_SINGLE, ips);
	if (!n)
		return -ENOENT;
	return dmadirty_direct_attach(ips, n);
}

static int dmadirty_direct_disarm(void)
{
	return dmadirty_direct_armed() ? dmadirty_direct_detach() : 0;
}
#else
static bool dmadirty_direct_armed(void)
{
	return false;
}

static int dmadirty_direct_arm(void)
{
	return -EOPNOTSUPP;
}

static int dmadirty_direct_disarm(void)
{
	return 0;
}

static void dmadirty_direct_exit(void)
{
}
#endif

/* Whether an ops' functions are patched now, by the ops or by direct call. */
static bool dmadirty_ops_armed(enum dmadirty_ops_id id)
{
	return dmadirty_ops_registered[id] ||
	       (id == DMADIRTY_OPS_SINGLE && dmadirty_direct_armed());
}

static int dmadirty_disarm(void)
{
	int ret = dmadirty_direct_disarm();
	int k;

	for (k = DMADIRTY_NR_OPS - 1; k >= 0; k--) {
		int err;

		if (!dmadirty_ops_registered[k])
			continue;
		err = unregister_ftrace_function(&dmadirty_ops[k]);
		if (err) {
			ret = ret ?: err;
			continue;
		}
		dmadirty_ops_registered[k] = false;
	}
	return ret;
}

/*
 * Takes the hooks of @kind out of the shared filter (@remove), or puts
 * them back; while the ops is registered, that patches their calls.
 */
static int dmadirty_shared_filter(enum dmadirty_kind kind, bool remove)
{
	unsigned long ips[ARRAY_SIZE(dmadirty_hooks)];
	unsigned int n = dmadirty_hook_ips(kind, ips);

	if (!n)
		return 0;
	return dmadirty_filter_ips(&dmadirty_ops[DMADIRTY_OPS_MARK], ips, n, remove);
}

/*
 * One registration, the shared ops with every hook but dma_set_mask()'s in
 * its filter; the rest is left to dmadirty_settle().  The filter changes
 * cost nothing while the ops is not registered.
 */
static int dmadirty_arm(void)
{
	int ret;

	if (dmadirty_keep_sync_dropped) {
		ret = dmadirty_shared_filter(DMADIRTY_KEEP_SYNC, false);
		if (ret)
			return ret;
		dmadirty_keep_sync_dropped = false;
	}
	if (dmadirty_single_dropped) {
		ret = dmadirty_shared_filter(DMADIRTY_SINGLE, false);
		if (ret)
			return ret;
		dmadirty_single_dropped = false;
	}
	if (!dmadirty_ops_used[DMADIRTY_OPS_MARK] || dmadirty_ops_registered[DMADIRTY_OPS_MARK])
		return 0;
	ret = register_ftrace_function(&dmadirty_ops[DMADIRTY_OPS_MARK]);
	if (ret)
		return ret;
	dmadirty_ops_registered[DMADIRTY_OPS_MARK] = true;
	return 0;
}

/*
 * After enable: the single-range hooks' own entry, a direct call where the
 * kernel takes one, else their own ops.  Until it is armed they stay in
 * the shared filter too, so a call in between is marked twice, never
 * missed.  Where neither can be armed, they stay on the shared ops.
 */
static void dmadirty_arm_single(void)
{
	int ret;

	if (!dmadirty_ops_used[DMADIRTY_OPS_SINGLE] || dmadirty_single_dropped)
		return;
	if (!dmadirty_ops_armed(DMADIRTY_OPS_SINGLE)) {
		ret = dmadirty_direct_arm();
		if (ret && ret != -EPERM && ret != -EOPNOTSUPP)
			pr_info("no direct call for the unmap and sync hooks (%d): ftrace's trampoline it is\n",
				ret);
		if (ret) {
			ret = register_ftrace_function(&dmadirty_ops[DMADIRTY_OPS_SINGLE]);
			if (ret) {
				pr_warn("the unmap and sync hooks stay on the shared ops (%d)\n",
					ret);
				return;
			}
			dmadirty_ops_registered[DMADIRTY_OPS_SINGLE] = true;
		}
	}
	if (!dmadirty_shared_filter(DMADIRTY_SINGLE, true))
		dmadirty_single_dropped = true;
}

/* Counts enables, so that a late dmadirty_settle() knows its own. */
static unsigned long dmadirty_generation;

/*
 * After enable: arm the single-range hooks' own entry.  Then (6.11+)
 * hook dma_set_mask(), and disarm the map hooks once no call of it that
 * started before can still set the flag.  Such a call is running or
 * preempted (the function does not sleep), and an RCU-tasks grace period
 * waits for every task in either state to switch voluntarily.  The flags
 * those calls set are cleared again; from then on only hooked calls set
 * it, and they clear it before they return.  Until then the map hooks
 * clear it.  Where dma_set_mask() cannot be hooked (another ops that
 * changes where the call goes holds it), the map hooks stay armed.  It
 * runs a moment after enable (settle_ms), out of the way of the ack the
 * host waits for: on a single CPU, a work queued at once would run before
 * the enable's write returns.
 */
static void dmadirty_settle(struct work_struct *work)
{
	unsigned long gen;
	int ret = -EAGAIN;

	mutex_lock(&dmadirty_switch_lock);
	gen = dmadirty_generation;
	if (dmadirty_armed)
		dmadirty_arm_single();
	if (dmadirty_armed && dmadirty_ops_used[DMADIRTY_OPS_SET_MASK] &&
	    !dmadirty_ops_registered[DMADIRTY_OPS_SET_MASK]) {
		ret = register_ftrace_function(&dmadirty_ops[DMADIRTY_OPS_SET_MASK]);
		if (ret)
			pr_warn("cannot hook dma_set_mask (%d): the map hooks stay armed\n",
				ret);
		else
			dmadirty_ops_registered[DMADIRTY_OPS_SET_MASK] = true;
	}
	mutex_unlock(&dmadirty_switch_lock);
	if (ret)
		return;

	synchronize_rcu_tasks();

	/* Not disabled since (which unhooks dma_set_mask) nor enabled again. */
	mutex_lock(&dmadirty_switch_lock);
	if (dmadirty_armed && gen == dmadirty_generation && !dmadirty_keep_sync_dropped) {
		dmadirty_clear_all_skip_sync();
		if (!dmadirty_shared_filter(DMADIRTY_KEEP_SYNC, true))
			dmadirty_keep_sync_dropped = true;
	}
	mutex_unlock(&dmadirty_switch_lock);
}

static DECLARE_DELAYED_WORK(dmadirty_settle_work, dmadirty_settle);

static unsigned int dmadirty_settle_ms = 100;
module_param_named(settle_ms, dmadirty_settle_ms, uint, 0644);
MODULE_PARM_DESC(settle_ms,
		 "Milliseconds from enable to dmadirty_settle(), which gives the unmap and sync hooks their own entry (default 100; read at enable)");

/* A scratch ops whose filter only tells whether the kernel has a function. */
static struct ftrace_ops dmadirty_lookup_ops;

static int dmadirty_filter(struct ftrace_ops *ops, const char *name, int reset)
{
	char buf[KSYM_NAME_LEN];

	/* ftrace_set_filter() parses, and may write to, its buffer. */
	strscpy(buf, name, sizeof(buf));
	return ftrace_set_filter(ops, buf, strlen(buf), reset);
}

/*
 * Does the code of @outer call or jump to @inner?  Scans @outer's own
 * bytes (its size from kallsyms) for a rel32 call, jmp or jcc whose target
 * is @inner, or the padding before it that call thunks use.  Used only to
 * leave out a wrapper whose work its callee does, so each page is counted
 * once: a miss keeps both hooks (a page counted twice, never lost).
 */
static bool dmadirty_calls(unsigned long outer, unsigned long inner)
{
	unsigned long size = dmadirty_func_size(outer);
	u8 code[1024];
	size_t i;

	if (!size)
		return false;
	size = min_t(unsigned long, size, sizeof(code));
	if (copy_from_kernel_nofault(code, (void *)outer, size))
		return false;

	for (i = 0; i + 5 <= size; i++) {
		unsigned int oplen;
		unsigned long target;
		s32 rel;

		if (code[i] == 0xe8 || code[i] == 0xe9)
			oplen = 1;
		else if (code[i] == 0x0f && i + 6 <= size && (code[i + 1] & 0xf0) == 0x80)
			oplen = 2;
		else
			continue;
		memcpy(&rel, code + i + oplen, sizeof(rel));
		target = outer + i + oplen + sizeof(rel) + (long)rel;
		if (target + 16 >= inner && target <= inner + 16)
			return true;
	}
	return false;
}

static struct dmadirty_hook *dmadirty_hook_named(const char *name)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++)
		if (!strcmp(dmadirty_hooks[i].name, name))
			return &dmadirty_hooks[i];
	return NULL;
}

bool dmadirty_dirty_on(void)
{
	return READ_ONCE(dmadirty_armed);
}

/* Kernel mode: the kernel's own sysctl is the truth. */
static bool dmadirty_kernel_sysctl_on(void)
{
	struct file *f = filp_open("/proc/sys/vm/dma_mark_dirty", O_RDONLY, 0);
	char c = '0';
	loff_t pos = 0;

	if (IS_ERR(f))
		return false;
	if (kernel_read(f, &c, 1, &pos) != 1)
		c = '0';
	filp_close(f, NULL);
	return c == '1';
}

bool dmadirty_enabled(void)
{
	if (dmadirty_kernel_mode)
		return dmadirty_kernel_sysctl_on();
	return dmadirty_dirty_on();
}

/* The kernel skips syncs and this module will not clear the flag. */
static bool dmadirty_skip_sync_missing(void)
{
	return DMADIRTY_KERNEL_SKIPS_SYNC && !dmadirty_use_skip_sync();
}

/*
 * The kernel has this entry point and nothing covers it: not hooked, not
 * done by a hooked callee.  The dma_set_mask() hook is never needed (the
 * keep-sync hooks then stay armed).
 */
static bool dmadirty_hook_missing(const struct dmadirty_hook *h)
{
	return h->present && !h->hooked && !h->nested &&
	       h->kind != DMADIRTY_SET_MASK && dmadirty_hook_wanted(h);
}

bool dmadirty_coverage_complete(void)
{
	int i;

	if (dmadirty_kernel_mode)
		return true;
	if (dmadirty_skip_sync_missing())
		return false;
	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++)
		if (dmadirty_hook_missing(&dmadirty_hooks[i]))
			return false;
	return true;
}

/* Patched now. */
static bool dmadirty_hook_armed(const struct dmadirty_hook *h)
{
	if (!h->hooked)
		return false;
	if (h->kind == DMADIRTY_SINGLE && !dmadirty_single_dropped &&
	    dmadirty_ops_registered[DMADIRTY_OPS_MARK])
		return true;
	if (!dmadirty_ops_armed(dmadirty_ops_of(h->kind)))
		return false;
	return h->kind != DMADIRTY_KEEP_SYNC || !dmadirty_keep_sync_dropped;
}

/* How the unmap and sync of one range are entered now. */
const char *dmadirty_single_entry(void)
{
	const char *entry = "off";

	mutex_lock(&dmadirty_switch_lock);
	if (dmadirty_kernel_mode)
		entry = "kernel";
	else if (dmadirty_direct_armed())
		entry = "direct";
	else if (dmadirty_ops_registered[DMADIRTY_OPS_SINGLE])
		entry = "ftrace";
	else if (dmadirty_ops_registered[DMADIRTY_OPS_MARK])
		entry = "shared";
	mutex_unlock(&dmadirty_switch_lock);
	return entry;
}

/*
 * Space-separated names: hooked (with the wrappers left to their callee),
 * missing, or armed (patched now).
 */
ssize_t dmadirty_hooks_show(char *buf, enum dmadirty_hooks_list which)
{
	ssize_t n = 0;
	int i;

	if (which == DMADIRTY_HOOKS_MISSING && dmadirty_skip_sync_missing())
		n += sysfs_emit_at(buf, n, "dma_skip_sync ");
	mutex_lock(&dmadirty_switch_lock);
	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++) {
		const struct dmadirty_hook *h = &dmadirty_hooks[i];

		if (which == DMADIRTY_HOOKS_MISSING && dmadirty_hook_missing(h))
			n += sysfs_emit_at(buf, n, "%s ", h->name);
		else if (which == DMADIRTY_HOOKS_ARMED && dmadirty_hook_armed(h))
			n += sysfs_emit_at(buf, n, "%s ", h->name);
		else if (which == DMADIRTY_HOOKS_HOOKED && h->hooked)
			n += sysfs_emit_at(buf, n, "%s ", h->name);
		else if (which == DMADIRTY_HOOKS_HOOKED && h->nested)
			n += sysfs_emit_at(buf, n, "%s(%s) ", h->name, h->callee);
	}
	mutex_unlock(&dmadirty_switch_lock);
	if (n)
		buf[n - 1] = '\n';
	else
		n = sysfs_emit(buf, "\n");
	return n;
}

u32 dmadirty_guest_features(void)
{
	if (!dmadirty_coverage_complete())
		return 0;
	return DMADIRTY_GUEST_FEAT_UNMAP_SYNC | DMADIRTY_GUEST_FEAT_IOMMU |
	       DMADIRTY_GUEST_FEAT_COHERENT;
}

u32 dmadirty_guest_state(void)
{
	u32 state = 0;

	if (dmadirty_enabled())
		state |= DMADIRTY_GUEST_STATE_DIRTYING;
	if (!dmadirty_coverage_complete())
		state |= DMADIRTY_GUEST_STATE_ERROR;
	return state;
}

int dmadirty_dirty_set(bool on)
{
	unsigned int drained;
	int ret = 0;

	mutex_lock(&dmadirty_switch_lock);
	if (on == dmadirty_armed)
		goto out_unlock;

	if (on) {
		if (!dmadirty_coverage_complete()) {
			pr_err("refusing to turn dirtying on: DMA entry points not covered (see /sys/class/misc/dmadirty/missing)\n");
			ret = -EOPNOTSUPP;
			goto out_unlock;
		}
		ret = dmadirty_arm();
		if (ret) {
			pr_err("cannot arm the DMA hooks: %d\n", ret);
			goto out_unlock;
		}
		WRITE_ONCE(dmadirty_armed, true);
		dmadirty_generation++;
		/*
		 * No CPU still runs an unarmed call site.  Expedited: the
		 * host waits for the ack, and a normal grace period is
		 * several ticks.
		 */
		synchronize_rcu_expedited();
		/* Hooks first, so no map after the walk slips by. */
		if (dmadirty_use_skip_sync())
			dmadirty_clear_all_skip_sync();
		drained = dmadirty_drain_block();
		/* An RCU-tasks grace period can take seconds. */
		queue_delayed_work(system_long_wq, &dmadirty_settle_work,
				   msecs_to_jiffies(READ_ONCE(dmadirty_settle_ms)));
		pr_info("dirtying on (%u block queues drained)\n", drained);
	} else {
		ret = dmadirty_disarm();
		if (ret) {
			pr_err("cannot disarm the DMA hooks: %d\n", ret);
			goto out_unlock;
		}
		WRITE_ONCE(dmadirty_armed, false);
		/* No CPU still runs a handler. */
		synchronize_rcu();
		pr_info("dirtying off\n");
	}
out_unlock:
	mutex_unlock(&dmadirty_switch_lock);
	return ret;
}

/*
 * Resolve every entry point at load: the filter of the ops holds the ones
 * with a handler; the others are only looked up.  Then leave out the
 * wrappers whose callee is hooked and does their work.
 */
int dmadirty_dirty_init(bool kernel_has_sysctl)
{
	int ret;
	int i;

	dmadirty_kernel_mode = kernel_has_sysctl;
	if (kernel_has_sysctl)
		return 0;
	ret = dmadirty_skip_sync_init();
	if (ret)
		return ret;

	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++) {
		struct dmadirty_hook *h = &dmadirty_hooks[i];

		h->present = !dmadirty_filter(&dmadirty_lookup_ops, h->name, 1);
		if (!h->present || !h->addr)
			continue;
		if (!dmadirty_hook_wanted(h))
			continue;
		if (dmadirty_break_hook && !strcmp(dmadirty_break_hook, h->name)) {
			pr_warn("break_hook: not hooking %s\n", h->name);
			continue;
		}
		h->hooked = true;
	}
	dmadirty_filter_free(&dmadirty_lookup_ops);

	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++) {
		struct dmadirty_hook *h = &dmadirty_hooks[i];
		struct dmadirty_hook *inner;

		if (!h->hooked || !h->callee)
			continue;
		inner = dmadirty_hook_named(h->callee);
		if (inner && inner->hooked && dmadirty_calls(h->addr, inner->addr)) {
			h->hooked = false;
			h->nested = true;
		}
	}

	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++) {
		struct dmadirty_hook *h = &dmadirty_hooks[i];

		enum dmadirty_ops_id id = dmadirty_ops_of(h->kind);

		if (!h->hooked)
			continue;
		if (dmadirty_shared(h->kind)) {
			h->size = dmadirty_func_size(h->addr);
			if (!h->size) {
				pr_warn("cannot hook %s: kallsyms does not know its size\n",
					h->name);
				h->hooked = false;
				continue;
			}
		}
		ret = dmadirty_filter(&dmadirty_ops[id], h->name, 0);
		if (!ret && id != DMADIRTY_OPS_MARK && dmadirty_shared(h->kind))
			ret = dmadirty_filter(&dmadirty_ops[DMADIRTY_OPS_MARK], h->name, 0);
		if (ret) {
			pr_warn("cannot hook %s: %d\n", h->name, ret);
			h->hooked = false;
			continue;
		}
		dmadirty_ops_used[id] = true;
		if (dmadirty_shared(h->kind))
			dmadirty_ops_used[DMADIRTY_OPS_MARK] = true;
	}
	dmadirty_sites_init();
	if (!dmadirty_coverage_complete())
		pr_warn("DMA coverage incomplete: dirtying cannot be turned on\n");
	return 0;
}

void dmadirty_dirty_exit(void)
{
	int k;

	if (dmadirty_kernel_mode)
		return;
	/* Unregistering waits for handlers that are still running. */
	dmadirty_dirty_set(false);
	cancel_delayed_work_sync(&dmadirty_settle_work);
	for (k = 0; k < DMADIRTY_NR_OPS; k++)
		if (dmadirty_ops_used[k])
			dmadirty_filter_free(&dmadirty_ops[k]);
	dmadirty_direct_exit();
}
