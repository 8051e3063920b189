#!/bin/bash
# build-guest.sh KVER OUTDIR [--no-dmadirty]
#
# Builds what the end-to-end guest runs for kernel KVER into OUTDIR:
# dmadirty.ko (from kmod/, with its compile probes), the test driver
# dmadirty_e2e.ko (tests/e2e/guest/), and OUTDIR/initrd.gz, a busybox
# initramfs (tests/lib/vm.sh) with both modules, the virtio modules the
# kernel has as modules, and dmadirty-agent with its shared libraries.
# --no-dmadirty leaves dmadirty.ko out (the guest then has no dirtying).
#
# Env: top_srcdir, top_builddir (set by make check; default: this tree and
# the current directory).
set -euo pipefail

kver=$1
out=$2
with_module=yes
[ "${3:-}" = --no-dmadirty ] && with_module=no

src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$PWD}
jobs=${E2E_JOBS:-2}
. "$src/tests/lib/vm.sh"
# The kernel's image and modules: this machine's, or the matrix's cache.
kd=$(vm_kernel_dir "$kver")
agent=$build/agent/dmadirty-agent
[ -x "$agent" ] || { echo "build-guest: $agent not built (run make first)" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)

# kbuild: copy the sources, so that the source tree stays read-only.
# Kbuild relinks only what changed, so a second run is cheap.
sync_dir() {	# sync_dir DST FILE...
	local dst=$1 f
	shift
	mkdir -p "$dst"
	for f in "$@"; do
		cmp -s "$f" "$dst/$(basename "$f")" || cp "$f" "$dst/"
	done
}

# With the kernel's own toolchain (its release's chroot for the matrix).
kbuild() {	# kbuild DIR
	vm_kbuild "$kver" "$1" -s -j"$jobs" >"$1/build.log" 2>&1 ||
		{ cat "$1/build.log" >&2; echo "build-guest: kbuild in $1 failed" >&2; return 1; }
}

sync_dir "$out/e2e" "$src/tests/e2e/guest/Kbuild" "$src/tests/e2e/guest/dmadirty_e2e.c"
kbuild "$out/e2e"
kos=(--ko "$out/e2e/dmadirty_e2e.ko")

if [ "$with_module" = yes ]; then
	# kmod's own out-of-tree Makefile (compile probes, then Kbuild), in
	# the DKMS layout: the proto/ headers next to the sources.
	sync_dir "$out/kmod" "$src"/kmod/Makefile "$src"/kmod/Kbuild "$src"/kmod/probe.sh \
		"$src"/kmod/*.c "$src"/kmod/*.h
	sync_dir "$out/kmod/proto" "$src"/proto/dmadirty_uapi.h "$src"/proto/dmadirty_vendor.h
	kbuild "$out/kmod" || { echo "build-guest: dmadirty.ko for $kver failed" >&2; exit 1; }
	kos+=(--ko "$out/kmod/dmadirty.ko")
fi

# Only what this kernel has as modules (6.12 builds virtio in).
mods=()
for m in virtio_pci virtio_console; do
	grep -q "/$m\.ko" "$kd/lib/modules/$kver/modules.builtin" || mods+=(--module "$m")
done

vm_initramfs "$out/initrd.gz.tmp" "$kver" "$src/tests/e2e/guest/e2e-guest.sh" \
	"${mods[@]}" "${kos[@]}" --bin "$agent"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
