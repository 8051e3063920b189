// SPDX-License-Identifier: GPL-2.0
/*
 * The bridge channel: the dmadirty vendor block (dmadirty_vendor.h) in the
 * config space of an emulated PCI bridge.  The module only reads and
 * writes config space; it never binds to the device.
 *
 * Host state is read at a low rate (DMADIRTY_POLL_MS, one config read,
 * i.e. one VM exit, per tick) and only while the agent holds /dev/dmadirty
 * open and a block is present.  A bus notifier picks up bridges that appear later and drops the
 * one in use when it goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/workqueue.h>

#include "dmadirty.h"

#define DMADIRTY_POLL_MS	250

static DEFINE_MUTEX(dmadirty_bridge_lock);
static struct pci_dev *dmadirty_bridge_pdev;	/* holds a reference */
static int dmadirty_bridge_pos;
static struct dmadirty_host dmadirty_bridge_cache;
static u32 dmadirty_bridge_acked;
static u32 dmadirty_bridge_state;
static atomic_t dmadirty_bridge_event_count;
static bool dmadirty_bridge_polling;

static void dmadirty_bridge_poll(struct work_struct *work);
static void dmadirty_bridge_poll_next(void);
static DECLARE_DELAYED_WORK(dmadirty_bridge_work, dmadirty_bridge_poll);

/*
 * Position of a valid block in @pdev's capability list, or 0.  Blocks that
 * look like ours but are not usable get one log line per scan of a device;
 * other vendors' capabilities are passed over silently.
 */
static int dmadirty_bridge_find(struct pci_dev *pdev)
{
	int pos = pci_find_capability(pdev, PCI_CAP_ID_VNDR);

	while (pos) {
		u8 len, type;
		u32 magic;
		u16 version;

		pci_read_config_byte(pdev, pos + DMADIRTY_VNDR_OFF_LEN, &len);
		pci_read_config_byte(pdev, pos + DMADIRTY_VNDR_OFF_TYPE, &type);
		pci_read_config_dword(pdev, pos + DMADIRTY_VNDR_OFF_MAGIC, &magic);
		if (magic != DMADIRTY_VNDR_MAGIC) {
			if (type == DMADIRTY_VNDR_TYPE)
				pci_info(pdev, "ignoring vendor block at 0x%x: bad magic 0x%08x\n",
					 pos, magic);
			goto next;
		}
		pci_read_config_word(pdev, pos + DMADIRTY_VNDR_OFF_VERSION, &version);
		if (version != DMADIRTY_VNDR_VERSION) {
			pci_info(pdev, "ignoring vendor block at 0x%x: version %u, want %u\n",
				 pos, version, DMADIRTY_VNDR_VERSION);
			goto next;
		}
		if (len < DMADIRTY_VNDR_LEN_V1) {
			pci_info(pdev, "ignoring vendor block at 0x%x: length %u\n",
				 pos, len);
			goto next;
		}
		return pos;
next:
		pos = pci_find_next_capability(pdev, pos, PCI_CAP_ID_VNDR);
	}
	return 0;
}

/* Read the host side of the block into the cache.  Lock held. */
static void dmadirty_bridge_read_host(void)
{
	struct pci_dev *pdev = dmadirty_bridge_pdev;
	int pos = dmadirty_bridge_pos;
	struct dmadirty_host *h = &dmadirty_bridge_cache;
	u16 features;

	pci_read_config_dword(pdev, pos + DMADIRTY_VNDR_OFF_HOST_SEQ, &h->sequence);
	pci_read_config_dword(pdev, pos + DMADIRTY_VNDR_OFF_HOST_STATE, &h->state);
	pci_read_config_word(pdev, pos + DMADIRTY_VNDR_OFF_HOST_FEATURES, &features);
	h->features = features;
	h->present = 1;
}

/*
 * Take @pdev if it carries a block, and poll it if the agent listens.
 * Lock held; returns true when taken.
 */
static bool dmadirty_bridge_try(struct pci_dev *pdev)
{
	int pos;

	if (dmadirty_bridge_pdev)
		return false;
	pos = dmadirty_bridge_find(pdev);
	if (!pos)
		return false;
	dmadirty_bridge_pdev = pci_dev_get(pdev);
	dmadirty_bridge_pos = pos;
	dmadirty_bridge_read_host();
	pci_write_config_dword(pdev, pos + DMADIRTY_VNDR_OFF_GUEST_FEATURES,
			       dmadirty_guest_features());
	atomic_inc(&dmadirty_bridge_event_count);
	dmadirty_bridge_poll_next();
	pci_info(pdev, "dmadirty vendor block at 0x%x, host state %u sequence %u\n",
		 pos, dmadirty_bridge_cache.state, dmadirty_bridge_cache.sequence);
	return true;
}

/* Bridges first, then any device.  Lock held. */
static void dmadirty_bridge_scan(struct pci_dev *skip)
{
	struct pci_dev *pdev = NULL;
	int pass;

	for (pass = 0; pass < 2 && !dmadirty_bridge_pdev; pass++) {
		for_each_pci_dev(pdev) {
			if (pdev == skip || pci_is_bridge(pdev) != !pass)
				continue;
			if (dmadirty_bridge_try(pdev)) {
				pci_dev_put(pdev);
				break;
			}
		}
	}
}

static void dmadirty_bridge_changed(void)
{
	struct dmadirty_host host;

	dmadirty_bridge_host(&host);
	dmadirty_chardev_host_changed(&host);
}

static int dmadirty_bridge_notify(struct notifier_block *nb,
				  unsigned long action, void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);
	bool changed = false;

	mutex_lock(&dmadirty_bridge_lock);
	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		changed = dmadirty_bridge_try(pdev);
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		if (pdev != dmadirty_bridge_pdev)
			break;
		pci_info(pdev, "dmadirty vendor block gone\n");
		pci_dev_put(dmadirty_bridge_pdev);
		dmadirty_bridge_pdev = NULL;
		memset(&dmadirty_bridge_cache, 0, sizeof(dmadirty_bridge_cache));
		atomic_inc(&dmadirty_bridge_event_count);
		dmadirty_bridge_scan(pdev);
		changed = true;
		break;
	}
	mutex_unlock(&dmadirty_bridge_lock);
	if (changed)
		dmadirty_bridge_changed();
	return NOTIFY_OK;
}

static struct notifier_block dmadirty_bridge_nb = {
	.notifier_call = dmadirty_bridge_notify,
};

/*
 * Next poll tick, while the agent listens and there is a block to read.
 * A block taken later (dmadirty_bridge_try()) starts it.  Lock held.
 */
static void dmadirty_bridge_poll_next(void)
{
	if (dmadirty_bridge_polling && dmadirty_bridge_pdev)
		schedule_delayed_work(&dmadirty_bridge_work,
				      msecs_to_jiffies(DMADIRTY_POLL_MS));
}

/* Read the host sequence; on a change, refresh the cache.  Lock held. */
static bool dmadirty_bridge_check(void)
{
	u32 seq;

	if (!dmadirty_bridge_pdev)
		return false;
	pci_read_config_dword(dmadirty_bridge_pdev,
			      dmadirty_bridge_pos + DMADIRTY_VNDR_OFF_HOST_SEQ, &seq);
	if (seq == dmadirty_bridge_cache.sequence)
		return false;
	dmadirty_bridge_read_host();
	atomic_inc(&dmadirty_bridge_event_count);
	return true;
}

static void dmadirty_bridge_poll(struct work_struct *work)
{
	bool changed;

	mutex_lock(&dmadirty_bridge_lock);
	changed = dmadirty_bridge_check();
	dmadirty_bridge_poll_next();
	mutex_unlock(&dmadirty_bridge_lock);
	if (changed)
		dmadirty_bridge_changed();
}

/* The agent opened the device: bring the cache up to date, then poll. */
void dmadirty_bridge_poll_start(void)
{
	bool changed;

	mutex_lock(&dmadirty_bridge_lock);
	changed = dmadirty_bridge_check();
	dmadirty_bridge_polling = true;
	dmadirty_bridge_poll_next();
	mutex_unlock(&dmadirty_bridge_lock);
	if (changed)
		dmadirty_bridge_changed();
}

void dmadirty_bridge_poll_stop(void)
{
	mutex_lock(&dmadirty_bridge_lock);
	dmadirty_bridge_polling = false;
	mutex_unlock(&dmadirty_bridge_lock);
	cancel_delayed_work_sync(&dmadirty_bridge_work);
}

void dmadirty_bridge_host(struct dmadirty_host *host)
{
	mutex_lock(&dmadirty_bridge_lock);
	*host = dmadirty_bridge_cache;
	mutex_unlock(&dmadirty_bridge_lock);
}

u32 dmadirty_bridge_events(void)
{
	return atomic_read(&dmadirty_bridge_event_count);
}

static void dmadirty_bridge_write_guest(u32 acked, u32 state)
{
	struct pci_dev *pdev = dmadirty_bridge_pdev;
	int pos = dmadirty_bridge_pos;

	/* The acked sequence goes last: the host reads it as the commit. */
	pci_write_config_dword(pdev, pos + DMADIRTY_VNDR_OFF_GUEST_FEATURES,
			       dmadirty_guest_features());
	pci_write_config_dword(pdev, pos + DMADIRTY_VNDR_OFF_GUEST_STATE, state);
	pci_write_config_dword(pdev, pos + DMADIRTY_VNDR_OFF_GUEST_ACK, acked);
}

/*
 * The agent applied @generation.  The dirtying and error bits written are
 * the module's own (dmadirty_guest_state()): the agent can add an error,
 * never claim dirtying the module has not armed.
 */
bool dmadirty_bridge_ack(u32 generation, u32 state)
{
	bool written = false;

	state = (state & DMADIRTY_GUEST_STATE_ERROR) | dmadirty_guest_state();
	mutex_lock(&dmadirty_bridge_lock);
	dmadirty_bridge_acked = generation;
	dmadirty_bridge_state = state;
	if (dmadirty_bridge_pdev) {
		dmadirty_bridge_write_guest(generation, state);
		written = true;
	}
	mutex_unlock(&dmadirty_bridge_lock);
	return written;
}

void dmadirty_bridge_guest(u32 *acked, u32 *state)
{
	mutex_lock(&dmadirty_bridge_lock);
	*acked = dmadirty_bridge_acked;
	*state = dmadirty_bridge_state;
	mutex_unlock(&dmadirty_bridge_lock);
}

/*
 * The agent closed /dev/dmadirty (or died): nobody answers the host any
 * more.  Say so in the block with the error bit, next to the real state.
 */
void dmadirty_bridge_agent_gone(void)
{
	mutex_lock(&dmadirty_bridge_lock);
	dmadirty_bridge_state = DMADIRTY_GUEST_STATE_ERROR | dmadirty_guest_state();
	if (dmadirty_bridge_pdev)
		dmadirty_bridge_write_guest(dmadirty_bridge_acked,
					    dmadirty_bridge_state);
	mutex_unlock(&dmadirty_bridge_lock);
	pr_info("agent closed the control device\n");
}

/*
 * The module's state changed without an ack (a refused enable): show it
 * in the block, keeping the last acked sequence.
 */
void dmadirty_bridge_refresh(void)
{
	mutex_lock(&dmadirty_bridge_lock);
	dmadirty_bridge_state = (dmadirty_bridge_state & DMADIRTY_GUEST_STATE_ERROR) |
				dmadirty_guest_state();
	if (dmadirty_bridge_pdev)
		dmadirty_bridge_write_guest(dmadirty_bridge_acked,
					    dmadirty_bridge_state);
	mutex_unlock(&dmadirty_bridge_lock);
}

int dmadirty_bridge_init(void)
{
	int ret;

	/* Notifier first, so no device added during the scan is missed. */
	ret = bus_register_notifier(&pci_bus_type, &dmadirty_bridge_nb);
	if (ret)
		return ret;
	mutex_lock(&dmadirty_bridge_lock);
	dmadirty_bridge_scan(NULL);
	mutex_unlock(&dmadirty_bridge_lock);
	return 0;
}

void dmadirty_bridge_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &dmadirty_bridge_nb);
	dmadirty_bridge_poll_stop();
	mutex_lock(&dmadirty_bridge_lock);
	pci_dev_put(dmadirty_bridge_pdev);
	dmadirty_bridge_pdev = NULL;
	mutex_unlock(&dmadirty_bridge_lock);
}
