#!/bin/bash
# VM suite for dmadirty.ko over the kernel matrix (tests/kernels): for each
# kernel, build the module and the test modules with its own toolchain,
# then boot it under QEMU TCG: plain (coverage, dirtying, in-flight
# mappings, skip-sync, switching, unloading, /dev/dmadirty, bridge
# channel), behind an emulated Intel IOMMU, and with swiotlb=force.  The
# oldest and the newest kernel get all three boots; the others the plain
# one, unless DD_MATRIX=full (make check-matrix).  The checks run in the
# guest (guest-kmod.sh) and print "VMTAP" lines, relayed here as TAP.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/vm.sh"
. "$top_srcdir/tests/vm/build-modules.sh"

work=$top_builddir/tests/vm/kmod.work
rm -rf "$work"
mkdir -p "$work"
truncate -s 16M "$work/disk.img"
truncate -s 8M "$work/slow.img"
# The second disk (told apart by its size) reads at 64 KiB/s, so a
# 256 KiB read stays in flight for seconds (the in-flight check).
disk=(-drive "file=$work/disk.img,if=none,format=raw,id=d0" -device nvme,drive=d0,serial=dmadirty
	-drive "file=$work/slow.img,if=none,format=raw,id=d1,throttling.bps-read=65536"
	-device nvme,drive=d1,serial=slow)

n=0
fail=0

boot() {	# boot KVER NAME CMDLINE... -- QEMU-ARGS...
	local kver=$1 name=$2 log rc
	shift 2
	log=$work/$kver-$name.log
	vm_boot "$log" "$kver" "$work/$kver.cpio.gz" 300 "$@"
	rc=$?
	vm_tap_relay < <(vm_tap_from_log "$log")
	vm_result $rc "$kver $name: guest ran to the end"
	[ $rc = 0 ] || sed 's/^/# /' "$log" | tail -n 40
}

# DD_KERNELS: only these matrix names (make check-matrix DD_KERNELS="sid").
# shellcheck disable=SC2086
matrix=$(vm_matrix ${DD_KERNELS:-}) || { vm_result 1 "the kernel matrix is set up (tests/kernels/setup.sh)"; echo "1..$n"; exit 1; }
oldest=$(cut -d' ' -f2 <<<"$matrix" | sort -V | head -n 1)
newest=$(cut -d' ' -f2 <<<"$matrix" | sort -V | tail -n 1)
kernels=0
while read -r name kver; do
	kernels=$((kernels + 1))
	vm_build_kmod "$kver" "$work"
	rc=$?
	vm_result $rc "$name $kver: dmadirty.ko and test modules build"
	[ $rc = 0 ] || continue
	vm_initramfs "$work/$kver.cpio.gz" "$kver" "$top_srcdir/tests/vm/guest-kmod.sh" \
		--module nvme --ko "$work/$kver/dmadirty.ko" \
		--ko "$work/$kver/dmadirty_dmatest.ko" --ko "$work/$kver/dmadirty_testbridge.ko" \
		--bin "$work/dmadirty-vmtest" \
		--file "$top_srcdir/tests/vm/guest-hooks.sh:/lib/dmadirty-hooks.sh"
	boot "$kver" default dmadirty_test=default -- "${disk[@]}" -device pci-testdev
	if [ "${DD_MATRIX:-}" = full ] || [ "$kver" = "$oldest" ] || [ "$kver" = "$newest" ]; then
		boot "$kver" iommu dmadirty_test=iommu intel_iommu=on -- \
			-machine q35 -device intel-iommu "${disk[@]}" -device pci-testdev
		boot "$kver" swiotlb dmadirty_test=swiotlb swiotlb=force -- "${disk[@]}" -device pci-testdev
	fi
	# Switching under load with one host thread per vCPU, next to the
	# kernel's own function tracer as a control: make check-matrix only.
	# QEMU 10.0's multi-threaded TCG is not reliable enough for make
	# check here: in 6 CI runs on this 2-core machine, 5.10 hung twice
	# (an RCU stall with every quiescent state seen, the grace-period
	# kthread starved on a halted vCPU that no longer took its timer),
	# and with idle=poll 7.3 once executed the middle of a call site that
	# ftrace had just patched (RIP at dma_need_unmap+5).
	if [ "${DD_MATRIX:-}" = full ]; then
		VM_TCG_OPTS=,thread=multi boot "$kver" mttcg dmadirty_test=mttcg -- \
			"${disk[@]}" -device pci-testdev
	fi
done <<<"$matrix"
vm_result $((kernels < 1)) "kernels of the matrix tested: $kernels"
echo "1..$n"
# The summary: pages marked / pages the device may have written, per kernel
# and boot ("-": not on that kernel or in that boot).
cat "$work"/*.log 2>/dev/null | awk '
	/^VMROW / {
		key = $2 " " $3
		if (!(key in seen)) { seen[key] = 1; rows[++nr] = key }
		if ($5 ~ /^[0-9]+$/) { m[key, $4] += $5; e[key, $4] += $6 }
		else { txt[key, $4] = $5 }
		has[key, $4] = 1
	}
	END {
		split("nvme-64k nvme-1M single sg phys iova sync syncsg coherent prior inflight", col, " ")
		printf "# %-22s", "kernel, boot"
		for (c = 1; c in col; c++) printf " %9s", col[c]
		printf "\n"
		for (r = 1; r <= nr; r++) {
			printf "# %-22s", rows[r]
			for (c = 1; c in col; c++) {
				k = rows[r] SUBSEP col[c]
				if (!(k in has)) v = "-"
				else if (k in txt) v = txt[k]
				else v = m[k] "/" e[k]
				printf " %9s", v
			}
			printf "\n"
		}
	}'
[ $fail = 0 ] && rm -rf "$work"
exit $fail
