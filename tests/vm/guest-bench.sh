# Guest side of tests/vm/bench-kmod.sh: the same map/sync/unmap loop of one
# page (dmadirty_dmatest "bench N") with dmadirty not loaded, loaded but
# disabled, and enabled, interleaved over several rounds in one boot.
N=${BENCH_N:-20000}
ROUNDS=${BENCH_ROUNDS:-11}
T=/sys/kernel/debug/dmadirty_dmatest
C=/sys/class/misc/dmadirty

vm_insmod dmadirty_dmatest
# Each state settles for a second first: module load and unload queue
# deferred work (init memory freeing, RCU callbacks) that would otherwise
# run inside the timed loop on this single vCPU.
bench() { sleep 1; echo "bench $N" >$T/run && cat $T/ns; }
r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r + 1))
	[ -d /sys/module/dmadirty ] && rmmod dmadirty
	echo "BENCH notloaded $(bench)"
	vm_insmod dmadirty
	echo "BENCH disabled $(bench)"
	echo 1 >/proc/sys/vm/dma_mark_dirty
	m0=$(cat $C/pages_marked)
	echo "BENCH enabled $(bench) $(($(cat $C/pages_marked) - m0))"
	echo 0 >/proc/sys/vm/dma_mark_dirty
done
