# Guest side, shared by guest-kmod.sh, guest-hotplug.sh and guest-bench.sh,
# which source it from /lib/dmadirty-hooks.sh (kmod.sh, hotplug.sh and
# bench-kmod.sh place it there).
#
# tap OK DESC [DIAG]: one check's result, as a "VMTAP" line that the host
# side relays as TAP; DESC comes after $TAP_WHAT (the kernel, the boot).
tap() {
	if [ "$1" = 0 ]; then
		echo "VMTAP ok - $TAP_WHAT: $2"
	else
		echo "VMTAP not ok - $TAP_WHAT: $2${3:+ ($3)}"
	fi
}
# check DESC TEST-EXPR [DIAG]: tap whether TEST-EXPR holds.
check() { if eval "$2"; then tap 0 "$1"; else tap 1 "$1" "$3"; fi; }

# The functions that enable arms on 6.11+ only to keep dma_skip_sync
# clear, until the dma_set_mask() hook has settled (DMADIRTY_KEEP_SYNC in
# kmod/dirty.c).
KEEP_SYNC='dma_map_page_attrs|dma_map_phys|dma_map_sg_attrs|dma_iova_link|dma_need_unmap'

# True while one of them is patched.
keep_sync_armed() { tr ' ' '\n' </sys/class/misc/dmadirty/armed | grep -Eqx "$KEEP_SYNC"; }

# True once the unmap and sync hooks have their own entry, a moment after
# enable (kmod/dirty.c).  Until then the ops shared by every hook enters
# them, and while the one takes over from the other a call is seen by
# both: its pages are marked twice.  Checks that count pages wait for it.
own_entry() { [ "$(cat /sys/class/misc/dmadirty/entry)" != shared ]; }

# True once all that enable leaves to later is done: that, and the map
# hooks gone (6.11+).
settled() { own_entry && ! keep_sync_armed; }

# What ftrace itself has a callback on now, sorted, against the module's
# own claim (armed), sorted the same way.  A function entered by direct
# call has a second line, "<tab>direct-->TARGET".
enabled_functions() {
	[ -e /sys/kernel/tracing/enabled_functions ] ||
		mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null ||
		{ echo "(no tracefs)"; return 1; }
	cat /sys/kernel/tracing/enabled_functions
}
patched() { enabled_functions | grep -v '^[[:space:]]' | sed 's/ .*//' | sort | tr '\n' ' '; }

# The functions whose call goes straight to the module's direct entry.
direct_called() {
	enabled_functions | awk '/^[^[:space:]]/ { f = $1 }
		/^[[:space:]]+direct-->dmadirty_single_direct\+/ { print f }' | sort | tr '\n' ' '
}
armed_sorted() { tr ' ' '\n' </sys/class/misc/dmadirty/armed | grep . | sort | tr '\n' ' '; }
