#!/bin/bash
# The agent with dmadirty.ko and the test bridge (a software PCI bridge
# carrying the vendor block, its host side driven from debugfs) in a real
# guest kernel under QEMU TCG, on its virtio-serial port:
#  - the module is loaded after the agent: the kernel-uevent monitor opens
#    /dev/dmadirty (no udevd in the guest);
#  - a host-state change in the block (pre-copy, then idle) switches
#    dirtying on and off and acknowledges the host sequence;
#  - over the RPC: ack "bridge", source "module", counters, generations;
#  - with /dev/dmadirty held by another process: source "unknown", device
#    "busy";
#  - with a module that cannot hook an entry point (break_hook=): enable
#    fails naming it, status lists it, the block has the error bit;
#  - loaded again and again under a fresh agent: the block is polled and
#    the sysctl is there from the moment the agent can open the device.
# Runs under --enable-vm-tests only: a missing prerequisite (tests/lib/vm.sh,
# tests/vm/build-modules.sh, kmod/, a guest kernel with headers) is a failure.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}

for f in tests/lib/vm.sh tests/vm/build-modules.sh kmod/Kbuild tests/vm/modules/dmadirty_testbridge.c; do
	if [ ! -f "$top_srcdir/$f" ]; then
		printf '1..1\nnot ok 1 - missing prerequisite: %s is not in this tree\n' "$f"
		exit 0
	fi
done
. "$top_srcdir/tests/lib/vm.sh"
. "$top_srcdir/tests/vm/build-modules.sh"

kver=$(vm_kernels | head -n1)
if [ -z "$kver" ] || [ ! -d "/lib/modules/$kver/build" ]; then
	printf '1..1\nnot ok 1 - missing prerequisite: a guest kernel with headers (%s; tests/deps.sh installs them)\n' \
		"${kver:-none in /boot}"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-agent-module.XXXXXX")
trap 'rm -rf "$work"; [ -n "${host_pid:-}" ] && kill "$host_pid" 2>/dev/null' EXIT

if ! vm_build_kmod "$kver" "$work/mods" >"$work/build.log" 2>&1; then
	echo "1..1"
	echo "not ok 1 - build dmadirty.ko and the test bridge for $kver"
	sed 's/^/# /' "$work/build.log" | tail -n 40
	exit 0
fi

cat >"$work/guest.sh" <<'GUEST'
tap() { if [ "$1" = ok ]; then echo "VMTAP ok $2"; else echo "VMTAP not ok $2"; fi; }
vm_modprobe virtio_pci
vm_modprobe virtio_console
mkdir -p /etc/dmadirty/hooks.d
printf '#!/bin/sh\n[ "$1" = post-disable ] && touch "/tmp/finished-$DMADIRTY_TAG"\n[ "$1" = pre-enable ] && touch "/tmp/started-$DMADIRTY_TAG"\nexit 0\n' \
	>/etc/dmadirty/hooks.d/10-finish
chmod 755 /etc/dmadirty/hooks.d/10-finish
wait_for() {	# wait_for SECONDS COMMAND...
	_t=$1; shift
	while ! "$@"; do
		_t=$((_t - 1)); [ $_t -le 0 ] && return 1
		sleep 1
	done
}
: >/tmp/agent.log
dmadirty-agent --log-level=debug 2>/tmp/agent.log &
pid=$!
# The module is loaded only once the agent is serving without it, so the
# kernel-uevent path is the one tested.
ready() { grep -q 'dmadirty-agent .* ready (' /tmp/agent.log; }
wait_for 120 ready && ! grep -q 'module API version' /tmp/agent.log &&
	tap ok "the agent is serving, without a module" ||
	tap notok "the agent is serving, without a module"
vm_insmod dmadirty_testbridge
vm_insmod dmadirty
opened() { grep -q 'module API version' /tmp/agent.log; }
wait_for 30 opened && tap ok "the agent opened /dev/dmadirty of a module loaded after it" ||
	tap notok "the agent opened /dev/dmadirty of a module loaded after it"
tb=/sys/kernel/debug/dmadirty_testbridge
state() { echo "sysctl=$(cat /proc/sys/vm/dma_mark_dirty) seq=$(cat $tb/host_seq) ack=$(cat $tb/guest_ack) guest_state=$(cat $tb/guest_state)"; }
applied() {	# applied SYSCTL GUEST_STATE: the host sequence acknowledged
	[ "$(cat /proc/sys/vm/dma_mark_dirty)" = "$1" ] && [ "$(cat $tb/guest_ack)" = "$(cat $tb/host_seq)" ] &&
		[ "$(cat $tb/guest_state)" = "$2" ]
}
move_host() {	# move_host STATE: the host's step, and the agent's ack of it
	echo "$1" >$tb/host_state && wait_for 30 applied "$1" "$1"
}
move_host 1 && tap ok "host pre-copy in the block: dirtying on, host sequence acknowledged ($(state))" ||
	tap notok "host pre-copy in the block: dirtying on, host sequence acknowledged ($(state))"
move_host 0 && tap ok "host idle in the block: dirtying off, host sequence acknowledged ($(state))" ||
	tap notok "host idle in the block: dirtying off, host sequence acknowledged ($(state))"
echo "VMSTEPS done"
wait_for 300 test -e /tmp/finished-rpc-done
[ "$(cat $tb/guest_ack)" = 4 ] && [ "$(cat $tb/guest_state)" = 0 ] &&
	tap ok "the block holds the agent's generation after the RPC disable ($(state))" ||
	tap notok "the block holds the agent's generation after the RPC disable ($(state))"
kill $pid
wait $pid
[ $? = 0 ] && tap ok "agent exits 0 on SIGTERM" || tap notok "agent exits 0 on SIGTERM"
sed 's/^/AGENTLOG /' /tmp/agent.log
# Another process holds /dev/dmadirty: the agent serves all the same and
# says why the module is not watching the host for it.
exec 3<>/dev/dmadirty
: >/tmp/agent.log
dmadirty-agent --log-level=debug 2>/tmp/agent.log &
pid=$!
wait_for 120 ready && echo "VMBUSY ready"
wait_for 300 test -e /tmp/finished-busy-done
kill $pid
wait $pid
exec 3>&-
sed 's/^/AGENTLOG /' /tmp/agent.log
# A module that cannot hook one entry point: the agent's enable must fail
# and name it, and the block must carry the error bit.
rmmod dmadirty
vm_insmod dmadirty break_hook=dma_unmap_sg_attrs
: >/tmp/agent.log
dmadirty-agent --log-level=debug 2>/tmp/agent.log &
pid=$!
wait_for 120 ready && echo "VMBROKEN ready"
wait_for 300 test -e /tmp/started-broken-done
gs=$(cat $tb/guest_state)
[ $((gs & 0x80000001)) = $((0x80000000)) ] &&
	tap ok "a refused enable leaves the error bit in the block, not the dirtying bit ($(state))" ||
	tap notok "a refused enable leaves the error bit in the block, not the dirtying bit ($(state))"
kill $pid
wait $pid
sed 's/^/AGENTLOG /' /tmp/agent.log
# The agent opens the device the moment its uevent arrives.  Each load
# must then have the block polled and the sysctl in place: load it under a
# fresh agent a few more times, and move the host each time.
rmmod dmadirty
good=0
for i in 1 2 3 4 5; do
	: >/tmp/agent.log
	dmadirty-agent --log-level=debug 2>/tmp/agent.log &
	pid=$!
	wait_for 120 ready || break
	vm_insmod dmadirty
	wait_for 30 opened && move_host 1 && move_host 0 && good=$((good + 1))
	kill $pid
	wait $pid
	[ $good = $i ] || { sed 's/^/AGENTLOG /' /tmp/agent.log; break; }
	rmmod dmadirty
done
[ $good = 5 ] && tap ok "loaded 5 more times under a running agent: the host's steps acted on each time ($good/5)" ||
	tap notok "loaded 5 more times under a running agent: the host's steps acted on each time ($good/5, $(state))"
GUEST

if ! vm_initramfs "$work/initrd.gz" "$kver" "$work/guest.sh" --module virtio_pci \
	--module virtio_console --bin "$top_builddir/agent/dmadirty-agent" \
	--ko "$work/mods/$kver/dmadirty.ko" --ko "$work/mods/$kver/dmadirty_testbridge.ko"; then
	echo "1..1"
	echo "not ok 1 - build the initramfs"
	exit 0
fi

python3 "$top_srcdir/tests/agent/module-host.py" "$work/port.sock" "$work/console.log" \
	>"$work/host.log" 2>&1 &
host_pid=$!
vm_boot "$work/console.log" "$kver" "$work/initrd.gz" 600 -- \
	-chardev "socket,id=ch0,path=$work/port.sock,server=on,wait=off" \
	-device virtio-serial-pci \
	-device virtserialport,chardev=ch0,name=org.dmadirty.agent.0
wait "$host_pid"
host_pid=

{
	vm_tap_from_log "$work/console.log"
	sed -n 's/^HOST //p' "$work/host.log"
} >"$work/tap"
n=$(grep -c . "$work/tap")
awk '{ sub(/^ok/, "ok " NR " -"); sub(/^not ok/, "not ok " NR " -"); print }' "$work/tap"
if [ "$n" -ne 14 ]; then
	n=$((n + 1))
	echo "not ok $n - all 14 checks ran (kernel $kver)"
fi
echo "1..$n"
if grep -q '^not ok' "$work/tap" || [ "$(grep -c . "$work/tap")" -ne 14 ]; then
	sed 's/^/# /' "$work/host.log"
	grep -v '^VMTAP' "$work/console.log" | sed 's/^/# /' | tail -n 80
fi
exit 0
