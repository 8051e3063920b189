/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * /dev/dmadirty: the control interface between dmadirty.ko and
 * dmadirty-agent.
 *
 * Protocol
 *  1. open("/dev/dmadirty", O_RDWR).  One opener at a time; a second open
 *     fails with EBUSY.
 *  2. DMADIRTY_IOC_HELLO first.  The caller puts its API version in
 *     .version; the module answers with the version both sides speak
 *     (the lower of the two) and its features.  Every other ioctl, read or
 *     write before a successful HELLO fails with EPROTO.  A caller whose
 *     version is 0 gets EINVAL.
 *  3. DMADIRTY_IOC_ACK (or a write() of exactly one struct dmadirty_ack)
 *     records the guest's acknowledgement in the bridge vendor block.
 *     .flags comes back with DMADIRTY_ACK_BRIDGE set when a block took it;
 *     without a block the call still succeeds and the ack is "none".
 *  4. read() of exactly sizeof(struct dmadirty_host) bytes returns the host
 *     side of the block whenever the host sequence changed since this
 *     opener last read it; poll() reports POLLIN then.  Non-blocking
 *     openers get EAGAIN when nothing changed.  Other read sizes fail with
 *     EINVAL.  The module also raises a KOBJ_CHANGE uevent on the device
 *     with DMADIRTY_HOST_STATE=<n> and DMADIRTY_HOST_SEQ=<n> in its
 *     environment.
 *  5. Unknown ioctls fail with ENOTTY, writes of any other size with
 *     EINVAL.  On release the module records that the agent went away.
 *
 * Compatibility: structures are fixed-size and never change layout; new
 * fields are only ever carved out of the reserved words, which the module
 * zeroes on output and ignores on input.  A new capability gets a new
 * ioctl number and a DMADIRTY_FEAT_* bit, so an old agent keeps working on
 * a newer module.
 */
#ifndef _UAPI_LINUX_DMADIRTY_H
#define _UAPI_LINUX_DMADIRTY_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define DMADIRTY_DEVICE_NAME		"dmadirty"
#define DMADIRTY_API_VERSION		1

/* Module features (struct dmadirty_hello.features). */
#define DMADIRTY_FEAT_BRIDGE		(1u << 0)	/* bridge channel built in */
#define DMADIRTY_FEAT_DIRTYING		(1u << 1)	/* DMA dirtying probes built in */

struct dmadirty_hello {
	__u32 version;		/* in: caller's API version; out: agreed version */
	__u32 features;		/* out: DMADIRTY_FEAT_* */
	__u32 reserved[6];
};

/* struct dmadirty_ack.flags, output. */
#define DMADIRTY_ACK_BRIDGE		(1u << 0)	/* written to a vendor block */

struct dmadirty_ack {
	__u32 generation;	/* in: agent generation or host sequence applied */
	__u32 state;		/* in: DMADIRTY_GUEST_STATE_* (dmadirty_vendor.h) */
	__u32 flags;		/* out: DMADIRTY_ACK_* */
	__u32 reserved;
};

struct dmadirty_host {
	__u32 present;		/* 1 when a valid vendor block is in use */
	__u32 state;		/* DMADIRTY_HOST_* (dmadirty_vendor.h) */
	__u32 sequence;		/* host sequence */
	__u32 features;		/* host features */
};

/* Indices into struct dmadirty_status.counters. */
enum dmadirty_counter {
	DMADIRTY_CTR_CALLS,		/* DMA API calls seen by the probes */
	DMADIRTY_CTR_PAGES_MARKED,	/* pages written with a locked add of 0 */
	DMADIRTY_CTR_SKIP_TO_DEVICE,	/* DMA_TO_DEVICE / DMA_NONE calls */
	DMADIRTY_CTR_SKIP_SWIOTLB,	/* swiotlb bounce addresses */
	DMADIRTY_CTR_SKIP_NONRAM,	/* pages that are not RAM */
	DMADIRTY_CTR_TRANSLATE_FAIL,	/* DMA address with no translation */
	DMADIRTY_CTR_COHERENT_FREED,	/* coherent buffers marked on free */
	DMADIRTY_CTR_SKIP_SYNC_CLEARED,	/* devices whose dma_skip_sync was cleared */
	DMADIRTY_NR_COUNTERS_USED,
	DMADIRTY_NR_COUNTERS = 16
};

/* Counter names, in enum order, as they appear in sysfs and in the RPC. */
#define DMADIRTY_COUNTER_NAMES {		\
	"calls_seen",				\
	"pages_marked",				\
	"skipped_to_device",			\
	"skipped_swiotlb",			\
	"skipped_nonram",			\
	"translate_failed",			\
	"coherent_freed",			\
	"skip_sync_cleared",			\
}

/* struct dmadirty_status.source */
#define DMADIRTY_SOURCE_KERNEL		0	/* the kernel has vm.dma_mark_dirty */
#define DMADIRTY_SOURCE_MODULE		1	/* the module registered it */

struct dmadirty_status {
	__u32 enabled;		/* current value of vm.dma_mark_dirty */
	__u32 source;		/* DMADIRTY_SOURCE_* */
	struct dmadirty_host host;
	__u32 acked_sequence;	/* guest acked sequence last written */
	__u32 guest_state;	/* guest state last written */
	__u32 guest_features;	/* DMADIRTY_GUEST_FEAT_* this module provides */
	__u32 reserved0;
	__u64 counters[DMADIRTY_NR_COUNTERS];
	__u32 reserved[8];
};

#define DMADIRTY_IOC_MAGIC		0xDD
#define DMADIRTY_IOC_HELLO	_IOWR(DMADIRTY_IOC_MAGIC, 0x00, struct dmadirty_hello)
#define DMADIRTY_IOC_ACK	_IOWR(DMADIRTY_IOC_MAGIC, 0x01, struct dmadirty_ack)
#define DMADIRTY_IOC_STATUS	_IOR(DMADIRTY_IOC_MAGIC, 0x02, struct dmadirty_status)
#define DMADIRTY_IOC_HOST	_IOR(DMADIRTY_IOC_MAGIC, 0x03, struct dmadirty_host)

/* Environment keys of the KOBJ_CHANGE uevent. */
#define DMADIRTY_UEVENT_HOST_STATE	"DMADIRTY_HOST_STATE"
#define DMADIRTY_UEVENT_HOST_SEQ	"DMADIRTY_HOST_SEQ"

#endif /* _UAPI_LINUX_DMADIRTY_H */
