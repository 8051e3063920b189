// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only driver for tests/vm: binds to QEMU's pci-testdev and drives the
 * DMA API on its struct device, the way a real driver would, from debugfs:
 *
 *   echo "OP ARGS" > /sys/kernel/debug/dmadirty_dmatest/run
 *   cat /sys/kernel/debug/dmadirty_dmatest/expected   pages a correct
 *       dmadirty marks for that run (device-written pages, per unmap/sync)
 *   cat /sys/kernel/debug/dmadirty_dmatest/ns         time of the last run
 *
 * OPs:  single OFF LEN DIR     map one buffer, unmap (DIR 0 bidi, 1 to
 *                              device, 2 from device)
 *       sg N OFF LEN           N entries, each in its own pages
 *       sync K OFF LEN         map, K x sync_single_for_cpu, unmap
 *       syncsg K N OFF LEN     map_sg, K x sync_sg_for_cpu, unmap_sg
 *       coherent SIZE          dma_alloc_coherent + dma_free_coherent
 *       setmask                dma_set_mask_and_coherent() again
 *       bench N [LEN]          N x (map, sync, unmap) of one buffer of LEN
 *                              bytes (default: one page, at most 64 KiB),
 *                              the same buffer every time
 *       phys OFF LEN           dma_map_phys + dma_unmap_phys (7.x)
 *       iova N MODE            N pages through the IOVA API (6.16+, behind an
 *                              IOMMU): MODE 0 unlink then free, 1 destroy
 *       hold OFF LEN           map a buffer and keep it mapped
 *       release                unmap the held buffer (expected: its pages)
 *       raw PHYS LEN           unmap the direct DMA address of PHYS, which
 *                              need not be RAM (expected: 0 pages marked)
 *       watch OFF LEN          map, unmap under a write watchpoint on the word
 *                              dmadirty touches; "hits" counts the writes seen
 *
 *   echo "FUNCTION..." > /sys/kernel/debug/dmadirty_dmatest/floor
 *       hooks the named functions with an ftrace ops whose callback does
 *       nothing, registered as dmadirty registers its own (an empty write
 *       removes it): "bench" then measures what the hooks cost before
 *       dmadirty's callback does any work, the floor of its armed path.
 *   echo 1 > /sys/kernel/debug/dmadirty_dmatest/tpfloor   (6.12+)
 *       the same through the kernel's DMA tracepoints: empty probes on
 *       those of sync_single_for_cpu and unmap ("echo 0" removes them),
 *       the floor of a hook that needs no ftrace trampoline.
 *   echo "FUNCTION..." > /sys/kernel/debug/dmadirty_dmatest/dfloor
 *       as "floor", through a direct call to a function that does nothing,
 *       as dmadirty enters the functions it calls straight (before 5.16,
 *       only those it calls so there).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "dmadirty_config.h"
#include "compat.h"

/* The kernel's DMA tracepoints (6.12+), for the "tpfloor" file. */
#if defined(HAVE_DMA_TRACE_SYNC) && (defined(HAVE_DMA_TRACE_PAGE) || defined(HAVE_DMA_TRACE_PHYS))
#define DMATEST_TPFLOOR
#include <linux/tracepoint.h>
#include <trace/events/dma.h>
#endif

#define DMATEST_MAX_SG	16

static struct pci_dev *dmatest_pdev;
static struct dentry *dmatest_dir;
static DEFINE_MUTEX(dmatest_lock);
static u64 dmatest_expected;
static u64 dmatest_ns;
static u64 dmatest_hits;
static atomic_t dmatest_hit_count;
static struct page *dmatest_held;
static dma_addr_t dmatest_held_addr;
static unsigned int dmatest_held_len;
static u64 dmatest_held_pages;

static u64 dmatest_span(unsigned int off, unsigned int len)
{
	return len ? DIV_ROUND_UP(offset_in_page(off) + len, PAGE_SIZE) : 0;
}

static bool dmatest_written(int dir)
{
	return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL;
}

static int dmatest_single(struct device *dev, unsigned int k, unsigned int off,
			  unsigned int len, int dir)
{
	struct page *page = alloc_pages(GFP_KERNEL, 2);
	dma_addr_t addr;
	unsigned int i;

	if (!page)
		return -ENOMEM;
	addr = dma_map_page(dev, page, off, len, dir);
	if (dma_mapping_error(dev, addr)) {
		__free_pages(page, 2);
		return -EIO;
	}
	for (i = 0; i < k; i++)
		dma_sync_single_for_cpu(dev, addr, len, dir);
	dma_unmap_page(dev, addr, len, dir);
	__free_pages(page, 2);
	dmatest_expected = dmatest_written(dir) ? (k + 1) * dmatest_span(off, len) : 0;
	return 0;
}

static int dmatest_sg(struct device *dev, unsigned int k, unsigned int n,
		      unsigned int off, unsigned int len)
{
	struct scatterlist sgl[DMATEST_MAX_SG];
	struct page *pages[DMATEST_MAX_SG] = { };
	unsigned int i;
	int ret = -ENOMEM;
	int mapped;

	if (!n || n > DMATEST_MAX_SG || off + len > 2 * PAGE_SIZE)
		return -EINVAL;
	sg_init_table(sgl, n);
	for (i = 0; i < n; i++) {
		pages[i] = alloc_pages(GFP_KERNEL, 1);
		if (!pages[i])
			goto out_free;
		sg_set_page(&sgl[i], pages[i], len, off);
	}
	mapped = dma_map_sg(dev, sgl, n, DMA_FROM_DEVICE);
	if (!mapped) {
		ret = -EIO;
		goto out_free;
	}
	for (i = 0; i < k; i++)
		dma_sync_sg_for_cpu(dev, sgl, n, DMA_FROM_DEVICE);
	dma_unmap_sg(dev, sgl, n, DMA_FROM_DEVICE);
	dmatest_expected = (k + 1) * n * dmatest_span(off, len);
	ret = 0;
out_free:
	for (i = 0; i < n; i++)
		if (pages[i])
			__free_pages(pages[i], 1);
	return ret;
}

static int dmatest_coherent(struct device *dev, unsigned int size)
{
	dma_addr_t addr;
	void *va = dma_alloc_coherent(dev, size, &addr, GFP_KERNEL);

	if (!va)
		return -ENOMEM;
	memset(va, 0x5a, size);
	dma_free_coherent(dev, size, va, addr);
	dmatest_expected = PAGE_ALIGN(size) >> PAGE_SHIFT;
	return 0;
}

/*
 * The buffer of "bench", allocated once at load: a buffer allocated per
 * run would lie elsewhere once dmadirty is loaded, and under TCG where a
 * loop's pages lie moves its cost by more than the states compared.
 */
#define DMATEST_BENCH_ORDER	4
static struct page *dmatest_bench_page;

static int dmatest_bench(struct device *dev, unsigned int n, unsigned int len)
{
	struct page *page = dmatest_bench_page;
	ktime_t t0;
	unsigned int i;

	if (!len || get_order(len) > DMATEST_BENCH_ORDER)
		return -EINVAL;
	t0 = ktime_get();
	for (i = 0; i < n; i++) {
		dma_addr_t addr = dma_map_page(dev, page, 0, len, DMA_FROM_DEVICE);

		if (dma_mapping_error(dev, addr))
			break;
		dma_sync_single_for_cpu(dev, addr, len, DMA_FROM_DEVICE);
		dma_unmap_page(dev, addr, len, DMA_FROM_DEVICE);
	}
	dmatest_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	dmatest_expected = 2ULL * i * dmatest_span(0, len);
	return i == n ? 0 : -EIO;
}

#ifdef HAVE_DMA_MAP_PHYS
static int dmatest_phys(struct device *dev, unsigned int off, unsigned int len)
{
	struct page *page = alloc_pages(GFP_KERNEL, 2);
	dma_addr_t addr;

	if (!page)
		return -ENOMEM;
	addr = dma_map_phys(dev, page_to_phys(page) + off, len, DMA_FROM_DEVICE, 0);
	if (dma_mapping_error(dev, addr)) {
		__free_pages(page, 2);
		return -EIO;
	}
	dma_unmap_phys(dev, addr, len, DMA_FROM_DEVICE, 0);
	__free_pages(page, 2);
	dmatest_expected = dmatest_span(off, len);
	return 0;
}
#else
static int dmatest_phys(struct device *dev, unsigned int off, unsigned int len)
{
	return -EOPNOTSUPP;
}
#endif

#ifdef HAVE_DMA_IOVA
static int dmatest_iova(struct device *dev, unsigned int n, unsigned int destroy)
{
	struct dma_iova_state state = { };
	struct page *page;
	unsigned int i;
	int ret = 0;

	if (!n || n > 64)
		return -EINVAL;
	page = alloc_pages(GFP_KERNEL, get_order(n * PAGE_SIZE));
	if (!page)
		return -ENOMEM;
	if (!dma_iova_try_alloc(dev, &state, page_to_phys(page), n * PAGE_SIZE)) {
		ret = -EOPNOTSUPP;
		goto out_free;
	}
	for (i = 0; i < n && !ret; i++)
		ret = dma_iova_link(dev, &state, page_to_phys(page) + i * PAGE_SIZE,
				    i * PAGE_SIZE, PAGE_SIZE, DMA_FROM_DEVICE, 0);
	if (!ret)
		ret = dma_iova_sync(dev, &state, 0, n * PAGE_SIZE);
	if (destroy) {
		dma_iova_destroy(dev, &state, i * PAGE_SIZE, DMA_FROM_DEVICE, 0);
	} else {
		dma_iova_unlink(dev, &state, 0, i * PAGE_SIZE, DMA_FROM_DEVICE, 0);
		dma_iova_free(dev, &state);
	}
	dmatest_expected = ret ? 0 : n;
out_free:
	__free_pages(page, get_order(n * PAGE_SIZE));
	return ret;
}
#else
static int dmatest_iova(struct device *dev, unsigned int n, unsigned int destroy)
{
	return -EOPNOTSUPP;
}
#endif

static int dmatest_hold(struct device *dev, unsigned int off, unsigned int len)
{
	if (dmatest_held || !len || off + len > 4 * PAGE_SIZE)
		return -EINVAL;
	dmatest_held = alloc_pages(GFP_KERNEL, 2);
	if (!dmatest_held)
		return -ENOMEM;
	dmatest_held_addr = dma_map_page(dev, dmatest_held, off, len, DMA_FROM_DEVICE);
	if (dma_mapping_error(dev, dmatest_held_addr)) {
		__free_pages(dmatest_held, 2);
		dmatest_held = NULL;
		return -EIO;
	}
	dmatest_held_len = len;
	dmatest_held_pages = dmatest_span(off, len);
	dmatest_expected = dmatest_held_pages;
	return 0;
}

static int dmatest_release(struct device *dev)
{
	if (!dmatest_held)
		return -EINVAL;
	dma_unmap_page(dev, dmatest_held_addr, dmatest_held_len, DMA_FROM_DEVICE);
	__free_pages(dmatest_held, 2);
	dmatest_held = NULL;
	dmatest_expected = dmatest_held_pages;
	return 0;
}

/* Direct mapping only: the unmap of a DMA address that maps no RAM. */
static int dmatest_raw(struct device *dev, unsigned long phys, unsigned int len)
{
	dma_unmap_page(dev, phys_to_dma(dev, phys), len, DMA_FROM_DEVICE);
	dmatest_expected = 0;
	return 0;
}

static void dmatest_hit(struct perf_event *bp, struct perf_sample_data *data,
			struct pt_regs *regs)
{
	atomic_inc(&dmatest_hit_count);
}

/*
 * The effect itself, not dmadirty's counters: a hardware write watchpoint
 * on the aligned word inside the buffer that a page marking writes.
 */
static int dmatest_watch(struct device *dev, unsigned int off, unsigned int len)
{
	struct perf_event_attr attr;
	struct perf_event * __percpu *bp;
	struct page *page;
	dma_addr_t addr;
	void *va;

	if (!len || off + len > PAGE_SIZE || ALIGN(off, 8) + 8 > off + len)
		return -EINVAL;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	va = page_address(page) + ALIGN(off, 8);
	hw_breakpoint_init(&attr);
	attr.bp_addr = (unsigned long)va;
	attr.bp_len = HW_BREAKPOINT_LEN_8;
	attr.bp_type = HW_BREAKPOINT_W;
	atomic_set(&dmatest_hit_count, 0);
	bp = register_wide_hw_breakpoint(&attr, dmatest_hit, NULL);
	if (IS_ERR_VALUE((__force unsigned long)bp)) {
		__free_page(page);
		return (__force long)bp;
	}
	addr = dma_map_page(dev, page, off, len, DMA_FROM_DEVICE);
	if (!dma_mapping_error(dev, addr))
		dma_unmap_page(dev, addr, len, DMA_FROM_DEVICE);
	unregister_wide_hw_breakpoint(bp);
	__free_page(page);
	dmatest_hits = atomic_read(&dmatest_hit_count);
	dmatest_expected = 1;
	return dma_mapping_error(dev, addr) ? -EIO : 0;
}

/* A command written to debugfs, as a string. */
static int dmatest_copy_in(char *buf, size_t size, const char __user *ubuf, size_t count)
{
	if (count >= size)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	return 0;
}

static void notrace dmatest_floor_func(unsigned long ip, unsigned long parent_ip,
				       struct ftrace_ops *op, dmadirty_fregs_t *regs)
{
}

#if defined(DMADIRTY_DIRECT) && !defined(DMADIRTY_DIRECT_OPS)
/*
 * Before 5.16 the kernel takes a direct call one address at a time: the
 * functions dmadirty enters that way there, by name.
 */
#define DMATEST_DIRECT_IPS	1
static const struct {
	const char *name;
	void *addr;
} dmatest_direct_fns[] = {
	{ "dma_unmap_page_attrs", dma_unmap_page_attrs },
	{ "dma_sync_single_for_cpu", dma_sync_single_for_cpu },
};
#endif

/* An ftrace ops that does nothing, entered by trampoline or by direct call. */
struct dmatest_floor {
	struct ftrace_ops ops;
	bool direct;
	bool on;
#ifdef DMATEST_DIRECT_IPS
	unsigned long ips[ARRAY_SIZE(dmatest_direct_fns)];
	unsigned int n;
#endif
};

static struct dmatest_floor dmatest_floor = {
	.ops = {
		.func = dmatest_floor_func,
		.flags = DMADIRTY_FTRACE_FLAGS,
	},
};

#ifdef DMADIRTY_DIRECT
/* A direct call's target that does nothing, and so keeps every register. */
static void notrace __no_caller_saved_registers dmatest_dfloor_func(void)
{
}

#define DMATEST_DFLOOR	((unsigned long)dmatest_dfloor_func)

static struct dmatest_floor dmatest_dfloor = { .direct = true };
#endif

/* Adds @name to the functions @f hooks. */
static int dmatest_floor_add(struct dmatest_floor *f, char *name)
{
#ifdef DMATEST_DIRECT_IPS
	if (f->direct) {
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(dmatest_direct_fns); i++)
			if (!strcmp(name, dmatest_direct_fns[i].name))
				break;
		if (i == ARRAY_SIZE(dmatest_direct_fns) || f->n == ARRAY_SIZE(f->ips))
			return -ENOENT;
		f->ips[f->n++] = (unsigned long)dmatest_direct_fns[i].addr;
		return 0;
	}
#endif
	return ftrace_set_filter(&f->ops, name, strlen(name), 0);
}

static int dmatest_floor_register(struct dmatest_floor *f)
{
#ifdef DMATEST_DIRECT_IPS
	if (f->direct)
		return dmadirty_register_direct_ips(f->ips, f->n, DMATEST_DFLOOR);
#elif defined(DMADIRTY_DIRECT)
	if (f->direct)
		return dmadirty_register_direct(&f->ops, DMATEST_DFLOOR);
#endif
	return register_ftrace_function(&f->ops);
}

/* Unhooks everything, and empties the list. */
static void dmatest_floor_off(struct dmatest_floor *f)
{
	if (f->on) {
#ifdef DMATEST_DIRECT_IPS
		if (f->direct)
			dmadirty_unregister_direct_ips(f->ips, f->n, DMATEST_DFLOOR);
		else
#elif defined(DMADIRTY_DIRECT)
		if (f->direct)
			dmadirty_unregister_direct(&f->ops, DMATEST_DFLOOR);
		else
#endif
			unregister_ftrace_function(&f->ops);
	}
	f->on = false;
#ifdef DMATEST_DIRECT_IPS
	f->n = 0;
	if (f->direct)
		return;
#endif
	ftrace_set_filter(&f->ops, NULL, 0, 1);
}

static ssize_t dmatest_floor_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct dmatest_floor *f = file->private_data;
	char buf[512], *p = buf, *name;
	unsigned int n = 0;
	int ret;

	ret = dmatest_copy_in(buf, sizeof(buf), ubuf, count);
	if (ret)
		return ret;

	mutex_lock(&dmatest_lock);
	dmatest_floor_off(f);
	while ((name = strsep(&p, "\n\t ")) && !ret) {
		if (!*name)
			continue;
		ret = dmatest_floor_add(f, name);
		n++;
	}
	/* An empty filter would trace every function: register only a list. */
	if (!ret && n)
		ret = dmatest_floor_register(f);
	f->on = !ret && n;
	if (!f->on)
		dmatest_floor_off(f);
	mutex_unlock(&dmatest_lock);
	return ret ? ret : count;
}

static const struct file_operations dmatest_floor_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = dmatest_floor_write,
};

#ifdef DMATEST_TPFLOOR
static void dmatest_tp_unmap(void *data, struct device *dev, dma_addr_t addr,
			     size_t size, enum dma_data_direction dir,
			     unsigned long attrs)
{
}

static void dmatest_tp_sync(void *data, struct device *dev, dma_addr_t addr,
			    size_t size, enum dma_data_direction dir)
{
}

/*
 * The tracepoints of sync_single_for_cpu and unmap, by kernel: where a
 * mapping returns to the CPU, as dmadirty's hooks once enable settled.
 */
static struct dmatest_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
} dmatest_tps[] = {
#ifdef HAVE_DMA_TRACE_PAGE
	{ "dma_unmap_page", dmatest_tp_unmap },
#endif
#ifdef HAVE_DMA_TRACE_PHYS
	{ "dma_unmap_phys", dmatest_tp_unmap },
#endif
	{ "dma_sync_single_for_cpu", dmatest_tp_sync },
};

static void dmatest_tp_find(struct tracepoint *tp, void *priv)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(dmatest_tps); i++)
		if (!strcmp(tp->name, dmatest_tps[i].name))
			dmatest_tps[i].tp = tp;
}

static void dmatest_tpfloor_off(void)
{
	bool any = false;
	int i;

	for (i = 0; i < ARRAY_SIZE(dmatest_tps); i++) {
		struct dmatest_tp *t = &dmatest_tps[i];

		if (!t->registered)
			continue;
		tracepoint_probe_unregister(t->tp, t->probe, NULL);
		t->registered = false;
		any = true;
	}
	if (any)
		tracepoint_synchronize_unregister();
}

static int dmatest_tpfloor_on(void)
{
	int i, n = 0, ret = 0;

	/* The probes have the types the tracepoints call them with. */
#ifdef HAVE_DMA_TRACE_PAGE
	check_trace_callback_type_dma_unmap_page(dmatest_tp_unmap);
#endif
#ifdef HAVE_DMA_TRACE_PHYS
	check_trace_callback_type_dma_unmap_phys(dmatest_tp_unmap);
#endif
	check_trace_callback_type_dma_sync_single_for_cpu(dmatest_tp_sync);

	for_each_kernel_tracepoint(dmatest_tp_find, NULL);
	for (i = 0; i < ARRAY_SIZE(dmatest_tps) && !ret; i++) {
		struct dmatest_tp *t = &dmatest_tps[i];

		if (!t->tp)
			continue;
		ret = tracepoint_probe_register(t->tp, t->probe, NULL);
		t->registered = !ret;
		n += !ret;
	}
	if (!ret && !n)
		ret = -ENOENT;
	if (ret)
		dmatest_tpfloor_off();
	return ret;
}

static ssize_t dmatest_tpfloor_write(struct file *file, const char __user *ubuf,
				     size_t count, loff_t *ppos)
{
	bool on;
	int ret;

	ret = kstrtobool_from_user(ubuf, count, &on);
	if (ret)
		return ret;
	mutex_lock(&dmatest_lock);
	dmatest_tpfloor_off();
	if (on)
		ret = dmatest_tpfloor_on();
	mutex_unlock(&dmatest_lock);
	return ret ? ret : count;
}

static const struct file_operations dmatest_tpfloor_fops = {
	.owner = THIS_MODULE,
	.write = dmatest_tpfloor_write,
};
#endif

static ssize_t dmatest_run_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	unsigned int a, b, c, d;
	unsigned long pa;
	char buf[64];
	struct device *dev;
	int ret;

	ret = dmatest_copy_in(buf, sizeof(buf), ubuf, count);
	if (ret)
		return ret;

	mutex_lock(&dmatest_lock);
	if (!dmatest_pdev) {
		ret = -ENODEV;
		goto out_unlock;
	}
	dev = &dmatest_pdev->dev;
	dmatest_expected = 0;
	if (sscanf(buf, "single %u %u %u", &a, &b, &c) == 3)
		ret = dmatest_single(dev, 0, a, b, c);
	else if (sscanf(buf, "sync %u %u %u", &a, &b, &c) == 3)
		ret = dmatest_single(dev, a, b, c, DMA_FROM_DEVICE);
	else if (sscanf(buf, "sg %u %u %u", &a, &b, &c) == 3)
		ret = dmatest_sg(dev, 0, a, b, c);
	else if (sscanf(buf, "syncsg %u %u %u %u", &a, &b, &c, &d) == 4)
		ret = dmatest_sg(dev, a, b, c, d);
	else if (sscanf(buf, "coherent %u", &a) == 1)
		ret = dmatest_coherent(dev, a);
	else if (sscanf(buf, "bench %u %u", &a, &b) == 2)
		ret = dmatest_bench(dev, a, b);
	else if (sscanf(buf, "bench %u", &a) == 1)
		ret = dmatest_bench(dev, a, PAGE_SIZE);
	else if (sscanf(buf, "phys %u %u", &a, &b) == 2)
		ret = dmatest_phys(dev, a, b);
	else if (sscanf(buf, "iova %u %u", &a, &b) == 2)
		ret = dmatest_iova(dev, a, b);
	else if (sscanf(buf, "hold %u %u", &a, &b) == 2)
		ret = dmatest_hold(dev, a, b);
	else if (!strncmp(buf, "release", 7))
		ret = dmatest_release(dev);
	else if (sscanf(buf, "raw %lx %u", &pa, &b) == 2)
		ret = dmatest_raw(dev, pa, b);
	else if (sscanf(buf, "watch %u %u", &a, &b) == 2)
		ret = dmatest_watch(dev, a, b);
	else if (!strncmp(buf, "setmask", 7))
		ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	else
		ret = -EINVAL;
out_unlock:
	mutex_unlock(&dmatest_lock);
	return ret ? ret : count;
}

static const struct file_operations dmatest_run_fops = {
	.owner = THIS_MODULE,
	.write = dmatest_run_write,
};

static int dmatest_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	mutex_lock(&dmatest_lock);
	dmatest_pdev = pdev;
	mutex_unlock(&dmatest_lock);
	return 0;
}

/* Like a real driver on its way out, unmap what is still mapped. */
static void dmatest_remove(struct pci_dev *pdev)
{
	mutex_lock(&dmatest_lock);
	if (dmatest_held) {
		u64 pages = dmatest_held_pages;

		dmatest_release(&pdev->dev);
		pr_info("remove: unmapped the held buffer (%llu pages)\n", pages);
	}
	dmatest_pdev = NULL;
	mutex_unlock(&dmatest_lock);
}

static const struct pci_device_id dmatest_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT, 0x0005) },	/* QEMU pci-testdev */
	{ }
};
MODULE_DEVICE_TABLE(pci, dmatest_ids);

static struct pci_driver dmatest_driver = {
	.name = "dmadirty_dmatest",
	.id_table = dmatest_ids,
	.probe = dmatest_probe,
	.remove = dmatest_remove,
};

static int __init dmatest_init(void)
{
	int ret;

	dmatest_bench_page = alloc_pages(GFP_KERNEL, DMATEST_BENCH_ORDER);
	if (!dmatest_bench_page)
		return -ENOMEM;
	dmatest_dir = debugfs_create_dir("dmadirty_dmatest", NULL);
	debugfs_create_file("run", 0200, dmatest_dir, NULL, &dmatest_run_fops);
	debugfs_create_u64("expected", 0400, dmatest_dir, &dmatest_expected);
	debugfs_create_u64("ns", 0400, dmatest_dir, &dmatest_ns);
	debugfs_create_u64("hits", 0400, dmatest_dir, &dmatest_hits);
	debugfs_create_file("floor", 0200, dmatest_dir, &dmatest_floor, &dmatest_floor_fops);
#ifdef DMADIRTY_DIRECT
	debugfs_create_file("dfloor", 0200, dmatest_dir, &dmatest_dfloor, &dmatest_floor_fops);
#endif
#ifdef DMATEST_TPFLOOR
	debugfs_create_file("tpfloor", 0200, dmatest_dir, NULL, &dmatest_tpfloor_fops);
#endif
	ret = pci_register_driver(&dmatest_driver);
	if (ret) {
		debugfs_remove_recursive(dmatest_dir);
		__free_pages(dmatest_bench_page, DMATEST_BENCH_ORDER);
	}
	return ret;
}

static void __exit dmatest_exit(void)
{
	mutex_lock(&dmatest_lock);
	dmatest_floor_off(&dmatest_floor);
#ifdef DMADIRTY_DIRECT
	dmatest_floor_off(&dmatest_dfloor);
#endif
#ifdef DMATEST_TPFLOOR
	dmatest_tpfloor_off();
#endif
	mutex_unlock(&dmatest_lock);
	pci_unregister_driver(&dmatest_driver);
	debugfs_remove_recursive(dmatest_dir);
	__free_pages(dmatest_bench_page, DMATEST_BENCH_ORDER);
}

module_init(dmatest_init);
module_exit(dmatest_exit);
MODULE_DESCRIPTION("dmadirty test: DMA API calls on pci-testdev");
MODULE_LICENSE("GPL");
