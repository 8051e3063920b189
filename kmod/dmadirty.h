/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmadirty.ko internals shared between its files.
 *
 *  main.c     lifecycle, the vm.dma_mark_dirty sysctl, counters in sysfs
 *  dirty.c    the ftrace hooks on the DMA API, page marking, coverage
 *  drain.c    what enable does beyond the hooks: dma_skip_sync, in-flight I/O
 *  ram.c      which page frames are RAM, without a lock
 *  bridge.c   the vendor block on a PCI bridge (the hypervisor channel)
 *  chardev.c  /dev/dmadirty, the agent's interface
 */
#ifndef DMADIRTY_H
#define DMADIRTY_H

#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

struct device;

#include "dmadirty_uapi.h"
#include "dmadirty_vendor.h"

/*
 * The counters of dmadirty_uapi.h, and one_page: the commonest call, an
 * unmap or sync that marked one page, counts there once, where it would
 * add to CALLS and PAGES_MARKED both.  dmadirty_counter_read() adds it
 * to either.
 */
struct dmadirty_counters {
	u64 c[DMADIRTY_NR_COUNTERS_USED];
	u64 one_page;
};

DECLARE_PER_CPU(struct dmadirty_counters, dmadirty_counters);

/* this_cpu_add() is one instruction on x86: safe in any context, preemptible too. */
static inline void dmadirty_count(enum dmadirty_counter idx, u64 n)
{
	this_cpu_add(dmadirty_counters.c[idx], n);
}

/* A call that marked one page. */
static inline void dmadirty_count_one_page(void)
{
	this_cpu_inc(dmadirty_counters.one_page);
}

u64 dmadirty_counter_read(enum dmadirty_counter idx);

/* main.c */
u32 dmadirty_source(void);

/* dirty.c */
int dmadirty_dirty_init(bool kernel_has_sysctl);
void dmadirty_dirty_exit(void);
int dmadirty_dirty_set(bool on);
bool dmadirty_dirty_on(void);
bool dmadirty_enabled(void);
bool dmadirty_coverage_complete(void);
enum dmadirty_hooks_list {
	DMADIRTY_HOOKS_HOOKED,
	DMADIRTY_HOOKS_MISSING,
	DMADIRTY_HOOKS_ARMED,
};

ssize_t dmadirty_hooks_show(char *buf, enum dmadirty_hooks_list which);
const char *dmadirty_single_entry(void);
u32 dmadirty_guest_features(void);
u32 dmadirty_guest_state(void);

/* drain.c */
bool dmadirty_clear_skip_sync(struct device *dev);
void dmadirty_clear_all_skip_sync(void);
unsigned int dmadirty_drain_block(void);

/* ram.c */
struct dmadirty_ram_range {
	unsigned long start;	/* first pfn */
	unsigned long end;	/* last pfn + 1 */
};

struct dmadirty_ram {
	struct dmadirty_ram_range big;	/* the largest range, looked at first */
	unsigned int nr;
	struct dmadirty_ram_range range[];	/* sorted, none adjacent */
};

extern struct dmadirty_ram __rcu *dmadirty_ram;

int dmadirty_ram_init(void);
void dmadirty_ram_exit(void);

/* Whether @pfn lies in @ram's largest range, the first thing looked at. */
static __always_inline bool dmadirty_ram_big_has(const struct dmadirty_ram *ram,
						 unsigned long pfn)
{
	return pfn - ram->big.start < ram->big.end - ram->big.start;
}

/*
 * The number of RAM frames from @pfn to the end of its range, 0 when @pfn
 * is not RAM.  Any context.  Inline: the hooks call it for every run of
 * pages they mark.
 */
static inline unsigned long dmadirty_ram_run(unsigned long pfn)
{
	const struct dmadirty_ram *ram;
	unsigned long run = 0;
	unsigned int lo, hi;

	/*
	 * An RCU-sched reader: one per-CPU add, where rcu_read_lock() is a
	 * call out of line on a preemptible kernel.  Since 4.20 every RCU
	 * grace period, ram.c's synchronize_rcu() included, waits for it.
	 */
	rcu_read_lock_sched_notrace();
	ram = rcu_dereference_sched(dmadirty_ram);
	if (likely(dmadirty_ram_big_has(ram, pfn))) {
		run = ram->big.end - pfn;
		goto out;
	}
	lo = 0;
	hi = ram->nr;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (pfn < ram->range[mid].start) {
			hi = mid;
		} else if (pfn >= ram->range[mid].end) {
			lo = mid + 1;
		} else {
			run = ram->range[mid].end - pfn;
			break;
		}
	}
out:
	rcu_read_unlock_sched_notrace();
	return run;
}

/*
 * Whether @pfn lies in the largest RAM range: the first look of
 * dmadirty_ram_run() alone, which needs few enough registers for a
 * callback that builds no stack frame.  False says nothing.
 */
static __always_inline bool dmadirty_ram_in_big(unsigned long pfn)
{
	const struct dmadirty_ram *ram;
	bool in;

	rcu_read_lock_sched_notrace();
	ram = rcu_dereference_sched(dmadirty_ram);
	in = dmadirty_ram_big_has(ram, pfn);
	rcu_read_unlock_sched_notrace();
	return in;
}

/* bridge.c */
int dmadirty_bridge_init(void);
void dmadirty_bridge_exit(void);
void dmadirty_bridge_host(struct dmadirty_host *host);
u32 dmadirty_bridge_events(void);
bool dmadirty_bridge_ack(u32 generation, u32 state);
void dmadirty_bridge_guest(u32 *acked, u32 *state);
void dmadirty_bridge_agent_gone(void);
void dmadirty_bridge_poll_start(void);
void dmadirty_bridge_poll_stop(void);
void dmadirty_bridge_refresh(void);

/* chardev.c */
struct attribute_group;
int dmadirty_chardev_init(const struct attribute_group **groups);
void dmadirty_chardev_exit(void);
void dmadirty_chardev_host_changed(const struct dmadirty_host *host);

#endif /* DMADIRTY_H */
