# A guest on the patched QEMU finds and drives the vendor block through
# config space, across a migration (see guest_test.py): on a pci-bridge
# (pc) for every guest kernel, on a pcie-root-port (q35) for the first one.
. "$top_srcdir/tests/qemu/common.sh"
rc=0
first=$(echo "$kvers" | head -n 1)
for run in $(for k in $kvers; do echo "$k:pci-bridge"; done) "$first:pcie-root-port"; do
	kver=${run%%:*} bridge=${run#*:}
	mkdir "$work/$run"
	python3 "$top_srcdir/tests/qemu/guest_test.py" "$qemu" "$work/$run" "$kver" "$bridge" \
		>"$work/$run/tap" || rc=1
	tap_merge "$kver $bridge" "$work/$run/tap"
done
echo "1..$n"
exit $rc
