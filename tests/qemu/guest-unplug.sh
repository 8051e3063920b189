# Guest side of tests/qemu/capability_test.py's late unplug (runs as
# /test.sh in the busybox guest): loads dmadirty.ko and the test driver
# dmadirty_dmatest, which binds to the pci-testdev that the host unplugs
# late, keeps one buffer mapped from the device, as a driver with DMA in
# flight does, and runs dmadirty-agent.  A watcher reports when the driver
# lets go of the device (its remove() unmaps the buffer), with dmadirty's
# count of pages marked before and after.
for m in virtio_pci virtio_console; do
	[ -e "/modules/dep/$m" ] && vm_modprobe "$m"
done
vm_insmod dmadirty || { echo "DDINFO insmod dmadirty failed"; exit 1; }
vm_insmod dmadirty_dmatest || { echo "DDINFO insmod dmadirty_dmatest failed"; exit 1; }
drv=/sys/bus/pci/drivers/dmadirty_dmatest
marked=/sys/class/misc/dmadirty/pages_marked
ls "$drv" | grep -q '^0000:' || { echo "DDINFO no pci-testdev bound to $drv"; exit 1; }
echo "hold 0 16384" >/sys/kernel/debug/dmadirty_dmatest/run ||
	{ echo "DDINFO cannot map the held buffer"; exit 1; }
dev=$(vm_port org.dmadirty.agent.0) ||
	{ echo "DDINFO no virtio-serial port org.dmadirty.agent.0"; exit 1; }
(
	# The device leaves only when the host asks: no deadline of its own.
	# A count read before the driver's link is seen in place was read
	# before remove() began: the link goes first.
	before=
	while :; do
		now=$(cat "$marked")
		ls "$drv" | grep -q '^0000:' || break
		before=$now
		usleep 20000
	done
	# The driver's link goes before its remove() runs: read the count
	# once remove() has said it unmapped the buffer (10 s at most).
	vm_wait_for 100 "dmesg | grep -q 'dmadirty_dmatest: remove:'"
	after=$(cat "$marked")
	dmesg | grep 'dmadirty_dmatest: remove:'
	echo "DDSTEP released marked-before=$before marked-after=$after"
) &
echo "DDSTEP agent-up $dev"
dmadirty-agent -m virtio-serial -p "$dev" -v
echo "DDINFO dmadirty-agent exited $?"
