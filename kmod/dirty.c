// SPDX-License-Identifier: GPL-2.0
/*
 * DMA page dirtying: ftrace-based kprobes at the entry of the DMA API
 * functions that end a device write (unmap, sync-for-cpu, coherent free).
 * Each page of a buffer the device may have written gets a locked add of 0
 * on an aligned word inside the buffer, a CPU write the hypervisor's dirty
 * log sees.
 *
 * The probes are registered disarmed at load and armed only while
 * vm.dma_mark_dirty is 1: disarmed, the patched call sites are NOPs again,
 * so dirtying off costs nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/ioport.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "dmadirty.h"

static bool dmadirty_skip_sync_clear = true;
module_param_named(skip_sync_clear, dmadirty_skip_sync_clear, bool, 0444);
MODULE_PARM_DESC(skip_sync_clear,
		 "Clear dma_skip_sync while dirtying is on (default 1; 0 only for testing)");

static DEFINE_MUTEX(dmadirty_switch_lock);
static bool dmadirty_armed;

/* Locked add of 0 on the widest aligned word inside [p, p + len). */
static void dmadirty_touch(void *p, size_t len)
{
	unsigned long a = (unsigned long)p;
	unsigned long end = a + len;
	unsigned long w;

	w = ALIGN(a, sizeof(u64));
	if (w + sizeof(u64) <= end) {
		atomic64_add(0, (atomic64_t *)w);
		return;
	}
	w = ALIGN(a, sizeof(u32));
	if (w + sizeof(u32) <= end) {
		atomic_add(0, (atomic_t *)w);
		return;
	}
	w = ALIGN(a, sizeof(u16));
	if (w + sizeof(u16) <= end) {
		u16 *q = (u16 *)w;
		u16 v = READ_ONCE(*q);

		while (cmpxchg(q, v, v) != v)
			v = READ_ONCE(*q);
		return;
	}
	{
		u8 *q = p;
		u8 v = READ_ONCE(*q);

		while (cmpxchg(q, v, v) != v)
			v = READ_ONCE(*q);
	}
}

static bool dmadirty_pfn_is_ram(unsigned long pfn)
{
	return pfn_valid(pfn) && page_is_ram(pfn);
}

/* Mark [phys, phys + len), which lies within one page. */
static void dmadirty_mark_phys(phys_addr_t phys, size_t len)
{
	unsigned long pfn = PHYS_PFN(phys);
	void *va;

	if (!dmadirty_pfn_is_ram(pfn)) {
		dmadirty_count(DMADIRTY_CTR_SKIP_NONRAM, 1);
		return;
	}
	va = kmap_local_page(pfn_to_page(pfn));
	dmadirty_touch(va + offset_in_page(phys), len);
	kunmap_local(va);
	dmadirty_count(DMADIRTY_CTR_PAGES_MARKED, 1);
}

static struct iommu_domain *dmadirty_dma_domain(struct device *dev)
{
	struct iommu_domain *dom = iommu_get_domain_for_dev(dev);

	if (dom && (dom->type & __IOMMU_DOMAIN_DMA_API))
		return dom;
	return NULL;
}

/*
 * Mark a streaming mapping [addr, addr + size) of @dev.  Called at entry of
 * unmap/sync, so the translation (IOMMU page table or direct offset) still
 * holds.  Pages are walked in DMA address space: an IOMMU maps page by
 * page, and the offset within a page is the same on both sides.
 */
static void dmadirty_mark_dma(struct device *dev, dma_addr_t addr, size_t size)
{
	struct iommu_domain *dom = dmadirty_dma_domain(dev);
	dma_addr_t end = addr + size;

	while (addr < end) {
		size_t len = min_t(u64, end - addr, PAGE_SIZE - offset_in_page(addr));
		phys_addr_t phys;

		if (dom) {
			phys = iommu_iova_to_phys(dom, addr);
			if (!phys) {
				dmadirty_count(DMADIRTY_CTR_TRANSLATE_FAIL, 1);
				goto next;
			}
		} else {
			phys = dma_to_phys(dev, addr);
		}
		if (dmadirty_is_swiotlb(dev, phys))
			dmadirty_count(DMADIRTY_CTR_SKIP_SWIOTLB, 1);
		else
			dmadirty_mark_phys(phys, len);
next:
		addr += len;
	}
}

/* Mark the CPU side [phys, phys + size) of a scatterlist entry. */
static void dmadirty_mark_phys_range(phys_addr_t phys, size_t size)
{
	phys_addr_t end = phys + size;

	while (phys < end) {
		size_t len = min_t(u64, end - phys, PAGE_SIZE - offset_in_page(phys));

		dmadirty_mark_phys(phys, len);
		phys += len;
	}
}

static bool dmadirty_dir_written(unsigned long dir)
{
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		return true;
	dmadirty_count(DMADIRTY_CTR_SKIP_TO_DEVICE, 1);
	return false;
}

/*
 * dma_skip_sync (6.11+): the kernel recomputes it in dma_set_mask().  While
 * dirtying is on, every map and unmap clears it again on its device, so a
 * mapping made after a dma_set_mask() still gets its syncs seen.
 */
static void dmadirty_keep_sync(struct device *dev)
{
	if (dev && dmadirty_clear_skip_sync(dev))
		dmadirty_count(DMADIRTY_CTR_SKIP_SYNC_CLEARED, 1);
}

/* dma_map_page_attrs(dev, ...), dma_map_sg_attrs(dev, ...) */
static void dmadirty_hook_map(struct pt_regs *regs)
{
	dmadirty_keep_sync((struct device *)regs_get_kernel_argument(regs, 0));
}

/* dma_unmap_page_attrs(dev, addr, size, dir, attrs) and
 * sync_single_for_cpu(dev, addr, size, dir): same leading arguments.
 */
static void dmadirty_hook_single(struct pt_regs *regs)
{
	struct device *dev = (struct device *)regs_get_kernel_argument(regs, 0);
	dma_addr_t addr = regs_get_kernel_argument(regs, 1);
	size_t size = regs_get_kernel_argument(regs, 2);
	unsigned long dir = regs_get_kernel_argument(regs, 3);

	dmadirty_count(DMADIRTY_CTR_CALLS, 1);
	if (dev && size && dmadirty_dir_written(dir))
		dmadirty_mark_dma(dev, addr, size);
}

static void dmadirty_hook_unmap_single(struct pt_regs *regs)
{
	dmadirty_hook_single(regs);
	dmadirty_hook_map(regs);
}

/* dma_unmap_sg_attrs(dev, sg, nents, dir, attrs) and
 * sync_sg_for_cpu(dev, sg, nelems, dir).
 */
static void dmadirty_hook_sg(struct pt_regs *regs)
{
	struct device *dev = (struct device *)regs_get_kernel_argument(regs, 0);
	struct scatterlist *sgl = (struct scatterlist *)regs_get_kernel_argument(regs, 1);
	int nents = regs_get_kernel_argument(regs, 2);
	unsigned long dir = regs_get_kernel_argument(regs, 3);
	struct scatterlist *sg;
	bool direct;
	int i;

	dmadirty_count(DMADIRTY_CTR_CALLS, 1);
	if (!dev || !sgl || !dmadirty_dir_written(dir))
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
		dmadirty_mark_phys_range(sg_phys(sg), sg->length);
	}
}

static void dmadirty_hook_unmap_sg(struct pt_regs *regs)
{
	dmadirty_hook_sg(regs);
	dmadirty_hook_map(regs);
}

/* dma_free_attrs(dev, size, cpu_addr, dma_handle, attrs): coherent memory
 * is marked through its CPU mapping as it is freed.
 */
static void dmadirty_hook_free(struct pt_regs *regs)
{
	size_t size = regs_get_kernel_argument(regs, 1);
	void *cpu_addr = (void *)regs_get_kernel_argument(regs, 2);
	unsigned long a = (unsigned long)cpu_addr;
	unsigned long end = a + size;

	dmadirty_count(DMADIRTY_CTR_CALLS, 1);
	if (!cpu_addr || !size)
		return;
	dmadirty_count(DMADIRTY_CTR_COHERENT_FREED, 1);
	while (a < end) {
		size_t len = min(end - a, PAGE_SIZE - offset_in_page(a));
		unsigned long pfn;

		if (is_vmalloc_addr((void *)a))
			pfn = vmalloc_to_pfn((void *)a);
		else if (virt_addr_valid((void *)a))
			pfn = PHYS_PFN(__pa(a));
		else
			pfn = 0;
		if (pfn && dmadirty_pfn_is_ram(pfn)) {
			dmadirty_touch((void *)a, len);
			dmadirty_count(DMADIRTY_CTR_PAGES_MARKED, 1);
		} else {
			dmadirty_count(DMADIRTY_CTR_SKIP_NONRAM, 1);
		}
		a += len;
	}
}

struct dmadirty_hook {
	struct kprobe kp;
	void (*fn)(struct pt_regs *regs);
	u32 feature;		/* DMADIRTY_GUEST_FEAT_* it provides */
	bool required;
	bool skip_sync;		/* only to keep dma_skip_sync clear */
	bool registered;
};

/* At function entry (an ftrace-based kprobe): regs hold the arguments. */
static int dmadirty_pre_handler(struct kprobe *p, struct pt_regs *regs)
{
	container_of(p, struct dmadirty_hook, kp)->fn(regs);
	return 0;
}

#define DMADIRTY_HOOK(sym, handler, feat, req, sync)			\
	{								\
		.kp = { .symbol_name = sym,				\
			.pre_handler = dmadirty_pre_handler },		\
		.fn = handler, .feature = feat, .required = req,	\
		.skip_sync = sync,					\
	}

static struct dmadirty_hook dmadirty_hooks[] = {
	DMADIRTY_HOOK("dma_unmap_page_attrs", dmadirty_hook_unmap_single,
		      DMADIRTY_GUEST_FEAT_UNMAP_SYNC, true, false),
	DMADIRTY_HOOK("dma_unmap_sg_attrs", dmadirty_hook_unmap_sg,
		      DMADIRTY_GUEST_FEAT_UNMAP_SYNC, true, false),
	DMADIRTY_HOOK(DMADIRTY_SYM_SYNC_SINGLE, dmadirty_hook_single,
		      DMADIRTY_GUEST_FEAT_UNMAP_SYNC, true, false),
	DMADIRTY_HOOK(DMADIRTY_SYM_SYNC_SG, dmadirty_hook_sg,
		      DMADIRTY_GUEST_FEAT_UNMAP_SYNC, true, false),
	DMADIRTY_HOOK("dma_free_attrs", dmadirty_hook_free,
		      DMADIRTY_GUEST_FEAT_COHERENT, false, false),
	DMADIRTY_HOOK("dma_map_page_attrs", dmadirty_hook_map, 0, false, true),
	DMADIRTY_HOOK("dma_map_sg_attrs", dmadirty_hook_map, 0, false, true),
};

static void dmadirty_clear_one_dev(struct device *dev)
{
	if (dmadirty_clear_skip_sync(dev))
		dmadirty_count(DMADIRTY_CTR_SKIP_SYNC_CLEARED, 1);
}

static int dmadirty_clear_one(struct device *dev, void *unused)
{
	dmadirty_clear_one_dev(dev);
	return 0;
}

/*
 * DMA masters on the platforms we support are PCI and platform devices;
 * others get the flag cleared at their next map or unmap.  The flag is
 * left clear when dirtying goes off: a clear flag only costs a call into
 * the sync path, while setting it wrongly would lose syncs.
 */
static void dmadirty_clear_all_skip_sync(void)
{
	bus_for_each_dev(&pci_bus_type, NULL, NULL, dmadirty_clear_one);
	bus_for_each_dev(&platform_bus_type, NULL, NULL, dmadirty_clear_one);
}

static bool dmadirty_use_skip_sync(void)
{
	return DMADIRTY_HAVE_SKIP_SYNC && dmadirty_skip_sync_clear;
}

bool dmadirty_dirty_on(void)
{
	return READ_ONCE(dmadirty_armed);
}

u32 dmadirty_guest_features(void)
{
	u32 feat = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++)
		if (dmadirty_hooks[i].registered)
			feat |= dmadirty_hooks[i].feature;
	if (feat)
		feat |= DMADIRTY_GUEST_FEAT_IOMMU;
	return feat;
}

/* Disarm hooks [0, upto), last first. */
static void dmadirty_disarm(int upto)
{
	while (--upto >= 0)
		if (dmadirty_hooks[upto].registered)
			disable_kprobe(&dmadirty_hooks[upto].kp);
}

int dmadirty_dirty_set(bool on)
{
	int ret = 0;
	int i;

	mutex_lock(&dmadirty_switch_lock);
	if (on == dmadirty_armed)
		goto out_unlock;

	if (on) {
		for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++) {
			if (!dmadirty_hooks[i].registered)
				continue;
			ret = enable_kprobe(&dmadirty_hooks[i].kp);
			if (ret) {
				pr_err("cannot arm the probe on %s: %d\n",
				       dmadirty_hooks[i].kp.symbol_name, ret);
				dmadirty_disarm(i);
				goto out_sync;
			}
		}
		/* Probes first, so no map after the walk slips by. */
		if (dmadirty_use_skip_sync())
			dmadirty_clear_all_skip_sync();
	} else {
		dmadirty_disarm(ARRAY_SIZE(dmadirty_hooks));
	}
	WRITE_ONCE(dmadirty_armed, on);
	pr_info("dirtying %s\n", on ? "on" : "off");
out_sync:
	/* No CPU still runs a handler, or an unarmed path, of the old state. */
	synchronize_rcu();
out_unlock:
	mutex_unlock(&dmadirty_switch_lock);
	return ret;
}

/*
 * The probes are registered disarmed at load: registration resolves the
 * symbols (no kallsyms_lookup_name(), which is not exported), arming is
 * then only the ftrace patching of the call sites.
 */
int dmadirty_dirty_init(void)
{
	int ret;
	int i;

	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++) {
		struct dmadirty_hook *h = &dmadirty_hooks[i];

		if (h->skip_sync && !dmadirty_use_skip_sync())
			continue;
		h->kp.flags = KPROBE_FLAG_DISABLED;
		ret = register_kprobe(&h->kp);
		if (ret) {
			pr_warn("no probe on %s: %d\n", h->kp.symbol_name, ret);
			if (h->required)
				goto err_unregister;
			continue;
		}
		h->registered = true;
	}
	return 0;

err_unregister:
	while (--i >= 0) {
		if (dmadirty_hooks[i].registered)
			unregister_kprobe(&dmadirty_hooks[i].kp);
		dmadirty_hooks[i].registered = false;
	}
	return ret;
}

void dmadirty_dirty_exit(void)
{
	int i;

	/* Unregistering waits for handlers that are still running. */
	for (i = 0; i < ARRAY_SIZE(dmadirty_hooks); i++)
		if (dmadirty_hooks[i].registered)
			unregister_kprobe(&dmadirty_hooks[i].kp);
	WRITE_ONCE(dmadirty_armed, false);
}
