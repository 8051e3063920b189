// SPDX-License-Identifier: GPL-2.0
/*
 * dmadirty: DMA page dirtying for live migration with pass-through devices.
 *
 * Lifecycle, the vm.dma_mark_dirty switch and the read-only counters.  The
 * module is a conduit: when to switch is the agent's policy.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/sysctl.h>

#include "compat.h"
#include "dmadirty.h"

DEFINE_PER_CPU(struct dmadirty_counters, dmadirty_counters);

static bool dmadirty_param_enable;
module_param_named(enable, dmadirty_param_enable, bool, 0444);
MODULE_PARM_DESC(enable, "Turn DMA dirtying on at load (dmadirty.enable=1)");

static u32 dmadirty_src = DMADIRTY_SOURCE_MODULE;
static struct ctl_table_header *dmadirty_sysctl_header;

u64 dmadirty_counter_read(enum dmadirty_counter idx)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct dmadirty_counters *c = per_cpu_ptr(&dmadirty_counters, cpu);

		sum += c->c[idx];
		if (idx == DMADIRTY_CTR_CALLS || idx == DMADIRTY_CTR_PAGES_MARKED)
			sum += c->one_page;
	}
	return sum;
}

u32 dmadirty_source(void)
{
	return dmadirty_src;
}

/*
 * The write returns only after dmadirty_dirty_set() armed or disarmed every
 * hook and an RCU grace period passed: no CPU still runs the old state.
 * A refused enable (coverage incomplete, hooks that cannot be armed) fails
 * the write and puts the error bit in the vendor block.
 */
static int dmadirty_sysctl_handler(dmadirty_ctl_table_t *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	int val = dmadirty_dirty_on();
	struct ctl_table tmp = {
		.data = &val,
		.maxlen = sizeof(val),
		.extra1 = SYSCTL_ZERO,
		.extra2 = SYSCTL_ONE,
	};
	int ret;

	ret = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (ret || !write)
		return ret;
	ret = dmadirty_dirty_set(val);
	if (ret)
		dmadirty_bridge_refresh();
	return ret;
}

/* One entry and, for kernels without register_sysctl_sz(), a sentinel. */
static struct ctl_table dmadirty_sysctl_table[] = {
	{
		.procname = "dma_mark_dirty",
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = dmadirty_sysctl_handler,
	},
	{ }
};

static bool dmadirty_kernel_has_sysctl(void)
{
	struct path path;

	if (kern_path("/proc/sys/vm/dma_mark_dirty", 0, &path))
		return false;
	path_put(&path);
	return true;
}

static ssize_t enabled_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", dmadirty_enabled());
}
static DEVICE_ATTR_RO(enabled);

/* The DMA API functions hooked; a wrapper done by its callee as f(callee). */
static ssize_t hooks_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return dmadirty_hooks_show(buf, DMADIRTY_HOOKS_HOOKED);
}
static DEVICE_ATTR_RO(hooks);

/* Entry points the running kernel has and the module cannot cover. */
static ssize_t missing_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return dmadirty_hooks_show(buf, DMADIRTY_HOOKS_MISSING);
}
static DEVICE_ATTR_RO(missing);

/* The hooks patched in now: none while off. */
static ssize_t armed_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return dmadirty_hooks_show(buf, DMADIRTY_HOOKS_ARMED);
}
static DEVICE_ATTR_RO(armed);

/*
 * How the unmap and sync of one range are entered: off, shared (the ops of
 * every hook, from enable until a moment after), ftrace (their own ops),
 * direct (a direct call), or kernel (the kernel marks pages itself).
 */
static ssize_t entry_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", dmadirty_single_entry());
}
static DEVICE_ATTR_RO(entry);

/*
 * What no hook can see on any kernel (kmod/README.md): a mapping that is
 * never synced or unmapped while dirtying is on (receive pages a page_pool
 * keeps mapped among them), coherent memory while it is allocated, and DMA
 * set up by user space.  The device must be quiesced or unplugged before
 * stop-and-copy for these.
 */
static ssize_t uncovered_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "mapped-never-synced coherent-while-allocated user-space-dma\n");
}
static DEVICE_ATTR_RO(uncovered);

#define DMADIRTY_COUNTER_ATTR(name, idx)				\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%llu\n", dmadirty_counter_read(idx));	\
}									\
static DEVICE_ATTR_RO(name)

DMADIRTY_COUNTER_ATTR(calls_seen, DMADIRTY_CTR_CALLS);
DMADIRTY_COUNTER_ATTR(pages_marked, DMADIRTY_CTR_PAGES_MARKED);
DMADIRTY_COUNTER_ATTR(skipped_to_device, DMADIRTY_CTR_SKIP_TO_DEVICE);
DMADIRTY_COUNTER_ATTR(skipped_swiotlb, DMADIRTY_CTR_SKIP_SWIOTLB);
DMADIRTY_COUNTER_ATTR(skipped_nonram, DMADIRTY_CTR_SKIP_NONRAM);
DMADIRTY_COUNTER_ATTR(translate_failed, DMADIRTY_CTR_TRANSLATE_FAIL);
DMADIRTY_COUNTER_ATTR(coherent_freed, DMADIRTY_CTR_COHERENT_FREED);
DMADIRTY_COUNTER_ATTR(skip_sync_cleared, DMADIRTY_CTR_SKIP_SYNC_CLEARED);

/* In enum order, the names of DMADIRTY_COUNTER_NAMES (checked at init). */
static struct attribute *dmadirty_attrs[] = {
	&dev_attr_calls_seen.attr,
	&dev_attr_pages_marked.attr,
	&dev_attr_skipped_to_device.attr,
	&dev_attr_skipped_swiotlb.attr,
	&dev_attr_skipped_nonram.attr,
	&dev_attr_translate_failed.attr,
	&dev_attr_coherent_freed.attr,
	&dev_attr_skip_sync_cleared.attr,
	&dev_attr_enabled.attr,
	&dev_attr_hooks.attr,
	&dev_attr_missing.attr,
	&dev_attr_armed.attr,
	&dev_attr_entry.attr,
	&dev_attr_uncovered.attr,
	NULL
};
ATTRIBUTE_GROUPS(dmadirty);

static int dmadirty_check_names(void)
{
	static const char * const names[] = DMADIRTY_COUNTER_NAMES;
	int i;

	BUILD_BUG_ON(ARRAY_SIZE(names) != DMADIRTY_NR_COUNTERS_USED);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(names[i], dmadirty_attrs[i]->name))
			return -EINVAL;
	return 0;
}

static int __init dmadirty_init(void)
{
	int ret;

	ret = dmadirty_check_names();
	if (ret) {
		pr_err("counter names do not match the uapi header\n");
		return ret;
	}

	if (dmadirty_kernel_has_sysctl()) {
		/* The kernel dirties pages itself: only the channel is ours. */
		dmadirty_src = DMADIRTY_SOURCE_KERNEL;
		pr_info("kernel has vm.dma_mark_dirty, hooks not used\n");
	} else {
		ret = dmadirty_ram_init();
		if (ret)
			return ret;
	}
	ret = dmadirty_dirty_init(dmadirty_src == DMADIRTY_SOURCE_KERNEL);
	if (ret)
		goto err_ram_exit;

	ret = dmadirty_bridge_init();
	if (ret)
		goto err_dirty_exit;

	if (dmadirty_src == DMADIRTY_SOURCE_MODULE) {
		dmadirty_sysctl_header =
			dmadirty_register_sysctl("vm", dmadirty_sysctl_table,
						 ARRAY_SIZE(dmadirty_sysctl_table) - 1);
		if (!dmadirty_sysctl_header) {
			ret = -ENOMEM;
			goto err_bridge_exit;
		}
		if (dmadirty_param_enable) {
			ret = dmadirty_dirty_set(true);
			if (ret)
				goto err_unregister_sysctl;
		}
	}

	/*
	 * The device comes last.  The agent opens it as soon as its uevent
	 * arrives, and starts polling the block and writing the sysctl: both
	 * must be there by then.
	 */
	ret = dmadirty_chardev_init(dmadirty_groups);
	if (ret)
		goto err_unregister_sysctl;
	pr_info("loaded, dirtying %s\n", dmadirty_dirty_on() ? "on" : "off");
	return 0;

err_unregister_sysctl:
	if (dmadirty_sysctl_header)
		unregister_sysctl_table(dmadirty_sysctl_header);
err_bridge_exit:
	dmadirty_bridge_exit();
err_dirty_exit:
	dmadirty_dirty_exit();
err_ram_exit:
	if (dmadirty_src == DMADIRTY_SOURCE_MODULE)
		dmadirty_ram_exit();
	return ret;
}

static void __exit dmadirty_exit(void)
{
	/* No more switching, then no more users, then the probes go. */
	if (dmadirty_sysctl_header)
		unregister_sysctl_table(dmadirty_sysctl_header);
	dmadirty_bridge_exit();
	dmadirty_chardev_exit();
	dmadirty_dirty_exit();
	if (dmadirty_src == DMADIRTY_SOURCE_MODULE)
		dmadirty_ram_exit();
	pr_info("unloaded\n");
}

module_init(dmadirty_init);
module_exit(dmadirty_exit);

MODULE_DESCRIPTION("DMA page dirtying for live migration with pass-through devices");
MODULE_LICENSE("GPL");
