#!/bin/bash
# The nested VFIO test (TAP): a real vfio-pci device, really migrated.
# See tests/vfio/README.md and vfio.py.
#
# Builds, for the matrix's Debian 12 kernel (6.1; DD_VFIO_KERNEL names
# another entry of tests/kernels/matrix.txt): dmadirty.ko, nvme-reader and
# ramcmp, L2's uncompressed vmlinux and initramfs (busybox, nvme, the
# module, the agent, the reader), and L1's initramfs (busybox, virtio-serial
# and vfio modules, the patched qemu-system-x86_64 with its shared
# libraries and firmware, L2's kernel and initramfs), then runs vfio.py.
#
# Env: top_srcdir, top_builddir (from make), DMADIRTY_QEMU (the patched
# QEMU for L1; default: packaging/qemu/build-qemu.sh's cached build),
# QEMU_SYSTEM (L0's QEMU), VFIO_KEEP=1 (keep the logs), VFIO_VERBOSE=1.
set -uo pipefail

src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$PWD}
export top_srcdir=$src top_builddir=$build
. "$src/tests/lib/vm.sh"

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
# bail REASON [LOG]: a prerequisite is missing; the suite fails.
bail() {
	n=$((n + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" | sed 's/^/# /'
	echo "1..$n"
	exit 1
}

out=$build/tests/vfio/work
mkdir -p "$out"
out=$(cd "$out" && pwd)

kver=$(vm_matrix "${DD_VFIO_KERNEL:-debian12}" 2>"$out/matrix.log" | cut -d' ' -f2)
[ -n "$kver" ] || bail "no kernel ${DD_VFIO_KERNEL:-debian12} in the matrix (tests/kernels/setup.sh)" "$out/matrix.log"
command -v "${QEMU_SYSTEM:-qemu-system-x86_64}" >/dev/null || bail "no qemu-system-x86_64 for L0"
agent=$build/agent/dmadirty-agent
[ -x "$agent" ] || bail "$agent is not built (run make first)"

qemu=${DMADIRTY_QEMU:-}
if [ -z "$qemu" ]; then
	qemu=$(bash "$src/packaging/qemu/build-qemu.sh" 2>"$out/build-qemu.log") ||
		bail "packaging/qemu/build-qemu.sh failed" "$out/build-qemu.log"
fi
[ -x "$qemu" ] || bail "no patched QEMU at $qemu"
ok "patched QEMU for L1: $qemu"

# dmadirty.ko with the kernel's own toolchain, as DKMS builds it.
. "$src/tests/vm/build-modules.sh"
vm_build_kmod "$kver" "$out/mods" >"$out/kmod.log" 2>&1 ||
	bail "dmadirty.ko for $kver does not build" "$out/kmod.log"
# The guest programs: static, so no library of this machine matters.
for p in nvme-reader ramcmp; do
	${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$out/$p" "$src/tests/vfio/$p.c" \
		2>"$out/$p.log" || bail "$p does not build" "$out/$p.log"
done
ok "dmadirty.ko for $kver, nvme-reader and ramcmp"

vm_vmlinux "$kver" "$out/vmlinux" 2>"$out/vmlinux.log" ||
	bail "no PVH-bootable vmlinux for $kver" "$out/vmlinux.log"
# Without debug information: 80 KiB instead of 1.3 MiB to unpack and load.
strip --strip-debug -o "$out/dmadirty.ko" "$out/mods/$kver/dmadirty.ko" || bail "cannot strip dmadirty.ko"
vm_initramfs "$out/l2.gz" "$kver" "$src/tests/vfio/l2-guest.sh" \
	--module nvme --ko "$out/dmadirty.ko" --bin "$agent" \
	--bin "$out/nvme-reader" 2>"$out/l2.log" || bail "L2's initramfs" "$out/l2.log"
# L1 runs the patched QEMU without its debug information (a third of the
# size, for an initramfs that TCG unpacks), with Debian's firmware.
strip -o "$out/qemu-system-x86_64" "$qemu" || bail "cannot strip $qemu"
fw=()
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/pvh.bin \
	/usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/kvmvapic.bin; do
	[ -f "$f" ] || bail "no $f (tests/deps/qemu.txt: seabios, qemu-system-data)"
	fw+=(--file "$f:$f")
done
vm_initramfs "$out/l1.gz" "$kver" "$src/tests/vfio/l1-guest.sh" \
	--module virtio_pci --module virtio_console --module vfio_pci \
	--module vfio_iommu_type1 --bin "$out/qemu-system-x86_64" --bin "$out/ramcmp" \
	"${fw[@]}" --file "$out/vmlinux:/l2/vmlinux" --file "$out/l2.gz:/l2/initrd.gz" \
	2>"$out/l1.log" || bail "L1's initramfs" "$out/l1.log"
ok "L1's and L2's initramfs, L2's vmlinux ($(du -m "$out/l1.gz" | cut -f1) MiB for L1)"

args=(--kver "$kver" --l1-initrd "$out/l1.gz" --workdir "${TMPDIR:-/tmp}" --tap-first $((n + 1)))
[ "${VFIO_KEEP:-}" = 1 ] && args+=(--keep)
[ "${VFIO_VERBOSE:-}" = 1 ] && args+=(--verbose)
exec python3 "$src/tests/vfio/vfio.py" "${args[@]}" 2>&1
