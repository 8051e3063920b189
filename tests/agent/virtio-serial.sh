#!/bin/bash
# The agent on its default transport, virtio-serial, in a real guest kernel
# (busybox initramfs, no udevd) under QEMU TCG: it finds the port
# org.dmadirty.agent.0 through libudev, serves a host that connects after it
# started, uses no CPU while the host is away (virtio_console reports POLLHUP
# then; the agent waits for SIGIO instead of polling), and serves the next
# host without leftovers of the last one.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}

if [ ! -f "$top_srcdir/tests/lib/vm.sh" ]; then
	echo "1..0 # SKIP tests/lib/vm.sh (the VM helpers) is not in this tree"
	exit 0
fi
. "$top_srcdir/tests/lib/vm.sh"

kver=$(vm_kernels | head -n1)
if [ -z "$kver" ]; then
	echo "1..0 # SKIP no guest kernel in /boot"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-virtio.XXXXXX")
trap 'rm -rf "$work"; [ -n "${host_pid:-}" ] && kill "$host_pid" 2>/dev/null' EXIT

cat >"$work/guest.sh" <<'GUEST'
vm_modprobe virtio_pci
vm_modprobe virtio_console
echo 0 >/tmp/sysctl
mkdir -p /tmp/hooks
printf '#!/bin/sh\n[ "$1" = post-disable ] && touch /tmp/finished\nexit 0\n' >/tmp/hooks/10-finish
chmod 755 /tmp/hooks/10-finish
dmadirty-agent -m virtio-serial --sysctl-path=/tmp/sysctl --device-path=/tmp/no-device \
	--hooks-dir=/tmp/hooks --log-level=info &
pid=$!
ticks() { set -- $(sed 's/.*) //' /proc/$pid/stat); echo $((${12} + ${13})); }
# Sample the agent's CPU time every second; mark when the enable landed
# (the host goes away half a second later, for 12 s).
i=0
on=
while [ ! -e /tmp/finished ] && [ $i -lt 900 ]; do
	sleep 1
	i=$((i + 1))
	[ -z "$on" ] && [ "$(cat /tmp/sysctl)" = 1 ] && on=$i && echo "VMON $i"
	echo "VMCPU $i $(ticks)"
done
kill $pid
wait $pid
echo "VMAGENT exit $?"
GUEST

if ! vm_initramfs "$work/initrd.gz" "$kver" "$work/guest.sh" --module virtio_pci \
	--module virtio_console --bin "$top_builddir/agent/dmadirty-agent"; then
	echo "1..1"
	echo "not ok 1 - build the initramfs"
	exit 0
fi

python3 "$top_srcdir/tests/agent/virtio-host.py" "$work/port.sock" >"$work/host.log" 2>&1 &
host_pid=$!
vm_boot "$work/console.log" "$kver" "$work/initrd.gz" 600 -- \
	-chardev "socket,id=ch0,path=$work/port.sock,server=on,wait=off" \
	-device virtio-serial-pci \
	-device virtserialport,chardev=ch0,name=org.dmadirty.agent.0
wait "$host_pid"
host_pid=

n=0
fail=0
tap() {	# tap OK|NOTOK TEXT
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
while read -r _ status rest; do
	case $status in
	ok) tap ok "$rest" ;;
	not) tap notok "${rest#ok }" ;;
	esac
done < <(grep '^HOST ' "$work/host.log")
[ $n -eq 4 ] || tap notok "the host script ran to the end (kernel $kver)"

# CPU while the host was away: from 2 s to 10 s after the enable.
cpu=$(awk '/^VMON/ { on = $2 } /^VMCPU/ { t[$2] = $3 } END {
	print ((on && (on + 2) in t && (on + 10) in t) ? t[on + 10] - t[on + 2] : "none") }' \
	"$work/console.log")
grep -q 'host disconnected from the virtio-serial port' "$work/console.log" &&
	[ "$cpu" != none ] && [ "$cpu" -le 5 ] 2>/dev/null &&
	tap ok "no CPU while the host is away: $cpu ticks in 8 s" ||
	tap notok "no CPU while the host is away: $cpu ticks in 8 s"
grep -q '^VMAGENT exit 0' "$work/console.log" && tap ok "agent exits 0 on SIGTERM" ||
	tap notok "agent exits 0 on SIGTERM"
echo "1..$n"
if [ $fail -ne 0 ]; then
	sed 's/^/# /' "$work/host.log"
	grep -v '^VMCPU' "$work/console.log" | sed 's/^/# /' | tail -n 60
fi
exit 0
