// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only "hypervisor" for the dmadirty bridge channel.  Like
 * drivers/pci/controller/vmd.c it creates a software PCI root bus with its
 * own pci_ops; the bus holds one PCI-to-PCI bridge whose config space
 * (kept in memory) carries the dmadirty vendor block.  The host side of
 * the block is driven from debugfs, /sys/kernel/debug/dmadirty_testbridge/:
 *
 *   host_state      write: set the host state and bump the host sequence
 *   host_seq        read
 *   guest_ack, guest_state, guest_features   read: what the guest wrote
 *   remove          write 1: hot-remove the bridge (and its root bus)
 *
 * Module parameters magic= and version= build a block the guest must
 * ignore.  kernel_sysctl=1 also registers vm.dma_mark_dirty itself, as a
 * kernel that dirties pages on its own would: dmadirty then runs in its
 * "kernel" mode and must report that sysctl's value.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/sysctl.h>

#include "dmadirty_config.h"
#include "dmadirty_vendor.h"

#define TB_DOMAIN	0x100dd
#define TB_CAP		0x40

static uint tb_magic = DMADIRTY_VNDR_MAGIC;
module_param_named(magic, tb_magic, uint, 0444);
static ushort tb_version = DMADIRTY_VNDR_VERSION;
module_param_named(version, tb_version, ushort, 0444);
static bool tb_kernel_sysctl;
module_param_named(kernel_sysctl, tb_kernel_sysctl, bool, 0444);

static int tb_sysctl_val;
static struct ctl_table_header *tb_sysctl_header;
static struct ctl_table tb_sysctl[] = {
	{
		.procname = "dma_mark_dirty",
		.data = &tb_sysctl_val,
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = proc_dointvec,
	},
	{ }
};

static DEFINE_SPINLOCK(tb_lock);
static u8 tb_cfg[256];
static u8 tb_wmask[256];
static struct pci_sysdata tb_sysdata = { .domain = TB_DOMAIN, .node = NUMA_NO_NODE };
static struct pci_bus *tb_bus;
static struct dentry *tb_dir;
static DEFINE_MUTEX(tb_mutex);

static void tb_put(int where, int size, u32 val)
{
	int i;

	for (i = 0; i < size; i++)
		tb_cfg[where + i] = val >> (8 * i);
}

static u32 tb_get(int where, int size)
{
	u32 val = 0;
	int i;

	for (i = 0; i < size; i++)
		val |= (u32)tb_cfg[where + i] << (8 * i);
	return val;
}

static void tb_init_cfg(void)
{
	memset(tb_cfg, 0, sizeof(tb_cfg));
	memset(tb_wmask, 0, sizeof(tb_wmask));
	tb_put(PCI_VENDOR_ID, 2, PCI_VENDOR_ID_REDHAT);
	tb_put(PCI_DEVICE_ID, 2, 0x00dd);
	tb_put(PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	tb_put(PCI_CLASS_REVISION, 4, PCI_CLASS_BRIDGE_PCI << 16);
	tb_put(PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_BRIDGE);
	tb_put(PCI_PRIMARY_BUS, 1, 0);
	tb_put(PCI_SECONDARY_BUS, 1, 1);
	tb_put(PCI_SUBORDINATE_BUS, 1, 1);
	/* No windows: base above limit. */
	tb_put(PCI_IO_BASE, 1, 0xf0);
	tb_put(PCI_MEMORY_BASE, 2, 0xfff0);
	tb_put(PCI_PREF_MEMORY_BASE, 2, 0xfff0);
	tb_put(PCI_CAPABILITY_LIST, 1, TB_CAP);
	memset(&tb_wmask[PCI_COMMAND], 0xff, 2);
	memset(&tb_wmask[PCI_PRIMARY_BUS], 0xff, 4);
	tb_wmask[PCI_INTERRUPT_LINE] = 0xff;
	memset(&tb_wmask[PCI_BRIDGE_CONTROL], 0xff, 2);

	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_CAP_ID, 1, PCI_CAP_ID_VNDR);
	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_NEXT, 1, 0);
	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_LEN, 1, DMADIRTY_VNDR_LEN_V1);
	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_TYPE, 1, DMADIRTY_VNDR_TYPE);
	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_MAGIC, 4, tb_magic);
	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_VERSION, 2, tb_version);
	memset(&tb_wmask[TB_CAP + DMADIRTY_VNDR_OFF_GUEST_ACK], 0xff, 12);
}

static int tb_read(struct pci_bus *bus, unsigned int devfn, int where, int size,
		   u32 *val)
{
	unsigned long flags;

	if (bus->number || devfn || where + size > sizeof(tb_cfg)) {
		*val = ~0U;
		return PCIBIOS_DEVICE_NOT_FOUND;
	}
	spin_lock_irqsave(&tb_lock, flags);
	*val = tb_get(where, size);
	spin_unlock_irqrestore(&tb_lock, flags);
	return PCIBIOS_SUCCESSFUL;
}

static int tb_write(struct pci_bus *bus, unsigned int devfn, int where, int size,
		    u32 val)
{
	unsigned long flags;
	int i;

	if (bus->number || devfn || where + size > sizeof(tb_cfg))
		return PCIBIOS_DEVICE_NOT_FOUND;
	spin_lock_irqsave(&tb_lock, flags);
	for (i = 0; i < size; i++) {
		u8 m = tb_wmask[where + i];
		u8 b = val >> (8 * i);

		tb_cfg[where + i] = (tb_cfg[where + i] & ~m) | (b & m);
	}
	spin_unlock_irqrestore(&tb_lock, flags);
	return PCIBIOS_SUCCESSFUL;
}

static struct pci_ops tb_ops = {
	.read = tb_read,
	.write = tb_write,
};

static int tb_get_field(int off, u64 *val)
{
	unsigned long flags;

	spin_lock_irqsave(&tb_lock, flags);
	*val = tb_get(TB_CAP + off, 4);
	spin_unlock_irqrestore(&tb_lock, flags);
	return 0;
}

static int tb_host_state_get(void *data, u64 *val)
{
	return tb_get_field(DMADIRTY_VNDR_OFF_HOST_STATE, val);
}

static int tb_host_state_set(void *data, u64 val)
{
	unsigned long flags;

	spin_lock_irqsave(&tb_lock, flags);
	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_HOST_STATE, 4, val);
	tb_put(TB_CAP + DMADIRTY_VNDR_OFF_HOST_SEQ, 4,
	       tb_get(TB_CAP + DMADIRTY_VNDR_OFF_HOST_SEQ, 4) + 1);
	spin_unlock_irqrestore(&tb_lock, flags);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(tb_host_state_fops, tb_host_state_get,
			 tb_host_state_set, "%llu\n");

#define TB_RO_FIELD(name, off)						\
static int tb_##name##_get(void *data, u64 *val)			\
{									\
	return tb_get_field(off, val);					\
}									\
DEFINE_DEBUGFS_ATTRIBUTE(tb_##name##_fops, tb_##name##_get, NULL, "%llu\n")

TB_RO_FIELD(host_seq, DMADIRTY_VNDR_OFF_HOST_SEQ);
TB_RO_FIELD(guest_ack, DMADIRTY_VNDR_OFF_GUEST_ACK);
TB_RO_FIELD(guest_state, DMADIRTY_VNDR_OFF_GUEST_STATE);
TB_RO_FIELD(guest_features, DMADIRTY_VNDR_OFF_GUEST_FEATURES);

static int tb_create(void)
{
	LIST_HEAD(resources);
	static struct resource busn = {
		.name = "dmadirty_testbridge buses",
		.start = 0,
		.end = 1,
		.flags = IORESOURCE_BUS,
	};
	struct pci_bus *bus;

	pci_add_resource(&resources, &busn);
	bus = pci_create_root_bus(NULL, 0, &tb_ops, &tb_sysdata, &resources);
	if (!bus) {
		pci_free_resource_list(&resources);
		return -ENODEV;
	}
	pci_lock_rescan_remove();
	pci_scan_child_bus(bus);
	pci_bus_add_devices(bus);
	pci_unlock_rescan_remove();
	tb_bus = bus;
	return 0;
}

static void tb_destroy(void)
{
	if (!tb_bus)
		return;
	pci_lock_rescan_remove();
	pci_stop_root_bus(tb_bus);
	pci_remove_root_bus(tb_bus);
	pci_unlock_rescan_remove();
	tb_bus = NULL;
}

static int tb_remove_set(void *data, u64 val)
{
	if (val != 1)
		return -EINVAL;
	mutex_lock(&tb_mutex);
	tb_destroy();
	mutex_unlock(&tb_mutex);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(tb_remove_fops, NULL, tb_remove_set, "%llu\n");

static int __init tb_init(void)
{
	int ret;

	tb_init_cfg();
	if (tb_kernel_sysctl) {
#ifdef HAVE_REGISTER_SYSCTL_SZ
		tb_sysctl_header = register_sysctl_sz("vm", tb_sysctl, 1);
#else
		tb_sysctl_header = register_sysctl("vm", tb_sysctl);
#endif
		if (!tb_sysctl_header)
			return -ENOMEM;
	}
	ret = tb_create();
	if (ret) {
		if (tb_sysctl_header)
			unregister_sysctl_table(tb_sysctl_header);
		return ret;
	}
	tb_dir = debugfs_create_dir("dmadirty_testbridge", NULL);
	debugfs_create_file_unsafe("host_state", 0600, tb_dir, NULL, &tb_host_state_fops);
	debugfs_create_file_unsafe("host_seq", 0400, tb_dir, NULL, &tb_host_seq_fops);
	debugfs_create_file_unsafe("guest_ack", 0400, tb_dir, NULL, &tb_guest_ack_fops);
	debugfs_create_file_unsafe("guest_state", 0400, tb_dir, NULL, &tb_guest_state_fops);
	debugfs_create_file_unsafe("guest_features", 0400, tb_dir, NULL,
				   &tb_guest_features_fops);
	debugfs_create_file_unsafe("remove", 0200, tb_dir, NULL, &tb_remove_fops);
	return 0;
}

static void __exit tb_exit(void)
{
	debugfs_remove_recursive(tb_dir);
	mutex_lock(&tb_mutex);
	tb_destroy();
	mutex_unlock(&tb_mutex);
	if (tb_sysctl_header)
		unregister_sysctl_table(tb_sysctl_header);
}

module_init(tb_init);
module_exit(tb_exit);
MODULE_DESCRIPTION("dmadirty test: software PCI bridge with the vendor block");
MODULE_LICENSE("GPL");
