# Guest side of tests/vm/kmod.sh: sourced by the initramfs /init (see
# tests/lib/vm.sh).  The mode comes from the kernel command line,
# dmadirty_test=default|iommu|swiotlb.  Every check prints one VMTAP line;
# the host side only relays them.
MODE=$(sed -n 's/.*dmadirty_test=\([a-z]*\).*/\1/p' /proc/cmdline)
KV=$(uname -r | cut -d- -f1)
C=/sys/class/misc/dmadirty
T=/sys/kernel/debug/dmadirty_dmatest
B=/sys/kernel/debug/dmadirty_testbridge
SYSCTL=/proc/sys/vm/dma_mark_dirty
NVME=/dev/nvme0n1

tap() {	# tap OK DESC [DIAG]
	if [ "$1" = 0 ]; then
		echo "VMTAP ok - $KV $MODE: $2"
	else
		echo "VMTAP not ok - $KV $MODE: $2${3:+ ($3)}"
	fi
}
check() {	# check DESC TEST-EXPR [DIAG]
	if eval "$2"; then tap 0 "$1"; else tap 1 "$1" "$3"; fi
}
skip() { echo "VMTAP ok - $KV $MODE: $1 # SKIP $2"; }
ctr() { cat "$C/$1"; }
run() { echo "$*" >"$T/run" && cat "$T/expected"; }
nvme_read() { dd if=$NVME of=/dev/null bs=64k count="$1" iflag=direct 2>/dev/null; }
warnings() { dmesg | grep -cE 'WARNING:|BUG:|Oops|Call Trace|general protection' ; }

# op_check DESC OP...: run OP and compare the counters with the pages the
# test module says the device may have written.  With swiotlb=force the
# streaming buffers are bounced: those pages are skipped, not marked.
op_check() {
	desc=$1 kind=$2
	shift 2
	m0=$(ctr pages_marked) s0=$(ctr skipped_swiotlb) f0=$(ctr translate_failed)
	exp=$(run "$@") || { tap 1 "$desc" "run $* failed"; return; }
	m=$(($(ctr pages_marked) - m0)) s=$(($(ctr skipped_swiotlb) - s0))
	f=$(($(ctr translate_failed) - f0))
	if [ "$MODE" = swiotlb ] && [ "$kind" = stream ]; then
		# Bounce slots have their own page layout: count them, not $exp.
		check "$desc: bounced, none marked, bounce pages skipped" \
			"[ $m = 0 ] && [ $s -gt 0 ] && [ $exp -gt 0 ]" "marked $m swiotlb $s"
	else
		check "$desc: pages marked = $exp pages DMA'd" \
			"[ $m = $exp ] && [ $f = 0 ] && [ $exp -gt 0 ]" "marked $m translate_failed $f"
	fi
}

dirty_checks() {
	m0=$(ctr pages_marked) c0=$(ctr calls_seen)
	run single 0 4096 2 >/dev/null; run sg 4 0 4096 >/dev/null
	run sync 2 0 4096 >/dev/null; run coherent 8192 >/dev/null; nvme_read 4
	check "disabled: no call seen, no page marked" \
		"[ $(ctr calls_seen) = $c0 ] && [ $(ctr pages_marked) = $m0 ]"

	echo 1 >$SYSCTL
	check "sysctl reads back 1" "[ $(cat $SYSCTL) = 1 ] && [ $(ctr enabled) = 1 ]"
	op_check "single page" stream single 0 4096 2
	op_check "single bidirectional, 3 partial pages" stream single 100 8192 0
	op_check "single 2 bytes across a page boundary" stream single 4095 2 2
	op_check "single 1 byte" stream single 7 1 2
	t0=$(ctr skipped_to_device) m0=$(ctr pages_marked)
	run single 0 8192 1 >/dev/null
	check "DMA_TO_DEVICE skipped" \
		"[ $(ctr pages_marked) = $m0 ] && [ $(($(ctr skipped_to_device) - t0)) = 1 ]"
	op_check "sg list of 5 entries" stream sg 5 0 4096
	op_check "sg list, partial pages" stream sg 3 2000 4000
	op_check "sync_single_for_cpu x3 + unmap" stream sync 3 0 4096
	op_check "sync_sg_for_cpu x2 + unmap" stream syncsg 2 4 512 4096
	op_check "coherent memory marked on free" coherent coherent 16384
	c0=$(ctr coherent_freed)
	op_check "coherent odd size" coherent coherent 5000
	check "coherent_freed counts buffers" "[ $(($(ctr coherent_freed) - c0)) = 1 ]"
	m0=$(ctr pages_marked) s0=$(ctr skipped_swiotlb)
	nvme_read 16
	m=$(($(ctr pages_marked) - m0)) s=$(($(ctr skipped_swiotlb) - s0))
	if [ "$MODE" = swiotlb ]; then
		check "NVMe 1 MiB direct read: 256 bounced pages skipped" "[ $m = 0 ] && [ $s = 256 ]" "marked $m swiotlb $s"
	else
		check "NVMe 1 MiB direct read: 256 pages marked" "[ $m = 256 ]" "marked $m"
	fi
	echo 0 >$SYSCTL
	m0=$(ctr pages_marked) c0=$(ctr calls_seen)
	run sync 2 0 4096 >/dev/null; nvme_read 4
	check "disabled again: probes disarmed" \
		"[ $(ctr calls_seen) = $c0 ] && [ $(ctr pages_marked) = $m0 ]"
}

# 6.11+ skips sync-for-cpu on coherent devices (dev->dma_skip_sync).
skip_sync_checks() {
	if ! grep -q '__dma_sync_single_for_cpu' /proc/kallsyms; then
		skip "skip-sync: sync calls seen only with dma_skip_sync cleared" "kernel has no dma_skip_sync"
		return
	fi
	rmmod dmadirty
	vm_insmod dmadirty skip_sync_clear=0
	echo 1 >$SYSCTL
	run setmask >/dev/null
	m0=$(ctr pages_marked)
	exp=$(run sync 3 0 4096)
	before=$(($(ctr pages_marked) - m0))
	rmmod dmadirty
	vm_insmod dmadirty
	echo 1 >$SYSCTL
	run setmask >/dev/null
	m0=$(ctr pages_marked)
	run sync 3 0 4096 >/dev/null
	after=$(($(ctr pages_marked) - m0))
	check "skip-sync: without clearing, 3 syncs unseen (only the unmap: $before of $exp)" \
		"[ $before = 1 ] && [ $exp = 4 ]" "before $before"
	check "skip-sync: with clearing (kept across dma_set_mask), all $exp seen" \
		"[ $after = $exp ] && [ $(ctr skip_sync_cleared) -gt 0 ]" "after $after"
	echo 0 >$SYSCTL
}

toggle_checks() {
	w0=$(warnings)
	rm -f /tmp/stop
	(while [ ! -e /tmp/stop ]; do nvme_read 8; run sg 4 0 4096 >/dev/null; run sync 1 0 4096 >/dev/null; done) &
	i=0
	while [ $i -lt 100 ]; do echo 1 >$SYSCTL; echo 0 >$SYSCTL; i=$((i + 1)); done
	touch /tmp/stop
	wait
	check "enable/disable x100 during DMA: no warning" "[ $(warnings) = $w0 ]"

	echo 1 >$SYSCTL
	rm -f /tmp/stop
	(while [ ! -e /tmp/stop ]; do nvme_read 8; run sync 1 0 4096 >/dev/null; done) &
	sleep 1
	rmmod dmadirty
	rc=$?
	sleep 1
	touch /tmp/stop
	wait
	check "unload while enabled during DMA" \
		"[ $rc = 0 ] && [ ! -e $SYSCTL ] && [ $(warnings) = $w0 ] && nvme_read 4" "rmmod $rc"
}

bridge_checks() {
	vm_insmod dmadirty enable=1
	check "module parameter enable=1 turns dirtying on at load" \
		"[ $(cat $SYSCTL) = 1 ] && [ $(ctr enabled) = 1 ]"
	echo 0 >$SYSCTL
	/bin/dmadirty-vmtest ioctls
	tap $? "ioctls: all protocol errors as documented"

	dmesg -c >/dev/null
	vm_insmod dmadirty_testbridge
	check "hot-added bridge found by the bus notifier" \
		"dmesg | grep -q 'dmadirty vendor block at 0x40'" "$(dmesg | tail -3)"
	st=$(/bin/dmadirty-vmtest status)
	check "status reports the block" "echo '$st' | grep -q 'present=1 host_state=0'" "$st"
	check "guest features written on discovery" "[ $(cat $B/guest_features) != 0 ]"

	echo 1 >$SYSCTL
	out=$(/bin/dmadirty-vmtest ack 7 1)
	check "ack after enable reaches the block" \
		"[ '$out' = 'ack flags=1' ] && [ $(cat $B/guest_ack) = 7 ]" "$out ack=$(cat $B/guest_ack)"
	gs=$(cat $B/guest_state)
	check "agent exit recorded: dirtying bit and error bit" "[ $gs = $((0x80000001)) ]" "guest_state $gs"

	: >/tmp/wait.out
	/bin/dmadirty-vmtest wait-host 5000 >/tmp/wait.out 2>&1 &
	pid=$!
	n=0
	while ! grep -q waiting /tmp/wait.out && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	echo 1 >$B/host_state
	wait $pid
	rc=$?
	cat /tmp/wait.out
	check "host state change wakes poll()" "[ $rc = 0 ] && grep -q 'poll present=1 state=1 seq=1' /tmp/wait.out"
	check "host state change raises a uevent with state and sequence" \
		"grep -q 'uevent ACTION=change DMADIRTY_HOST_STATE=1 DMADIRTY_HOST_SEQ=1' /tmp/wait.out"
	echo 0 >$SYSCTL

	echo 1 >$B/remove
	check "hot-removed bridge dropped" "dmesg | grep -q 'dmadirty vendor block gone'"
	st=$(/bin/dmadirty-vmtest status)
	check "status after removal: no block" "echo '$st' | grep -q 'present=0'" "$st"
	rmmod dmadirty_testbridge

	dmesg -c >/dev/null
	vm_insmod dmadirty_testbridge magic=0x12345678
	n=$(dmesg | grep -c 'ignoring vendor block.*bad magic')
	check "wrong magic ignored with one log line" \
		"[ $n = 1 ] && /bin/dmadirty-vmtest status | grep -q present=0" "$n lines"
	rmmod dmadirty_testbridge
	dmesg -c >/dev/null
	vm_insmod dmadirty_testbridge version=2
	n=$(dmesg | grep -c 'ignoring vendor block.*version 2')
	check "wrong version ignored with one log line" \
		"[ $n = 1 ] && /bin/dmadirty-vmtest status | grep -q present=0" "$n lines"
	rmmod dmadirty_testbridge
	# A module loaded after the bridge finds it by its scan.
	rmmod dmadirty
	vm_insmod dmadirty_testbridge
	vm_insmod dmadirty
	st=$(/bin/dmadirty-vmtest status)
	check "bridge present at load found by the scan" "echo '$st' | grep -q 'present=1'" "$st"
	rmmod dmadirty
	rmmod dmadirty_testbridge
}

vm_modprobe nvme || echo "VMTAP not ok - $KV $MODE: nvme loads"
vm_insmod dmadirty_dmatest
vm_insmod dmadirty
n=0
while [ ! -b $NVME ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
check "test devices present" "[ -b $NVME ] && [ -e $T/run ] && echo setmask >$T/run"
check "sysctl registered by the module, off" "[ $(cat $SYSCTL) = 0 ]"
if [ "$MODE" = iommu ]; then
	g=$(cat /sys/bus/pci/devices/*/iommu_group/type 2>/dev/null | sort -u | tr '\n' ' ')
	check "devices behind the vIOMMU with DMA domains" "echo '$g' | grep -q DMA" "types: $g"
fi

dirty_checks
if [ "$MODE" = default ]; then
	skip_sync_checks
	toggle_checks
	bridge_checks
fi
check "no kernel warning" "[ $(warnings) = 0 ]" "$(dmesg | grep -E 'WARNING|BUG' | head -3)"
