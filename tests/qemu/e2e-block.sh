# The end-to-end A/B migration test on the patched QEMU, dirtying driven
# through the bridge block over QMP (see e2e_block.py).  One guest kernel
# ($QEMU_E2E_KERNEL, default the first of tests/lib/vm.sh's vm_kernels),
# without vIOMMU: tests/e2e covers the kernel and vIOMMU matrix over RPC.
. "$top_srcdir/tests/qemu/common.sh"
kver=${QEMU_E2E_KERNEL:-$(echo "$kvers" | head -n 1)}
if ! bash "$top_srcdir/tests/e2e/build-guest.sh" "$kver" "$work/guest" >"$work/build.log" 2>&1; then
	echo "not ok 1 - build the end-to-end guest for $kver"
	tail -n 30 "$work/build.log" | sed 's/^/# /'
	echo "1..1"
	exit 1
fi
DMADIRTY_QEMU=$qemu python3 "$top_srcdir/tests/qemu/e2e_block.py" \
	--workdir "$work" --config "$kver:$work/guest/initrd.gz"
