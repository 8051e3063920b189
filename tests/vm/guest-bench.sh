# Guest side of tests/vm/bench-kmod.sh.  The kernel command line picks the
# boot: dmadirty_bench=module, dmadirty_bench=loop (the module boot's loop
# rounds only, for another draw of a boot's memory layout) or
# dmadirty_bench=swiotlb (swiotlb=force, the module never loaded).  Every
# figure is printed as "BENCH <what> <value>"; the host side makes the
# table.
#
#   loop  map + sync_for_cpu + unmap of one 4 KiB or 64 KiB buffer
#         (dmadirty_dmatest "bench N LEN"), interleaved over rounds in
#         the states not loaded, loaded but off (the two in turn first),
#         on
#   fio   NVMe O_DIRECT reads: 4 KiB random at queue depth 32 (IOPS) and
#         1 MiB sequential (KiB/s), dirtying off and on in turn first,
#         rounds of short runs
#   floor the loop with dmadirty's hooked functions under an empty
#         callback, entered as dmadirty enters them: by direct call where
#         it does (dmadirty_dmatest's "dfloor"), else through
#         ftrace's trampoline ("floor", printed as ftfloor too where the
#         two differ); and with empty probes on the kernel's DMA
#         tracepoints where it has them ("tpfloor", 6.12+)
#   enable  the time of the sysctl write that turns dirtying on (hooks
#         armed, flags cleared, block queues drained)
N=${BENCH_N:-20000}
ROUNDS=${BENCH_ROUNDS:-7}
REPS=${BENCH_REPS:-3}
FIO_ROUNDS=${BENCH_FIO_ROUNDS:-15}
T=/sys/kernel/debug/dmadirty_dmatest
C=/sys/class/misc/dmadirty
SYSCTL=/proc/sys/vm/dma_mark_dirty
BOOT=$(sed -n 's/.*dmadirty_bench=\([a-z]*\).*/\1/p' /proc/cmdline)
fail() { echo "guest-bench: $*"; exit 1; }
. /lib/dmadirty-hooks.sh

vm_modprobe nvme
vm_insmod dmadirty_dmatest
vm_wait_for 100 '[ -b /dev/nvme0n1 ]' || fail "no /dev/nvme0n1 after 10 s"

# centis SECONDS.FRACTION: the same in hundredths (a leading 0 in $(( ))
# would read as octal).
centis() { echo $((${1%.*} * 100 + 1${1#*.} - 100)); }
# quiet: wait until the vCPU has been idle for two windows of 250 ms in a
# row (its idle time in /proc/uptime, 90% of each window), at most 10 s,
# and print "BENCH settle <ms waited>" or "BENCH unsettled <ms>".  Module
# load and unload, and an ftrace ops taken off, queue work for later
# (init memory freed, RCU callbacks, lazy vmap purges, tasks-RCU grace
# periods) that would otherwise run inside the timed loop on this single
# vCPU, and do not take the same time every time.
quiet() {
	read -r _up _idle </proc/uptime
	_t0=$(centis "$_up") _w0=$_t0 _i0=$(centis "$_idle") _ok=0
	while :; do
		usleep 250000
		read -r _up _idle </proc/uptime
		_t=$(centis "$_up") _i=$(centis "$_idle")
		if [ $(((_i - _i0) * 10)) -ge $(((_t - _w0) * 9)) ]; then
			_ok=$((_ok + 1))
		else
			_ok=0
		fi
		_w0=$_t _i0=$_i
		[ $_ok -ge 2 ] && { echo "BENCH settle $(((_t - _t0) * 10))"; return; }
		[ $((_t - _t0)) -ge 1000 ] && { echo "BENCH unsettled $(((_t - _t0) * 10))"; return; }
	done
}
# bench NAME LEN [keep]: times the loop on a buffer of LEN bytes REPS
# times and prints "BENCH NAME <ns> <pages dmadirty marked>" for each; the
# host keeps the fastest over all rounds.  Each state waits for a quiet
# vCPU first (quiet).  The loop starts from the device's dma_skip_sync as the
# kernel computes it (dma_set_mask(), as at probe); with "keep", from the
# flag as the last state left it.  A tenth of the loop runs untimed first:
# TCG translates anew the code that loading a module, or arming or
# disarming a hook, has just written, and the timed loop is to measure the
# steady state.  The timed loops of one call are back to back, a few
# milliseconds: a stretch in which the host took the vCPU away spoils one
# of them, not the call's figure.
marked() { cat $C/pages_marked 2>/dev/null || echo 0; }
bench() {
	quiet
	[ "${3:-}" = keep ] || echo setmask >$T/run || fail "setmask failed"
	echo "bench $((N / 10)) $2" >$T/run || fail "$1: warm-up loop failed"
	_rep=0
	while [ $_rep -lt "$REPS" ]; do
		_rep=$((_rep + 1))
		_m0=$(marked)
		echo "bench $N $2" >$T/run || fail "$1: loop failed"
		echo "BENCH $1 $(cat $T/ns) $(($(marked) - _m0))"
	done
}
fio_run() {	# fio_run NAME FIO-ARGS...: prints read IOPS and KiB/s
	_name=$1
	shift
	fio --name="$_name" --filename=/dev/nvme0n1 --direct=1 --thread \
		--ioengine=libaio --runtime="${BENCH_FIO_S:-2}" --time_based \
		--minimal "$@" 2>/dev/null | awk -F';' '{ print $8, $7 }'
}
fio_all() {	# fio_all STATE: the host keeps the best of the rounds
	echo "BENCH fio4k-$1 $(fio_run r4k --rw=randread --bs=4k --iodepth=32)"
	echo "BENCH fio1m-$1 $(fio_run s1m --rw=read --bs=1M --iodepth=4)"
}

if [ "$BOOT" = swiotlb ]; then
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		bench swiotlb4k 4096
		bench swiotlb64k 65536
	done
	r=0
	while [ $r -lt "$FIO_ROUNDS" ]; do
		r=$((r + 1))
		fio_all swiotlb
	done
	exit 0
fi

# Where the callbacks of the hooks are loaded: bench-kmod.sh names those
# that straddle a page boundary.
vm_insmod dmadirty
awk '$4 == "[dmadirty]" && $3 ~ /^dmadirty_([a-z_]+_func|[a-z_]+_direct|mark_[a-z_]+)$/ { print "BENCH layout", $1, $3 }' \
	/proc/kallsyms
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	echo "BENCH round $r"
	# Not loaded and loaded but off swap places every other round: the
	# host's speed drifts, and a fixed order would hand the drift to one.
	if [ $((r % 2)) = 1 ]; then
		[ -d /sys/module/dmadirty ] && rmmod dmadirty
		bench notloaded4k 4096
		bench notloaded64k 65536
		vm_insmod dmadirty
		bench off4k 4096
	else
		bench off4k 4096
		rmmod dmadirty
		bench notloaded4k 4096
		bench notloaded64k 65536
		vm_insmod dmadirty
	fi
	echo 1 >$SYSCTL
	# The unmap and sync hooks get their own entry a moment after
	# enable, and on 6.11+ the map hooks stay armed until the calls of
	# dma_set_mask() from before enable are over (dirty.c); measure
	# what stays.
	vm_wait_for 100 settled ||
		fail "not settled 10 s after enable: entry $(cat $C/entry), armed $(cat $C/armed)"
	armed=$(cat $C/armed)
	direct=$(direct_called)
	bench on4k 4096
	bench on64k 65536
	echo 0 >$SYSCTL
	# Dirtying leaves dma_skip_sync clear (drain.c): what that costs.
	bench after4k 4096 keep
	# The functions armed while on, hooked by an empty callback, the flag
	# still clear: the floor under "on" that no callback can go below.
	# Those dmadirty calls straight get an empty direct call.
	rest=$(echo "$armed" | tr ' ' '\n' | grep -vxF -e "$(echo "$direct" | tr ' ' '\n')")
	echo "$rest" >$T/floor || fail "cannot hook the floor"
	if [ -n "$direct" ]; then
		echo "$direct" >$T/dfloor || fail "cannot hook the floor by direct call"
	fi
	bench floor4k 4096 keep
	echo >$T/floor
	if [ -n "$direct" ]; then
		echo >$T/dfloor
		# What the same functions cost through ftrace's trampoline.
		echo "$armed" | tr ' ' '\n' >$T/floor || fail "cannot hook the floor"
		bench ftfloor4k 4096 keep
		echo >$T/floor
	fi
	# The same through the kernel's DMA tracepoints (6.12+), the
	# lightest entry it offers.
	if [ -e $T/tpfloor ]; then
		echo 1 >$T/tpfloor || fail "cannot probe the DMA tracepoints"
		bench tpfloor4k 4096 keep
		echo 0 >$T/tpfloor
	fi
done
[ "$BOOT" = loop ] && exit 0
# Off and on alternate, so that a slow stretch of the host hits both, and
# swap places every other round, so that a drift does not favour one.
r=0
while [ $r -lt "$FIO_ROUNDS" ]; do
	r=$((r + 1))
	[ $((r % 2)) = 1 ] && fio_all off
	echo 1 >$SYSCTL
	fio_all on
	echo 0 >$SYSCTL
	[ $((r % 2)) = 0 ] && fio_all off
done
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	echo "BENCH enable $(/bin/dmadirty-vmtest write-time $SYSCTL 1)"
	echo 0 >$SYSCTL
done
