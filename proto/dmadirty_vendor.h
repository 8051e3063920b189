/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * dmadirty vendor block, version 1.
 *
 * A PCI vendor-specific capability (PCI_CAP_ID_VNDR) in the config space of
 * an emulated bridge.  The hypervisor owns the "host" fields, the guest owns
 * the "guest" fields; every field is little-endian and naturally aligned, so
 * each one can be accessed with a single config cycle of its own width.
 *
 * Versioning: a guest accepts a block only when the magic matches and the
 * version equals DMADIRTY_VNDR_VERSION.  A later version that only appends
 * fields keeps version 1 and grows the length; the guest ignores bytes past
 * DMADIRTY_VNDR_LEN_V1.  Any incompatible change bumps the version, and old
 * guests then ignore the block (they report ack "none", which is safe: the
 * host simply does not learn that dirtying is on).
 *
 * This header is shared by the kernel module, the user-space tools and the
 * test bridge; it uses only fixed-width types and no kernel-only constructs.
 */
#ifndef DMADIRTY_VENDOR_H
#define DMADIRTY_VENDOR_H

#define DMADIRTY_VNDR_CAP_ID		0x09	/* PCI_CAP_ID_VNDR */
#define DMADIRTY_VNDR_LEN_V1		32
#define DMADIRTY_VNDR_TYPE		0x44	/* 'D' */
#define DMADIRTY_VNDR_MAGIC		0x44414D44u	/* "DMAD" little-endian */
#define DMADIRTY_VNDR_VERSION		1

/* Byte offsets from the start of the capability. */
#define DMADIRTY_VNDR_OFF_CAP_ID	0	/* u8 */
#define DMADIRTY_VNDR_OFF_NEXT		1	/* u8 */
#define DMADIRTY_VNDR_OFF_LEN		2	/* u8, = DMADIRTY_VNDR_LEN_V1 */
#define DMADIRTY_VNDR_OFF_TYPE		3	/* u8, = DMADIRTY_VNDR_TYPE */
#define DMADIRTY_VNDR_OFF_MAGIC		4	/* u32, = DMADIRTY_VNDR_MAGIC */
#define DMADIRTY_VNDR_OFF_VERSION	8	/* u16, = DMADIRTY_VNDR_VERSION */
#define DMADIRTY_VNDR_OFF_HOST_FEATURES	10	/* u16, host */
#define DMADIRTY_VNDR_OFF_HOST_STATE	12	/* u32, host */
#define DMADIRTY_VNDR_OFF_HOST_SEQ	16	/* u32, host */
#define DMADIRTY_VNDR_OFF_GUEST_ACK	20	/* u32, guest */
#define DMADIRTY_VNDR_OFF_GUEST_STATE	24	/* u32, guest */
#define DMADIRTY_VNDR_OFF_GUEST_FEATURES 28	/* u32, guest */

/* Host state (DMADIRTY_VNDR_OFF_HOST_STATE). */
#define DMADIRTY_HOST_IDLE		0
#define DMADIRTY_HOST_PRECOPY		1	/* migration pre-copy: dirtying wanted */

/*
 * Host sequence (DMADIRTY_VNDR_OFF_HOST_SEQ): bumped by the host on every
 * host state change.  Guest acked sequence (DMADIRTY_VNDR_OFF_GUEST_ACK):
 * the host sequence the guest last applied when the change came from the
 * block, or the agent's generation when it came over the RPC.
 */

/* Guest state bits (DMADIRTY_VNDR_OFF_GUEST_STATE). */
#define DMADIRTY_GUEST_STATE_DIRTYING	(1u << 0)
#define DMADIRTY_GUEST_STATE_ERROR	(1u << 31)

/* Guest feature bits (DMADIRTY_VNDR_OFF_GUEST_FEATURES). */
#define DMADIRTY_GUEST_FEAT_UNMAP_SYNC	(1u << 0)	/* unmap/sync hooks */
#define DMADIRTY_GUEST_FEAT_IOMMU	(1u << 1)	/* IOMMU translation */
#define DMADIRTY_GUEST_FEAT_COHERENT	(1u << 2)	/* coherent-on-free */

#endif /* DMADIRTY_VENDOR_H */
