// SPDX-License-Identifier: GPL-2.0
/*
 * dmadirty_e2e: the guest half of the end-to-end migration test.
 *
 * Binds to QEMU's pci-testdev and maps buffers through the real DMA API
 * for it, direction DMA_FROM_DEVICE, the way a NIC or NVMe driver maps
 * receive buffers.  The device never writes them: the host harness does,
 * through the source VM's RAM file, which is what a pass-through device
 * does as far as the hypervisor's dirty log is concerned.
 *
 * Commands are written to /sys/kernel/debug/dmadirty_e2e/ctl, one per
 * write(); the next read() returns the answer:
 *
 *   setup SINGLE SG SYNC COHERENT TOUCH
 *	map that many pages per variant and fill them with a CPU-written
 *	poison; answers one line per page: "VARIANT PHYS LEN DMA" (DMA is
 *	the bus address the device was given, an IOVA behind an IOMMU).
 *   churn on|off
 *	a kthread keeps writing a few MiB, so pre-copy keeps iterating;
 *	finish stops the writing, off the thread.
 *   finish
 *	what the driver does once the device is done: unmap the single and
 *	sg mappings, sync-for-cpu the sync buffers (which stay mapped), free
 *	the coherent buffers, and write each "touch" page itself (a harness
 *	control: pages the guest CPU writes always arrive); then stop the
 *	churn's writing.
 *   verify SEED
 *	read every page back; answers "VARIANT PAGES INTACT XORSUM" lines.
 *   release
 *	undo setup.
 *
 * The pattern is the one tests/e2e/migrate.py writes: 64-bit word i of the
 * page at PHYS is (PHYS + 8 * i) * 0x9e3779b97f4a7c15 + SEED (mod 2^64).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#define DMADIRTY_E2E_POISON		0xa5
#define DMADIRTY_E2E_SG_NENTS		16	/* entries per scatterlist */
#define DMADIRTY_E2E_COHERENT_PAGES	16	/* pages per coherent buffer */
#define DMADIRTY_E2E_MAX_PAGES		4096	/* per variant */
#define DMADIRTY_E2E_CHURN_BYTES	(32u << 20)
#define DMADIRTY_E2E_OUT_SIZE		(256u << 10)

enum dmadirty_e2e_variant {
	DMADIRTY_E2E_SINGLE,
	DMADIRTY_E2E_SG,
	DMADIRTY_E2E_SYNC,
	DMADIRTY_E2E_COHERENT,
	DMADIRTY_E2E_TOUCH,
	DMADIRTY_E2E_NR_VARIANTS,
};

static const char *const dmadirty_e2e_names[DMADIRTY_E2E_NR_VARIANTS] = {
	"single", "sg", "sync", "coherent", "touch",
};

struct dmadirty_e2e_sg {
	struct sg_table table;
	int nents;		/* as returned by dma_map_sg() */
};

struct dmadirty_e2e_coherent {
	void *cpu;
	dma_addr_t dma;
};

struct dmadirty_e2e {
	struct pci_dev *pdev;
	struct dentry *dir;
	struct mutex lock;	/* serialises commands and guards all below */
	bool set_up;
	bool finished;
	unsigned int count[DMADIRTY_E2E_NR_VARIANTS];

	/* single, sync and touch: one page each */
	struct page **pages[DMADIRTY_E2E_NR_VARIANTS];
	dma_addr_t *dma[DMADIRTY_E2E_NR_VARIANTS];

	struct dmadirty_e2e_sg *sgs;
	unsigned int nr_sgs;
	struct dmadirty_e2e_coherent *coh;
	unsigned int nr_coh;
	/* physical address of every coherent page, kept after the free */
	phys_addr_t *coh_phys;

	struct task_struct *churn;
	bool churn_write;
	struct completion churn_quiet;
	atomic_long_t churn_passes;

	char *out;
	size_t out_len;
};

static struct dmadirty_e2e dmadirty_e2e_dev;

static u64 dmadirty_e2e_word(phys_addr_t phys, unsigned int i, u64 seed)
{
	return ((u64)phys + 8 * i) * 0x9e3779b97f4a7c15ULL + seed;
}

static __printf(2, 3) void dmadirty_e2e_out(struct dmadirty_e2e *e,
					    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->out_len >= DMADIRTY_E2E_OUT_SIZE)
		return;
	va_start(ap, fmt);
	n = vsnprintf(e->out + e->out_len, DMADIRTY_E2E_OUT_SIZE - e->out_len,
		      fmt, ap);
	va_end(ap);
	e->out_len = min_t(size_t, e->out_len + n, DMADIRTY_E2E_OUT_SIZE - 1);
}

/*
 * Pages for the test, spread over the whole of RAM: take every free
 * 2 MiB block the allocator will give without reclaim, split them, keep
 * pages at a stride across all of them and give the rest back.
 */
static struct page **dmadirty_e2e_spread_pages(unsigned int want)
{
	const unsigned int order = 9, per = 1u << 9;
	unsigned int nr_blocks = 0, max_blocks, i, taken = 0;
	struct page **blocks, **out;
	unsigned long stride;

	max_blocks = min_t(unsigned long, totalram_pages() / 2 / per, 4096);
	blocks = kvcalloc(max_blocks, sizeof(*blocks), GFP_KERNEL);
	out = kvcalloc(want, sizeof(*out), GFP_KERNEL);
	if (!blocks || !out)
		goto err_free;

	while (nr_blocks < max_blocks) {
		struct page *p = alloc_pages(GFP_KERNEL | __GFP_NORETRY |
					     __GFP_NOWARN, order);

		if (!p)
			break;
		split_page(p, order);
		blocks[nr_blocks++] = p;
	}
	if ((unsigned long)nr_blocks * per < want)
		goto err_release;

	/*
	 * An odd stride, so the pages land at varied offsets in the blocks,
	 * and no longer than the even split, so that all of them fit.
	 */
	stride = (((unsigned long)nr_blocks * per / want) - 1) | 1;
	for (i = 0; i < nr_blocks * per; i++) {
		struct page *p = blocks[i / per] + i % per;

		if (taken < want && i % stride == 0)
			out[taken++] = p;
		else
			__free_page(p);
	}
	kvfree(blocks);
	if (taken < want) {
		while (taken)
			__free_page(out[--taken]);
		kvfree(out);
		return NULL;
	}
	return out;

err_release:
	for (i = 0; i < nr_blocks * per; i++)
		__free_page(blocks[i / per] + i % per);
err_free:
	kvfree(blocks);
	kvfree(out);
	return NULL;
}

static void dmadirty_e2e_release(struct dmadirty_e2e *e)
{
	struct device *dev = &e->pdev->dev;
	unsigned int v, i;

	for (v = 0; v < DMADIRTY_E2E_NR_VARIANTS; v++) {
		if (!e->pages[v])
			continue;
		for (i = 0; i < e->count[v]; i++) {
			if (!e->pages[v][i])
				continue;
			/* still mapped: before finish, or the sync buffers */
			if (e->dma[v] && e->dma[v][i] &&
			    (!e->finished || v == DMADIRTY_E2E_SYNC))
				dma_unmap_page(dev, e->dma[v][i], PAGE_SIZE,
					       DMA_FROM_DEVICE);
			__free_page(e->pages[v][i]);
		}
		kvfree(e->pages[v]);
		kvfree(e->dma[v]);
		e->pages[v] = NULL;
		e->dma[v] = NULL;
	}
	for (i = 0; i < e->nr_sgs; i++) {
		struct scatterlist *sg;
		int k;

		if (!e->finished && e->sgs[i].nents)
			dma_unmap_sg(dev, e->sgs[i].table.sgl,
				     e->sgs[i].table.orig_nents,
				     DMA_FROM_DEVICE);
		for_each_sgtable_sg(&e->sgs[i].table, sg, k)
			__free_page(sg_page(sg));
		sg_free_table(&e->sgs[i].table);
	}
	kvfree(e->sgs);
	e->sgs = NULL;
	e->nr_sgs = 0;
	if (!e->finished) {
		for (i = 0; i < e->nr_coh; i++)
			dma_free_coherent(dev, DMADIRTY_E2E_COHERENT_PAGES *
					  PAGE_SIZE, e->coh[i].cpu,
					  e->coh[i].dma);
	}
	kvfree(e->coh);
	e->coh = NULL;
	e->nr_coh = 0;
	kvfree(e->coh_phys);
	e->coh_phys = NULL;
	memset(e->count, 0, sizeof(e->count));
	e->set_up = false;
	e->finished = false;
}

static phys_addr_t dmadirty_e2e_coh_page_phys(void *cpu, unsigned int i)
{
	void *va = cpu + i * PAGE_SIZE;

	if (is_vmalloc_addr(va))
		return page_to_phys(vmalloc_to_page(va));
	return virt_to_phys(va);
}

static int dmadirty_e2e_setup(struct dmadirty_e2e *e, unsigned int *want)
{
	struct device *dev = &e->pdev->dev;
	unsigned int total, v, i, k, next = 0;
	struct page **pool;

	for (v = 0; v < DMADIRTY_E2E_NR_VARIANTS; v++)
		if (want[v] > DMADIRTY_E2E_MAX_PAGES)
			return -EINVAL;
	/* whole scatterlists and whole coherent buffers */
	want[DMADIRTY_E2E_SG] = roundup(want[DMADIRTY_E2E_SG],
					DMADIRTY_E2E_SG_NENTS);
	want[DMADIRTY_E2E_COHERENT] = roundup(want[DMADIRTY_E2E_COHERENT],
					      DMADIRTY_E2E_COHERENT_PAGES);
	total = want[DMADIRTY_E2E_SINGLE] + want[DMADIRTY_E2E_SG] +
		want[DMADIRTY_E2E_SYNC] + want[DMADIRTY_E2E_TOUCH];

	pool = dmadirty_e2e_spread_pages(total);
	if (!pool)
		return -ENOMEM;
	/* the buffer was a CPU write before the migration: poison it */
	for (i = 0; i < total; i++)
		memset(page_address(pool[i]), DMADIRTY_E2E_POISON, PAGE_SIZE);

	e->set_up = true;
	for (v = 0; v < DMADIRTY_E2E_NR_VARIANTS; v++) {
		if (v == DMADIRTY_E2E_SG || v == DMADIRTY_E2E_COHERENT)
			continue;
		e->pages[v] = kvcalloc(want[v] ?: 1, sizeof(struct page *),
				       GFP_KERNEL);
		e->dma[v] = kvcalloc(want[v] ?: 1, sizeof(dma_addr_t),
				     GFP_KERNEL);
		if (!e->pages[v] || !e->dma[v])
			goto err_nomem;
		for (i = 0; i < want[v]; i++) {
			struct page *p = pool[next];
			dma_addr_t d = 0;

			pool[next++] = NULL;
			e->pages[v][i] = p;
			e->count[v] = i + 1;
			if (v == DMADIRTY_E2E_TOUCH)
				continue;
			d = dma_map_page(dev, p, 0, PAGE_SIZE, DMA_FROM_DEVICE);
			if (dma_mapping_error(dev, d))
				goto err_nomem;
			e->dma[v][i] = d;
		}
	}

	e->nr_sgs = want[DMADIRTY_E2E_SG] / DMADIRTY_E2E_SG_NENTS;
	e->sgs = kvcalloc(e->nr_sgs ?: 1, sizeof(*e->sgs), GFP_KERNEL);
	if (!e->sgs)
		goto err_nomem;
	for (i = 0; i < e->nr_sgs; i++) {
		struct dmadirty_e2e_sg *s = &e->sgs[i];
		struct scatterlist *sg;

		if (sg_alloc_table(&s->table, DMADIRTY_E2E_SG_NENTS,
				   GFP_KERNEL)) {
			/* only whole tables are released */
			e->nr_sgs = i;
			goto err_nomem;
		}
		for_each_sgtable_sg(&s->table, sg, k) {
			sg_set_page(sg, pool[next], PAGE_SIZE, 0);
			pool[next++] = NULL;
		}
		s->nents = dma_map_sg(dev, s->table.sgl, s->table.orig_nents,
				      DMA_FROM_DEVICE);
		if (!s->nents) {
			e->nr_sgs = i + 1;
			goto err_nomem;
		}
		e->count[DMADIRTY_E2E_SG] += DMADIRTY_E2E_SG_NENTS;
	}

	e->nr_coh = want[DMADIRTY_E2E_COHERENT] / DMADIRTY_E2E_COHERENT_PAGES;
	e->coh = kvcalloc(e->nr_coh ?: 1, sizeof(*e->coh), GFP_KERNEL);
	e->coh_phys = kvcalloc(want[DMADIRTY_E2E_COHERENT] ?: 1,
			       sizeof(phys_addr_t), GFP_KERNEL);
	if (!e->coh || !e->coh_phys) {
		e->nr_coh = 0;
		goto err_nomem;
	}
	for (i = 0; i < e->nr_coh; i++) {
		struct dmadirty_e2e_coherent *c = &e->coh[i];

		c->cpu = dma_alloc_coherent(dev, DMADIRTY_E2E_COHERENT_PAGES *
					    PAGE_SIZE, &c->dma, GFP_KERNEL);
		if (!c->cpu) {
			e->nr_coh = i;
			goto err_nomem;
		}
		memset(c->cpu, DMADIRTY_E2E_POISON,
		       DMADIRTY_E2E_COHERENT_PAGES * PAGE_SIZE);
		for (k = 0; k < DMADIRTY_E2E_COHERENT_PAGES; k++)
			e->coh_phys[i * DMADIRTY_E2E_COHERENT_PAGES + k] =
				dmadirty_e2e_coh_page_phys(c->cpu, k);
		e->count[DMADIRTY_E2E_COHERENT] += DMADIRTY_E2E_COHERENT_PAGES;
	}
	kvfree(pool);
	return 0;

err_nomem:
	for (i = 0; i < total; i++)
		if (pool[i])
			__free_page(pool[i]);
	kvfree(pool);
	dmadirty_e2e_release(e);
	return -ENOMEM;
}

/* Physical address of page @i of variant @v. */
static phys_addr_t dmadirty_e2e_phys(struct dmadirty_e2e *e, unsigned int v,
				     unsigned int i)
{
	struct scatterlist *sg;
	unsigned int k;

	switch (v) {
	case DMADIRTY_E2E_SG:
		sg = e->sgs[i / DMADIRTY_E2E_SG_NENTS].table.sgl;
		for (k = 0; k < i % DMADIRTY_E2E_SG_NENTS; k++)
			sg = sg_next(sg);
		return sg_phys(sg);
	case DMADIRTY_E2E_COHERENT:
		return e->coh_phys[i];
	default:
		return page_to_phys(e->pages[v][i]);
	}
}

/* Bus address of page @i of variant @v (0 for the CPU-only pages). */
static u64 dmadirty_e2e_dma(struct dmadirty_e2e *e, unsigned int v,
			    unsigned int i)
{
	struct scatterlist *sg;
	unsigned int k;

	switch (v) {
	case DMADIRTY_E2E_SG:
		sg = e->sgs[i / DMADIRTY_E2E_SG_NENTS].table.sgl;
		for (k = 0; k < i % DMADIRTY_E2E_SG_NENTS; k++)
			sg = sg_next(sg);
		return sg_dma_address(sg);
	case DMADIRTY_E2E_COHERENT:
		return e->coh[i / DMADIRTY_E2E_COHERENT_PAGES].dma +
		       (i % DMADIRTY_E2E_COHERENT_PAGES) * PAGE_SIZE;
	default:
		return e->dma[v][i];
	}
}

/*
 * The churn thread.  While e->churn_write is set it rewrites a few MiB per
 * pass, so that pre-copy keeps iterating, until the harness stops it.
 * When churn_write goes off it frees its buffer and completes churn_quiet.
 */
static int dmadirty_e2e_churn_fn(void *data)
{
	struct dmadirty_e2e *e = data;
	size_t size = DMADIRTY_E2E_CHURN_BYTES, off;
	bool writing = false;
	u8 *buf = NULL;
	u8 n = 0;

	while (!kthread_should_stop()) {
		if (READ_ONCE(e->churn_write)) {
			writing = true;
			if (!buf)
				buf = vmalloc(size);
			if (buf) {
				n++;
				for (off = 0; off < size; off += PAGE_SIZE)
					WRITE_ONCE(buf[off], n);
				atomic_long_inc(&e->churn_passes);
			}
			usleep_range(2000, 4000);
			continue;
		}
		if (writing) {
			vfree(buf);
			buf = NULL;
			writing = false;
			complete(&e->churn_quiet);
		}
		usleep_range(500, 1000);
	}
	vfree(buf);
	return 0;
}

static int dmadirty_e2e_churn_start(struct dmadirty_e2e *e)
{
	struct task_struct *t;

	if (!e->churn) {
		t = kthread_run(dmadirty_e2e_churn_fn, e, "dmadirty_e2e_churn");
		if (IS_ERR(t))
			return PTR_ERR(t);
		e->churn = t;
	}
	WRITE_ONCE(e->churn_write, true);
	return 0;
}

/* Stop rewriting, keep flushing; returns once the buffer is freed. */
static void dmadirty_e2e_churn_quiet(struct dmadirty_e2e *e)
{
	if (!e->churn || !READ_ONCE(e->churn_write))
		return;
	reinit_completion(&e->churn_quiet);
	WRITE_ONCE(e->churn_write, false);
	wait_for_completion(&e->churn_quiet);
}

static void dmadirty_e2e_churn_stop(struct dmadirty_e2e *e)
{
	WRITE_ONCE(e->churn_write, false);
	if (e->churn)
		kthread_stop(e->churn);
	e->churn = NULL;
}

static void dmadirty_e2e_finish(struct dmadirty_e2e *e)
{
	struct device *dev = &e->pdev->dev;
	unsigned int i;

	for (i = 0; i < e->count[DMADIRTY_E2E_SINGLE]; i++)
		dma_unmap_page(dev, e->dma[DMADIRTY_E2E_SINGLE][i], PAGE_SIZE,
			       DMA_FROM_DEVICE);
	for (i = 0; i < e->nr_sgs; i++)
		dma_unmap_sg(dev, e->sgs[i].table.sgl,
			     e->sgs[i].table.orig_nents, DMA_FROM_DEVICE);
	for (i = 0; i < e->count[DMADIRTY_E2E_SYNC]; i++)
		dma_sync_single_for_cpu(dev, e->dma[DMADIRTY_E2E_SYNC][i],
					PAGE_SIZE, DMA_FROM_DEVICE);
	for (i = 0; i < e->nr_coh; i++)
		dma_free_coherent(dev, DMADIRTY_E2E_COHERENT_PAGES * PAGE_SIZE,
				  e->coh[i].cpu, e->coh[i].dma);
	/* the control: the same locked add of 0 the dirtying uses */
	for (i = 0; i < e->count[DMADIRTY_E2E_TOUCH]; i++) {
		atomic_long_t *w = page_address(e->pages[DMADIRTY_E2E_TOUCH][i]);

		atomic_long_add(0, w);
	}
	e->finished = true;

	/*
	 * Quiet the churn last: it kept pre-copy iterating until now, and
	 * the pages it frees go on the allocator's free lists after the
	 * freed coherent pages, so that the next allocations take them and
	 * not the coherent pages the host is about to check.
	 */
	dmadirty_e2e_churn_quiet(e);
}

static void dmadirty_e2e_verify(struct dmadirty_e2e *e, u64 seed)
{
	unsigned int v, i, w;

	for (v = 0; v < DMADIRTY_E2E_NR_VARIANTS; v++) {
		unsigned int intact = 0;
		u64 sum = 0;

		for (i = 0; i < e->count[v]; i++) {
			phys_addr_t phys = dmadirty_e2e_phys(e, v, i);
			/*
			 * Freed coherent pages are read through the direct
			 * map: the guest's view of what the device wrote.
			 */
			const u64 *p = phys_to_virt(phys);
			bool ok = true;

			for (w = 0; w < PAGE_SIZE / 8; w++) {
				sum ^= p[w];
				if (p[w] != dmadirty_e2e_word(phys, w, seed))
					ok = false;
			}
			intact += ok;
		}
		dmadirty_e2e_out(e, "%s %u %u %016llx\n", dmadirty_e2e_names[v],
				 e->count[v], intact, sum);
	}
}

static int dmadirty_e2e_cmd(struct dmadirty_e2e *e, char *line)
{
	unsigned int want[DMADIRTY_E2E_NR_VARIANTS], v, i;
	u64 seed;
	char arg[8];

	if (sscanf(line, "setup %u %u %u %u %u", &want[0], &want[1], &want[2],
		   &want[3], &want[4]) == 5) {
		int ret;

		if (e->set_up)
			return -EBUSY;
		ret = dmadirty_e2e_setup(e, want);
		if (ret)
			return ret;
		for (v = 0; v < DMADIRTY_E2E_NR_VARIANTS; v++)
			for (i = 0; i < e->count[v]; i++)
				dmadirty_e2e_out(e, "%s %llx %lu %llx\n",
						 dmadirty_e2e_names[v],
						 (u64)dmadirty_e2e_phys(e, v, i),
						 PAGE_SIZE,
						 dmadirty_e2e_dma(e, v, i));
		return 0;
	}
	if (sscanf(line, "churn %7s", arg) == 1) {
		if (!strcmp(arg, "on"))
			return dmadirty_e2e_churn_start(e);
		if (!strcmp(arg, "off")) {
			dmadirty_e2e_churn_stop(e);
			return 0;
		}
		return -EINVAL;
	}
	if (!strcmp(line, "stats")) {
		dmadirty_e2e_out(e, "churn_passes %ld\n",
				 atomic_long_read(&e->churn_passes));
		return 0;
	}
	if (!strcmp(line, "finish")) {
		if (!e->set_up || e->finished)
			return -EINVAL;
		dmadirty_e2e_finish(e);
		return 0;
	}
	if (sscanf(line, "verify %llx", &seed) == 1) {
		if (!e->set_up || !e->finished)
			return -EINVAL;
		dmadirty_e2e_verify(e, seed);
		return 0;
	}
	if (!strcmp(line, "release")) {
		dmadirty_e2e_release(e);
		return 0;
	}
	return -EINVAL;
}

static ssize_t dmadirty_e2e_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	struct dmadirty_e2e *e = &dmadirty_e2e_dev;
	char line[128];
	int ret;

	if (len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = '\0';
	strim(line);

	mutex_lock(&e->lock);
	e->out_len = 0;
	e->out[0] = '\0';
	ret = dmadirty_e2e_cmd(e, strim(line));
	mutex_unlock(&e->lock);
	if (ret) {
		pr_info("command \"%s\" failed: %d\n", line, ret);
		return ret;
	}
	return len;
}

static ssize_t dmadirty_e2e_read(struct file *file, char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct dmadirty_e2e *e = &dmadirty_e2e_dev;
	ssize_t ret;

	mutex_lock(&e->lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, e->out, e->out_len);
	mutex_unlock(&e->lock);
	return ret;
}

static const struct file_operations dmadirty_e2e_fops = {
	.owner = THIS_MODULE,
	.read = dmadirty_e2e_read,
	.write = dmadirty_e2e_write,
	.llseek = default_llseek,
};

static int dmadirty_e2e_probe(struct pci_dev *pdev,
			      const struct pci_device_id *id)
{
	struct dmadirty_e2e *e = &dmadirty_e2e_dev;
	int ret;

	if (e->pdev)
		return -EBUSY;
	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_disable_device;
	e->out = kvzalloc(DMADIRTY_E2E_OUT_SIZE, GFP_KERNEL);
	if (!e->out) {
		ret = -ENOMEM;
		goto err_disable_device;
	}
	e->pdev = pdev;
	e->dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", 0600, e->dir, NULL, &dmadirty_e2e_fops);
	dev_info(&pdev->dev, "ready\n");
	return 0;

err_disable_device:
	pci_disable_device(pdev);
	return ret;
}

static void dmadirty_e2e_remove(struct pci_dev *pdev)
{
	struct dmadirty_e2e *e = &dmadirty_e2e_dev;

	debugfs_remove_recursive(e->dir);
	mutex_lock(&e->lock);
	dmadirty_e2e_churn_stop(e);
	dmadirty_e2e_release(e);
	mutex_unlock(&e->lock);
	kvfree(e->out);
	e->out = NULL;
	e->pdev = NULL;
	pci_disable_device(pdev);
}

static const struct pci_device_id dmadirty_e2e_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT, 0x0005) },	/* QEMU pci-testdev */
	{ }
};
MODULE_DEVICE_TABLE(pci, dmadirty_e2e_ids);

static struct pci_driver dmadirty_e2e_driver = {
	.name = KBUILD_MODNAME,
	.id_table = dmadirty_e2e_ids,
	.probe = dmadirty_e2e_probe,
	.remove = dmadirty_e2e_remove,
};

static int __init dmadirty_e2e_init(void)
{
	mutex_init(&dmadirty_e2e_dev.lock);
	init_completion(&dmadirty_e2e_dev.churn_quiet);
	return pci_register_driver(&dmadirty_e2e_driver);
}
module_init(dmadirty_e2e_init);

static void __exit dmadirty_e2e_exit(void)
{
	pci_unregister_driver(&dmadirty_e2e_driver);
}
module_exit(dmadirty_e2e_exit);

MODULE_DESCRIPTION("dmadirty end-to-end test: DMA_FROM_DEVICE buffers on pci-testdev");
MODULE_LICENSE("GPL");
