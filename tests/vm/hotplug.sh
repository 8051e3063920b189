#!/bin/bash
# VM suite: dmadirty.ko's RAM ranges under memory hotplug, on the oldest
# and the newest kernel of the matrix (all of them with DD_MATRIX=full).
# The guest (guest-hotplug.sh) runs with dirtying on; the host side
# (hotplug-host.py) plugs a DIMM into QEMU over QMP when the guest asks,
# and unplugs it later.  Checks: memory added but offline is not marked,
# online it is, offline again it is not, and once ejected it is skipped,
# not marked through a linear mapping that is gone.  The guest's and the
# host's checks are relayed as TAP.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/vm.sh"
. "$top_srcdir/tests/vm/build-modules.sh"

# The guest's checks, and the host's.
CHECKS=20

work=$top_builddir/tests/vm/hotplug.work
rm -rf "$work"
mkdir -p "$work"

n=0
fail=0

# shellcheck disable=SC2086
matrix=$(vm_matrix ${DD_KERNELS:-}) ||
	{ vm_result 1 "the kernel matrix is set up (tests/kernels/setup.sh)"; echo "1..$n"; exit 1; }
if [ "${DD_MATRIX:-}" != full ]; then
	matrix=$(sort -V -k2 <<<"$matrix" | sed -n '1p;$p' | uniq)
fi
while read -r name kver; do
	vm_build_kmod "$kver" "$work"
	rc=$?
	vm_result $rc "$name $kver: dmadirty.ko and test modules build"
	[ $rc = 0 ] || continue
	vm_initramfs "$work/$kver.cpio.gz" "$kver" "$top_srcdir/tests/vm/guest-hotplug.sh" \
		--ko "$work/$kver/dmadirty.ko" --ko "$work/$kver/dmadirty_dmatest.ko" \
		--file "$top_srcdir/tests/vm/guest-hooks.sh:/lib/dmadirty-hooks.sh" ||
		{ vm_result 1 "$kver: the initramfs is made"; continue; }
	log=$work/$kver.log
	qmp=$work/$kver.qmp
	: >"$log"
	python3 "$top_srcdir/tests/vm/hotplug-host.py" "$qmp" "$log" >"$work/$kver.host" 2>&1 &
	host=$!
	VM_MEM=512,slots=2,maxmem=2G vm_boot "$log" "$kver" "$work/$kver.cpio.gz" 300 \
		memhp_default_state=offline -- \
		-qmp "unix:$qmp,server=on,wait=off" -device pci-testdev
	rc=$?
	wait "$host"
	{
		vm_tap_from_log "$log"
		sed -nE "s/^HOST (not ok|ok) /\1 - $kver: /p" "$work/$kver.host"
	} >"$work/$kver.tap"
	vm_tap_relay <"$work/$kver.tap"
	got=$(grep -c . "$work/$kver.tap")
	vm_result $((got != CHECKS)) "$kver: all $CHECKS checks ran ($got)"
	vm_result $rc "$kver: guest ran to the end"
	if [ $rc != 0 ] || grep -q '^not ok' "$work/$kver.tap" || [ "$got" != $CHECKS ]; then
		grep -v '^HOST ' "$work/$kver.host" | sed 's/^/# host: /'
		grep -v '^VMTAP' "$log" | sed 's/^/# /' | tail -n 40
	fi
done <<<"$matrix"
echo "1..$n"
[ $fail = 0 ] && rm -rf "$work"
exit $fail
