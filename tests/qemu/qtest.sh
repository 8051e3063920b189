# The series' own QEMU qtest (tests/qtest/pci-dma-dirty-test.c, patch 0005),
# built by packaging/qemu/build-qemu.sh next to the binary: layout, guest
# write mask, ack event, host requests and reset, on pci-bridge and
# pcie-root-port.  GTest speaks TAP.
. "$top_srcdir/tests/qemu/common.sh"
qtest=$(dirname "$qemu")/../tests/pci-dma-dirty-test
if [ ! -x "$qtest" ]; then
	echo "1..0 # SKIP no qtest next to $qemu (DMADIRTY_QEMU without build-qemu.sh's layout)"
	exit 0
fi
cd "$work" && QTEST_QEMU_BINARY=$qemu "$qtest" --tap
