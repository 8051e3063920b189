#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# probe.sh KDIR OUT: compile probes for kernel API differences.
#
# Each probe is a tiny object built by Kbuild against KDIR with -Werror, all
# in one pass (make -k); a probe whose object appears defines its HAVE_*
# macro in OUT.  OUT is rewritten only when KDIR changed, so repeated builds
# against one kernel do not pay for the probes again.
set -eu

kdir=$1
out=$2
stamp="/* dmadirty compile probes for $kdir */"

if [ -f "$out" ] && [ "$(head -n 1 "$out")" = "$stamp" ]; then
	exit 0
fi
if [ ! -f "$kdir/Makefile" ]; then
	echo "probe.sh: no kernel build tree at $kdir" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-probe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# probe NAME HEADERS BODY: one probe; BODY is the body of a function
# that gets a struct device *dev.
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

probe dev_dma_skip_sync "linux/module.h linux/device.h" '
void p(struct device *dev);
void p(struct device *dev) { dev->dma_skip_sync = false; }'

probe dma_sync_for_cpu_internal "linux/module.h linux/dma-mapping.h" '
void p(struct device *dev);
void p(struct device *dev)
{
	__dma_sync_single_for_cpu(dev, 0, 0, DMA_FROM_DEVICE);
	__dma_sync_sg_for_cpu(dev, NULL, 0, DMA_FROM_DEVICE);
}'

make -C "$kdir" M="$tmp" -k modules >"$tmp/log" 2>&1 || true

{
	echo "$stamp"
	echo "#ifndef DMADIRTY_CONFIG_H"
	echo "#define DMADIRTY_CONFIG_H"
	for c in "$tmp"/*.c; do
		name=$(basename "$c" .c)
		macro=HAVE_$(echo "$name" | tr '[:lower:]' '[:upper:]')
		if [ -f "$tmp/$name.o" ]; then
			echo "#define $macro 1"
		else
			echo "/* #undef $macro */"
		fi
	done
	echo "#endif"
} >"$out.tmp"
mv "$out.tmp" "$out"
grep -c '^#define HAVE_' "$out" | sed "s|^|probe.sh: $kdir: |; s|\$| features found|" >&2
