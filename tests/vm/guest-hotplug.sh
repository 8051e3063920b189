# Guest side of tests/vm/hotplug.sh: the RAM ranges of dmadirty.ko (ram.c)
# follow memory hotplug while dirtying is on.  The host plugs a 128 MiB
# DIMM at 4 GiB when this prints "VMSTEP plug ADDR SIZE", and unplugs it
# on "VMSTEP unplug";
# the kernel leaves new memory offline (memhp_default_state=offline).  A
# test module unmaps the direct DMA address of one page of the DIMM
# ("raw", no page of its own), and the counters say whether the page was
# marked or skipped as not RAM.  Every check prints one VMTAP line.
KV=$(uname -r | cut -d- -f1)
C=/sys/class/misc/dmadirty
T=/sys/kernel/debug/dmadirty_dmatest
M=/sys/devices/system/memory
. /lib/dmadirty-hooks.sh
TAP_WHAT=$KV

ctr() { cat "$C/$1"; }
# raw DESC PHYS MARKED SKIPPED: the unmap of the page at PHYS marks
# MARKED pages and skips SKIPPED as not RAM.
raw() {
	_m0=$(ctr pages_marked) _n0=$(ctr skipped_nonram)
	echo "raw $(printf %x "$2") 4096" >$T/run || { tap 1 "$1" "raw $2 failed"; return; }
	_m=$(($(ctr pages_marked) - _m0)) _n=$(($(ctr skipped_nonram) - _n0))
	check "$1" "[ $_m = $3 ] && [ $_n = $4 ]" "marked $_m, skipped as not RAM $_n"
}
# single DESC: one page mapped from the device and unmapped is marked.
single() {
	_m0=$(ctr pages_marked)
	echo "single 0 4096 2" >$T/run || { tap 1 "$1" "single failed"; return; }
	_m=$(($(ctr pages_marked) - _m0))
	check "$1" "[ $_m = 1 ]" "marked $_m"
}
# state STATE: write STATE to the DIMM's memory block, and read it back.
state() { echo "$1" >"$blk/state" && [ "$(cat "$blk/state")" = "${1%_movable}" ]; }

vm_insmod dmadirty
vm_insmod dmadirty_dmatest
echo 1 >/proc/sys/vm/dma_mark_dirty
check "dirtying on, its hooks settled" "vm_wait_for 100 settled" "entry $(cat $C/entry)"

# QEMU's pc machine puts the first DIMM at 4 GiB when RAM fits below it;
# hotplug-host.py plugs one of this size, and checks that it did.
dimm=$((1 << 32))
size=$((128 << 20))
bs=$((0x$(cat $M/block_size_bytes)))
blk=$M/memory$((dimm / bs))
single "a page of boot RAM: marked"
raw "before the plug, 4 GiB is no RAM: skipped" $dimm 0 1

echo "VMSTEP plug $dimm $size"
vm_wait_for 600 "[ -e $blk/state ]"
check "the DIMM's memory block appears, offline" "[ \"\$(cat $blk/state 2>/dev/null)\" = offline ]" \
	"$blk: $(cat "$blk/state" 2>&1)"
raw "added but offline: skipped" $dimm 0 1
check "the block goes online (movable) with dmadirty loaded" "state online_movable"
raw "online: its first page is marked" $dimm 1 0
raw "online: its last page is marked" $((dimm + size - 4096)) 1 0
raw "past its end: skipped" $((dimm + size)) 0 1
check "the block goes offline" "state offline"
raw "offline again: skipped" $dimm 0 1
check "the block goes online again" "state online_movable"
raw "online again: marked" $dimm 1 0

# The eject offlines and removes it, linear mapping and all: a mark there
# would fault.
echo "VMSTEP unplug"
vm_wait_for 600 "[ ! -e $blk ]"
check "the host's unplug removes the block" "[ ! -e $blk ]"
raw "removed: skipped, no fault" $dimm 0 1
single "a page of boot RAM: still marked"
echo 0 >/proc/sys/vm/dma_mark_dirty
check "dmadirty unloads" "rmmod dmadirty"
check "no kernel warning" "[ \$(dmesg | grep -cE 'WARNING:|BUG:|Oops|Call Trace') = 0 ]" \
	"$(dmesg | grep -E -A3 'WARNING:|BUG:|Oops' | head -n 20)"
