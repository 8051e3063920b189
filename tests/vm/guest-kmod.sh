# Guest side of tests/vm/kmod.sh: sourced by the initramfs /init (see
# tests/lib/vm.sh).  The mode comes from the kernel command line,
# dmadirty_test=default|iommu|swiotlb|mttcg.  Every check prints one VMTAP line;
# the host side only relays them.
MODE=$(sed -n 's/.*dmadirty_test=\([a-z]*\).*/\1/p' /proc/cmdline)
KV=$(uname -r | cut -d- -f1)
C=/sys/class/misc/dmadirty
T=/sys/kernel/debug/dmadirty_dmatest
B=/sys/kernel/debug/dmadirty_testbridge
SYSCTL=/proc/sys/vm/dma_mark_dirty
NVME=
SLOW=
. /lib/dmadirty-hooks.sh
TAP_WHAT="$KV $MODE"

# row COLUMN MARKED EXPECTED: one cell of kmod.sh's summary table.
row() { echo "VMROW $KV $MODE $1 $2 $3"; }
ctr() { cat "$C/$1"; }
run() { echo "$*" >"$T/run" && cat "$T/expected"; }
nvme_read() { dd if=$NVME of=/dev/null bs=64k count="$1" iflag=direct 2>/dev/null; }
# nvme_dev SECTORS: the NVMe namespace of that size (kmod.sh gives the
# fast disk 16 MiB and the throttled one 8 MiB); with native multipath
# the hidden path devices (nvmeXcYnZ) have no /dev node.
nvme_dev() {
	for d in /sys/block/nvme*n1; do
		case ${d##*/} in *c*) continue ;; esac
		[ "$(cat "$d/size" 2>/dev/null)" = "$1" ] && echo "/dev/${d##*/}"
	done
}
# inflight SECTORS: reads in flight on the disk of that size, its path
# devices included (the blk-mq queue under a multipath head).
inflight() {
	for d in /sys/block/nvme*n1; do
		[ "$(cat "$d/size")" = "$1" ] && cat "$d/inflight"
	done | awk '{ n += $1 } END { print n + 0 }'
}
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
		# Bounce slots have their own page layout: count them, not
		# $exp.  They are skipped where the kernel lets a module see
		# its pool (6.x), else marked (5.10); the copy back dirties
		# the buffer either way.
		check "$desc: bounced, the bounce pages skipped or marked" \
			"[ $((m + s)) -gt 0 ] && { [ $m = 0 ] || [ $s = 0 ]; } && [ $exp -gt 0 ]" \
			"marked $m swiotlb $s"
		row "$1" bounced bounced
	else
		check "$desc: pages marked = $exp pages DMA'd" \
			"[ $m = $exp ] && [ $f = 0 ] && [ $exp -gt 0 ]" "marked $m translate_failed $f"
		row "$1" "$m" "$exp"
	fi
}

dirty_checks() {
	m0=$(ctr pages_marked) c0=$(ctr calls_seen)
	run single 0 4096 2 >/dev/null; run sg 4 0 4096 >/dev/null
	run sync 2 0 4096 >/dev/null; run coherent 8192 >/dev/null; nvme_read 4
	check "disabled: no call seen, no page marked" \
		"[ $(ctr calls_seen) = $c0 ] && [ $(ctr pages_marked) = $m0 ]"
	check "disabled: ftrace has no callback on any function" "[ -z \"$(patched)\" ]" \
		"patched: $(patched)"

	echo 1 >$SYSCTL
	check "sysctl reads back 1" "[ $(cat $SYSCTL) = 1 ] && [ $(ctr enabled) = 1 ]"
	# 6.11+ changes what is armed a moment later: skip_sync_checks.
	if ! grep -q ' __dma_sync_single_for_cpu$' /proc/kallsyms; then
		check "enabled: ftrace has a callback on what armed lists, and only there" \
			"[ \"$(patched)\" = \"$(armed_sorted)\" ] && [ -n \"$(patched)\" ]" \
			"patched: $(patched); armed: $(armed_sorted)"
	fi
	vm_wait_for 100 own_entry
	check "enabled: the unmap and sync hooks get their own entry a moment later" \
		"grep -Eqx 'direct|ftrace' $C/entry" "entry: $(cat $C/entry)"
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
	# The newer entry points, where the kernel has them.
	if grep -q ' dma_unmap_phys$' /proc/kallsyms; then
		op_check "dma_map_phys + dma_unmap_phys" stream phys 100 12000
	fi
	if [ "$MODE" = iommu ] && grep -q ' dma_iova_unlink$' /proc/kallsyms; then
		op_check "IOVA link x8, unlink, free" coherent iova 8 0
		op_check "IOVA link x8, destroy" coherent iova 8 1
	fi
	for bs in 64k 1M; do
		m0=$(ctr pages_marked) s0=$(ctr skipped_swiotlb)
		if [ $bs = 64k ]; then nvme_read 16; else dd if=$NVME of=/dev/null bs=1M count=1 iflag=direct 2>/dev/null; fi
		m=$(($(ctr pages_marked) - m0)) s=$(($(ctr skipped_swiotlb) - s0))
		if [ "$MODE" = swiotlb ]; then
			# Skipped as bounce slots where the kernel lets a module
			# see its pool (6.x), else the bounce slots are marked.
			check "NVMe 1 MiB direct read bs=$bs: 256 bounced pages, each seen once" \
				"[ $((m + s)) = 256 ]" "marked $m swiotlb $s"
			row "nvme-$bs" $((m + s)) 256
		else
			check "NVMe 1 MiB direct read bs=$bs: 256 pages marked, each once" "[ $m = 256 ]" "marked $m"
			row "nvme-$bs" "$m" 256
		fi
	done
	if [ "$MODE" != swiotlb ]; then
		run watch 0 4096 >/dev/null
		check "effect: the write watchpoint on the buffer sees the marking" \
			"[ $(cat $T/hits) -ge 1 ]" "hits $(cat $T/hits)"
	fi
	if [ "$MODE" = default ]; then
		nonram_checks
	fi
	echo 0 >$SYSCTL
	m0=$(ctr pages_marked) c0=$(ctr calls_seen)
	run sync 2 0 4096 >/dev/null; nvme_read 4
	check "disabled again: hooks disarmed, entry off" \
		"[ $(ctr calls_seen) = $c0 ] && [ $(ctr pages_marked) = $m0 ] && [ \"\$(cat $C/entry)\" = off ]" \
		"entry: $(cat $C/entry)"
	if [ "$MODE" != swiotlb ]; then
		run watch 0 4096 >/dev/null
		check "effect: no write to the buffer while disabled (the watchpoint can fail)" \
			"[ $(cat $T/hits) = 0 ]" "hits $(cat $T/hits)"
	fi
}

# Enable registers one ops, shared by every hook, and gives the unmap and
# sync hooks their own entry only a moment later (settle_ms).  Held off,
# the shared ops marks their pages alone, once each.
shared_checks() {
	rmmod dmadirty
	vm_insmod dmadirty settle_ms=600000
	echo 1 >$SYSCTL
	check "shared: the unmap and sync hooks start on the shared ops" \
		"[ \"\$(cat $C/entry)\" = shared ] && [ -n \"\$(armed_single)\" ] && [ -z \"\$(direct_called)\" ]" \
		"entry: $(cat $C/entry); armed: $(armed_single); direct: $(direct_called)"
	check "shared: ftrace has a callback on what armed lists, and only there" \
		"[ \"$(patched)\" = \"$(armed_sorted)\" ]" "patched: $(patched); armed: $(armed_sorted)"
	op_check "shared: single page" stream single 0 4096 2
	op_check "shared: single 2 bytes across a page boundary" stream single 4095 2 2
	op_check "shared: sync_single_for_cpu x3 + unmap" stream sync 3 0 4096
	op_check "shared: sg list of 5 entries" stream sg 5 0 4096
	if [ "$MODE" != swiotlb ]; then
		m0=$(ctr pages_marked)
		dd if=$NVME of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null
		m=$(($(ctr pages_marked) - m0))
		check "shared: NVMe 1 MiB direct read: 256 pages marked, each once" "[ $m = 256 ]" "marked $m"
	fi
	echo 0 >$SYSCTL
	rmmod dmadirty
	vm_insmod dmadirty
}

# The RAM test: a device BAR and a firmware-reserved range are not RAM.
nonram_checks() {
	bar=$(for d in /sys/bus/pci/devices/*; do
		[ "$(cat $d/vendor):$(cat $d/device)" = 0x1b36:0x0005 ] && head -n 1 $d/resource
	done | cut -d' ' -f1)
	rsv=$(grep -m 1 ': Reserved$' /proc/iomem | cut -d- -f1)
	for what in "device BAR:$bar" "reserved range:0x$rsv"; do
		a=${what#*:}
		m0=$(ctr pages_marked) n0=$(ctr skipped_nonram)
		run raw "${a#0x}" 4096 >/dev/null
		check "non-RAM ${what%%:*} ($a) skipped, not marked" \
			"[ -n '${a#0x}' ] && [ $(ctr pages_marked) = $m0 ] && [ $(($(ctr skipped_nonram) - n0)) = 1 ]" \
			"marked $(($(ctr pages_marked) - m0)) nonram $(($(ctr skipped_nonram) - n0))"
	done
}

# A mapping made before enable and handed back after it is marked, and a
# block read in flight when enable starts is over when it returns (or
# marked): the throttled second NVMe keeps one read in flight for seconds.
inflight_checks() {
	run hold 0 8192 >/dev/null
	echo 1 >$SYSCTL
	vm_wait_for 100 own_entry
	m0=$(ctr pages_marked)
	exp=$(run release)
	check "a mapping made before enable, unmapped after: $exp pages marked" \
		"[ $(($(ctr pages_marked) - m0)) = $exp ]" "marked $(($(ctr pages_marked) - m0))"
	row prior $(($(ctr pages_marked) - m0)) "$exp"
	echo 0 >$SYSCTL

	# QEMU lets the first request through at once and holds the next
	# back until the rate allows: 256 KiB at 64 KiB/s, about 3 s.
	dd if=$SLOW of=/dev/null bs=256k count=1 iflag=direct 2>/dev/null
	dd if=$SLOW of=/dev/null bs=256k count=1 skip=1 iflag=direct 2>/dev/null &
	pid=$!
	vm_wait_for 100 '[ $(inflight 16384) -gt 0 ]'
	before=$(inflight 16384)
	m0=$(ctr pages_marked)
	echo 1 >$SYSCTL
	after=$(inflight 16384)
	wait $pid
	m=$(($(ctr pages_marked) - m0))
	check "a read in flight across enable is drained by it or marked" \
		"[ $before -gt 0 ] && { [ $after = 0 ] || [ $m -ge 64 ]; }" \
		"in flight before $before, after $after, marked $m"
	if [ "$after" = 0 ]; then row inflight drained drained; else row inflight "$m" 64; fi
	echo 0 >$SYSCTL
}

# The unmap and sync hooks are entered by direct call on every kernel of
# the matrix (on an ops from 5.16, one address at a time before): the
# call at the start of each goes straight to the module.  Another direct
# call on one of them (dmadirty_dmatest's dfloor), or direct_call=0,
# sends them through ftrace's trampoline instead.  The pages marked are
# the same either way.
SINGLE='dma_unmap_page_attrs|dma_unmap_phys|__dma_sync_single_for_cpu|dma_sync_single_for_cpu'
armed_single() { tr ' ' '\n' <$C/armed | grep -Ex "$SINGLE" | sort | tr '\n' ' '; }
direct_checks() {
	echo 1 >$SYSCTL
	# What ftrace lists changes as the map hooks settle (6.11+).
	vm_wait_for 100 settled
	check "direct: the unmap and sync hooks call the module straight" \
		"[ -n \"$(armed_single)\" ] && [ \"$(direct_called)\" = \"$(armed_single)\" ]" \
		"direct: $(direct_called); armed: $(armed_single)"
	op_check "direct: single page" stream single 0 4096 2
	op_check "direct: single 2 bytes across a page boundary" stream single 4095 2 2
	op_check "direct: sync_single_for_cpu x3 + unmap" stream sync 3 0 4096
	echo 0 >$SYSCTL
	check "direct: no direct call left after disable" "[ -z \"$(direct_called)\" ]" \
		"direct: $(direct_called)"

	# Another direct call on one of them: ftrace refuses this one, and
	# enable goes through the trampoline instead, and says so.
	sync=dma_sync_single_for_cpu
	grep -q ' __dma_sync_single_for_cpu$' /proc/kallsyms && sync=__dma_sync_single_for_cpu
	echo $sync >$T/dfloor
	echo 1 >$SYSCTL
	vm_wait_for 100 settled
	check "direct: with another direct call on $sync, enable takes the trampoline and says so" \
		"[ -z \"$(direct_called)\" ] && [ -n \"$(armed_single)\" ] && dmesg | grep -q 'no direct call for the unmap and sync hooks'" \
		"direct: $(direct_called); armed: $(armed_single)"
	op_check "direct refused: single page" stream single 0 4096 2
	op_check "direct refused: sync_single_for_cpu x3 + unmap" stream sync 3 0 4096
	echo 0 >$SYSCTL
	echo >$T/dfloor
	rmmod dmadirty
	vm_insmod dmadirty direct_call=0
	echo 1 >$SYSCTL
	vm_wait_for 100 settled
	check "direct_call=0: the same hooks through ftrace's trampoline" \
		"[ -z \"$(direct_called)\" ] && [ -n \"$(armed_single)\" ] && [ \"$(patched)\" = \"$(armed_sorted)\" ]" \
		"direct: $(direct_called); patched: $(patched); armed: $(armed_sorted)"
	op_check "direct_call=0: single page" stream single 0 4096 2
	op_check "direct_call=0: sync_single_for_cpu x3 + unmap" stream sync 3 0 4096
	echo 0 >$SYSCTL
	rmmod dmadirty
	vm_insmod dmadirty
}

# Coverage is all or nothing: a missing entry point fails the enable.
coverage_checks() {
	tap 0 "hooks: $(cat $C/hooks)"
	check "nothing missing on this kernel" "[ -z \"\$(cat $C/missing)\" ]" "missing: $(cat $C/missing)"
	first=$(tr ' ' '\n' <$C/hooks | grep -v '(' | head -n 1)
	rmmod dmadirty
	vm_insmod dmadirty break_hook=$first
	echo 1 >$SYSCTL 2>/tmp/err
	rc=$?
	check "a hook that cannot be set up fails enable, and is named ($first)" \
		"[ $rc != 0 ] && grep -qw '$first' $C/missing && [ $(ctr enabled) = 0 ]" \
		"rc $rc missing $(cat $C/missing)"
	rmmod dmadirty
	vm_insmod dmadirty skip_sync_clear=0
	echo 1 >$SYSCTL 2>/dev/null
	rc=$?
	if grep -q ' __dma_sync_single_for_cpu$' /proc/kallsyms; then
		check "skip_sync_clear=0 on a kernel that skips syncs: enable refused" \
			"[ $rc != 0 ] && grep -qw dma_skip_sync $C/missing" "rc $rc missing $(cat $C/missing)"
	else
		check "skip_sync_clear=0 on a kernel without dma_skip_sync: nothing missing" \
			"[ $rc = 0 ] && [ -z \"\$(cat $C/missing)\" ]" "rc $rc"
		echo 0 >$SYSCTL
	fi
	rmmod dmadirty
	vm_insmod dmadirty
}

# 6.11+ skips sync-for-cpu on coherent devices (dma_skip_sync), and
# dma_set_mask() sets the flag again: every sync is still seen.  Once the
# calls of dma_set_mask() from before enable are over, its hook alone
# clears the flag, and the map hooks are disarmed; a module that cannot
# hook it keeps them armed.
setmask_check() {	# setmask_check WHAT
	c0=$(ctr skip_sync_cleared)
	run setmask >/dev/null
	m0=$(ctr pages_marked)
	exp=$(run sync 3 0 4096)
	after=$(($(ctr pages_marked) - m0))
	check "skip-sync, $1: after dma_set_mask, flag cleared again and all $exp syncs and unmaps seen" \
		"[ $after = $exp ] && [ $(ctr skip_sync_cleared) -gt $c0 ]" "after $after"
}
skip_sync_checks() {
	grep -q ' __dma_sync_single_for_cpu$' /proc/kallsyms || return 0
	echo 1 >$SYSCTL
	vm_wait_for 100 settled
	check "skip-sync: map hooks disarmed after enable, dma_set_mask hooked" \
		"! keep_sync_armed && grep -qw dma_set_mask $C/armed" "armed: $(cat $C/armed)"
	check "skip-sync: ftrace has a callback on what armed lists, and only there" \
		"[ \"$(patched)\" = \"$(armed_sorted)\" ]" "patched: $(patched); armed: $(armed_sorted)"
	setmask_check "dma_set_mask hooked"
	echo 0 >$SYSCTL
	check "skip-sync: nothing armed while off" "[ -z \"\$(cat $C/armed)\" ] && [ -z \"\$(patched)\" ]" \
		"armed: $(cat $C/armed); patched: $(patched)"

	rmmod dmadirty
	vm_insmod dmadirty break_hook=dma_set_mask
	echo 1 >$SYSCTL
	vm_wait_for 100 own_entry
	check "skip-sync, dma_set_mask not hooked: enable works, the map hooks stay armed" \
		"keep_sync_armed && ! grep -qw dma_set_mask $C/armed" "armed: $(cat $C/armed)"
	check "skip-sync, dma_set_mask not hooked: ftrace agrees with armed" \
		"[ \"$(patched)\" = \"$(armed_sorted)\" ]" "patched: $(patched); armed: $(armed_sorted)"
	setmask_check "map hooks"
	echo 0 >$SYSCTL
	rmmod dmadirty
	vm_insmod dmadirty
}

# reads_done: completed reads on the fast disk.
reads_done() { awk '{ print $1 }' /sys/block/${NVME#/dev/}/stat; }

# The control for toggle_checks under multi-threaded TCG: the kernel's own
# function tracer, switched on and off on the same DMA functions under
# the same load, without the module.
ftrace_control_checks() {
	tr=/sys/kernel/debug/tracing
	w0=$(warnings)
	rmmod dmadirty
	echo 'dma_unmap_* dma_map_* __dma_sync_* dma_sync_* dma_free_attrs dma_iova_*' \
		>$tr/set_ftrace_filter 2>/dev/null
	rm -f /tmp/stop
	(while [ ! -e /tmp/stop ]; do nvme_read 8; run sg 4 0 4096 >/dev/null; run sync 1 0 4096 >/dev/null; done) &
	i=0
	while [ $i -lt 100 ]; do echo function >$tr/current_tracer; echo nop >$tr/current_tracer; i=$((i + 1)); done
	touch /tmp/stop
	wait
	echo >$tr/set_ftrace_filter
	check "control: the kernel's function tracer on/off x100 during DMA: no warning" \
		"[ $(warnings) = $w0 ] && [ -n \"\$(cat $tr/available_tracers)\" ]"
	vm_insmod dmadirty
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
	m0=$(ctr pages_marked)
	(while [ ! -e /tmp/stop ]; do nvme_read 8; run sync 1 0 4096 >/dev/null; done) &
	vm_wait_for 100 "[ \$(ctr pages_marked) -gt $m0 ]"
	rmmod dmadirty
	rc=$?
	r0=$(reads_done)
	vm_wait_for 100 "[ \$(reads_done) -gt $r0 ]"
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
	echo 0 >$SYSCTL
	/bin/dmadirty-vmtest ack 8 1 >/dev/null
	gs=$(cat $B/guest_state)
	check "an ack that claims dirtying while it is off writes the module's state" \
		"[ $(cat $B/guest_ack) = 8 ] && [ $((gs & 1)) = 0 ]" "guest_state $gs"
	echo 1 >$SYSCTL

	: >/tmp/wait.out
	/bin/dmadirty-vmtest wait-host 5000 >/tmp/wait.out 2>&1 &
	pid=$!
	vm_wait_for 50 'grep -q waiting /tmp/wait.out'
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

	# A refused enable shows in the block: error bit, no dirtying bit.
	rmmod dmadirty
	vm_insmod dmadirty_testbridge
	vm_insmod dmadirty break_hook=dma_unmap_sg_attrs
	echo 1 >$SYSCTL 2>/dev/null
	gs=$(cat $B/guest_state)
	check "a refused enable sets the error bit in the block, not the dirtying bit" \
		"[ $gs = $((0x80000000)) ]" "guest_state $gs"
	rmmod dmadirty
	rmmod dmadirty_testbridge
	vm_insmod dmadirty

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
	# A kernel with its own vm.dma_mark_dirty: the module uses it and
	# reports its value, not the module's own (unarmed) state.
	rmmod dmadirty
	vm_insmod dmadirty_testbridge kernel_sysctl=1
	vm_insmod dmadirty
	echo 1 >$SYSCTL
	st=$(/bin/dmadirty-vmtest status)
	check "kernel mode: source kernel, enabled as the kernel's sysctl says" \
		"echo '$st' | grep -q 'enabled=1 source=0' && [ \"\$(cat $C/enabled)\" = 1 ]" "$st"
	echo 0 >$SYSCTL
	st=$(/bin/dmadirty-vmtest status)
	check "kernel mode: disabled as the kernel's sysctl says" "echo '$st' | grep -q 'enabled=0 source=0'" "$st"
	rmmod dmadirty
	rmmod dmadirty_testbridge
	vm_insmod dmadirty
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
vm_wait_for 100 '[ -n "$(nvme_dev 32768)" ] && [ -n "$(nvme_dev 16384)" ]'
NVME=$(nvme_dev 32768) SLOW=$(nvme_dev 16384)
check "test devices present" "[ -b '$NVME' ] && [ -b '$SLOW' ] && [ -e $T/run ] && echo setmask >$T/run"
check "sysctl registered by the module, off" "[ $(cat $SYSCTL) = 0 ]"
if [ "$MODE" = iommu ]; then
	g=$(cat /sys/bus/pci/devices/*/iommu_group/type 2>/dev/null | sort -u | tr '\n' ' ')
	check "devices behind the vIOMMU with DMA domains" "echo '$g' | grep -q DMA" "types: $g"
fi

if [ "$MODE" = mttcg ]; then
	ftrace_control_checks
	toggle_checks
	check "no kernel warning" "[ $(warnings) = 0 ]" "$(dmesg | grep -E 'WARNING|BUG' | head -3)"
	exit 0
fi
coverage_checks
# Before any enable that succeeds: the NVMe disks' dma_skip_sync is still
# as the kernel set it (the module leaves it clear after an enable).
[ "$MODE" = default ] && inflight_checks
dirty_checks
shared_checks
if [ "$MODE" = default ]; then
	direct_checks
	skip_sync_checks
	toggle_checks
	bridge_checks
fi
check "no kernel warning" "[ $(warnings) = 0 ]" "$(dmesg | grep -E 'WARNING|BUG' | head -3)"
