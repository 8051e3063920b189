# Guest side of tests/qemu/guest.py (runs as /test.sh in the busybox guest).
# Finds the dmadirty vendor block in the config space of the PCI devices
# through sysfs, checks what the guest may and may not write, and answers
# host requests the way the module does: guest state first, then the
# acknowledged sequence.  Results go to the console as "VMTAP ok|not ok"
# lines, progress markers as "DDSTEP <name>" for the host side.

rd8() { od -A n -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }
rd32() { od -A n -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
# One 4-byte write(2) at an aligned offset is one dword config cycle.  The
# inner printf builds the octal escapes the outer one turns into bytes.
wr32() {
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($3 & 255)) $((($3 >> 8) & 255)) \
		$((($3 >> 16) & 255)) $((($3 >> 24) & 255)))" |
		dd of="$1" bs=4 seek=$(($2 / 4)) count=1 conv=notrunc 2>/dev/null
}
tap() {	# tap DESCRIPTION COMMAND...: ok when COMMAND succeeds
	_d=$1
	shift
	if "$@"; then echo "VMTAP ok - $_d"; else echo "VMTAP not ok - $_d"; fi
}
wait_seq() {	# wait_seq CFG OFF OLDSEQ: wait for the host sequence to move
	vm_wait_for 600 "[ \"\$(rd32 '$1' $(($2 + 16)))\" != '$3' ]"
}

found=0 cfg='' off=''
for dev in /sys/bus/pci/devices/*; do
	c=$dev/config
	[ "$(($(rd8 "$c" 6) & 16))" -ne 0 ] || continue	# status: cap list
	p=$(rd8 "$c" 52)
	n=0
	while [ "$p" -ne 0 ] && [ $n -lt 48 ]; do
		if [ "$(rd8 "$c" "$p")" -eq 9 ] && [ "$(rd8 "$c" $((p + 3)))" -eq 68 ] &&
		   [ "$(rd32 "$c" $((p + 4)))" -eq 1145130308 ]; then
			found=$((found + 1)) cfg=$c off=$p
			echo "DDINFO block $dev offset $p"
		fi
		p=$(rd8 "$c" $((p + 1)))
		n=$((n + 1))
	done
done
tap "exactly one device carries the block ($found)" [ $found -eq 1 ]
[ $found -eq 1 ] || exit 1

header_ok() {
	[ "$(rd8 "$cfg" $((off + 2)))" -eq 32 ] &&
		[ "$(od -A n -t u2 -j $((off + 8)) -N 2 "$cfg" | tr -d ' ')" -eq 1 ]
}
tap "length 32, version 1" header_ok

# The host fields are read-only to the guest.
hs=$(rd32 "$cfg" $((off + 12))) hq=$(rd32 "$cfg" $((off + 16)))
wr32 "$cfg" $((off + 12)) 0x5a5a5a5a
wr32 "$cfg" $((off + 16)) 0x5a5a5a5a
host_unchanged() {
	[ "$(rd32 "$cfg" $((off + 12)))" = "$hs" ] && [ "$(rd32 "$cfg" $((off + 16)))" = "$hq" ]
}
tap "host state and sequence ignore guest writes" host_unchanged

# The guest fields are writable; this acknowledgement has a known value.
wr32 "$cfg" $((off + 28)) 7
wr32 "$cfg" $((off + 24)) 1
wr32 "$cfg" $((off + 20)) 4660
guest_fields() {
	[ "$(rd32 "$cfg" $((off + 20)))" -eq 4660 ] && [ "$(rd32 "$cfg" $((off + 24)))" -eq 1 ] &&
		[ "$(rd32 "$cfg" $((off + 28)))" -eq 7 ]
}
tap "guest fields read back" guest_fields
echo "DDSTEP acked"

# Host request through the block: follow the host state, ack its sequence.
follow() {	# follow OLDSEQ STEP
	if ! wait_seq "$cfg" "$off" "$1"; then
		tap "host sequence moved from $1 ($2)" false
		return 1
	fi
	seq=$(rd32 "$cfg" $((off + 16))) st=$(rd32 "$cfg" $((off + 12)))
	echo "DDINFO host state $st seq $seq"
	if [ "$st" -eq 1 ]; then wr32 "$cfg" $((off + 24)) 1; else wr32 "$cfg" $((off + 24)) 0; fi
	wr32 "$cfg" $((off + 20)) "$seq"
	tap "host sequence moved from $1 to $seq, state $st ($2)" true
	echo "DDSTEP $2"
}
follow "$hq" precopy || exit 1
# The host migrates the guest here and asks for idle on the destination.
follow "$seq" migrated || exit 1
