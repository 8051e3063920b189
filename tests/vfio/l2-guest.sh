# The innermost guest (L2) of tests/vfio (runs as /test.sh in its busybox
# initramfs): checks the assigned NVMe's data, starts dmadirty.ko and
# dmadirty-agent when the kernel command line says vfio.dirty=1, then runs
# nvme-reader on the NVMe until the device is unplugged, and verifies its
# buffers when the host says so on the console (see nvme-reader.c).
# Command line: vfio.dirty=0|1 vfio.md5=HEX (of the disk's first MiB)
# vfio.bufs=N vfio.bufkb=K.
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p"; }
fail() { echo "L2-FAIL $*"; exit 1; }

vm_modprobe nvme || fail "cannot load nvme"
# The driver probes asynchronously: wait for the namespace, with a deadline.
vm_wait_for 600 '[ -b /dev/nvme0n1 ]' || fail "no /dev/nvme0n1 after 60s"
# The first MiB (reading all of it costs a minute, nested); nvme-reader
# checks the data of every read again at the end.
md5=$(dd if=/dev/nvme0n1 bs=64k count=16 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$md5" = "$(arg vfio.md5)" ] || fail "the disk's first MiB has md5 $md5, the image's $(arg vfio.md5)"
echo "L2 md5 ok $md5"

if [ "$(arg vfio.dirty)" = 1 ]; then
	vm_insmod dmadirty || fail "insmod dmadirty failed"
	# The x-dma-dirty capability reaches the agent through the bridge
	# block (a uevent on /dev/dmadirty): no host channel is needed, a
	# unix socket nobody uses will do.
	dmadirty-agent -m unix-listen -p /tmp/agent.sock &
	vm_wait_for 300 '[ -S /tmp/agent.sock ]' || fail "dmadirty-agent did not start"
	echo "L2 agent up"
fi
# A pass of pre-copy that finds no dirty page converges whatever the
# limits vfio.py sets to hold pre-copy for its passes.  The reader's own
# CPU writes come once a read, and once, without dirtying, a pass fell
# between two of them: QEMU asked for the device after 3 passes of 4.
# This loop keeps writing the shell's heap, at the lowest priority, in
# the reader's waits.
while :; do n=$((n + 1)); done &
renice -n 19 -p $! >/dev/null || fail "cannot lower the priority of the writer loop"
nvme-reader /dev/nvme0n1 "$(arg vfio.bufs)" "$(arg vfio.bufkb)" </dev/ttyS0
