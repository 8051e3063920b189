# Guest side of the end-to-end migration test; run as /test.sh by the
# initramfs of tests/lib/vm.sh.  Loads the modules, starts the agent, then
# bridges the test port (org.dmadirty.e2e.0) to the test driver's debugfs
# file until the host kills the VM: each line from the host is one command,
# answered by "OK" and the driver's output, or "ERR", then "END".

vm_modprobe virtio_pci || echo "E2E: virtio_pci missing"
vm_modprobe virtio_console || echo "E2E: virtio_console missing"
if [ -e /modules/dmadirty.ko ]; then
	vm_insmod dmadirty || { echo "E2E-FAIL: insmod dmadirty"; exit 1; }
fi
vm_insmod dmadirty_e2e || { echo "E2E-FAIL: insmod dmadirty_e2e"; exit 1; }

ctl=/sys/kernel/debug/dmadirty_e2e/ctl
port=$(vm_port org.dmadirty.e2e.0) && [ -e "$ctl" ] ||
	{ echo "E2E-FAIL: no test port or driver"; exit 1; }

if [ -x /bin/dmadirty-agent ]; then
	agent=$(vm_port org.dmadirty.agent.0) ||
		{ echo "E2E-FAIL: no virtio-serial port org.dmadirty.agent.0"; exit 1; }
	mkdir -p /etc/dmadirty/hooks.d
	# Its log goes to the console, whose tail the harness prints when a
	# check fails.
	dmadirty-agent -m virtio-serial -p "$agent" -v &
fi

echo "E2E-READY $(uname -r)"
exec 3<>"$port"
while :; do
	while read -r line <&3; do
		if echo "$line" >"$ctl" 2>/dev/null; then
			# Shell builtins only, no fork: after "finish" the freed
			# coherent pages must not be reused before the migration
			# is over.
			{
				echo OK
				while IFS= read -r out; do echo "$out"; done <"$ctl"
				echo END
			} >&3
		else
			{ echo ERR; echo END; } >&3
		fi
	done
	# The host is not connected (reads give EOF until it is).
	sleep 1
done
