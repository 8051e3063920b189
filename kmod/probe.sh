#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# probe.sh KDIR OUT: compile probes for kernel API differences.
#
# Each probe is a tiny object built by Kbuild against KDIR with -Werror, all
# in one pass (make -k); a probe whose object appears defines its HAVE_*
# macro in OUT.  OUT is rewritten only when KDIR changed, so repeated builds
# against one kernel do not pay for the probes again.  The first probe is a
# canary: when an empty module does not build, the run fails instead of
# reading every probe as "feature absent".
set -eu

kdir=$1
out=$2
stamp="/* dmadirty compile probes for $kdir, probe.sh $(cksum <"$0" | cut -d' ' -f1) */"

if [ -f "$out" ] && [ "$(head -n 1 "$out")" = "$stamp" ]; then
	exit 0
fi
if [ ! -f "$kdir/Makefile" ]; then
	echo "probe.sh: no kernel build tree at $kdir" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-probe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# exports NAME SYMBOL...: probe NAME also needs these symbols exported to
# modules (a header can declare what the kernel does not export).
exports() {
	n=$1
	shift
	echo "$@" >"$tmp/$n.exports"
}

# probe NAME HEADERS BODY: one probe, compiled as a module source.
probe() {
	{
		for h in $2; do
			echo "#include <$h>"
		done
		echo "MODULE_LICENSE(\"GPL\");"
		echo "$3"
	} >"$tmp/$1.c"
	echo "obj-m += $1.o" >>"$tmp/Kbuild"
}

: >"$tmp/Kbuild"
echo 'ccflags-y += -Werror' >>"$tmp/Kbuild"

# The canary: an empty module.  If it does not build, no probe result
# means anything (wrong KDIR, missing compiler, broken headers).
probe canary "linux/module.h" ''

probe register_sysctl_sz "linux/module.h linux/sysctl.h" '
static struct ctl_table t[1];
void p(void);
void p(void) { register_sysctl_sz("vm", t, 1); }'

probe ctl_table_const_handler "linux/module.h linux/sysctl.h" '
static int h(const struct ctl_table *t, int w, void *b, size_t *l, loff_t *o)
{ return 0; }
struct ctl_table t = { .proc_handler = h };'

probe swiotlb_find_pool "linux/module.h linux/swiotlb.h" '
bool p(struct device *dev);
bool p(struct device *dev) { return swiotlb_find_pool(dev, 0) != NULL; }'

probe is_swiotlb_buffer "linux/module.h linux/swiotlb.h" '
bool p(struct device *dev);
bool p(struct device *dev) { return is_swiotlb_buffer(dev, 0); }'

probe is_swiotlb_buffer_phys "linux/module.h linux/swiotlb.h" '
bool p(void);
bool p(void) { return is_swiotlb_buffer(0); }'
exports is_swiotlb_buffer_phys io_tlb_start io_tlb_end

probe dev_dma_skip_sync "linux/module.h linux/device.h" '
void p(struct device *dev);
void p(struct device *dev) { dev->dma_skip_sync = false; }'

probe dev_clear_dma_skip_sync "linux/module.h linux/device.h" '
void p(struct device *dev);
void p(struct device *dev) { if (dev_dma_skip_sync(dev)) dev_clear_dma_skip_sync(dev); }'

probe dma_sync_for_cpu_internal "linux/module.h linux/dma-mapping.h" '
void p(struct device *dev);
void p(struct device *dev)
{
	__dma_sync_single_for_cpu(dev, 0, 0, DMA_FROM_DEVICE);
	__dma_sync_sg_for_cpu(dev, NULL, 0, DMA_FROM_DEVICE);
}'

probe dma_map_phys "linux/module.h linux/dma-mapping.h" '
void p(struct device *dev);
void p(struct device *dev)
{
	dma_unmap_phys(dev, dma_map_phys(dev, 0, 1, DMA_FROM_DEVICE, 0), 1,
		       DMA_FROM_DEVICE, 0);
}'

probe dma_iova "linux/module.h linux/dma-mapping.h" '
void p(struct device *dev, struct dma_iova_state *s);
void p(struct device *dev, struct dma_iova_state *s)
{
	dma_iova_link(dev, s, 0, 0, 1, DMA_FROM_DEVICE, 0);
	dma_iova_unlink(dev, s, 0, 1, DMA_FROM_DEVICE, 0);
	dma_iova_destroy(dev, s, 1, DMA_FROM_DEVICE, 0);
}'

probe dma_need_unmap "linux/module.h linux/dma-mapping.h" '
bool p(struct device *dev);
bool p(struct device *dev) { return dma_need_unmap(dev); }'

probe ftrace_regs "linux/module.h linux/ftrace.h" '
static void f(unsigned long ip, unsigned long pip, struct ftrace_ops *op,
	      struct ftrace_regs *fregs) { }
struct ftrace_ops o = { .func = f };'

probe ftrace_regs_get_argument "linux/module.h linux/ftrace.h" '
unsigned long p(struct ftrace_regs *fregs);
unsigned long p(struct ftrace_regs *fregs) { return ftrace_regs_get_argument(fregs, 1); }'

probe ftrace_regs_regs "linux/module.h linux/ftrace.h" '
struct pt_regs *p(struct ftrace_regs *fregs);
struct pt_regs *p(struct ftrace_regs *fregs) { return &fregs->regs; }'

# register_ftrace_direct() on an ops (6.5+), and the filter by address it
# needs set before each registration.
probe ftrace_direct_ops "linux/module.h linux/ftrace.h" '
static struct ftrace_ops o;
int p(unsigned long ip, unsigned long addr);
int p(unsigned long ip, unsigned long addr)
{
	return ftrace_set_filter_ips(&o, &ip, 1, 0, 1) ?:
	       register_ftrace_direct(&o, addr) ?:
	       unregister_ftrace_direct(&o, addr, true);
}'
exports ftrace_direct_ops register_ftrace_direct unregister_ftrace_direct ftrace_set_filter_ips

# The same on an ops under another name (5.16 to 6.4).
probe ftrace_direct_multi "linux/module.h linux/ftrace.h" '
static struct ftrace_ops o;
int p(unsigned long ip, unsigned long addr);
int p(unsigned long ip, unsigned long addr)
{
	return ftrace_set_filter_ips(&o, &ip, 1, 0, 1) ?:
	       register_ftrace_direct_multi(&o, addr) ?:
	       unregister_ftrace_direct_multi(&o, addr);
}'
exports ftrace_direct_multi register_ftrace_direct_multi unregister_ftrace_direct_multi \
	ftrace_set_filter_ips

# And on one address at a time (5.5 to 6.4), all 5.10 has.
probe ftrace_direct_ip "linux/module.h linux/ftrace.h" '
int p(unsigned long ip, unsigned long addr);
int p(unsigned long ip, unsigned long addr)
{
	return register_ftrace_direct(ip, addr) ?: unregister_ftrace_direct(ip, addr);
}'
exports ftrace_direct_ip register_ftrace_direct unregister_ftrace_direct

# Several addresses in one filter change, so one walk of ftrace's records
# (5.18+).
probe ftrace_set_filter_ips "linux/module.h linux/ftrace.h" '
int p(struct ftrace_ops *ops, unsigned long *ips, unsigned int n);
int p(struct ftrace_ops *ops, unsigned long *ips, unsigned int n)
{
	return ftrace_set_filter_ips(ops, ips, n, 0, 0);
}'
exports ftrace_set_filter_ips ftrace_set_filter_ips

probe ftrace_free_filter "linux/module.h linux/ftrace.h" '
void p(struct ftrace_ops *ops);
void p(struct ftrace_ops *ops) { ftrace_free_filter(ops); }'
exports ftrace_free_filter ftrace_free_filter

# The DMA tracepoints (6.12+), and their probe types: used only by the
# benchmark's tracepoint floor (tests/vm/modules/dmadirty_dmatest.c).
# dma_trace_map_unmap SUFFIX prints the body for dma_map_SUFFIX and
# dma_unmap_SUFFIX.
dma_trace_map_unmap() {
	cat <<EOF
static void m(void *d, struct device *dev, phys_addr_t p, dma_addr_t a,
	      size_t s, enum dma_data_direction dir, unsigned long at) { }
static void u(void *d, struct device *dev, dma_addr_t a, size_t s,
	      enum dma_data_direction dir, unsigned long at) { }
void p(void);
void p(void)
{
	check_trace_callback_type_dma_map_$1(m);
	check_trace_callback_type_dma_unmap_$1(u);
}
EOF
}
probe dma_trace_page "linux/module.h trace/events/dma.h" "$(dma_trace_map_unmap page)"
probe dma_trace_phys "linux/module.h trace/events/dma.h" "$(dma_trace_map_unmap phys)"

probe dma_trace_sync "linux/module.h trace/events/dma.h" '
static void y(void *d, struct device *dev, dma_addr_t a, size_t s,
	      enum dma_data_direction dir) { }
void p(void);
void p(void) { check_trace_callback_type_dma_sync_single_for_cpu(y); }'

probe blk_mq_freeze_memflags "linux/module.h linux/blk-mq.h" '
void p(struct request_queue *q);
void p(struct request_queue *q)
{
	unsigned int m = blk_mq_freeze_queue(q);

	blk_mq_unfreeze_queue(q, m);
}'

# W= : a W=1 build of the module must not turn probe warnings into
# errors (-Werror) or run its extra checks on the probes.
make -C "$kdir" M="$tmp" W= -k modules >"$tmp/log" 2>&1 || true
if [ ! -f "$tmp/canary.o" ]; then
	tail -n 20 "$tmp/log" >&2
	echo "probe.sh: $kdir: unable to build an empty module" >&2
	exit 1
fi

{
	echo "$stamp"
	echo "#ifndef DMADIRTY_CONFIG_H"
	echo "#define DMADIRTY_CONFIG_H"
	for c in "$tmp"/*.c; do
		name=$(basename "$c" .c)
		[ "$name" = canary ] && continue
		macro=HAVE_$(echo "$name" | tr '[:lower:]' '[:upper:]')
		ok=0
		[ -f "$tmp/$name.o" ] && ok=1
		if [ $ok = 1 ] && [ -f "$tmp/$name.exports" ]; then
			for sym in $(cat "$tmp/$name.exports"); do
				awk -v s="$sym" '$2 == s { f = 1 } END { exit !f }' \
					"$kdir/Module.symvers" || ok=0
			done
		fi
		if [ $ok = 1 ]; then
			echo "#define $macro 1"
		else
			echo "/* #undef $macro */"
		fi
	done
	echo "#endif"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "probe.sh: $kdir: $(grep '^#define HAVE_' "$out" | cut -d' ' -f2 | tr '\n' ' ')" >&2
