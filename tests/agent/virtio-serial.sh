#!/bin/bash
# The agent on its default transport, virtio-serial, in a real guest kernel
# (busybox initramfs, no udevd) under QEMU TCG: it finds the port
# org.dmadirty.agent.0 through libudev, serves a host that connects after it
# started, uses no CPU while the host is away (virtio_console reports POLLHUP
# then; the agent waits for SIGIO instead of polling), also when the host
# left before reading a reply (the reply is dropped), and serves the next
# host without leftovers of the last one.
# Runs under --enable-vm-tests only: a missing prerequisite is a failure.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}

if [ ! -f "$top_srcdir/tests/lib/vm.sh" ]; then
	printf '1..1\nnot ok 1 - missing prerequisite: tests/lib/vm.sh (the VM helpers)\n'
	exit 0
fi
. "$top_srcdir/tests/lib/vm.sh"

kver=$(vm_kernels | head -n1)
if [ -z "$kver" ]; then
	printf '1..1\nnot ok 1 - missing prerequisite: a guest kernel in /boot (tests/deps.sh installs it)\n'
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-virtio.XXXXXX")
trap 'rm -rf "$work"; [ -n "${host_pid:-}" ] && kill "$host_pid" 2>/dev/null' EXIT

cat >"$work/guest.sh" <<'GUEST'
vm_modprobe virtio_pci
vm_modprobe virtio_console
echo 0 >/tmp/sysctl
mkdir -p /tmp/hooks
# Tag "slow": the pre-enable hook takes 2 s, long enough for the host to
# leave before the reply is written.  Tag "end": the last disable.
cat >/tmp/hooks/10-test <<'HOOK'
#!/bin/sh
[ "$1" = pre-enable ] && [ "$DMADIRTY_TAG" = slow ] && sleep 2 && touch /tmp/slow-done
[ "$1" = post-disable ] && [ "$DMADIRTY_TAG" = end ] && touch /tmp/finished
exit 0
HOOK
chmod 755 /tmp/hooks/10-test
: >/tmp/agent.log
dmadirty-agent -m virtio-serial --sysctl-path=/tmp/sysctl --device-path=/tmp/no-device \
	--hooks-dir=/tmp/hooks --log-level=info --reply-timeout=60000 2>/tmp/agent.log &
pid=$!
tail -f /tmp/agent.log &
ticks() { set -- $(sed 's/.*) //' /proc/$pid/stat); echo $((${12} + ${13})); }
wait_for() {	# wait_for SECONDS COMMAND...
	_t=$1; shift
	while ! "$@"; do
		_t=$((_t - 1)); [ $_t -le 0 ] && return 1
		sleep 1
	done
}
# The agent's CPU time over 8 s, once the host is away; "VMAWAY <what>
# <ticks>" is the line the host waits for before it comes back.
away() {	# away WHAT COMMAND...: measure once COMMAND holds
	_what=$1; shift
	if wait_for 600 "$@"; then
		sleep 1
		_t0=$(ticks)
		sleep 8
		echo "VMAWAY $_what $(($(ticks) - _t0))"
	else
		echo "VMAWAY $_what never"
	fi
}
left() { grep -q 'host disconnected from the virtio-serial port' /tmp/agent.log; }
away idle left
# The host sent an enable with the slow hook and left before its reply.
away reply test -e /tmp/slow-done
wait_for 600 test -e /tmp/finished
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

python3 "$top_srcdir/tests/agent/virtio-host.py" "$work/port.sock" "$work/console.log" \
	>"$work/host.log" 2>&1 &
host_pid=$!
vm_boot "$work/console.log" "$kver" "$work/initrd.gz" 900 -- \
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
[ $n -eq 9 ] || tap notok "the host script ran to the end (kernel $kver)"

# The agent's CPU ticks in 8 s while the host was away: with nothing
# pending, and with a reply pending that the host left behind.
for what in idle reply; do
	cpu=$(sed -n "s/^VMAWAY $what //p" "$work/console.log" | tr -d '\r')
	[ -n "$cpu" ] && [ "$cpu" -le 5 ] 2>/dev/null &&
		tap ok "no CPU while the host is away ($what): $cpu ticks in 8 s" ||
		tap notok "no CPU while the host is away ($what): ${cpu:-no measurement} ticks in 8 s"
done
grep -q 'the host hung up before reading a reply: dropping it' "$work/console.log" &&
	tap ok "the agent dropped the reply the host left behind" ||
	tap notok "the agent dropped the reply the host left behind"
grep -q '^VMAGENT exit 0' "$work/console.log" && tap ok "agent exits 0 on SIGTERM" ||
	tap notok "agent exits 0 on SIGTERM"
echo "1..$n"
if [ $fail -ne 0 ]; then
	sed 's/^/# /' "$work/host.log"
	sed 's/^/# /' "$work/console.log" | tail -n 60
fi
exit 0
