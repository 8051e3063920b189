# A guest on the patched QEMU finds and drives the vendor block through
# config space, across a migration (see guest_test.py), once per guest
# kernel.  TAP streams of several runs are renumbered into one.
. "$top_srcdir/tests/qemu/common.sh"
n=0 rc=0
for kver in $kvers; do
	mkdir "$work/$kver"
	python3 "$top_srcdir/tests/qemu/guest_test.py" "$qemu" "$work/$kver" "$kver" \
		>"$work/$kver/tap" || rc=1
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			n=$((n + 1))
			st=${line%% [0-9]*}
			echo "$st $n - $kver: ${line#* - }" ;;
		1..*) ;;
		*) echo "$line" ;;
		esac
	done <"$work/$kver/tap"
done
echo "1..$n"
exit $rc
