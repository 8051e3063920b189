# The middle guest (L1) of tests/vfio (runs as /test.sh in its busybox
# initramfs): binds the NVMe to vfio-pci, then serves vfio.py on the
# virtio-serial port "vfio.ctl", one command at a time, each answered by a
# status line ("OK" or "ERR ..."), output lines and "END":
#   ports                   "NAME /dev/vportNpM" for every named port
#   start NAME              reads QEMU arguments, one a line, up to an
#                           empty line, and starts qemu-system-x86_64 with
#                           them in the background (stderr: /tmp/NAME.err)
#   stop NAME               kills that QEMU if it still runs, waits for it,
#                           prints its stderr
#   ramcmp A B              compares /dev/shm/A and /dev/shm/B (ramcmp.c)
#   rm A [B]                removes /dev/shm/A and /dev/shm/B
#   exit                    ends the test (L1 powers off)
# vfio.py points the L2 QEMUs' QMP monitors and serial consoles at the
# other ports (pipe chardevs), so it talks to them from L0 directly.
fail() { echo "L1-FAIL $*"; exit 1; }

for m in virtio_pci virtio_console vfio_iommu_type1 vfio_pci; do
	[ -e "/modules/dep/$m" ] && { vm_modprobe "$m" || fail "cannot load $m"; }
done
mkdir -p /dev/shm
mount -t tmpfs -o size=90% tmpfs /dev/shm || fail "no tmpfs on /dev/shm"

nvme=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/class")" = 0x010802 ] && nvme=${d##*/}
done
[ -n "$nvme" ] || fail "no NVMe controller on L1's PCI bus"
d=/sys/bus/pci/devices/$nvme
[ -e "$d/iommu_group" ] || fail "$nvme has no IOMMU group (intel_iommu=on?)"
group=$(basename "$(readlink "$d/iommu_group")")
set -- "$d"/iommu_group/devices/*
[ $# = 1 ] || fail "$nvme shares IOMMU group $group: $*"
[ -e "$d/driver" ] && echo "$nvme" >"$d/driver/unbind"
echo vfio-pci >"$d/driver_override"
echo "$nvme" >/sys/bus/pci/drivers_probe
[ "$(basename "$(readlink "$d/driver")")" = vfio-pci ] || fail "vfio-pci did not bind $nvme"
[ -c "/dev/vfio/$group" ] || fail "no /dev/vfio/$group"
echo "L1 vfio $nvme group $group"

ctl=$(vm_port vfio.ctl 30) && [ -c "$ctl" ] || fail "no virtio-serial port vfio.ctl"
ports=$(for p in /sys/class/virtio-ports/*; do
	[ -e "$p/name" ] && echo "$(cat "$p/name") /dev/${p##*/}"
done)
exec 3<>"$ctl"
echo "L1 ready"
# A read returns end-of-file while the host end of a port is not
# connected: vfio.py connects every port before L1 boots, so an end of
# file here means that L0 went away.

reply() { { echo "$1"; shift; [ $# -gt 0 ] && cat "$@"; echo END; } >&3; }
while read -r cmd a b <&3; do
	case $cmd in
	ports)
		echo "$ports" >/tmp/out
		reply OK /tmp/out ;;
	start)
		set --
		while read -r arg <&3 && [ -n "$arg" ]; do
			set -- "$@" "$arg"
		done
		qemu-system-x86_64 "$@" </dev/null >"/tmp/$a.err" 2>&1 &
		echo $! >"/tmp/$a.pid"
		echo "L1 started $a: $!"
		reply OK ;;
	stop)
		pid=$(cat "/tmp/$a.pid" 2>/dev/null)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
		[ -n "$pid" ] && wait "$pid"
		echo "L1 stopped $a"
		reply OK "/tmp/$a.err" ;;
	ramcmp)
		if ramcmp "/dev/shm/$a" "/dev/shm/$b" >/tmp/out 2>&1; then
			reply OK /tmp/out
		else
			reply "ERR ramcmp $a $b" /tmp/out
		fi ;;
	rm)
		(cd /dev/shm && rm -f "$a" ${b:+"$b"})
		reply OK ;;
	exit)
		reply OK
		break ;;
	*)
		reply "ERR unknown command $cmd" ;;
	esac
done
[ "$cmd" = exit ] || fail "vfio.ctl: end of file, the host is not connected"
