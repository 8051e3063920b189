# A guest on the patched QEMU finds and drives the vendor block through
# config space, across a migration (see guest_test.py), once per guest
# kernel.
. "$top_srcdir/tests/qemu/common.sh"
rc=0
for kver in $kvers; do
	mkdir "$work/$kver"
	python3 "$top_srcdir/tests/qemu/guest_test.py" "$qemu" "$work/$kver" "$kver" \
		>"$work/$kver/tap" || rc=1
	tap_merge "$kver" "$work/$kver/tap"
done
echo "1..$n"
exit $rc
