# QMP checks of the patched QEMU without a guest (see qmp_test.py).
. "$top_srcdir/tests/qemu/common.sh"
python3 "$top_srcdir/tests/qemu/qmp_test.py" "$qemu" "$work"
