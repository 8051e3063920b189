# Guest side of tests/qemu/agent_test.py (runs as /test.sh in the busybox
# guest): loads dmadirty.ko and runs dmadirty-agent on its virtio-serial
# port until the host ends the VM.
for m in virtio_pci virtio_console; do
	[ -e "/modules/dep/$m" ] && vm_modprobe "$m"
done
vm_insmod dmadirty || { echo "DDINFO insmod dmadirty failed"; exit 1; }
dev=$(vm_port org.dmadirty.agent.0) ||
	{ echo "DDINFO no virtio-serial port org.dmadirty.agent.0"; exit 1; }
echo "DDSTEP agent-up $dev"
dmadirty-agent -m virtio-serial -p "$dev" -v
echo "DDINFO dmadirty-agent exited $?"
